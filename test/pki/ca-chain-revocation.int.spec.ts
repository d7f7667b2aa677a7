// A revoked root takes its whole tree along: what its issuing and factory CAs signed is answered
// revoked by OCSP (openssl as the client) and marked caRevoked in the inventory, now and as of a
// later time but not an earlier one; nothing more is signed under it (a typed 409, nothing
// written), enrollment moves to an issuing CA under an active root, and with none left refuses.
// The same answers come back after the read models are deleted and rebuilt from the log.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../apps/ledger/src/config/config';
import { startLedger, type RunningLedger } from '../../apps/ledger/src/ledger';
import { request } from '../support/http';
import { deviceCsr, openssl } from '../support/openssl';

jest.setTimeout(120_000);
const KEY = 'chain-test-admin-key-0123456789';

let ledger: RunningLedger | undefined;
let dataDir: string;
let work: string;
let seq = 0;
const api = (method: string, path: string, body?: unknown) => request(ledger!.url, method, path, { key: KEY, ...(body === undefined ? {} : { body }) });
const start = async () => {
  ledger = await startLedger(loadConfig({ ...process.env, DATA_DIR: dataDir, PORT: '0', ADMIN_API_KEY: KEY, LOG_LEVEL: 'silent', CA_KEY_BACKEND: 'software', CA_KEY_PASSPHRASE: 'test-passphrase-0123' }), false);
};
const save = async (path: string, file: string) => {
  const res = await fetch(`${ledger!.url}${path}`);
  expect(res.status).toBe(200);
  writeFileSync(join(work, file), Buffer.from(await res.arrayBuffer()));
};
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A device manufactured (with an IDevID CSR when `idevid`) and shipped. */
const shippedDevice = async (idevid: boolean) => {
  const n = ++seq;
  const serialNumber = `SN-CHAIN-${n}-${Date.now()}`;
  let csr: string | undefined;
  if (idevid) {
    await deviceCsr(work, `idev-${n}`, `/serialNumber=${serialNumber}`);
    csr = readFileSync(join(work, `idev-${n}.csr`), 'utf8');
  }
  const made = await api('POST', '/devices', { serialNumber, model: 'gw-300', factoryId: 'devid-factory-1', ...(csr ? { csr } : {}) });
  expect(made.status).toBe(201);
  if (idevid) writeFileSync(join(work, `idev-${n}.pem`), (made.body.certificate as { pem: string }).pem);
  expect((await api('POST', `/devices/${made.body.deviceId as string}/ship`, { owner: 'acme' })).status).toBe(200);
  return { n, deviceId: made.body.deviceId as string, serialNumber, idevid: (made.body.certificate as { serialNumber?: string } | undefined)?.serialNumber };
};
const enroll = async (n: number, deviceId: string) => {
  await deviceCsr(work, `ldev-${n}`, `/CN=${deviceId}`);
  return api('POST', `/devices/${deviceId}/enroll`, { csr: readFileSync(join(work, `ldev-${n}.csr`), 'utf8') });
};
const ocsp = (issuer: string, cert: string, extra: string[] = []) =>
  openssl(['ocsp', '-issuer', issuer, '-cert', cert, '-url', `${ledger!.url}/ocsp`, '-CAfile', 'root.pem', '-VAfile', issuer, ...extra], work);
