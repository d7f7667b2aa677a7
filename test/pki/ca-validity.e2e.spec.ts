// A CA's own validity, as a user meets it: no certificate outlives its CA's, and a CA whose
// certificate has expired signs nothing. A ledger without demo CAs gets a root, a factory CA and
// an issuing CA of 30 days (`devid ca create --validity-days 30`); LDevIDs of 365 days are cut to
// the issuing CA's end, and so are its OCSP signer and the EST port's TLS certificate (both
// renewed 30 days before their end: the renewal must not loop). Then the same data dir is served by a ledger whose clock is 31 days on
// (libfaketime): enrollment is refused with a typed problem and writes nothing, EST stays off
// instead of failing the start, and a new issuing CA takes over. Last, the rollover before an
// expiry: an issuing CA with less left than an LDevID's lifetime hands over to the next one as
// soon as it exists, for enrollment, re-enrollment and EST alike (no restart), and a revoked one
// hands over the same way. EST starts by itself once there is an issuing CA. /health tells each of these
// states. openssl and curl check the certificates.
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureBuilt, fakeClockEnv, NO_AUDIT_CHECKPOINTS, ROOT, startLedgerProcess, stopLedgerProcess, type LedgerProcess } from '../support/ledger-process';
import { deviceCsr, openssl } from '../support/openssl';

jest.setTimeout(120_000);

const KEY = 'ca-validity-admin-key-0123456789';
const DAY_MS = 86_400_000;
const run = promisify(execFile);

let dataDir: string;
let work: string;
let ledger: LedgerProcess | undefined;

// The in-process bus even where the environment names a Kafka broker (CI): a ledger whose clock is a month on has no place in the tests' broker.
const env = () => ({ ...NO_AUDIT_CHECKPOINTS, DATA_DIR: dataDir, ADMIN_API_KEY: KEY, CA_KEY_PASSPHRASE: 'test-passphrase-0123', DEMO_CA: 'false', LDEVID_VALIDITY_DAYS: '365', KAFKA_BROKERS: '' });

