// Acceptance (issue 6): on a real SQLite file and a real bundle file, every single-byte flip of
// an event, every dropped, reordered or inserted event is found by verify, which names where.
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AuditPublicKey, exportBundle, HashChain, openAuditDb, verifyBundle, verifyLog, type LogVerification } from '@devid/audit';
import { SqliteEventStore } from '@devid/event-store';
import { copyAuditLogFiles, steppingClock, testAuditKey, writeAuditLogFiles, type AuditLogFiles } from '../../libs/audit/src/testing/audit-log';

jest.setTimeout(300_000);

const key = testAuditKey();
const trustedKey = AuditPublicKey.fromSpki(key.subjectPublicKeyInfo);
let dir: string;
let pristine: AuditLogFiles;
let head: number;

interface Row {
  position: number;
  id: string;
  stream_id: string;
  revision: number;
  type: string;
  version: number;
  occurred_at: string;
  recorded_at: string;
  data: string;
  metadata: string;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'audit-tamper-'));
  ({ head, ...pristine } = await writeAuditLogFiles(dir, key, { deviceEvents: 990, devices: 60, checkpointEvery: 100 }));
  // Closing the last connection folds the WAL into the main file: every byte is now in it.
  expect(existsSync(`${pristine.events}-wal`)).toBe(false);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh working copy of the log and the chain for one tampering. */
const workingCopy = (name: string) => copyAuditLogFiles(pristine, name);

const verify = async (events: string, audit?: string): Promise<LogVerification> => {
  const store = await SqliteEventStore.open(events);
  const chainDb = audit === undefined ? undefined : openAuditDb(audit);
  try {
    return await verifyLog(store, { trustedKey, ...(chainDb ? { chainDb } : {}) });
  } finally {
    await store.close();
    chainDb?.close();
  }
};

const rowsOf = (file: string): Row[] => {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare('SELECT position, id, stream_id, revision, type, version, occurred_at, recorded_at, data, metadata FROM events ORDER BY position').all() as unknown as Row[];
  } finally {
    db.close();
  }
};

/** One column of one row as SQLite reads it now. */
const storedColumn = (file: string, column: keyof Row, position: number): unknown => {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return (db.prepare(`SELECT ${column} AS value FROM events WHERE position = ?`).get(position) as { value: unknown } | undefined)?.value;
  } finally {
    db.close();
  }
};

/** Bytes of a record-format integer (SQLite file format §2.1): 0 and 1 take none. */
const intBytes = (n: number) => (n === 0 || n === 1 ? 0 : n <= 127 ? 1 : n <= 32_767 ? 2 : 3);

