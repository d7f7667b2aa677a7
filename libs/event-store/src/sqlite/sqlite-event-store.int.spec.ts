import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { IdempotencyConflict, StoreUnavailable, WrongExpectedRevision } from '../errors';
import type { NewEvent, StoredEvent } from '../event-store';
import { describeEventStoreContract, eventually, newEvent } from '../testing';
import { indexFileOf, SCHEMA_VERSION } from './schema';
import { SqliteEventStore, type SqliteEventStoreOptions } from './sqlite-event-store';

const tempDirs: string[] = [];
const freshPath = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'devid-es-'));
  tempDirs.push(dir);
  return join(dir, 'nested', 'events.sqlite');
};
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** The writer thread's fault hooks (testing/fault-hooks.cjs), switched by files beside the store's file. */
const FAULTS = join(__dirname, 'testing', 'fault-hooks.cjs');
const injectFault = (path: string, name: 'fail-commit' | 'fail-index' | 'exit-in-commit' | 'exit-in-index' | 'refuse-index-open'): void => writeFileSync(`${path}.${name}`, '');

describeEventStoreContract('sqlite', async () => {
  const path = freshPath();
  const store = await SqliteEventStore.open(path, { pollIntervalMs: 20 });
  const opened: SqliteEventStore[] = [store];
  return {
    store,
    reopen: async () => {
      const again = await SqliteEventStore.open(path, { pollIntervalMs: 20 });
      opened.push(again);
      return again;
    },
    cleanup: async () => {
      for (const each of opened) await each.close();
    },
  };
});

// The same contract with the lazy index flushed after every commit group, so that reads,
// getEvent and duplicate detection go through stream_index / event_ids as well as the tail.
describeEventStoreContract('sqlite, index flushed after every commit', async () => {
  const path = freshPath();
  const options = { pollIntervalMs: 20, indexFlushThreshold: 1 };
  const store = await SqliteEventStore.open(path, options);
  const opened: SqliteEventStore[] = [store];
  return {
    store,
    reopen: async () => {
      const again = await SqliteEventStore.open(path, options);
      opened.push(again);
      return again;
    },
    cleanup: async () => {
      for (const each of opened) await each.close();
    },
  };
});

