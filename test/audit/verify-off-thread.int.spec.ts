// verify hashes the stored chain's links on a worker thread (issue 6, 1M events at ≥ 200k/s):
// on a real SQLite log and chain, with every kind of tampering, the report is the one the
// pass hashing on the main thread gives, and the worker itself finds a broken link.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AuditPublicKey, canonicalEvent, HashChain, openAuditDb, verifyLog, type LogVerification } from '@devid/audit';
import { SqliteEventStore } from '@devid/event-store';
import { ChainLinksOffThread } from '../../libs/audit/src/verify/chain-links-off-thread';
import { copyAuditLogFiles, steppingClock, testAuditKey, writeAuditLogFiles, type AuditLogFiles } from '../../libs/audit/src/testing/audit-log';

jest.setTimeout(300_000);

const key = testAuditKey();
const trustedKey = AuditPublicKey.fromSpki(key.subjectPublicKeyInfo);
let dir: string;
let pristine: AuditLogFiles;
let head: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'audit-off-thread-'));
  ({ head, ...pristine } = await writeAuditLogFiles(dir, key, { deviceEvents: 600, devices: 40, checkpointEvery: 50 }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let copies = 0;
/** A working copy of the log and the chain, changed by `events` and `chain` (SQL on each file). */
const tampered = (change: { events?: (db: DatabaseSync) => void; chain?: (db: DatabaseSync) => void } = {}) => {
  const { events, audit } = copyAuditLogFiles(pristine, `copy-${copies++}`);
  for (const [file, sql] of [[events, change.events], [audit, change.chain]] as const) {
    if (!sql) continue;
    const db = new DatabaseSync(file);
    sql(db);
    db.close();
  }
  return { events, audit };
};

/** verifyLog with the links hashed off the thread and on it: both reports. */
const bothWays = async ({ events, audit }: { events: string; audit: string }): Promise<{ off: LogVerification; on: LogVerification }> => {
  const store = await SqliteEventStore.open(events);
  const chainDb = openAuditDb(audit);
  try {
    const off = await verifyLog(store, { trustedKey, chainDb, offThread: true });
    const on = await verifyLog(store, { trustedKey, chainDb, offThread: false });
    return { off, on };
  } finally {
    await store.close();
    chainDb.close();
  }
};

const positions = () => [1, 2, 49, 50, 51, 300, head - 1, head];

describe('verify with the chain links hashed off the thread', () => {
  it('reports an intact log as the pass on the main thread does: every position chained, sealed to the last checkpoint', async () => {
    const { off, on } = await bothWays(tampered());
    expect(off).toEqual(on);
    expect(off).toMatchObject({ ok: true, events: head, head, chainedUpTo: head, unvouched: 0 });
    expect(off.checkpoints).toBeGreaterThanOrEqual(10);
  });

  it.each([
    ['data', "replace(data, '\"', ' \"')"],
    ['metadata', "replace(metadata, 'a', 'b')"],
    ['id', "'00000000-0000-4000-8000-000000000000'"],
    ['recorded_at', "'2030-01-01T00:00:00.000Z'"],
    ['revision', 'revision + 1'],
  ])('finds a changed %s at each position, as the pass on the main thread does', async (column, value) => {
    for (const position of positions()) {
      const { off, on } = await bothWays(tampered({ events: (db) => db.prepare(`UPDATE events SET ${column} = ${value} WHERE position = ?`).run(position) }));
      expect([position, off.ok, off.failure?.position]).toEqual([position, false, position]);
      expect(off).toEqual(on);
    }
  });

  it('finds a changed, a missing, a short and an extra row of the stored chain, as the pass on the main thread does', async () => {
    for (const position of positions()) {
      for (const [what, sql] of [
        ['changed', 'UPDATE audit_chain SET hash = randomblob(32) WHERE position = ?'],
        ['missing', 'DELETE FROM audit_chain WHERE position = ?'],
        ['short', 'UPDATE audit_chain SET hash = substr(hash, 1, 31) WHERE position = ?'],
      ] as const) {
        const { off, on } = await bothWays(tampered({ chain: (db) => db.prepare(sql).run(position) }));
        // The last row missing is a chain that has not caught up yet: the head is unvouched.
        if (what === 'missing' && position === head) expect(off).toMatchObject({ ok: true, chainedUpTo: head - 1, unvouched: 1 });
        else expect([what, position, off.ok, off.failure?.position]).toEqual([what, position, false, position]);
        expect(off).toEqual(on);
      }
    }
    const { off, on } = await bothWays(tampered({ chain: (db) => db.prepare('INSERT INTO audit_chain (position, hash) VALUES (?, randomblob(32))').run(head + 1) }));
    expect(off.failure).toMatchObject({ code: 'chain-longer-than-log', position: head + 1 });
    expect(off).toEqual(on);
  });

  it('finds a dropped event and a swap, as the pass on the main thread does', async () => {
    for (const position of positions()) {
      const dropped = await bothWays(tampered({ events: (db) => db.prepare('DELETE FROM events WHERE position = ?').run(position) }));
      expect(dropped.off.ok).toBe(false);
      expect(dropped.off).toEqual(dropped.on);
    }
    const swapped = await bothWays(
      tampered({
        events: (db) => {
          db.prepare('UPDATE events SET position = -1 WHERE position = 10').run();
          db.prepare('UPDATE events SET position = 10 WHERE position = 11').run();
          db.prepare('UPDATE events SET position = 11 WHERE position = -1').run();
        },
      }),
    );
    expect(swapped.off.failure?.position).toBe(10);
    expect(swapped.off).toEqual(swapped.on);
  });

  it('hashes on the main thread what the chain does not cover yet, and what is stored out of canonical order', async () => {
    const unchained = await bothWays(tampered({ chain: (db) => db.prepare('DELETE FROM audit_chain WHERE position > ?').run(head - 30) }));
    expect(unchained.off).toMatchObject({ ok: true, events: head, chainedUpTo: head - 30 });
    expect(unchained.off).toEqual(unchained.on);
    const reordered = await bothWays(
      tampered({
        events: (db) => {
          const { metadata } = db.prepare('SELECT metadata FROM events WHERE position = 77').get() as { metadata: string };
          const reversed = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(metadata) as Record<string, unknown>).reverse()));
          db.prepare('UPDATE events SET metadata = ? WHERE position = 77').run(reversed);
        },
      }),
    );
    expect(reordered.off).toMatchObject({ ok: true, events: head, chainedUpTo: head });
    expect(reordered.off).toEqual(reordered.on);
  });

  it('hashes on the main thread an event too big for a slab (over 1 MiB / 3 UTF-16 units), and finds it changed', async () => {
    const copy = tampered();
    const store = await SqliteEventStore.open(copy.events, { clock: steppingClock(Date.parse('2026-01-01T00:00:00.000Z')) });
    const chainDb = openAuditDb(copy.audit);
    const [first] = await store.readAll({ maxCount: 1 });
    await store.append('device-big', [{ ...first!, id: '00000000-0000-4000-8000-0000000b1600', data: { note: 'x'.repeat(400_000) } }], { expectedRevision: 'no_stream' });
    new HashChain(chainDb).apply(await store.readAll({ after: head }));
    await store.close();
    chainDb.close();
    const intact = await bothWays(copy);
    expect(intact.off).toMatchObject({ ok: true, events: head + 1, chainedUpTo: head + 1 });
    expect(intact.off).toEqual(intact.on);
    const db = new DatabaseSync(copy.events);
    db.prepare("UPDATE events SET data = replace(data, 'xxx', 'xyx') WHERE position = ?").run(head + 1);
    db.close();
    const changed = await bothWays(copy);
    expect(changed.off.failure).toMatchObject({ position: head + 1, code: 'hash-mismatch' });
    expect(changed.off).toEqual(changed.on);
  });

  it('leaves a changed event whose chain was recomputed to the checkpoints, as the pass on the main thread does', async () => {
    const copy = tampered({ events: (db) => db.prepare("UPDATE events SET recorded_at = '2030-01-01T00:00:00.000Z' WHERE position = 120").run() });
    const store = await SqliteEventStore.open(copy.events);
    const chainDb = openAuditDb(copy.audit);
    const chain = new HashChain(chainDb);
    chain.reset();
    chain.apply(await store.readAll({ maxCount: 100_000 }));
    await store.close();
    chainDb.close();
    const { off, on } = await bothWays(copy);
    expect(off.failure).toMatchObject({ code: 'checkpoint-hash-mismatch' });
    expect(off).toEqual(on);
  });
});