const eventsOf = async (deviceId: string) => ((await api('GET', `/devices/${deviceId}/events`)).body.events as unknown[]).length;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'devid-chain-data-'));
  work = mkdtempSync(join(tmpdir(), 'devid-chain-work-'));
  await start();
  for (const ca of ['root', 'issuing', 'factory-1']) await save(`/cas/devid-${ca}/certificate`, `${ca}.pem`);
});
afterAll(async () => {
  await ledger?.app.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

it('answers revoked for everything under a revoked root, signs nothing more under it, and moves enrollment to an active root', async () => {
  // Device A: an IDevID from the factory CA and an LDevID from the issuing CA, both under devid-root.
  const a = await shippedDevice(true);
  const enrolled = await enroll(a.n, a.deviceId);
  expect(enrolled.status).toBe(200);
  const ldevid = (enrolled.body.certificate as { serialNumber: string; pem: string }).serialNumber;
  writeFileSync(join(work, `ldev-${a.n}.pem`), (enrolled.body.certificate as { pem: string }).pem);
  expect((await ocsp('issuing.pem', `ldev-${a.n}.pem`)).out).toMatch(new RegExp(`ldev-${a.n}\\.pem: good`));
  expect((await ocsp('factory-1.pem', `idev-${a.n}.pem`)).out).toMatch(new RegExp(`idev-${a.n}\\.pem: good`));

  // A second hierarchy, made while the first is active: it takes over nothing yet.
  expect((await api('POST', '/cas', { caId: 'root-2', role: 'root' })).status).toBe(201);
  expect((await api('POST', '/cas', { caId: 'issuing-2', role: 'issuing', parentId: 'root-2' })).status).toBe(201);
  await save('/cas/root-2/certificate', 'root-2.pem');
  await save('/cas/issuing-2/certificate', 'issuing-2.pem');
  expect(((await api('GET', '/health')).body.pki as { ldevid: { caId: string } }).ldevid.caId).toBe('devid-issuing');

  await pause(5);
  const beforeRevocation = new Date().toISOString();
  await pause(5);
  const revoked = await api('POST', '/cas/devid-root/revoke', { reason: 'keyCompromise' });
  expect(revoked.status).toBe(200);
  await pause(5);
  const afterRevocation = new Date().toISOString();

  // OCSP: both of A's certificates revoked as a CA compromise, pre-signed and with a nonce.
  for (const extra of [[], ['-nonce']]) {
    const l = await ocsp('issuing.pem', `ldev-${a.n}.pem`, extra);
    expect(l.out).toMatch(new RegExp(`ldev-${a.n}\\.pem: revoked`));
    expect(l.out).toMatch(/Reason: cACompromise/);
    expect(l.out).toMatch(/Response verify OK/);
    const i = await ocsp('factory-1.pem', `idev-${a.n}.pem`, extra);
    expect(i.out).toMatch(new RegExp(`idev-${a.n}\\.pem: revoked`));
    expect(i.out).toMatch(/Reason: cACompromise/);
  }

  // The inventory: its own status stays good, caRevoked names the root, with its time and reason.
  const certificate = await api('GET', `/certificates/${ldevid}`);
  expect(certificate.body).toMatchObject({ status: 'good', caId: 'devid-issuing' });
  const caRevoked = certificate.body.caRevoked as { caId: string; revokedAt: string; reason: string };
  expect(caRevoked).toMatchObject({ caId: 'devid-root', reason: 'keyCompromise' });
  expect(caRevoked.revokedAt > beforeRevocation && caRevoked.revokedAt < afterRevocation).toBe(true);
  const underIssuing = (await api('GET', '/certificates?caId=devid-issuing')).body.certificates as Array<{ caRevoked?: unknown }>;
  expect(underIssuing.length).toBeGreaterThan(0);
  expect(underIssuing.every((c) => c.caRevoked !== undefined)).toBe(true);
  // Status now, and as the ledger knew it before and after: folded from the device's and the CAs' streams.
  expect((await api('GET', `/certificates/${ldevid}/status`)).body).toMatchObject({ status: 'good', caRevoked });
  const then = await api('GET', `/certificates/${ldevid}/status?asOf=${encodeURIComponent(beforeRevocation)}`);
  expect(then.body).toMatchObject({ status: 'good', asOf: beforeRevocation });
  expect(then.body.caRevoked).toBeUndefined();
  expect((await api('GET', `/certificates/${ldevid}/status?asOf=${encodeURIComponent(afterRevocation)}`)).body).toMatchObject({ status: 'good', caRevoked });

  // GET /cas: the root with its own revocation; the CAs under it active, with the root's as chainRevoked; issuing-2 clean.
  const view = async (caId: string) => (await api('GET', `/cas/${caId}`)).body as { status: string; revokedAt: string | null; revocationReason: string | null; chainRevoked: unknown };
  const rootChain = { caId: 'devid-root', revokedAt: caRevoked.revokedAt, reason: 'keyCompromise' };
  expect(await view('devid-root')).toMatchObject({ status: 'revoked', revokedAt: caRevoked.revokedAt, revocationReason: 'keyCompromise', chainRevoked: rootChain });
  expect(await view('devid-issuing')).toMatchObject({ status: 'active', revokedAt: null, revocationReason: null, chainRevoked: rootChain });
  expect(await view('devid-factory-1')).toMatchObject({ status: 'active', chainRevoked: rootChain });
  expect(await view('issuing-2')).toMatchObject({ status: 'active', chainRevoked: null });

  // /health lists the active CAs that sign nothing now: both under devid-root, not issuing-2.
  const notValid = ((await api('GET', '/health')).body.pki as { notValidCas: Array<{ caId: string; code: string; revokedCaId?: string }> }).notValidCas;
  expect(notValid.map(({ caId, code, revokedCaId }) => [caId, code, revokedCaId])).toEqual([
    ['devid-issuing', 'ca-revoked', 'devid-root'],
    ['devid-factory-1', 'ca-revoked', 'devid-root'],
  ]);

  // Nothing more under the revoked root: an IDevID from devid-factory-1 is refused, nothing written.
  const devicesBefore = ((await api('GET', '/devices?limit=500')).body.devices as unknown[]).length;
  await deviceCsr(work, 'idev-refused', '/serialNumber=SN-CHAIN-REFUSED');
  const refusedIdevid = await api('POST', '/devices', { serialNumber: 'SN-CHAIN-REFUSED', model: 'gw-300', factoryId: 'devid-factory-1', csr: readFileSync(join(work, 'idev-refused.csr'), 'utf8') });
  expect([refusedIdevid.status, refusedIdevid.body.code, refusedIdevid.body.caId, refusedIdevid.body.revokedCaId]).toEqual([409, 'ca-revoked', 'devid-factory-1', 'devid-root']);
  expect(refusedIdevid.headers.get('content-type')).toMatch(/application\/problem\+json/);
  expect(((await api('GET', '/devices?limit=500')).body.devices as unknown[]).length).toBe(devicesBefore);

  // Enrollment moves to issuing-2 at once; openssl verifies its LDevID against root-2.
  const c = await shippedDevice(false);
  const moved = await enroll(c.n, c.deviceId);
  expect(moved.status).toBe(200);
  expect((moved.body.certificate as { caId: string }).caId).toBe('issuing-2');
  writeFileSync(join(work, `ldev-${c.n}.pem`), (moved.body.certificate as { pem: string }).pem);
  expect((await openssl(['verify', '-CAfile', 'root-2.pem', '-untrusted', 'issuing-2.pem', `ldev-${c.n}.pem`], work)).out).toMatch(/: OK/);
  expect(((await api('GET', '/health')).body.pki as { ldevid: { caId: string } }).ldevid.caId).toBe('issuing-2');
  expect((await api('GET', `/certificates/${(moved.body.certificate as { serialNumber: string }).serialNumber}`)).body.caRevoked).toBeUndefined();

  // With root-2 revoked too, no issuing CA is left: 409 ca-revoked, the device stays shipped, /health says why.
  expect((await api('POST', '/cas/root-2/revoke', { reason: 'superseded' })).status).toBe(200);
  const d = await shippedDevice(false);
  const eventsBefore = await eventsOf(d.deviceId);
  const refused = await enroll(d.n, d.deviceId);
  expect([refused.status, refused.body.code, refused.body.caId, refused.body.revokedCaId, refused.body.reason]).toEqual([409, 'ca-revoked', 'devid-issuing', 'devid-root', 'keyCompromise']);
  // A bad CSR is still the caller's to fix first: 400, before the CA's refusal.
  const garbage = await api('POST', `/devices/${d.deviceId}/enroll`, { csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' });
  expect([garbage.status, garbage.body.code]).toEqual([400, 'csr-malformed']);
  expect((await api('GET', `/devices/${d.deviceId}`)).body.status).toBe('shipped');
  expect(await eventsOf(d.deviceId)).toBe(eventsBefore);
  expect(((await api('GET', '/health')).body.pki as { ldevid: { unavailable: { code: string } } }).ldevid.unavailable.code).toBe('ca-revoked');

  // Read models deleted and rebuilt from the log: the same OCSP answer and the same caRevoked.
  const beforeRebuild = { ocsp: (await ocsp('issuing.pem', `ldev-${a.n}.pem`)).out.match(/\S+: (good|revoked)|Reason: \S+/g), caRevoked: (await api('GET', `/certificates/${ldevid}`)).body.caRevoked };
  await ledger!.app.close();
  ledger = undefined;
  for (const suffix of ['', '-wal', '-shm']) rmSync(join(dataDir, `read-models.db${suffix}`), { force: true });
  await start();
  const afterRebuild = { ocsp: (await ocsp('issuing.pem', `ldev-${a.n}.pem`)).out.match(/\S+: (good|revoked)|Reason: \S+/g), caRevoked: (await api('GET', `/certificates/${ldevid}`)).body.caRevoked };
  expect(afterRebuild).toEqual(beforeRebuild);
  expect(afterRebuild.ocsp).toEqual([`ldev-${a.n}.pem: revoked`, 'Reason: cACompromise']);
});
