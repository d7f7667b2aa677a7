// The README walkthrough, from outside the process: the built ledger as `npm start` runs it,
// driven by curl (an independent HTTP client).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureBuilt, startLedgerProcess, stopLedgerProcess, type LedgerProcess } from './support/ledger-process';

jest.setTimeout(60_000);
const run = promisify(execFile);

let dir: string;
let ledger: LedgerProcess;
let key: string;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'devid-walk-'));
  ledger = await startLedgerProcess({ DATA_DIR: dir, ADMIN_API_KEY: '' });
  key = /admin key\s+(devid_\S+)/.exec(ledger.output())![1];
});
afterAll(async () => {
  await stopLedgerProcess(ledger);
  rmSync(dir, { recursive: true, force: true });
});

/** curl -s -w '%{http_code}' → [status, parsed body, content type]. */
const curl = async (method: string, path: string, body?: unknown, headers: string[] = []) => {
  const args = ['-s', '-X', method, '-o', '-', '-w', '\n%{http_code} %{content_type}', `${ledger.url}${path}`, '-H', `Authorization: Bearer ${key}`];
  for (const h of headers) args.push('-H', h);
  if (body !== undefined) args.push('-H', 'Content-Type: application/json', '-d', JSON.stringify(body));
  const { stdout } = await run('curl', args);
  const cut = stdout.lastIndexOf('\n');
  const [status, contentType] = stdout.slice(cut + 1).split(' ');
  return { status: Number(status), body: JSON.parse(stdout.slice(0, cut) || '{}') as Record<string, unknown>, contentType };
};

it('prints the admin key once, keeps only its hash, and the key works', () => {
  expect(key).toMatch(/^devid_[A-Za-z0-9_-]{20,}$/);
  const stored = readFileSync(join(dir, 'admin-api-key.sha256'), 'utf8');
  expect(stored).not.toContain(key);
  expect(stored.trim()).toMatch(/^[0-9a-f]{64}$/);
});

it('runs manufacture → ship → enroll → transfer → enroll → revoke → reinstate → decommission with curl', async () => {
  const made = await curl('POST', '/devices', { serialNumber: 'SN-WALK-1', model: 'gw-100', factoryId: 'fab-1' });
  expect(made).toMatchObject({ status: 201, body: { status: 'manufactured', revision: 0 } });
  const id = made.body.deviceId as string;
  const steps: Array<[string, unknown, string]> = [
    ['ship', { owner: 'acme' }, 'shipped'],
    ['enroll', {}, 'enrolled'],
    ['transfer', { newOwner: 'globex' }, 'shipped'],
    ['enroll', {}, 'enrolled'],
    ['revoke', { reason: 'keyCompromise' }, 'revoked'],
    ['reinstate', {}, 'enrolled'],
    ['decommission', { reason: 'end of life' }, 'decommissioned'],
  ];
  for (const [action, body, status] of steps) {
    const res = await curl('POST', `/devices/${id}/${action}`, body);
    expect([action, res.status, res.body.status]).toEqual([action, 200, status]);
  }
  const events = (await curl('GET', `/devices/${id}/events`)).body.events as Array<Record<string, unknown>>;
  expect(events.map((e) => e.type)).toEqual([
    'DeviceManufactured', 'DeviceShipped', 'DeviceEnrolled', 'DeviceTransferred',
    'DeviceEnrolled', 'DeviceRevoked', 'DeviceReinstated', 'DeviceDecommissioned',
  ]);
  for (const e of events) expect(Object.keys(e)).toEqual(expect.arrayContaining(['id', 'type', 'version', 'revision', 'position', 'recordedAt', 'data']));

  const illegal = await curl('POST', `/devices/${id}/ship`, { owner: 'x' });
  expect(illegal.status).toBe(409);
  expect(illegal.contentType).toMatch(/application\/problem\+json/);
  expect((await curl('GET', `/devices/${id}/events`)).body.events).toHaveLength(8);
});

it('writes once for a repeated Idempotency-Key and answers 412 for a stale If-Match', async () => {
  const body = { serialNumber: 'SN-WALK-2', model: 'gw-100', factoryId: 'fab-1' };
  const a = await curl('POST', '/devices', body, ['Idempotency-Key: walk-2']);
  const b = await curl('POST', '/devices', body, ['Idempotency-Key: walk-2']);
  expect([a.status, b.status]).toEqual([201, 201]);
  expect(b.body).toEqual(a.body);
  const id = a.body.deviceId as string;
  expect((await curl('GET', `/devices/${id}/events`)).body.events).toHaveLength(1);
  const stale = await curl('POST', `/devices/${id}/ship`, { owner: 'acme' }, ['If-Match: "3"']);
  expect(stale.status).toBe(412);
  expect((await curl('GET', `/devices/${id}/events`)).body.events).toHaveLength(1);
});