describe('verify over the SQLite file', () => {
  it('the untouched log verifies, every position chained and sealed up to the last checkpoint', async () => {
    const { events, audit } = workingCopy('intact');
    const report = await verify(events, audit);
    expect(report).toMatchObject({ ok: true, head, events: head, chainedUpTo: head, unvouched: 0 });
    expect(head).toBeGreaterThanOrEqual(1000);
    expect(report.checkpoints).toBeGreaterThanOrEqual(10);
  });

  it('finds a single flipped byte in each of the events, in every stored column, and names its position', async () => {
    const { events, audit } = workingCopy('flip');
    const rows = rowsOf(events);
    const file = readFileSync(events);
    const columns = ['data', 'metadata', 'type', 'id', 'stream_id', 'recorded_at', 'occurred_at', 'data'] as const;
    const missed: string[] = [];
    const fd = openSync(events, 'r+');
    try {
      for (const row of rows) {
        // The record body stores id, stream_id, revision, type, version, occurred_at, recorded_at, data, metadata
        // back to back. Free pages may hold stale copies of a row: the live one is where a flip shows in SQL.
        const column = columns[row.position % columns.length]!;
        let target = -1;
        let original: Buffer = Buffer.alloc(0);
        for (let start = file.indexOf(Buffer.from(row.id + row.stream_id, 'utf8')); start >= 0 && target < 0; start = file.indexOf(Buffer.from(row.id + row.stream_id, 'utf8'), start + 1)) {
          const parts: [string, Buffer][] = [
            ['id', Buffer.from(row.id)],
            ['stream_id', Buffer.from(row.stream_id)],
            ['revision', Buffer.alloc(intBytes(row.revision))],
            ['type', Buffer.from(row.type)],
            ['version', Buffer.alloc(intBytes(row.version))],
            ['occurred_at', Buffer.from(row.occurred_at)],
            ['recorded_at', Buffer.from(row.recorded_at)],
            ['data', Buffer.from(row.data)],
            ['metadata', Buffer.from(row.metadata)],
          ];
          let at = start;
          let offset = -1;
          let bytes: Buffer = Buffer.alloc(0);
          for (const [name, value] of parts) {
            if (name === column) [offset, bytes] = [at, value];
            at += value.length;
          }
          // The located bytes are the column's own: the flip lands inside the row, not beside it.
          if (!file.subarray(offset, offset + bytes.length).equals(bytes)) continue;
          const candidate = offset + ((row.position * 7919) % bytes.length);
          original = Buffer.from(file.subarray(candidate, candidate + 1));
          writeSync(fd, Buffer.from([original[0]! ^ (row.position % 2 === 0 ? 0x01 : 0x20)]), 0, 1, candidate);
          if (storedColumn(events, column, row.position) !== row[column]) target = candidate;
          else writeSync(fd, original, 0, 1, candidate);
        }
        expect([row.position, column, target >= 0]).toEqual([row.position, column, true]);
        const report = await verify(events, audit);
        writeSync(fd, original, 0, 1, target);
        if (report.ok || report.failure?.position !== row.position) missed.push(`${row.position}/${column}: ${JSON.stringify(report.failure ?? 'ok')}`);
      }
    } finally {
      closeSync(fd);
    }
    expect(missed).toEqual([]);
    expect(rows).toHaveLength(head);
    expect((await verify(events, audit)).ok).toBe(true);
  });

  it('finds a changed integer column (revision, version) at its position', async () => {
    for (const [column, position] of [['revision', 10], ['version', 500], ['revision', head]] as const) {
      const { events, audit } = workingCopy(`int-${column}-${position}`);
      const db = new DatabaseSync(events);
      db.prepare(`UPDATE events SET ${column} = ${column} + 1000 WHERE position = ?`).run(position);
      db.close();
      expect((await verify(events, audit)).failure).toMatchObject({ position });
    }
  });

  const tampered = async (name: string, sql: (db: DatabaseSync) => void) => {
    const { events, audit } = workingCopy(name);
    const db = new DatabaseSync(events);
    db.exec('BEGIN');
    sql(db);
    db.exec('COMMIT');
    db.close();
    return verify(events, audit);
  };
  /** Moves every row from `from` on by `by` positions (two steps: the primary key stays unique). */
  const shift = (db: DatabaseSync, from: number, by: number) => {
    db.prepare('UPDATE events SET position = -position WHERE position >= ?').run(from);
    db.prepare('UPDATE events SET position = -position + ? WHERE position < 0').run(by);
  };
  const samples = () => [1, 2, 3, 50, 99, 100, 101, 102, 250, 499, 500, 777, 998, 999, head - 1, head];

  it('finds a dropped event, with or without the gap closed, and names its position', async () => {
    for (const position of samples()) {
      const gap = await tampered(`drop-${position}`, (db) => db.prepare('DELETE FROM events WHERE position = ?').run(position));
      expect([position, gap.ok, gap.failure?.code]).toEqual([position, false, position === head ? 'chain-longer-than-log' : 'position-gap']);
      expect(gap.failure?.position).toBe(position);
      const closed = await tampered(`drop-close-${position}`, (db) => {
        db.prepare('DELETE FROM events WHERE position = ?').run(position);
        shift(db, position + 1, -1);
      });
      expect([position, closed.ok, closed.failure?.position]).toEqual([position, false, position]);
    }
  });

  it('finds two events that swapped places, and names the earlier', async () => {
    for (const [a, b] of [[1, 2], [10, 11], [99, 100], [100, 101], [5, 900], [head - 1, head]] as const) {
      const report = await tampered(`swap-${a}-${b}`, (db) => {
        db.prepare('UPDATE events SET position = -1 WHERE position = ?').run(a);
        db.prepare('UPDATE events SET position = ? WHERE position = ?').run(a, b);
        db.prepare('UPDATE events SET position = ? WHERE position = -1').run(b);
      });
      expect([a, b, report.ok, report.failure?.position]).toEqual([a, b, false, a]);
    }
  });

  it('finds an inserted event, forged or a copy of another, and names its position', async () => {
    for (const position of samples()) {
      const report = await tampered(`insert-${position}`, (db) => {
        shift(db, position, 1);
        db.prepare(
          `INSERT INTO events (position, id, stream_id, revision, type, version, occurred_at, recorded_at, data, metadata)
           SELECT ?, 'forged-' || id, stream_id, revision + 100000, type, version, occurred_at, recorded_at, data, metadata FROM events WHERE position = ?`,
        ).run(position, position + 1);
      });
      expect([position, report.ok, report.failure?.position]).toEqual([position, false, position]);
    }
  });

  it('accepts a stored text that is not in canonical member order when its content is the chained one (rows written before the store ordered members)', async () => {
    const position = 321;
    const report = await tampered('reordered', (db) => {
      const { metadata } = db.prepare('SELECT metadata FROM events WHERE position = ?').get(position) as { metadata: string };
      const reversed = Object.fromEntries(Object.entries(JSON.parse(metadata) as Record<string, unknown>).reverse());
      expect(JSON.stringify(reversed)).not.toBe(metadata);
      db.prepare('UPDATE events SET metadata = ? WHERE position = ?').run(JSON.stringify(reversed), position);
    });
    expect(report).toMatchObject({ ok: true, events: head, chainedUpTo: head });
  });

  it('finds bytes moved from one JSON column into the next even when the columns still concatenate to the chained bytes', async () => {
    const { events, audit } = workingCopy('moved-bytes');
    const store = await SqliteEventStore.open(events, { clock: steppingClock() });
    const chainDb = openAuditDb(audit);
    const chain = new HashChain(chainDb);
    // data whose members look like the envelope's own: {"b":1,"id":"fake","metadata":{"c":2}}
    await store.append('device-crafted', [{ ...(await store.readAll({ maxCount: 1 }))[0]!, id: '00000000-0000-4000-8000-00000000c0de', data: { b: 1, id: 'fake', metadata: { c: 2 } } }], { expectedRevision: 'no_stream' });
    chain.apply(await store.readAll({ after: head }));
    await store.close();
    chainDb.close();
    const position = head + 1;
    const before = rowsOf(events)[position - 1]!;
    // The canonical text starts {"data":{"b":1,"id":"fake","metadata":{"c":2}},"id":"<id>","metadata":<metadata>,…
    const moved = { data: '{"b":1', id: 'fake', metadata: `{"c":2}},"id":${JSON.stringify(before.id)},"metadata":${before.metadata}` };
    const joined = (row: { data: string; id: string; metadata: string }) => `{"data":${row.data},"id":${JSON.stringify(row.id)},"metadata":${row.metadata}`;
    expect(joined(moved)).toBe(joined(before));
    const db = new DatabaseSync(events);
    db.prepare('UPDATE events SET data = ?, id = ?, metadata = ? WHERE position = ?').run(moved.data, moved.id, moved.metadata, position);
    db.close();

    const report = await verify(events, audit);

    expect(report.failure).toMatchObject({ position, code: 'event-unreadable' });
  });

  it('without the stored chain, the signed checkpoints alone catch a change to any sealed event', async () => {
    const { events } = workingCopy('checkpoints-only');
    const rows = rowsOf(events);
    const intact = await verify(events);
    expect(intact).toMatchObject({ ok: true, sealedUpTo: expect.any(Number) });
    const missed: number[] = [];
    for (const row of rows.filter((r) => r.position <= intact.sealedUpTo && r.position % 10 === 3)) {
      const db = new DatabaseSync(events);
      db.prepare('UPDATE events SET recorded_at = ? WHERE position = ?').run('2030-01-01T00:00:00.000Z', row.position);
      db.close();
      const report = await verify(events);
      const restore = new DatabaseSync(events);
      restore.prepare('UPDATE events SET recorded_at = ? WHERE position = ?').run(row.recorded_at, row.position);
      restore.close();
      // The first checkpoint at or after the change names the range it seals.
      if (report.ok || report.failure!.position < row.position) missed.push(row.position);
    }
    expect(missed).toEqual([]);
  });
});

