// devid store migrate on real SQLite files: the copy has the same events (ids, order, positions,
// recordedAt), a SIGKILLed run resumes without duplicates, and the audit chain verifies on the copy.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AuditPublicKey, HashChain, openAuditDb, verifyLog } from '@devid/audit';
import { SqliteEventStore, type StoredEvent } from '@devid/event-store';
import { buildAuditLog, steppingClock, testAuditKey } from '../../libs/audit/src/testing/audit-log';

jest.setTimeout(300_000);

const CLI = join(__dirname, '..', '..', 'apps', 'cli', 'bin', 'devid.js');
const key = testAuditKey();
let dir: string;
let source: string;
let sourceEvents: StoredEvent[];

const devid = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

const readWhole = async (path: string): Promise<StoredEvent[]> => {
  const store = await SqliteEventStore.open(path);
  try {
    return [...store.readAllIterator()];
  } finally {
    await store.close();
  }
};

const countEvents = (path: string): number => {
  try {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // not created yet
  }
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'devid-migrate-'));
  source = join(dir, 'source.db');
  const store = await SqliteEventStore.open(source, { clock: steppingClock() });
  const auditDb = openAuditDb(join(dir, 'audit.db'));
  await buildAuditLog(store, new HashChain(auditDb), key, { deviceEvents: 4000, devices: 300, checkpointEvery: 250 });
  auditDb.close();
  await store.close();
  sourceEvents = await readWhole(source);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('devid store migrate', () => {
  it('copies the log to another SQLite file: same ids, order, positions, revisions and recordedAt; the audit chain verifies there', async () => {
    const target = join(dir, 'copy.db');

    const run = devid('store', 'migrate', '--from', `sqlite:${source}`, '--to', `sqlite:${target}`, '--no-progress');

    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe(`migrated ${sourceEvents.length} of ${sourceEvents.length} events to sqlite:${target}`);
    expect(run.status).toBe(0);
    expect(await readWhole(target)).toEqual(sourceEvents);
    const store = await SqliteEventStore.open(target);
    try {
      const verification = await verifyLog(store, { trustedKey: AuditPublicKey.fromSpki(key.subjectPublicKeyInfo) });
      expect(verification).toMatchObject({ ok: true, events: sourceEvents.length, head: sourceEvents.length });
      expect(verification.checkpoints).toBeGreaterThan(10);
      expect(verification.sealedUpTo).toBeGreaterThan(sourceEvents.length - 300);
    } finally {
      await store.close();
    }
  });

  it('resumes after being killed mid-copy: the second run continues where the first stopped, with no duplicates', async () => {
    const target = join(dir, 'killed.db');
    const first = spawn(process.execPath, [CLI, 'store', 'migrate', '--from', `sqlite:${source}`, '--to', `sqlite:${target}`, '--no-progress'], { stdio: 'ignore' });
    const killedAt = await new Promise<number>((resolve, reject) => {
      const poll = setInterval(() => {
        const copied = countEvents(target);
        if (copied > 0) {
          first.kill('SIGKILL');
          clearInterval(poll);
        }
      }, 5);
      first.on('exit', (code, signal) => {
        clearInterval(poll);
        if (signal === 'SIGKILL') resolve(countEvents(target));
        else reject(new Error(`the first run ended by itself (exit ${code}) before it could be killed`));
      });
    });
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(sourceEvents.length);

    const second = devid('store', 'migrate', '--from', `sqlite:${source}`, '--to', `sqlite:${target}`, '--no-progress');

    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(new RegExp(`^migrated ${sourceEvents.length} of ${sourceEvents.length} events to sqlite:.* \\(resumed after ${killedAt} already there\\)`));
    const copied = await readWhole(target);
    expect(copied).toEqual(sourceEvents);
    expect(new Set(copied.map((event) => event.id)).size).toBe(sourceEvents.length);
    // A third run finds nothing to do.
    expect(devid('store', 'migrate', '--from', `sqlite:${source}`, '--to', `sqlite:${target}`, '--no-progress').stdout).toContain(`(resumed after ${sourceEvents.length} already there)`);
  });

  it('refuses a target that holds another log, and bad locations, with one line and nothing written', async () => {
    const other = join(dir, 'other.db');
    const store = await SqliteEventStore.open(other);
    await store.append('device-x', [{ ...sourceEvents[0]!, id: '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b' }], { expectedRevision: 'no_stream' });
    await store.close();

    const refusals = [
      devid('store', 'migrate', '--from', `sqlite:${source}`, '--to', `sqlite:${other}`, '--no-progress'),
      devid('store', 'migrate', '--from', `sqlite:${source}`, '--to', 'postgres://db', '--no-progress'),
      devid('store', 'migrate', '--from', 'eventstoredb:kurrentdb://localhost:2113', '--to', `sqlite:${other}`, '--no-progress'),
      devid('store', 'migrate', '--from', `sqlite:${source}`, '--to', `sqlite:${source}`, '--no-progress'),
      devid('store', 'migrate', '--from', `sqlite:${join(dir, 'absent', 'events.db')}`, '--to', `sqlite:${other}`, '--no-progress'),
    ];

    expect(refusals.map((run) => [run.status, run.stderr.trim().split('\n').length])).toEqual([
      [1, 1],
      [1, 1],
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
    expect(refusals[4]!.stderr.trim()).toBe(`devid: no event log at ${join(dir, 'absent', 'events.db')}`);
    expect(existsSync(join(dir, 'absent'))).toBe(false);
    expect(refusals[0]!.stderr).toContain('is not a copy of this source');
    expect(refusals[1]!.stderr).toContain('--to must be sqlite:<path> or eventstoredb:');
    expect(countEvents(other)).toBe(1);
  });
});
