// Every CSR of the bad-CSR corpus (libs/pki/testdata/bad-csrs) sent to the ledger API:
// each gets a 400 problem+json with its own stable type, and the device stream is unchanged.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../apps/ledger/src/config/config';
import { startLedger, type RunningLedger } from '../../apps/ledger/src/ledger';
import { request } from '../support/http';

jest.setTimeout(120_000);
const KEY = 'csr-corpus-admin-key-0123456789';
const CORPUS = join(__dirname, '..', '..', 'libs', 'pki', 'testdata', 'bad-csrs');
const GOOD = join(__dirname, '..', '..', 'libs', 'pki', 'testdata', 'good-csrs');

interface Corpus {
  options: { expectedDeviceId: string; expectedSerialNumber: string; maxBytes: number; blockedKeys: string[] };
  cases: Array<{ file: string; code: string; description: string }>;
}
const corpus = JSON.parse(readFileSync(join(CORPUS, 'index.json'), 'utf8')) as Corpus;
/** CSRs travel in JSON: PEM as text, DER as base64 (as EST sends them). */
const asJson = (file: string) => {
  const bytes = readFileSync(join(CORPUS, file));
  return file.endsWith('.pem') ? bytes.toString('latin1') : bytes.toString('base64');
};

let ledger: RunningLedger;
let dir: string;
const api = (method: string, path: string, body?: unknown) => request(ledger.url, method, path, { key: KEY, body });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'devid-csr-corpus-'));
  ledger = await startLedger(loadConfig({ DATA_DIR: dir, PORT: '0', ADMIN_API_KEY: KEY, LOG_LEVEL: 'silent', CA_KEY_PASSPHRASE: 'test-passphrase-0123' }), false);
  // The corpus names device-0001 / SN-0001, and its blocked key is blocked the way a user
  // blocks one: enrolled once, then revoked as keyCompromise.
  const { expectedDeviceId: deviceId, expectedSerialNumber: serialNumber } = corpus.options;
  expect((await api('POST', '/devices', { deviceId, serialNumber, model: 'corpus', factoryId: 'f' })).status).toBe(201);
  await api('POST', `/devices/${deviceId}/ship`, { owner: 'acme' });
  const blocked = await api('POST', `/devices/${deviceId}/enroll`, { csr: readFileSync(join(CORPUS, 'blocked-key.pem'), 'utf8') });
  expect(blocked.status).toBe(200);
  await api('POST', `/devices/${deviceId}/revoke`, { reason: 'keyCompromise' });
  await api('POST', `/devices/${deviceId}/reinstate`, {});
});
afterAll(async () => {
  await ledger.app.close();
  rmSync(dir, { recursive: true, force: true });
});

it('has at least 50 bad CSRs', () => {
  expect(corpus.cases.length).toBeGreaterThanOrEqual(50);
});

it.each(corpus.cases.map((c) => [c.file, c.code, c.description]))('%s → 400 %s (%s), nothing written', async (file, code) => {
  const deviceId = corpus.options.expectedDeviceId;
  const before = (await api('GET', `/devices/${deviceId}/events`)).body.events;
  const res = await api('POST', `/devices/${deviceId}/reenroll`, { csr: asJson(file) });
  // An oversized CSR may already exceed the 64 KiB body limit: that is refused whole (413).
  if (res.status === 413) expect(code).toBe('csr-too-large');
  else {
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect(res.body.type).toBe(`/problems/${code}`);
  }
  expect((await api('GET', `/devices/${deviceId}/events`)).body.events).toEqual(before);
});

it('still accepts a good CSR for the same device afterwards', async () => {
  const res = await api('POST', `/devices/${corpus.options.expectedDeviceId}/reenroll`, { csr: readFileSync(join(GOOD, 'p256.pem'), 'utf8') });
  expect(res.status).toBe(200);
  expect((res.body.certificate as { pem: string }).pem).toMatch(/BEGIN CERTIFICATE/);
});
