// `devid audit …` as a user runs it: the built CLI as a child process over a real DATA_DIR.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AuditPublicKey, HashChain, openAuditDb } from '@devid/audit';
import { SqliteEventStore } from '@devid/event-store';
import { buildAuditLog, steppingClock, testAuditKey, type BuiltLog } from '../../libs/audit/src/testing/audit-log';
import { ensureBuilt, ROOT } from '../support/ledger-process';

jest.setTimeout(180_000);
let dir: string;
let built: BuiltLog;

const devid = (...args: string[]) => {
  try {
    return { code: 0, out: execFileSync(process.execPath, [join(ROOT, 'apps/cli/bin/devid.js'), 'audit', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: e.stdout + e.stderr };
  }
};

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'audit-cli-'));
  const key = testAuditKey();
  writeFileSync(join(dir, 'audit-key.pub.pem'), AuditPublicKey.fromSpki(key.subjectPublicKeyInfo).pem());
  const store = await SqliteEventStore.open(join(dir, 'events.db'), { clock: steppingClock() });
  const auditDb = openAuditDb(join(dir, 'audit.db'));
  built = await buildAuditLog(store, new HashChain(auditDb), key, { deviceEvents: 400, devices: 20, checkpointEvery: 100 });
  await store.close();
  auditDb.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('devid audit', () => {
  it('verify, export, verify-bundle and replay an intact log', () => {
    const verified = devid('verify', '--data-dir', dir);
    expect(verified).toMatchObject({ code: 0, out: expect.stringMatching(/^ok: \d+ events/) });
    expect(verified.out).toContain('(pinned)');
    const bundle = join(dir, 'out.bundle');
    expect(devid('export', '--from', '1', '--to', '2025-03-03T10:02:00Z', '--out', bundle, '--data-dir', dir)).toMatchObject({ code: 0 });
    expect(devid('verify-bundle', bundle, '--key', join(dir, 'audit-key.pub.pem'))).toMatchObject({ code: 0, out: expect.stringContaining('(pinned)') });
    const [deviceId, timeline] = [...built.timelines].find(([, t]) => t.states.length > 2)!;
    const at = timeline.states[1]!.recordedAt;
    const replay = devid('replay', '--device', deviceId, '--at', at, '--data-dir', dir);
    expect(replay.code).toBe(0);
    expect((JSON.parse(replay.out) as { device: unknown }).device).toEqual(timeline.states[1]!.state);
  });

  it('bad input: one line, non-zero exit', () => {
    expect(devid('replay', '--device', 'x', '--at', 'yesterday', '--data-dir', dir)).toMatchObject({ code: 2, out: expect.stringContaining('audit-invalid-point-in-time') });
    expect(devid('export', '--from', 'soon', '--to', '5', '--out', join(dir, 'x'), '--data-dir', dir)).toMatchObject({ code: 2 });
    expect(devid('verify', '--data-dir', join(dir, 'nothing-here')).code).toBe(1);
  });

  it('verify names the first bad position of a tampered store, and exits 1', () => {
    const db = new DatabaseSync(join(dir, 'events.db'));
    db.prepare("UPDATE events SET data = json_set(data, '$.tampered', 1) WHERE position = 123").run();
    const position = 123;
    db.close();
    const report = devid('verify', '--data-dir', dir);
    expect(report).toMatchObject({ code: 1, out: expect.stringContaining(`FAILED at position ${position}: hash-mismatch`) });
  });
});
