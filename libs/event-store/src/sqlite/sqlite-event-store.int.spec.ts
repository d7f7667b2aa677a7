import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { StoreUnavailable, WrongExpectedRevision } from '../errors';
import { describeEventStoreContract, newEvent } from '../testing';
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

describe('SqliteEventStore', () => {
  const open = (options: SqliteEventStoreOptions = {}, path = freshPath()): Promise<SqliteEventStore> =>
    SqliteEventStore.open(path, options);

  it('commits concurrent appends in groups: far fewer transactions than appends', async () => {
    const store = await open();
    try {
      await Promise.all(Array.from({ length: 64 }, (_, index) => store.append(`device-${index}`, [newEvent()], { expectedRevision: 'no_stream' })));

      expect(store.stats()).toEqual({ commits: 1, appends: 64, events: 64 });
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
    let failNextCommit = false;
    const store = await open({
      beforeCommit: () => {
        if (failNextCommit) {
          failNextCommit = false;
          throw new Error('disk I/O error');
        }
      },
    });
    try {
      await store.append('device-1', [newEvent()], { expectedRevision: 'no_stream' });
      failNextCommit = true;

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

  it('records its schema version and refuses a file from a newer release', async () => {
    const path = freshPath();
    await (await open({}, path)).close();
    const raw = new DatabaseSync(path);
    expect(raw.prepare('SELECT max(version) AS version FROM schema_version').get()).toEqual({ version: 1 });
    raw.exec('INSERT INTO schema_version (version) VALUES (99)');
    raw.close();

    await expect(open({}, path)).rejects.toBeInstanceOf(StoreUnavailable);
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