describe('verify-bundle over the bundle file', () => {
  let bundle: string;
  let lines: string[];
  beforeAll(async () => {
    const store = await SqliteEventStore.open(pristine.events);
    const sealed = (await verifyLog(store)).sealedUpTo;
    bundle = join(dir, 'log.bundle');
    await exportBundle(store, { from: { position: 1 }, to: { position: sealed }, out: bundle });
    await store.close();
    lines = readFileSync(bundle, 'utf8').split('\n').slice(0, -1);
  });

  const verifyLines = async (name: string, changed: string[]) => {
    const file = join(dir, `${name}.bundle`);
    writeFileSync(file, changed.map((l) => `${l}\n`).join(''));
    return verifyBundle(file, { trustedKey });
  };
  const positionOf = (line: string) => (JSON.parse(line) as { event?: { position: number } }).event?.position;

  it('the untouched bundle verifies', async () => {
    expect(await verifyBundle(bundle, { trustedKey })).toMatchObject({ ok: true, firstPosition: 1 });
    expect(lines.filter((l) => l.startsWith('{"kind":"event"')).length).toBeGreaterThanOrEqual(990);
  });

  it('finds a single flipped byte on every line, and names that line', async () => {
    const text = readFileSync(bundle);
    const file = join(dir, 'flip.bundle');
    writeFileSync(file, text);
    const fd = openSync(file, 'r+');
    const missed: string[] = [];
    try {
      let start = 0;
      for (let n = 1; n <= lines.length; n++) {
        const length = Buffer.byteLength(lines[n - 1]!);
        const target = start + ((n * 7919) % length);
        const flipped = text[target]! ^ (n % 2 === 0 ? 0x01 : 0x20);
        writeSync(fd, Buffer.from([flipped]), 0, 1, target);
        const report = await verifyBundle(file, { trustedKey });
        writeSync(fd, text.subarray(target, target + 1), 0, 1, target);
        const kind = /^\{"kind":"(\w+)"/.exec(lines[n - 1]!)?.[1];
        // A run line only says where the next event starts from: the next line is where that shows.
        const expected = kind === 'run' ? [n, n + 1] : [n];
        if (report.ok || !expected.includes(report.failure!.line!)) missed.push(`line ${n} (${kind}): ${JSON.stringify(report.failure ?? 'ok')}`);
        if (kind === 'event' && !report.ok && report.failure!.position !== positionOf(lines[n - 1]!) && report.failure!.code !== 'bundle-malformed') {
          missed.push(`line ${n}: position ${report.failure!.position}`);
        }
        start += length + 1;
      }
    } finally {
      closeSync(fd);
    }
    expect(missed).toEqual([]);
  });

  it('finds a dropped, a swapped and an inserted line', async () => {
    const eventLines = lines.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('{"kind":"event"')).map(([, i]) => i);
    const missed: string[] = [];
    for (const i of eventLines.filter((_, k) => k % 25 === 0 || k === eventLines.length - 1)) {
      const dropped = await verifyLines('drop', lines.filter((_, k) => k !== i));
      if (dropped.ok) missed.push(`drop ${i + 1}`);
      const swapped = [...lines];
      [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
      if ((await verifyLines('swap', swapped)).ok) missed.push(`swap ${i + 1}`);
      const inserted = [...lines.slice(0, i), lines[eventLines[0]!]!, ...lines.slice(i)];
      if ((await verifyLines('insert', inserted)).ok) missed.push(`insert ${i + 1}`);
    }
    // Whole checkpoints: dropping one or moving it leaves a run unsealed.
    const checkpoint = lines.findIndex((l) => l.startsWith('{"kind":"checkpoint"'));
    if ((await verifyLines('drop-checkpoint', lines.filter((_, k) => k !== checkpoint))).ok) missed.push('drop checkpoint');
    expect(missed).toEqual([]);
  });
});