describe('SqliteEventStore', () => {
  const open = (options: SqliteEventStoreOptions = {}, path = freshPath()): Promise<SqliteEventStore> =>
    SqliteEventStore.open(path, options);

  it('commits concurrent appends in groups: far fewer transactions than appends', async () => {
    const store = await open();
    try {
      await Promise.all(Array.from({ length: 64 }, (_, index) => store.append(`device-${index}`, [newEvent()], { expectedRevision: 'no_stream' })));

      // Half goes first, so that the other half is checked while the first commits: two groups.
      // When the first commit is answered before the next turn (a loaded machine), what waits
      // is halved again while 16 or more wait: 32 + 16 + 8 + 8 at most.
      const { commits, appends, events } = store.stats();
      expect({ appends, events }).toEqual({ appends: 64, events: 64 });
      expect(commits).toBeGreaterThanOrEqual(2);
      expect(commits).toBeLessThanOrEqual(4);
    } finally {
      await store.close();
    }
  });

  it('caps a group at maxGroupSize appends', async () => {
    const store = await open({ maxGroupSize: 10 });
    try {
      await Promise.all(Array.from({ length: 25 }, (_, index) => store.append(`device-${index}`, [newEvent()], { expectedRevision: 'any' })));

      expect(store.stats()).toMatchObject({ commits: 3, appends: 25 });
    } finally {
      await store.close();
    }
  });

  it('rejects every append of a group whose commit fails, writes none of them, and recovers', async () => {
    const path = freshPath();
    const store = await open({ faultModule: FAULTS }, path);
    try {
      await store.append('device-1', [newEvent()], { expectedRevision: 'no_stream' });
      injectFault(path, 'fail-commit');

      const outcomes = await Promise.allSettled([
        store.append('device-1', [newEvent(), newEvent()], { expectedRevision: 0 }),
        store.append('device-2', [newEvent()], { expectedRevision: 'no_stream' }),
        store.append('device-1', [newEvent()], { expectedRevision: 2 }),
      ]);

      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(StoreUnavailable);
      }
      expect(await store.headPosition()).toBe(1);
      expect(await store.readStream('device-2')).toEqual([]);
      // The revision cache went back with the rollback: the old expected revisions hold again.
      await expect(store.append('device-1', [newEvent()], { expectedRevision: 2 })).rejects.toBeInstanceOf(WrongExpectedRevision);
      await expect(store.append('device-1', [newEvent()], { expectedRevision: 0 })).resolves.toMatchObject({
        events: [expect.objectContaining({ revision: 1, position: 2 })],
      });
      await expect(store.append('device-2', [newEvent()], { expectedRevision: 'no_stream' })).resolves.toMatchObject({
        events: [expect.objectContaining({ position: 3 })],
      });
    } finally {
      await store.close();
    }
  });

  it('when its writer thread dies: the append under way is refused as of unknown outcome, later ones until the store is opened again', async () => {
    const path = freshPath();
    const store = await open({ faultModule: FAULTS }, path);
    try {
      const first = await store.append('device-1', [newEvent()], { expectedRevision: 'no_stream' });
      injectFault(path, 'exit-in-commit');

      await expect(store.append('device-1', [newEvent()], { expectedRevision: 0 })).rejects.toThrow(/writer thread exited with code 70.*outcome of this append is unknown/);
      await expect(store.append('device-2', [newEvent()], { expectedRevision: 'no_stream' })).rejects.toThrow(/appends are refused until the store is opened again/);
      expect(await store.readStream('device-1')).toEqual(first.events);
    } finally {
      await store.close();
    }
    const again = await open({}, path);
    try {
      expect(await again.headPosition()).toBe(1);
      await expect(again.append('device-1', [newEvent()], { expectedRevision: 0 })).resolves.toMatchObject({ events: [expect.objectContaining({ position: 2 })] });
    } finally {
      await again.close();
    }
  });

  it('rejects with StoreUnavailable when another process holds the write lock', async () => {
    const path = freshPath();
    const store = await open({ busyTimeoutMs: 50 }, path);
    const other = new DatabaseSync(path);
    try {
      other.exec('BEGIN IMMEDIATE');

      await expect(store.append('device-1', [newEvent()], { expectedRevision: 'any' })).rejects.toBeInstanceOf(StoreUnavailable);

      other.exec('ROLLBACK');
      await expect(store.append('device-1', [newEvent()], { expectedRevision: 'no_stream' })).resolves.toMatchObject({ duplicate: false });
    } finally {
      other.close();
      await store.close();
    }
  });

  it('sees appends made through another connection to the same file', async () => {
    const path = freshPath();
    const writerA = await open({ pollIntervalMs: 20 }, path);
    const writerB = await open({}, path);
    try {
      await writerA.append('device-1', [newEvent()], { expectedRevision: 'no_stream' });
      await writerB.append('device-1', [newEvent()], { expectedRevision: 0 });

      await expect(writerA.append('device-1', [newEvent()], { expectedRevision: 0 })).rejects.toBeInstanceOf(WrongExpectedRevision);
      await expect(writerA.append('device-1', [newEvent()], { expectedRevision: 1 })).resolves.toMatchObject({
        events: [expect.objectContaining({ position: 3 })],
      });
    } finally {
      await writerA.close();
      await writerB.close();
    }
  });

  it("keeps its reads in step within one task: once a read of the file finds another writer's event, stream reads find it too", async () => {
    const path = freshPath();
    const store = await open({}, path);
    const other = new DatabaseSync(path);
    const insert = other.prepare('INSERT INTO events (position, id, stream_id, revision, type, version, occurred_at, recorded_at, data, metadata) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)');
    // Another writer's append, committed while this process is inside one task (the ledger's own writers commit between tasks).
    const appendElsewhere = (position: number, revision: number) => {
      const event = newEvent();
      insert.run(position, event.id, 'device-1', revision, event.type, event.occurredAt, event.occurredAt, JSON.stringify(event.data), JSON.stringify(event.metadata));
    };
    try {
      await store.append('device-1', [newEvent()], { expectedRevision: 'no_stream' });
      await new Promise((resolve) => setImmediate(resolve));

      // Each read is made at once, one after the other, as requests handled in one task are.
      const before = store.readStream('device-1');
      appendElsewhere(2, 1);
      const all = store.readAll();
      const after = store.readStream('device-1');
      expect((await before).map((event) => event.position)).toEqual([1]);
      expect((await all).map((event) => event.position)).toEqual([1, 2]);
      expect((await after).map((event) => event.position)).toEqual([1, 2]);

      const revisionBefore = store.streamRevision('device-1');
      appendElsewhere(3, 2);
      const head = store.headPosition();
      const revisionAfter = store.streamRevision('device-1');
      expect([await revisionBefore, await head, await revisionAfter]).toEqual([1, 3, 2]);

      const stream = store.readStream('device-1');
      appendElsewhere(4, 3);
      const iterated = [...store.readAllIterator({ after: 3 })];
      const streamAfter = store.readStream('device-1');
      expect([(await stream).length, iterated.map((event) => event.position), (await streamAfter).length]).toEqual([3, [4], 4]);
      // Two readers of one page in one task (subscriptions woken by one commit): equal events, each its own objects.
      const [first, second] = await Promise.all([store.readAll({ after: 2 }), store.readAll({ after: 2 })]);
      expect(second).toEqual(first);
      first[0]!.data = 'changed by the first reader';
      expect(second[0]!.data).not.toEqual('changed by the first reader');

      const pageBefore = store.readAll({ after: 3 });
      appendElsewhere(5, 4);
      const headNow = store.headPosition();
      const pageAfter = store.readAll({ after: 3 });
      expect([(await pageBefore).length, await headNow, (await pageAfter).map((event) => event.position)]).toEqual([1, 5, [4, 5]]);
      await expect(store.append('device-1', [newEvent()], { expectedRevision: 4 })).resolves.toMatchObject({ events: [expect.objectContaining({ position: 6, revision: 5 })] });
    } finally {
      other.close();
      await store.close();
    }
  });

  it('two stores appending to one file at once: every acknowledged event is stored once, at its answered place', async () => {
    const path = freshPath();
    const stores = [await open({}, path), await open({}, path)];
    try {
      const acknowledged: StoredEvent[] = [];
      // Each store keeps groups in flight while the other moves the log's head under them.
      await Promise.all(
        stores.flatMap((store) =>
          Array.from({ length: 16 }, async (_, writer) => {
            for (let k = 0; k < 15; k++) acknowledged.push(...(await store.append(`device-${(writer + k) % 6}`, [newEvent()], { expectedRevision: 'any' })).events);
          }),
        ),
      );

      const all = [...stores[0]!.readAllIterator()];
      expect(all.map((event) => event.position)).toEqual(Array.from({ length: 2 * 16 * 15 }, (_, index) => index + 1));
      for (const event of acknowledged) expect(all[event.position - 1]).toEqual(event);
      for (let stream = 0; stream < 6; stream++) {
        const events = all.filter((event) => event.streamId === `device-${stream}`);
        expect(events.map((event) => event.revision)).toEqual(events.map((_, index) => index));
        for (const store of stores) expect(await store.readStream(`device-${stream}`)).toEqual(events);
        // Each store's revision of a stream counts the other store's appends too.
        for (const store of stores) expect(await store.streamRevision(`device-${stream}`)).toBe(events.length - 1);
      }
    } finally {
      for (const store of stores) await store.close();
    }
  });

  it('stamps one recordedAt per commit from the injected clock', async () => {
    const store = await open({ clock: () => new Date('2030-01-01T00:00:00.000Z') });
    try {
      const result = await store.append('device-1', [newEvent(), newEvent()], { expectedRevision: 'no_stream' });

      expect(result.events.map((event) => event.recordedAt)).toEqual(['2030-01-01T00:00:00.000Z', '2030-01-01T00:00:00.000Z']);
    } finally {
      await store.close();
    }
  });

  it('reads the whole log through readAllIterator, page boundaries included', async () => {
    const store = await open();
    try {
      for (let index = 0; index < 3; index++) await store.append(`device-${index}`, Array.from({ length: 7 }, () => newEvent()), { expectedRevision: 'no_stream' });

      const positions = [...store.readAllIterator({ after: 2, maxCount: 5 })].map((event) => event.position);

      expect(positions).toEqual(Array.from({ length: 19 }, (_, index) => index + 3));
      expect([...store.readAllIterator({ maxCount: 5 })]).toEqual(await store.readAll());
    } finally {
      await store.close();
    }
  });

  it('leaves metadata out of what it reads when asked (metadata: false): no metadata member at all', async () => {
    const store = await open();
    try {
      await store.append('device-1', [newEvent(), newEvent()], { expectedRevision: 'no_stream' });
      const projected = await store.readAll({ metadata: false });
      expect(projected).toHaveLength(2);
      expect(projected.map((event) => Object.keys(event).sort())).toEqual(
        Array(2).fill(['data', 'id', 'occurredAt', 'position', 'recordedAt', 'revision', 'streamId', 'type', 'version']),
      );
      const delivered: object[] = [];
      const subscription = store.subscribeToAll((batch) => void delivered.push(...batch), { after: 0, metadata: false });
      await eventually(() => delivered.length === 2);
      await subscription.stop();
      expect(delivered).toEqual(projected);
      // Without the option, whole events as before.
      expect((await store.readAll()).every((event) => typeof event.metadata.commandId === 'string')).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('stores data and metadata with their members in RFC 8785 order, and hands that text out unparsed', async () => {
    const store = await open();
    try {
      const when = new Date('2025-03-03T10:00:00.000Z');
      await store.append('device-1', [newEvent({ data: { z: 1, a: { y: [{ b: 2, a: 1 }], x: 'é' } } }), newEvent({ data: { b: 1, at: when } })], {
        expectedRevision: 'no_stream',
      });

      const [sorted, withDate] = [...store.readAllTextIterator()];

      expect(sorted!.dataJson).toBe('{"a":{"x":"é","y":[{"a":1,"b":2}]},"z":1}');
      expect(sorted!.metadataJson).toBe(JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(sorted!.metadataJson) as object).sort(([a], [b]) => (a < b ? -1 : 1)))));
      // A value holding a Date (no plain object) is stored as JSON.stringify writes it, in the writer's order.
      expect(withDate!.dataJson).toBe('{"b":1,"at":"2025-03-03T10:00:00.000Z"}');
      const [parsed] = await store.readAll({ maxCount: 1 });
      const { data, metadata, ...rest } = parsed!;
      expect(sorted).toEqual({ ...rest, dataJson: JSON.stringify(data), metadataJson: JSON.stringify(metadata) });
    } finally {
      await store.close();
    }
  });

  it('records its schema version and refuses a file from a newer release', async () => {
    const path = freshPath();
    await (await open({}, path)).close();
    const raw = new DatabaseSync(path);
    expect(raw.prepare('SELECT max(version) AS version FROM schema_version').get()).toEqual({ version: SCHEMA_VERSION });
    raw.exec('INSERT INTO schema_version (version) VALUES (99)');
    raw.close();

    await expect(open({}, path)).rejects.toBeInstanceOf(StoreUnavailable);
  });

  it('migrates a file written by the schema-1 release: its events keep their positions, ids and streams', async () => {
    // The schema-1 layout as that release wrote it (UNIQUE id and (stream_id, revision) on the log).
    const path = freshPath();
    await (await open({}, path)).close(); // creates the directory
    rmSync(path);
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE schema_version (version INTEGER NOT NULL) STRICT;
      INSERT INTO schema_version (version) VALUES (1);
      CREATE TABLE events (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, stream_id TEXT NOT NULL, revision INTEGER NOT NULL,
        type TEXT NOT NULL, version INTEGER NOT NULL, occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, data TEXT NOT NULL,
        metadata TEXT NOT NULL, UNIQUE (stream_id, revision)) STRICT`);
    const insert = old.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const written = Array.from({ length: 30 }, (_, k) => ({ event: newEvent(), streamId: `device-${k % 3}`, revision: Math.floor(k / 3) }));
    for (const [k, { event, streamId, revision }] of written.entries()) {
      insert.run(k + 1, event.id, streamId, revision, event.type, event.version, event.occurredAt, '2025-03-03T10:00:01.000Z', JSON.stringify(event.data), JSON.stringify(event.metadata));
    }
    old.close();

    const store = await open({}, path);
    try {
      expect((await store.readAll({ maxCount: 100 })).map((e) => [e.position, e.id, e.streamId, e.revision])).toEqual(
        written.map(({ event, streamId, revision }, k) => [k + 1, event.id, streamId, revision]),
      );
      expect((await store.readStream('device-1')).map((e) => e.id)).toEqual(written.filter((w) => w.streamId === 'device-1').map((w) => w.event.id));
      expect((await store.getEvent(written[7]!.event.id))?.position).toBe(8);
      // A retried append of an old event answers as the first time; a stale revision is refused; the next one appends.
      const retried = await store.append('device-0', [written[27]!.event], { expectedRevision: 8 });
      expect(retried.duplicate).toBe(true);
      await expect(store.append('device-0', [newEvent()], { expectedRevision: 8 })).rejects.toBeInstanceOf(WrongExpectedRevision);
      const next = await store.append('device-0', [newEvent()], { expectedRevision: 9 });
      expect(next.events[0]).toMatchObject({ position: 31, revision: 10 });
      expect(await store.flushIndex()).toBe(true);
    } finally {
      await store.close();
    }
    const raw = new DatabaseSync(path);
    expect(raw.prepare('SELECT max(version) AS version FROM schema_version').get()).toEqual({ version: SCHEMA_VERSION });
    expect(raw.prepare("SELECT count(*) AS tables FROM sqlite_schema WHERE name IN ('stream_index', 'event_ids', 'index_checkpoint')").get()).toEqual({ tables: 0 });
    raw.close();
    const index = new DatabaseSync(indexFileOf(path));
    expect(index.prepare('SELECT count(*) AS rows FROM stream_index').get()).toEqual({ rows: 31 });
    index.close();
  });

  it('opens a closed file again and carries on where it stopped', async () => {
    const path = freshPath();
    const first = await open({}, path);
    await first.append('device-1', [newEvent()], { expectedRevision: 'no_stream' });
    await first.close();
    await expect(first.readAll()).rejects.toBeInstanceOf(StoreUnavailable);

    const second = await open({}, path);
    try {
      await expect(second.append('device-1', [newEvent()], { expectedRevision: 0 })).resolves.toMatchObject({
        events: [expect.objectContaining({ revision: 1, position: 2 })],
      });
    } finally {
      await second.close();
    }
  });
});

describe('SqliteEventStore lazy index', () => {
  const noAutoFlush = { indexFlushIntervalMs: 0, indexFlushThreshold: 1_000_000 };
  const open = (path = freshPath()): Promise<SqliteEventStore> => SqliteEventStore.open(path, noAutoFlush);
  const raw = <T>(path: string, sql: string): T => {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      return db.prepare(sql).get() as T;
    } finally {
      db.close();
    }
  };
  const withoutStoreFields = ({ id, type, version, occurredAt, data, metadata }: StoredEvent): NewEvent => ({ id, type, version, occurredAt, data, metadata });

  it('reads a stream across the flushed part and the in-memory tail, in revision order', async () => {
    const store = await open();
    try {
      await store.append('device-1', [newEvent(), newEvent(), newEvent()], { expectedRevision: 'no_stream' });
      await store.append('device-2', [newEvent()], { expectedRevision: 'no_stream' });
      expect(await store.flushIndex()).toBe(true);
      expect(store.indexStats()).toMatchObject({ indexedPosition: 4, unindexedEvents: 0, flushes: 1, flushedEvents: 4 });
      await store.append('device-1', [newEvent(), newEvent()], { expectedRevision: 2 });
      expect(store.indexStats()).toMatchObject({ indexedPosition: 4, unindexedEvents: 2 });

      const whole = await store.readStream('device-1');
      expect(whole.map((event) => [event.revision, event.position])).toEqual([
        [0, 1],
        [1, 2],
        [2, 3],
        [3, 5],
        [4, 6],
      ]);
      expect(whole).toEqual((await store.readAll()).filter((event) => event.streamId === 'device-1'));
      expect((await store.readStream('device-1', { fromRevision: 2, maxCount: 2 })).map((event) => event.revision)).toEqual([2, 3]);
      expect((await store.readStream('device-1', { fromRevision: 1, maxCount: 2 })).map((event) => event.revision)).toEqual([1, 2]);
      expect((await store.readStream('device-1', { fromRevision: 4 })).map((event) => event.revision)).toEqual([4]);
      expect(await store.readStream('device-1', { fromRevision: 5 })).toEqual([]);

      await store.flushIndex();
      expect(await store.readStream('device-1')).toEqual(whole);
    } finally {
      await store.close();
    }
  });

  it('finds events by id and answers repeated appends whether their ids are flushed or not', async () => {
    const store = await open();
    try {
      const flushedBatch = [newEvent(), newEvent()];
      const flushed = await store.append('device-1', flushedBatch, { expectedRevision: 'no_stream' });
      await store.flushIndex();
      const tailBatch = [newEvent(), newEvent()];
      const tail = await store.append('device-1', tailBatch, { expectedRevision: 1 });

      expect(await store.getEvent(flushed.events[1]!.id)).toEqual(flushed.events[1]);
      expect(await store.getEvent(tail.events[0]!.id)).toEqual(tail.events[0]);
      expect(await store.getEvent(randomUUID())).toBeUndefined();
      expect(await store.getEvent('not-a-uuid')).toBeUndefined();

      await expect(store.append('device-1', flushedBatch, { expectedRevision: 'no_stream' })).resolves.toEqual({ ...flushed, duplicate: true });
      await expect(store.append('device-1', tailBatch, { expectedRevision: 'any' })).resolves.toEqual({ ...tail, duplicate: true });
      const conflicts = [
        store.append('device-1', [flushedBatch[0]!, newEvent()], { expectedRevision: 'any' }),
        store.append('device-1', [newEvent(), flushedBatch[1]!], { expectedRevision: 'any' }),
        store.append('device-1', [tailBatch[0]!, newEvent()], { expectedRevision: 'any' }),
        store.append('device-1', [newEvent(), tailBatch[1]!], { expectedRevision: 'any' }),
        // One append spanning the flushed part and the tail: the ids are not consecutive revisions of one append.
        store.append('device-1', [flushedBatch[1]!, tailBatch[1]!], { expectedRevision: 'any' }),
        store.append('device-2', [tailBatch[0]!], { expectedRevision: 'any' }),
      ];
      for (const conflict of conflicts) await expect(conflict).rejects.toBeInstanceOf(IdempotencyConflict);
      // A retry that spans what was one append before a flush and after it still matches.
      await expect(store.append('device-1', [flushedBatch[1]!, tailBatch[0]!], { expectedRevision: 'any' })).resolves.toMatchObject({
        duplicate: true,
        events: [flushed.events[1], tail.events[0]],
      });
      expect(await store.headPosition()).toBe(4);
    } finally {
      await store.close();
    }
  });

  it('tells apart ids that share their event_ids key (52 bits of the UUID)', async () => {
    const store = await open();
    try {
      // Same hex digits 1-13 and 16: same key; the rest differs.
      const first = newEvent({ id: 'aaaaaaaa-bbbb-4ccc-8000-000000000001' });
      const second = newEvent({ id: 'aaaaaaaa-bbbb-4ccc-9fff-ffffffffffff' });
      const one = await store.append('device-1', [first], { expectedRevision: 'no_stream' });
      await store.flushIndex();
      const two = await store.append('device-2', [second], { expectedRevision: 'no_stream' });
      await store.flushIndex();
      const lookAlike = newEvent({ id: 'aaaaaaaa-bbbb-4ccc-a000-000000000000' });

      expect(await store.getEvent(first.id)).toEqual(one.events[0]);
      expect(await store.getEvent(second.id)).toEqual(two.events[0]);
      expect(await store.getEvent(lookAlike.id)).toBeUndefined();
      await expect(store.append('device-2', [second], { expectedRevision: 'any' })).resolves.toMatchObject({ duplicate: true });
      await expect(store.append('device-1', [lookAlike], { expectedRevision: 0 })).resolves.toMatchObject({ duplicate: false });
    } finally {
      await store.close();
    }
  });

  it('starts a new index thread when one dies inside a flush; the next flush writes what the dead one did not', async () => {
    const path = freshPath();
    const store = await SqliteEventStore.open(path, { ...noAutoFlush, faultModule: FAULTS });
    try {
      const first = await store.append('device-1', [newEvent(), newEvent()], { expectedRevision: 'no_stream' });
      injectFault(path, 'exit-in-index');
      expect(await store.flushIndex()).toBe(false);
      expect(store.indexStats()).toMatchObject({ indexedPosition: 0, unindexedEvents: 2, flushes: 0, indexerRestarts: 1, indexerFailure: undefined });
      expect(store.writeFailure()).toBeUndefined();
      expect(await store.readStream('device-1')).toEqual(first.events);

      await store.append('device-1', [newEvent()], { expectedRevision: 1 });
      expect(await store.flushIndex()).toBe(true);
      expect(store.indexStats()).toMatchObject({ indexedPosition: 3, unindexedEvents: 0, flushes: 1, flushedEvents: 3, indexerRestarts: 1 });
      expect((await store.readStream('device-1')).map((event) => event.revision)).toEqual([0, 1, 2]);
      await expect(store.append('device-1', first.events.map(withoutStoreFields), { expectedRevision: 'any' })).resolves.toMatchObject({ duplicate: true });
    } finally {
      await store.close();
    }
    // The index file the new thread wrote is the one a fresh open reads (its checkpoint matches the log).
    const again = await SqliteEventStore.open(path, noAutoFlush);
    try {
      expect(again.indexStats()).toMatchObject({ indexedPosition: 3, unindexedEvents: 0 });
      expect((await again.readStream('device-1')).map((event) => event.revision)).toEqual([0, 1, 2]);
    } finally {
      await again.close();
    }
  });

  it('keeps appending and reading while no new index thread can start, says why in indexStats, and starts one once it can', async () => {
    const path = freshPath();
    const store = await SqliteEventStore.open(path, { ...noAutoFlush, faultModule: FAULTS });
    const why = /^the index thread exited with code 71; starting a new index thread failed: the index file cannot be opened \(injected\)$/;
    try {
      await store.append('device-1', [newEvent(), newEvent()], { expectedRevision: 'no_stream' });
      injectFault(path, 'exit-in-index');
      injectFault(path, 'refuse-index-open');
      expect(await store.flushIndex()).toBe(false);
      expect(store.indexStats()).toMatchObject({ indexedPosition: 0, unindexedEvents: 2, flushes: 0, indexerRestarts: 0, indexerFailure: expect.stringMatching(why) });

      // The log does not depend on the index thread: appends are acknowledged, reads served from the tail.
      await store.append('device-1', [newEvent()], { expectedRevision: 1 });
      expect(store.writeFailure()).toBeUndefined();
      expect((await store.readStream('device-1')).map((event) => event.revision)).toEqual([0, 1, 2]);
      expect(await store.flushIndex()).toBe(false); // tried again, still refused
      expect(store.indexStats()).toMatchObject({ unindexedEvents: 3, indexerRestarts: 0, indexerFailure: expect.stringMatching(why) });

      rmSync(`${path}.refuse-index-open`);
      expect(await store.flushIndex()).toBe(false); // this flush starts the thread…
      expect(store.indexStats()).toMatchObject({ indexedPosition: 0, unindexedEvents: 3, indexerRestarts: 1, indexerFailure: undefined });
      expect(await store.flushIndex()).toBe(true); // …and the next one writes the index
      expect(store.indexStats()).toMatchObject({ indexedPosition: 3, unindexedEvents: 0, flushes: 1, flushedEvents: 3 });
    } finally {
      await store.close();
    }
  });

  it('closes with no index thread left, refuses to open while none can start, and opens with every event once one can', async () => {
    const path = freshPath();
    const store = await SqliteEventStore.open(path, { ...noAutoFlush, faultModule: FAULTS });
    const written = await store.append('device-1', [newEvent(), newEvent()], { expectedRevision: 'no_stream' });
    injectFault(path, 'exit-in-index');
    injectFault(path, 'refuse-index-open');
    expect(await store.flushIndex()).toBe(false);
    await store.close();

    const refused = SqliteEventStore.open(path, { ...noAutoFlush, faultModule: FAULTS });
    await expect(refused).rejects.toThrow(StoreUnavailable);
    await expect(refused).rejects.toThrow(/^cannot open event store .*: the index file cannot be opened \(injected\)$/);

    rmSync(`${path}.refuse-index-open`);
    const again = await SqliteEventStore.open(path, { ...noAutoFlush, faultModule: FAULTS });
    try {
      expect(again.indexStats()).toMatchObject({ indexedPosition: 0, unindexedEvents: 2, indexerRestarts: 0, indexerFailure: undefined });
      expect(await again.readStream('device-1')).toEqual(written.events);
      expect(await again.flushIndex()).toBe(true);
      expect(await again.readStream('device-1')).toEqual(written.events);
    } finally {
      await again.close();
    }
  });

  it('leaves the index as it was when a flush fails, and the next flush writes it', async () => {
    const path = freshPath();
    const store = await SqliteEventStore.open(path, { ...noAutoFlush, faultModule: FAULTS });
    try {
      const first = await store.append('device-1', [newEvent(), newEvent()], { expectedRevision: 'no_stream' });
      injectFault(path, 'fail-index');
      expect(await store.flushIndex()).toBe(false);
      expect(store.indexStats()).toMatchObject({ indexedPosition: 0, unindexedEvents: 2, flushes: 0 });
      expect(await store.readStream('device-1')).toEqual(first.events);

      await store.append('device-1', [newEvent()], { expectedRevision: 1 });
      expect(await store.flushIndex()).toBe(true);
      expect(store.indexStats()).toMatchObject({ indexedPosition: 3, unindexedEvents: 0, flushes: 1, flushedEvents: 3 });
      expect((await store.readStream('device-1')).map((event) => event.revision)).toEqual([0, 1, 2]);
      await expect(store.append('device-1', first.events.map(withoutStoreFields), { expectedRevision: 'any' })).resolves.toMatchObject({ duplicate: true });
    } finally {
      await store.close();
    }
  });

  it('rebuilds an index file that is missing or belongs to another log (a restored backup of one of the two)', async () => {
    const path = freshPath();
    const fill = async (streams: string[]) => {
      const store = await open(path);
      for (const streamId of streams) await store.append(streamId, [newEvent(), newEvent()], { expectedRevision: 'no_stream' });
      await store.flushIndex();
      const events = [...store.readAllIterator()];
      await store.close();
      return events;
    };
    await fill(['device-a', 'device-b']);
    const foreignIndex = readFileSync(indexFileOf(path));
    for (const file of [path, `${path}-wal`, `${path}-shm`, indexFileOf(path), `${indexFileOf(path)}-wal`, `${indexFileOf(path)}-shm`]) rmSync(file, { force: true });
    const mine = await fill(['device-c', 'device-d', 'device-e']);
    // The other log's index (same positions, other events) is put beside this log.
    rmSync(`${indexFileOf(path)}-wal`, { force: true });
    rmSync(`${indexFileOf(path)}-shm`, { force: true });
    writeFileSync(indexFileOf(path), foreignIndex);

    for (const step of ['foreign index', 'no index']) {
      const store = await open(path);
      try {
        expect([step, store.indexStats().indexedPosition]).toEqual([step, 0]);
        for (const streamId of ['device-a', 'device-c', 'device-e']) {
          expect(await store.readStream(streamId)).toEqual(mine.filter((event) => event.streamId === streamId));
        }
        expect(await store.flushIndex()).toBe(true);
        expect(await store.readStream('device-d')).toEqual(mine.filter((event) => event.streamId === 'device-d'));
      } finally {
        await store.close();
      }
      for (const file of [indexFileOf(path), `${indexFileOf(path)}-wal`, `${indexFileOf(path)}-shm`]) rmSync(file, { force: true });
    }
  });

  it('flushes by itself when the tail reaches indexFlushThreshold and on close', async () => {
    const path = freshPath();
    const store = await SqliteEventStore.open(path, { indexFlushIntervalMs: 0, indexFlushThreshold: 5 });
    await Promise.all(Array.from({ length: 5 }, (_, index) => store.append(`device-${index}`, [newEvent()], { expectedRevision: 'no_stream' })));
    await eventually(() => store.indexStats().flushes === 1);
    expect(store.indexStats()).toMatchObject({ indexedPosition: 5, unindexedEvents: 0, flushes: 1 });
    await store.append('device-0', [newEvent()], { expectedRevision: 0 });
    await store.close();

    expect(raw<{ position: number }>(indexFileOf(path), 'SELECT position FROM index_checkpoint')).toEqual({ position: 6 });
    expect(raw<{ rows: number }>(indexFileOf(path), 'SELECT count(*) AS rows FROM stream_index')).toEqual({ rows: 6 });
    expect(raw<{ rows: number }>(indexFileOf(path), 'SELECT count(*) AS rows FROM event_ids')).toEqual({ rows: 6 });
  });

  it('loads the last revision of every stream on open, from the index and from the log after it', async () => {
    const path = freshPath();
    const first = await open(path);
    await first.append('device-1', [newEvent(), newEvent()], { expectedRevision: 'no_stream' });
    await first.flushIndex();
    await first.append('device-2', [newEvent()], { expectedRevision: 'no_stream' });
    await first.append('device-1', [newEvent()], { expectedRevision: 1 });
    // A second store on the file plays the process that starts after a crash: the first never flushed its tail.
    const second = await open(path);
    try {
      expect(second.indexStats()).toMatchObject({ indexedPosition: 2, unindexedEvents: 2 });
      await expect(second.append('device-1', [newEvent()], { expectedRevision: 1 })).rejects.toBeInstanceOf(WrongExpectedRevision);
      await expect(second.append('device-1', [newEvent()], { expectedRevision: 2 })).resolves.toMatchObject({ nextExpectedRevision: 3 });
      await expect(second.append('device-2', [newEvent()], { expectedRevision: 0 })).resolves.toMatchObject({ nextExpectedRevision: 1 });
    } finally {
      await second.close();
      await first.close();
    }
  });

  it('shares a file with another writer that flushes further than it knows', async () => {
    const path = freshPath();
    const a = await open(path);
    const b = await open(path);
    try {
      await a.append('device-1', [newEvent()], { expectedRevision: 'no_stream' });
      await b.append('device-1', [newEvent(), newEvent()], { expectedRevision: 0 });
      expect(await b.flushIndex()).toBe(true);
      await a.append('device-1', [newEvent()], { expectedRevision: 2 });

      // a's checkpoint is behind b's flush: the rows b indexed are read once, not twice.
      expect((await a.readStream('device-1')).map((event) => [event.revision, event.position])).toEqual([
        [0, 1],
        [1, 2],
        [2, 3],
        [3, 4],
      ]);
      expect(await a.flushIndex()).toBe(true);
      expect(await b.readStream('device-1')).toEqual(await a.readStream('device-1'));
      expect(raw<{ rows: number }>(indexFileOf(path), 'SELECT count(*) AS rows FROM stream_index')).toEqual({ rows: 4 });
    } finally {
      await a.close();
      await b.close();
    }
  });

  describe('after SIGKILL', () => {
    const child = join(__dirname, 'testing', 'crash-writer.cjs');

    interface Acknowledged {
      position: number;
      revision: number;
      streamId: string;
      id: string;
    }

    /** Runs the crash writer until `until` acknowledged events (then SIGKILL) or until it dies by itself. */
    const runAndKill = (path: string, config: object, until: number): Promise<{ acknowledged: Acknowledged[]; signal: string | null }> =>
      new Promise((resolve, reject) => {
        const proc = spawn(process.execPath, [child, path, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
        const acknowledged: Acknowledged[] = [];
        let buffered = '';
        let stderr = '';
        proc.stdout.setEncoding('utf8');
        proc.stdout.on('data', (chunk: string) => {
          buffered += chunk;
          const lines = buffered.split('\n');
          buffered = lines.pop()!;
          for (const line of lines) {
            if (line === 'ready') continue;
            const [position, revision, streamId, id] = line.split(' ');
            acknowledged.push({ position: Number(position), revision: Number(revision), streamId: streamId!, id: id! });
          }
          if (acknowledged.length >= until && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
        });
        proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        proc.on('error', reject);
        proc.on('close', (code, signal) => {
          if (signal === null) reject(new Error(`crash writer exited with ${code}: ${stderr}`));
          else resolve({ acknowledged, signal });
        });
      });

    /** The invariants a store must show after any crash. */
    const expectIntact = async (path: string, acknowledged: Acknowledged[]): Promise<void> => {
      const store = await open(path);
      try {
        const all: StoredEvent[] = [...store.readAllIterator()];
        expect(all.map((event) => event.position)).toEqual(all.map((_, index) => index + 1));
        const byPosition = new Map(all.map((event) => [event.position, event]));
        for (const ack of acknowledged) {
          expect(byPosition.get(ack.position)).toMatchObject({ id: ack.id, streamId: ack.streamId, revision: ack.revision });
        }
        const streams = new Map<string, StoredEvent[]>();
        for (const event of all) streams.set(event.streamId, [...(streams.get(event.streamId) ?? []), event]);
        for (const [streamId, events] of streams) {
          expect(events.map((event) => event.revision)).toEqual(events.map((_, index) => index));
          expect(await store.readStream(streamId)).toEqual(events);
        }
        // Idempotency holds for every event, flushed before the crash or not.
        for (const event of all.filter((_, index) => index % 7 === 0)) {
          expect(await store.getEvent(event.id)).toEqual(event);
          await expect(store.append(event.streamId, [withoutStoreFields(event)], { expectedRevision: 'any' })).resolves.toMatchObject({
            duplicate: true,
            events: [event],
          });
        }
        for (const [streamId, events] of streams) {
          await expect(store.append(streamId, [newEvent()], { expectedRevision: events.length - 1 })).resolves.toMatchObject({
            events: [expect.objectContaining({ revision: events.length })],
          });
        }
        expect(await store.flushIndex()).toBe(true);
        expect(store.indexStats().indexedPosition).toBe(await store.headPosition());
      } finally {
        await store.close();
      }
      // And once more from the index alone.
      const again = await open(path);
      try {
        expect(again.indexStats().unindexedEvents).toBe(0);
        const all = [...again.readAllIterator()];
        for (const streamId of new Set(all.map((event) => event.streamId))) {
          expect(await again.readStream(streamId)).toEqual(all.filter((event) => event.streamId === streamId));
        }
      } finally {
        await again.close();
      }
    };

    it('rebuilds the index from the log when killed before any flush', async () => {
      const path = freshPath();
      const { acknowledged, signal } = await runAndKill(path, { flushThreshold: 1_000_000 }, 500);

      expect(signal).toBe('SIGKILL');
      expect(raw<{ position: number }>(indexFileOf(path), 'SELECT position FROM index_checkpoint')).toEqual({ position: 0 });
      expect(raw<{ rows: number }>(indexFileOf(path), 'SELECT count(*) AS rows FROM stream_index')).toEqual({ rows: 0 });
      await expectIntact(path, acknowledged);
    }, 30_000);

    it('keeps the index at its last committed flush when killed inside a flush', async () => {
      const path = freshPath();
      const { acknowledged, signal } = await runAndKill(path, { flushThreshold: 100, dieInFlush: 3 }, Number.POSITIVE_INFINITY);

      expect(signal).toBe('SIGKILL');
      const { position: checkpoint } = raw<{ position: number }>(indexFileOf(path), 'SELECT position FROM index_checkpoint');
      expect(checkpoint).toBeGreaterThan(0);
      expect(raw<{ rows: number }>(indexFileOf(path), 'SELECT count(*) AS rows FROM stream_index')).toEqual({ rows: checkpoint });
      expect(raw<{ rows: number }>(indexFileOf(path), 'SELECT count(*) AS rows FROM event_ids')).toEqual({ rows: checkpoint });
      await expectIntact(path, acknowledged);
    }, 30_000);

    it('opens correctly when killed at any moment while appending and flushing often', async () => {
      for (const until of [300, 1_000, 2_500]) {
        const path = freshPath();
        const { acknowledged, signal } = await runAndKill(path, { flushThreshold: 50, flushIntervalMs: 5, streams: 20 }, until);

        expect(signal).toBe('SIGKILL');
        await expectIntact(path, acknowledged);
      }
    }, 60_000);
  });
});