beforeAll(() => {
  ensureBuilt();
  dataDir = mkdtempSync(join(tmpdir(), 'devid-ca-validity-'));
  work = mkdtempSync(join(tmpdir(), 'devid-ca-validity-work-'));
});
afterAll(async () => {
  if (ledger) await stopLedgerProcess(ledger);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
  const res = await fetch(`${ledger!.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, any> };
};
const devid = (...args: string[]) => run(process.execPath, [join(ROOT, 'apps', 'cli', 'bin', 'devid.js'), ...args, '--url', ledger!.url], { cwd: ROOT, env: { ...process.env, ADMIN_API_KEY: KEY } });
const enddate = async (file: string) => {
  const out = await openssl(['x509', '-in', file, '-noout', '-enddate'], work);
  expect(out.code).toBe(0);
  return new Date(out.out.trim().replace(/^notAfter=/, '')).getTime();
};
/** A device manufactured (IDevID-less) and shipped, and an openssl CSR naming it. */
const shippedDevice = async (n: number) => {
  const made = await call('POST', '/devices', { serialNumber: `SN-VAL-${n}`, model: 'gw-7', factoryId: 'fab' });
  expect(made.status).toBe(201);
  const deviceId = made.body.deviceId as string;
  expect((await call('POST', `/devices/${deviceId}/ship`, { owner: 'acme' })).status).toBe(200);
  await deviceCsr(work, `device-${n}`, `/CN=${deviceId}`);
  return { deviceId, csr: readFileSync(join(work, `device-${n}.csr`), 'utf8') };
};
/** A TCP port nothing listens on now (the kernel's pick, released at once). */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
const saveCa = async (caId: string) => writeFileSync(join(work, `${caId}.pem`), await (await fetch(`${ledger!.url}/cas/${caId}/certificate`)).text());
const pkiHealth = async () => {
  const health = await call('GET', '/health');
  expect(health.status).toBe(200);
  expect(health.body.status).toBe('ok');
  return health.body.pki as { ldevid: Record<string, any>; notValidCas: Array<Record<string, any>> };
};

let second: { deviceId: string; csr: string };
let issuingEnds: number;

it('cuts LDevIDs and the OCSP signer to the end of a 30-day issuing CA made with devid ca create --validity-days, and does not renew that signer in a loop', async () => {
  ledger = await startLedgerProcess(env());
  expect((await call('POST', '/cas', { caId: 'root', role: 'root' })).status).toBe(201);
  expect((await call('POST', '/cas', { caId: 'fab', role: 'factory', parentId: 'root' })).status).toBe(201);
  const refused = await devid('ca', 'create', '--id', 'x', '--role', 'issuing', '--parent', 'root', '--validity-days', '0').catch((error: { code: number; stderr: string }) => error);
  expect(refused).toMatchObject({ code: 2 });
  expect((refused as { stderr: string }).stderr).toMatch(/--validity-days must be a whole number of days from 1 to 36500: 0/);
  const created = JSON.parse((await devid('ca', 'create', '--id', 'issuing', '--role', 'issuing', '--parent', 'root', '--validity-days', '30')).stdout);
  issuingEnds = Date.parse(created.notAfter);
  expect(issuingEnds - Date.parse(created.notBefore)).toBe(30 * DAY_MS);
  await Promise.all(['root', 'issuing'].map(saveCa));
  expect(await enddate('issuing.pem')).toBe(issuingEnds);

  // Before any LDevID: /health says the next one comes from this CA, cut to its end.
  expect(await pkiHealth()).toEqual({ ldevid: { caId: 'issuing', caNotAfter: new Date(issuingEnds).toISOString(), notAfter: new Date(issuingEnds).toISOString(), cutShort: true }, notValidCas: [], keysUnavailable: [] });

  const first = await shippedDevice(1);
  const enrolled = await call('POST', `/devices/${first.deviceId}/enroll`, { csr: first.csr });
  expect(enrolled.status).toBe(200);
  expect(enrolled.body.certificate).toMatchObject({ caId: 'issuing', notAfter: new Date(issuingEnds).toISOString() });
  writeFileSync(join(work, 'ldevid-1.pem'), enrolled.body.certificate.pem);
  // openssl reads the same end, and the chain verifies today.
  expect(await enddate('ldevid-1.pem')).toBe(issuingEnds);
  const verified = await openssl(['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'ldevid-1.pem'], work);
  expect(verified.out).toMatch(/ldevid-1\.pem: OK/);
  // An hour after the CA's end, the same chain fails: why the ledger must not sign past it.
  const late = await openssl(['verify', '-attime', String(Math.floor(issuingEnds / 1000) + 3600), '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'ldevid-1.pem'], work);
  expect(late.out).toMatch(/certificate has expired/);

  // The OCSP signer: 365 days asked, the CA's end given. Renewal (30 days before a signer's end) would be due at once, and
  // again after each renewal: a restarted ledger looks at every CA's signer, and renews none of these.
  second = await shippedDevice(2);
  await stopLedgerProcess(ledger);
  ledger = await startLedgerProcess(env());
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const issuing = (await call('GET', '/cas/issuing')).body;
  expect(issuing.ocspSigner.notAfter).toBe(new Date(issuingEnds).toISOString());
  expect(issuing.ocspSigners).toHaveLength(1);
  // Nor the EST port's TLS certificate, which the issuing CA signs (renewed 30 days before its end, cut to the CA's too).
  expect(issuing.serverCertificates).toHaveLength(1);
  expect(issuing.serverCertificates[0].notAfter).toBe(new Date(issuingEnds).toISOString());
  expect(ledger.output()).not.toMatch(/OCSP signer of issuing renewed|could not be renewed/);
  await stopLedgerProcess(ledger);
  ledger = undefined;
});

it('31 days on (libfaketime), refuses enrollment under the expired CA with a typed 409 that writes nothing; EST stays off; a new issuing CA takes over', async () => {
  if (ledger) await stopLedgerProcess(ledger);
  ledger = await startLedgerProcess({ ...env(), ...fakeClockEnv('+31d') });
  expect(Date.parse((await fetch(`${ledger.url}/health`)).headers.get('date')!)).toBeGreaterThan(issuingEnds);
  expect(ledger.output()).toMatch(/EST not started: the certificate of CA issuing expired at/);
  const expired = await pkiHealth();
  expect(expired.ldevid).toEqual({ unavailable: { code: 'ca-certificate-expired', detail: expect.stringContaining(new Date(issuingEnds).toISOString()) } });
  expect(expired.notValidCas).toEqual([{ caId: 'issuing', role: 'issuing', code: 'ca-certificate-expired', notBefore: expect.any(String), notAfter: new Date(issuingEnds).toISOString() }]);

  const before = (await call('GET', `/devices/${second.deviceId}`)).body;
  const refused = await call('POST', `/devices/${second.deviceId}/enroll`, { csr: second.csr });
  expect(refused.status).toBe(409);
  expect(refused.type).toMatch(/application\/problem\+json/);
  expect(refused.body).toMatchObject({ type: '/problems/ca-certificate-expired', code: 'ca-certificate-expired' });
  expect(refused.body.detail).toContain(new Date(issuingEnds).toISOString());
  // A malformed CSR is still answered 400 first: the caller's to fix.
  const malformed = await call('POST', `/devices/${second.deviceId}/enroll`, { csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' });
  expect([malformed.status, malformed.body.code]).toEqual([400, 'csr-malformed']);
  const after = (await call('GET', `/devices/${second.deviceId}`)).body;
  expect(after).toEqual(before);
  expect(after.status).toBe('shipped');
  expect((await call('GET', `/certificates?deviceId=${second.deviceId}`)).body.certificates).toEqual([]);
  // Nor does the expired CA renew its OCSP signer by hand.
  const renew = await call('POST', '/cas/issuing/ocsp-signer/renew', {});
  expect(renew.status).toBe(409);
  expect(renew.body.code).toBe('ca-certificate-expired');

  // A new issuing CA (10 years by default) takes over: the same request now gets a full 365-day LDevID that openssl verifies at the faked time.
  expect((await call('POST', '/cas', { caId: 'issuing-2', role: 'issuing', parentId: 'root' })).status).toBe(201);
  expect((await pkiHealth()).ldevid).toMatchObject({ caId: 'issuing-2', cutShort: false });
  const enrolled = await call('POST', `/devices/${second.deviceId}/enroll`, { csr: second.csr });
  expect(enrolled.status).toBe(200);
  const certificate = enrolled.body.certificate;
  expect(certificate.caId).toBe('issuing-2');
  expect(Date.parse(certificate.notAfter) - Date.parse(certificate.notBefore)).toBe(365 * DAY_MS);
  writeFileSync(join(work, 'ldevid-2.pem'), certificate.pem);
  await saveCa('issuing-2');
  const verified = await openssl(['verify', '-attime', String(Math.floor(Date.parse(certificate.notBefore) / 1000) + 60), '-CAfile', 'root.pem', '-untrusted', 'issuing-2.pem', 'ldevid-2.pem'], work);
  expect(verified.out).toMatch(/ldevid-2\.pem: OK/);
});

it('rolls over before the expiry: once a newer issuing CA outlasts an LDevID, it signs enrollments, re-enrollments and the EST port, and EST hands out its chain; a revoked CA hands over the same way', async () => {
  if (ledger) await stopLedgerProcess(ledger);
  rmSync(dataDir, { recursive: true, force: true });
  dataDir = mkdtempSync(join(tmpdir(), 'devid-ca-rollover-'));
  const estPort = await freePort();
  const est = `https://127.0.0.1:${estPort}/.well-known/est`;
  const withEst = () => ({ ...env(), EST_PORT: String(estPort) });
  /** EST's /cacerts as curl gets it (TLS checked against the root): the subjects of the chain, or the HTTP status (0: nothing listens). */
  const cacerts = async (): Promise<string[] | number> => {
    const { stdout } = await run('curl', ['-s', '-o', 'cacerts.b64', '-w', '%{http_code}', '--cacert', 'root.pem', `${est}/cacerts`], { cwd: work }).catch((error: { stdout: string }) => error);
    if (stdout !== '200') return Number(stdout);
    expect((await openssl(['base64', '-d', '-in', 'cacerts.b64', '-out', 'cacerts.der'], work)).code).toBe(0);
    return (await openssl(['pkcs7', '-inform', 'DER', '-in', 'cacerts.der', '-print_certs', '-noout'], work)).out.match(/^subject=.*$/gm) ?? [];
  };

  /** The issuer of the TLS certificate the EST port presents, as openssl s_client receives it. */
  const servedIssuer = async () => {
    const { stdout } = await run('sh', ['-c', `openssl s_client -connect 127.0.0.1:${estPort} -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -issuer`], { cwd: work });
    return stdout.trim();
  };
  /** Polls `check` every 250 ms, about 12 s at most. */
  const until = async (check: () => Promise<boolean>) => {
    for (let tries = 0; tries < 50 && !(await check()); tries++) await new Promise((resolve) => setTimeout(resolve, 250));
  };

  // No issuing CA yet: EST waits for one instead of staying off until a restart.
  ledger = await startLedgerProcess(withEst());
  expect(ledger.output()).toMatch(/EST not started: no EST_TLS_CERT\/EST_TLS_KEY and no active issuing CA .*; it starts once an issuing CA is valid/);
  expect((await pkiHealth()).ldevid).toEqual({ unavailable: { code: 'no-active-ca', detail: 'no active issuing CA is registered' } });
  expect((await call('POST', '/cas', { caId: 'root', role: 'root' })).status).toBe(201);
  await saveCa('root');
  expect(await cacerts()).toBe(0);
  expect((await call('POST', '/cas', { caId: 'fab', role: 'factory', parentId: 'root' })).status).toBe(201);
  // Something else holds the EST port when the first issuing CA comes: EST says why, once, and keeps trying.
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(estPort, '127.0.0.1', resolve));
  const old = await call('POST', '/cas', { caId: 'old', role: 'issuing', parentId: 'root', validityDays: 100 });
  expect(old.status).toBe(201);
  const oldEnds = old.body.notAfter as string;
  expect(Date.parse(oldEnds) - Date.parse(old.body.notBefore)).toBe(100 * DAY_MS);
  expect((await pkiHealth()).ldevid).toMatchObject({ caId: 'old', notAfter: oldEnds, cutShort: true });
  for (let tries = 0; !/EST could not start/.test(ledger.output()) && tries < 40; tries++) await new Promise((resolve) => setTimeout(resolve, 250));
  await new Promise((resolve) => setTimeout(resolve, 4_500)); // two more looks
  expect(ledger.output().match(/EST could not start \(tried again every 2 s\): .*EADDRINUSE/g)).toHaveLength(1);
  await new Promise<void>((resolve) => squatter.close(() => resolve()));
  // Once the port is free, EST starts by itself within a few seconds, with a certificate of the new CA.
  let chain = await cacerts();
  for (let tries = 0; chain === 0 && tries < 40; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    chain = await cacerts();
  }
  expect(chain).toEqual([expect.stringMatching(/issuing CA old/), expect.stringMatching(/root CA root/)]);

  // Under the old CA alone, the LDevID is cut to its end (100 days, not 365).
  const a = await shippedDevice(10);
  const first = await call('POST', `/devices/${a.deviceId}/enroll`, { csr: a.csr });
  expect(first.status).toBe(200);
  expect(first.body.certificate).toMatchObject({ caId: 'old', notAfter: oldEnds });

  // The next issuing CA (10 years) takes over at once, while the old one is still valid: enrollment, re-enrollment and /cacerts.
  expect((await call('POST', '/cas', { caId: 'next', role: 'issuing', parentId: 'root' })).status).toBe(201);
  const health = await pkiHealth();
  expect(health.ldevid).toMatchObject({ caId: 'next', cutShort: false });
  expect(health.notValidCas).toEqual([]);
  expect(await cacerts()).toEqual([expect.stringMatching(/issuing CA next/), expect.stringMatching(/root CA root/)]);
  const b = await shippedDevice(11);
  const second = await call('POST', `/devices/${b.deviceId}/enroll`, { csr: b.csr });
  expect(second.status).toBe(200);
  expect(second.body.certificate.caId).toBe('next');
  expect(Date.parse(second.body.certificate.notAfter) - Date.parse(second.body.certificate.notBefore)).toBe(365 * DAY_MS);
  // The device whose LDevID was cut short re-enrolls (same key, openssl's CSR) and gets a full one from the new CA.
  const renewed = await call('POST', `/devices/${a.deviceId}/reenroll`, { csr: a.csr });
  expect(renewed.status).toBe(200);
  expect(renewed.body.certificate.caId).toBe('next');
  expect(Date.parse(renewed.body.certificate.notAfter) - Date.parse(renewed.body.certificate.notBefore)).toBe(365 * DAY_MS);
  await saveCa('next');
  writeFileSync(join(work, 'ldevid-rolled.pem'), renewed.body.certificate.pem);
  const verified = await openssl(['verify', '-CAfile', 'root.pem', '-untrusted', 'next.pem', 'ldevid-rolled.pem'], work);
  expect(verified.out).toMatch(/ldevid-rolled\.pem: OK/);

  // A third CA created later does not take over from one that still covers an LDevID: no churn.
  expect((await call('POST', '/cas', { caId: 'later', role: 'issuing', parentId: 'root' })).status).toBe(201);
  expect((await pkiHealth()).ldevid).toMatchObject({ caId: 'next' });

  // Without a restart, the EST port moves to a TLS certificate of the new CA within seconds.
  await until(async () => /issuing CA next/.test(await servedIssuer()));
  expect(await servedIssuer()).toMatch(/issuing CA next/);
  expect((await call('GET', '/cas/next')).body.serverCertificates).toHaveLength(1);
  expect((await call('GET', '/cas/old')).body.serverCertificates).toHaveLength(1);

  // OCSP (openssl ocsp): the new CA's LDevIDs are good; one is revoked with its device (keyCompromise).
  writeFileSync(join(work, 'ldevid-b.pem'), second.body.certificate.pem);
  const ocsp = async (cert: string, ...extra: string[]) => (await openssl(['ocsp', '-issuer', 'next.pem', '-cert', cert, '-url', `${ledger!.url}/ocsp`, '-CAfile', 'root.pem', '-VAfile', 'next.pem', ...extra], work)).out;
  expect(await ocsp('ldevid-rolled.pem')).toMatch(/ldevid-rolled\.pem: good/);
  expect(await ocsp('ldevid-rolled.pem', '-no_nonce')).toMatch(/ldevid-rolled\.pem: good/); // pre-signed from here on
  expect((await call('POST', `/devices/${b.deviceId}/revoke`, { reason: 'keyCompromise' })).status).toBe(200);
  const revokedFirst = await ocsp('ldevid-b.pem');
  expect(revokedFirst).toMatch(/ldevid-b\.pem: revoked/);
  expect(revokedFirst).toMatch(/Reason: keyCompromise/);

  // The CA in use is compromised and revoked: the next valid one ('later') signs enrollments at once, and EST follows it.
  expect((await call('POST', '/cas/next/revoke', { reason: 'cACompromise' })).status).toBe(200);
  // What it signed is revoked for OCSP from then on (RFC 6960 §2.7), a certificate revoked before keeping its own reason and time.
  for (const extra of [[], ['-no_nonce']]) {
    const afterCa = await ocsp('ldevid-rolled.pem', ...extra);
    expect(afterCa).toMatch(/ldevid-rolled\.pem: revoked/);
    expect(afterCa).toMatch(/Reason: cACompromise/);
  }
  // The inventory says the same: each certificate keeps its own status, and names its CA's revocation.
  const rolledSerial = renewed.body.certificate.serialNumber as string;
  const listed = (await call('GET', `/certificates/${rolledSerial}`)).body;
  expect(listed).toMatchObject({ status: 'good', caRevoked: { revokedAt: expect.any(String), reason: 'cACompromise' } });
  const underNext = (await call('GET', '/certificates?caId=next')).body.certificates as Array<Record<string, any>>;
  expect(underNext.map((c) => c.caRevoked?.reason)).toEqual(['cACompromise', 'cACompromise']); // B's and the re-enrolled one
  expect(underNext.find((c) => c.deviceId === b.deviceId)).toMatchObject({ status: 'revoked', reason: 'keyCompromise' });
  // Under the CA not revoked ('old'), nothing is flagged.
  expect((await call('GET', `/certificates/${first.body.certificate.serialNumber}`)).body.caRevoked).toBeUndefined();
  const revocationOf = (out: string) => [/Reason: .*/.exec(out)?.[0], /Revocation Time: .*/.exec(out)?.[0]];
  expect(revocationOf(await ocsp('ldevid-b.pem'))).toEqual(revocationOf(revokedFirst));
  expect(revocationOf(revokedFirst)[1]).toBeDefined();
  expect((await pkiHealth()).ldevid).toMatchObject({ caId: 'later', cutShort: false });
  const c = await shippedDevice(12);
  const third = await call('POST', `/devices/${c.deviceId}/enroll`, { csr: c.csr });
  expect(third.status).toBe(200);
  expect(third.body.certificate.caId).toBe('later');
  await until(async () => /issuing CA later/.test(await servedIssuer()));
  expect(await servedIssuer()).toMatch(/issuing CA later/);
  expect(await cacerts()).toEqual([expect.stringMatching(/issuing CA later/), expect.stringMatching(/root CA root/)]);
  // Each move was one certificate, recorded once, and logged (no rotation error).
  expect((await call('GET', '/cas/later')).body.serverCertificates).toHaveLength(1);
  expect(ledger.output()).not.toMatch(/could not be replaced/);
});