describe('ChainLinksOffThread', () => {
  /** The canonical text of every event of the pristine log, by position. */
  const texts = async (): Promise<string[]> => {
    const store = await SqliteEventStore.open(pristine.events);
    try {
      return (await store.readAll({ maxCount: 100_000 })).map(canonicalEvent);
    } finally {
      await store.close();
    }
  };

  it('holds every link of an intact chain, queued in order or with positions left out', async () => {
    const all = await texts();
    for (const step of [1, 7]) {
      const links = new ChainLinksOffThread(tampered().audit, head);
      try {
        for (let position = 1; position <= head; position += step) expect(links.add(position, all[position - 1]!)).toBe(true);
        expect(links.allHeld()).toBe(true);
      } finally {
        links.close();
      }
    }
  });

  // A page of rows with a hole or a hash not 32 bytes long is not read at all: every link in it
  // fails, the pass on the main thread then names the position.
  it('finds a link that does not hold: other bytes (named), a row missing or a hole in the rows before it (at or before it)', async () => {
    const all = await texts();
    const cases: [string, string, (links: ChainLinksOffThread) => void][] = [
      ['other bytes', tampered().audit, (links) => links.add(300, all[300]!)],
      ['row missing', tampered({ chain: (db) => db.prepare('DELETE FROM audit_chain WHERE position = 300').run() }).audit, (links) => links.add(300, all[299]!)],
      ['hole before', tampered({ chain: (db) => db.prepare('DELETE FROM audit_chain WHERE position = 299').run() }).audit, (links) => links.add(300, all[299]!)],
    ];
    for (const [what, audit, queue] of cases) {
      const links = new ChainLinksOffThread(audit, head);
      try {
        for (let position = 1; position < 300; position++) if (position !== 299 || what !== 'hole before') links.add(position, all[position - 1]!);
        queue(links);
        for (let position = 301; position <= head; position++) links.add(position, all[position - 1]!);
        expect([what, links.allHeld()]).toEqual([what, false]);
        if (what === 'other bytes') expect(links.failedAt()).toBe(300);
        else expect(links.failedAt()).toBeLessThanOrEqual(300);
      } finally {
        links.close();
      }
    }
  });

  it('holds no link when it cannot open the chain, and still takes every slab back', async () => {
    const all = await texts();
    const links = new ChainLinksOffThread(join(dir, 'no-such-chain.db'), head);
    try {
      // Several slabs' worth: the reader would wait for a slab the worker never freed.
      for (let round = 0; round < 20; round++) for (let position = 1; position <= head; position++) links.add(position, all[position - 1]!);
      expect([links.allHeld(), links.failedAt()]).toEqual([false, -1]);
    } finally {
      links.close();
    }
  });
});
