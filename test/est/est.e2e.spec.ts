// EST (RFC 7030) from outside the process, with curl and openssl as the independent client:
// a device enrolls with its IDevID, re-enrolls with its LDevID (the old one superseded), gets a
// server-generated key; every refusal is a 401/403 with a reason and writes nothing.
import { execFile } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { normalizeSerialNumber } from '@devid/pki';
import { request } from '../support/http';
import { NO_AUDIT_CHECKPOINTS, ensureBuilt, startLedgerProcess, stopLedgerProcess, type LedgerProcess } from '../support/ledger-process';
import { deviceCsr, openssl } from '../support/openssl';

const run = promisify(execFile);
const KEY = 'est-e2e-admin-key-0123456789abcdef';
jest.setTimeout(180_000);

describe('EST over HTTPS with curl and openssl', () => {
  let ledger: LedgerProcess;
  let est: string;
  let dataDir: string;
  let work: string;
  let seq = 0;
  const api = (method: string, path: string, options: Parameters<typeof request>[3] = {}) => request(ledger.url, method, path, { key: KEY, ...options });
  const head = async () => ((await api('GET', '/health')).body as { store: { headPosition: number } }).store.headPosition;

  /** curl as the device: returns the HTTP status and the body curl saved. */
  const curl = async (operation: string, options: { cert?: string; csr?: string; contentType?: string } = {}) => {
    const out = join(work, `response-${++seq}`);
    const args = ['-s', '-o', out, '-w', '%{http_code}', '--cacert', 'root.pem'];
    if (options.cert) args.push('--cert', `${options.cert}.pem`, '--key', `${options.cert}.key`);
    if (options.csr) args.push('-H', `Content-Type: ${options.contentType ?? 'application/pkcs10'}`, '--data-binary', `@${options.csr}`);
    const { stdout } = await run('curl', [...args, `${est}/${operation}`], { cwd: work });
    const body = readFileSync(out);
    return { status: Number(stdout), body, file: out };
  };
  /** An openssl CSR for the device, base64 DER as EST sends it. */
  const estCsr = async (name: string, subject: string) => {
    await deviceCsr(work, name, subject);
    await openssl(['req', '-in', `${name}.csr`, '-outform', 'DER', '-out', `${name}.csr.der`], work);
    writeFileSync(join(work, `${name}.b64`), readFileSync(join(work, `${name}.csr.der`)).toString('base64'));
    return `${name}.b64`;
  };
  /** `openssl pkcs7 -print_certs` over a base64 certs-only response; writes the certificates as PEM. */
  const printCerts = async (base64File: string, pemFile: string) => {
    const decoded = await openssl(['base64', '-d', '-in', base64File, '-out', `${base64File}.der`], work);
    if (decoded.code !== 0) return decoded;
    return openssl(['pkcs7', '-inform', 'DER', '-in', `${base64File}.der`, '-print_certs', '-out', pemFile], work);
  };
  /** A device registered with an IDevID from an openssl key, optionally shipped. */
  const device = async (ship = true) => {
    const n = ++seq;
    const serialNumber = `SN-EST-${n}`;
    await deviceCsr(work, `idev-${n}`, `/serialNumber=${serialNumber}`);
    const made = await api('POST', '/devices', { body: { serialNumber, model: 'est-gw', factoryId: 'devid-factory-1', csr: readFileSync(join(work, `idev-${n}.csr`), 'utf8') } });
    expect(made.status).toBe(201);
    writeFileSync(join(work, `idev-${n}.pem`), (made.body.certificate as { pem: string }).pem);
    const deviceId = made.body.deviceId as string;
    if (ship) expect((await api('POST', `/devices/${deviceId}/ship`, { body: { owner: 'acme' } })).status).toBe(200);
    return { deviceId, serialNumber, idevid: `idev-${n}` };
  };

  const ledgerEnv = () => ({ DATA_DIR: dataDir, ADMIN_API_KEY: KEY, CA_KEY_PASSPHRASE: 'est-e2e-ca-passphrase', EST_PORT: '0', ...NO_AUDIT_CHECKPOINTS });
  /** The certificate the EST port presents, as openssl s_client receives it: written to `file`, its serial number returned. */
  const servedSerial = async (file = 'est-server.pem') => {
    const { host } = new URL(est);
    await run('sh', ['-c', `openssl s_client -connect ${host} -servername localhost </dev/null 2>/dev/null | openssl x509 -out ${file}`], { cwd: work });
    const shown = await openssl(['x509', '-in', file, '-noout', '-serial'], work);
    return normalizeSerialNumber(/serial=([0-9A-F]+)/.exec(shown.out)![1]!);
  };

  /** Polls the EST port (about 12 s at most) until it serves another certificate than `previous`; returns the serial then served. */
  const servedOtherThan = async (previous: string, file: string) => {
    let served = previous;
    for (let tries = 0; served === previous && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      served = await servedSerial(file);
    }
    return served;
  };
  const listedServerCertificates = async () =>
    ((await api('GET', '/cas/devid-issuing')).body as { serverCertificates: Array<{ serialNumber: string; status: string }> }).serverCertificates;

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'devid-est-data-'));
    work = mkdtempSync(join(tmpdir(), 'devid-est-work-'));
    // "Nothing written" is read off the store head: keep the audit scheduler's own signed
    // checkpoints (every 1,000 events or 60 s) from landing in the middle of a comparison.
    ledger = await startLedgerProcess(ledgerEnv());
    est = /EST\s+(https:\/\/\S+)/.exec(ledger.output())![1]!;
    for (const caId of ['devid-root', 'devid-issuing', 'devid-factory-1']) {
      writeFileSync(join(work, `${caId.replace('devid-', '')}.pem`), await (await fetch(`${ledger.url}/cas/${caId}/certificate`)).text());
    }
  });
  afterAll(async () => {
    if (ledger) await stopLedgerProcess(ledger);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('serves the CA certificates and the CSR attributes without a client certificate', async () => {
    const cacerts = await curl('cacerts');
    expect(cacerts.status).toBe(200);
    expect((await printCerts(cacerts.file, 'cacerts.pem')).code).toBe(0);
    const subjects = readFileSync(join(work, 'cacerts.pem'), 'utf8').match(/^subject=.*$/gm);
    expect(subjects).toEqual([expect.stringMatching(/DevID Demo Issuing CA/), expect.stringMatching(/DevID Demo Root CA/)]);
    const attrs = await curl('csrattrs');
    expect(attrs.status).toBe(200);
    writeFileSync(join(work, 'attrs.der'), Buffer.from(attrs.body.toString('ascii'), 'base64'));
    const parsed = await openssl(['asn1parse', '-inform', 'DER', '-in', 'attrs.der'], work);
    expect(parsed.out).toMatch(/id-ecPublicKey/);
    expect(parsed.out).toMatch(/prime256v1/);
    expect(parsed.out).toMatch(/ecdsa-with-SHA256/);
  });

  it('enrolls a device by its IDevID, re-enrolls it by its LDevID (old one superseded), and openssl verifies both', async () => {
    const d = await device();
    const csr = await estCsr('ldev-a', `/CN=${d.deviceId}`);
    const enrolled = await curl('simpleenroll', { cert: d.idevid, csr });
    expect([enrolled.status, enrolled.body.toString().slice(0, 200)]).toEqual([200, expect.any(String)]);
    const printed = await printCerts(enrolled.file, 'ldev-a.pem');
    expect(printed.code).toBe(0);
    expect((await openssl(['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'ldev-a.pem'], work)).out).toMatch(/ldev-a\.pem: OK/);
    const ldevid = new X509Certificate(readFileSync(join(work, 'ldev-a.pem')));
    expect(ldevid.subject).toContain(`CN=${d.deviceId}`);
    expect(ldevid.publicKey.export({ type: 'spki', format: 'der' })).toEqual(createPublicKey(readFileSync(join(work, 'ldev-a.key'))).export({ type: 'spki', format: 'der' }));
    const shown = await api('GET', `/devices/${d.deviceId}`);
    expect(shown.body.status).toBe('enrolled');
    const events = (await api('GET', `/devices/${d.deviceId}/events`)).body.events as Array<{ type: string; metadata: { actor: string } }>;
    expect(events.slice(-2).map((e) => [e.type, e.metadata.actor])).toEqual([
      ['DeviceEnrolled', `est:${d.deviceId}`],
      ['CertificateIssued', `est:${d.deviceId}`],
    ]);

    // The LDevID is listed as expiring within its validity, and re-enrollment replaces it.
    const expiring = await api('GET', `/certificates?deviceId=${d.deviceId}&expiringWithin=400d&profile=LDevID`);
    expect((expiring.body.certificates as Array<{ serialNumber: string }>).map((c) => c.serialNumber)).toEqual([ldevid.serialNumber.toLowerCase().replace(/^(00)+/, '')]);
    const renewCsr = await estCsr('ldev-a2', `/CN=${d.deviceId}`);
    const renewed = await curl('simplereenroll', { cert: 'ldev-a', csr: renewCsr });
    expect(renewed.status).toBe(200);
    expect((await printCerts(renewed.file, 'ldev-a2.pem')).code).toBe(0);
    expect((await openssl(['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'ldev-a2.pem'], work)).out).toMatch(/OK/);
    const certificates = (await api('GET', `/certificates?deviceId=${d.deviceId}&profile=LDevID`)).body.certificates as Array<{ status: string; serialNumber: string }>;
    expect(certificates.map((c) => c.status).sort()).toEqual(['good', 'superseded']);

    // The superseded LDevID and the IDevID cannot re-enroll; nothing is written.
    const before = await head();
    const old = await curl('simplereenroll', { cert: 'ldev-a', csr: renewCsr });
    expect([old.status, JSON.parse(old.body.toString()).code]).toEqual([403, 'est-client-certificate-superseded']);
    const byIdevid = await curl('simplereenroll', { cert: d.idevid, csr: renewCsr });
    expect([byIdevid.status, JSON.parse(byIdevid.body.toString()).code]).toEqual([403, 'est-ldevid-required']);
    expect(await head()).toBe(before);
  });

  it('generates the key on the server and answers multipart key + certificate', async () => {
    const d = await device();
    const csr = await estCsr('ldev-k', `/CN=${d.deviceId}`);
    const res = await curl('serverkeygen', { cert: d.idevid, csr });
    expect(res.status).toBe(200);
    const text = res.body.toString('ascii');
    const boundary = /^--(\S+)\r\n/.exec(text)![1]!;
    const parts = text.split(`--${boundary}`).slice(1, -1).map((p) => p.split('\r\n\r\n'));
    expect(parts.map(([headers]) => /Content-Type: (.*)/.exec(headers!)![1])).toEqual(['application/pkcs8', 'application/pkcs7-mime; smime-type=certs-only']);
    writeFileSync(join(work, 'k.p8.der'), Buffer.from(parts[0]![1]!, 'base64'));
    writeFileSync(join(work, 'k.p7.b64'), parts[1]![1]!);
    expect((await printCerts(join(work, 'k.p7.b64'), 'k.pem')).code).toBe(0);
    expect((await openssl(['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'k.pem'], work)).out).toMatch(/OK/);
    const keyPub = await openssl(['pkey', '-inform', 'DER', '-in', 'k.p8.der', '-pubout'], work);
    const certPub = await openssl(['x509', '-in', 'k.pem', '-noout', '-pubkey'], work);
    expect(keyPub.code).toBe(0);
    expect(keyPub.out).toBe(certPub.out);
  });

  it('refuses with 401/403 and a reason, writing nothing: no client certificate, another device, unknown CA, revoked IDevID, unshipped device', async () => {
    const a = await device();
    const b = await device();
    const scrapped = await device(false);
    expect((await api('POST', `/devices/${scrapped.deviceId}/decommission`, { body: { reason: 'failed end-of-line test' } })).status).toBe(200);
    const csrA = await estCsr('ldev-x', `/CN=${a.deviceId}`);
    // A CA the ledger never heard of, with a device certificate naming device A.
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'rogue-ca.key', '-out', 'rogue-ca.pem', '-subj', '/CN=DevID Demo Factory CA 1 (IDevID)/O=DevID Ledger', '-days', '30'], work);
    await deviceCsr(work, 'rogue', `/CN=${a.deviceId}/serialNumber=${a.serialNumber}`);
    await openssl(['x509', '-req', '-in', 'rogue.csr', '-CA', 'rogue-ca.pem', '-CAkey', 'rogue-ca.key', '-out', 'rogue.pem', '-days', '30', '-set_serial', '7'], work);
    const scrappedCsr = await estCsr('ldev-s', `/serialNumber=${scrapped.serialNumber}`);
    const unshipped = await device(false);
    const unshippedCsr = await estCsr('ldev-u', `/CN=${unshipped.deviceId}`);

    const before = await head();
    const cases: Array<[string, Awaited<ReturnType<typeof curl>>, number, string]> = [
      ['no client certificate', await curl('simpleenroll', { csr: csrA }), 401, 'est-client-certificate-required'],
      ["another device's IDevID", await curl('simpleenroll', { cert: b.idevid, csr: csrA }), 403, 'est-identity-mismatch'],
      ['an IDevID from an unknown CA', await curl('simpleenroll', { cert: 'rogue', csr: csrA }), 401, 'est-client-certificate-untrusted'],
      ['a revoked IDevID', await curl('simpleenroll', { cert: scrapped.idevid, csr: scrappedCsr }), 403, 'est-client-certificate-revoked'],
      ['a device not shipped yet', await curl('simpleenroll', { cert: unshipped.idevid, csr: unshippedCsr }), 409, 'illegal-transition'],
      ['a body that is not PKCS#10', await curl('simpleenroll', { cert: a.idevid, csr: csrA, contentType: 'application/json' }), 415, 'unsupported-media-type'],
    ];
    for (const [what, res, status, code] of cases) {
      expect([what, res.status, JSON.parse(res.body.toString()).code]).toEqual([what, status, code]);
    }
    expect(await head()).toBe(before);
    expect((await api('GET', `/devices/${a.deviceId}`)).body.status).toBe('shipped');
  });

  // Last: it restarts the ledger.
  it('has its own TLS certificate in the ledger, recorded once, before serving it; a restart serves the same one', async () => {
    const served = await servedSerial();
    const issuing = async () => (await api('GET', '/cas/devid-issuing')).body as { serverCertificates: Array<Record<string, unknown>> };
    expect((await issuing()).serverCertificates).toEqual([
      expect.objectContaining({ purpose: 'est-tls', serialNumber: served, hostnames: expect.arrayContaining(['localhost', '127.0.0.1']) }),
    ]);
    // A device that checks the EST server's certificate by OCSP gets an answer: good, signed by the issuing CA's responder.
    const status = await openssl(['ocsp', '-issuer', 'issuing.pem', '-cert', 'est-server.pem', '-url', `${ledger.url}/ocsp`, '-CAfile', 'root.pem', '-VAfile', 'issuing.pem'], work);
    expect(status.out).toMatch(/est-server\.pem: good/);
    expect(status.out).toMatch(/Response verify OK/);

    await stopLedgerProcess(ledger);
    ledger = await startLedgerProcess(ledgerEnv());
    est = /EST\s+(https:\/\/\S+)/.exec(ledger.output())![1]!;

    expect(await servedSerial()).toBe(served);
    expect((await issuing()).serverCertificates.map((issued) => issued.serialNumber)).toEqual([served]);
  });

  // After the restart test: it needs the ledger's certificate as served.
  it('revokes its TLS certificate through the admin API: on the CRL, OCSP revoked, and the port serves a new one; a second revocation is refused', async () => {
    const revoked = await servedSerial('est-revoked.pem');
    const unknownSerial = await api('POST', `/cas/devid-issuing/server-certificates/${'ab'.repeat(16)}/revoke`, { body: { reason: 'keyCompromise' } });
    expect([unknownSerial.status, unknownSerial.body.code]).toEqual([404, 'server-certificate-not-found']);
    const badReason = await api('POST', `/cas/devid-issuing/server-certificates/${revoked}/revoke`, { body: { reason: 'cACompromise' } });
    expect(badReason.status).toBe(400);

    const done = await api('POST', `/cas/devid-issuing/server-certificates/${revoked.toUpperCase()}/revoke`, { body: { reason: 'keyCompromise' } });
    expect(done.status).toBe(200);
    expect(done.body.serverCertificates).toEqual([expect.objectContaining({ serialNumber: revoked, status: 'revoked', revocationReason: 'keyCompromise', revokedAt: expect.any(String) })]);

    // openssl as the relying party: OCSP says revoked with the reason, the CRL lists it, verify with the CRL refuses it.
    const ocsp = await openssl(['ocsp', '-issuer', 'issuing.pem', '-cert', 'est-revoked.pem', '-url', `${ledger.url}/ocsp`, '-CAfile', 'root.pem', '-VAfile', 'issuing.pem'], work);
    expect(ocsp.out).toMatch(/est-revoked\.pem: revoked/);
    expect(ocsp.out).toMatch(/Reason: keyCompromise/);
    expect(ocsp.out).toMatch(/Response verify OK/);
    writeFileSync(join(work, 'issuing.crl'), Buffer.from(await (await fetch(`${ledger.url}/crl/devid-issuing.crl`)).arrayBuffer()));
    const crl = await openssl(['crl', '-inform', 'DER', '-in', 'issuing.crl', '-noout', '-text'], work);
    expect(crl.out).toMatch(new RegExp(`Serial Number: ${revoked.toUpperCase()}\\s+Revocation Date: [^\\n]+\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`));
    await openssl(['crl', '-inform', 'DER', '-in', 'issuing.crl', '-out', 'issuing.crl.pem'], work);
    const verified = await openssl(['verify', '-crl_check', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', '-CRLfile', 'issuing.crl.pem', 'est-revoked.pem'], work);
    expect(verified.out).toMatch(/certificate revoked/);

    // New TLS connections get a new certificate, recorded and good; the revoked one is listed as such.
    const served = await servedOtherThan(revoked, 'est-new.pem');
    expect(served).not.toBe(revoked);
    expect((await listedServerCertificates()).map((c) => [c.serialNumber, c.status])).toEqual([
      [revoked, 'revoked'],
      [served, 'good'],
    ]);
    const fresh = await openssl(['ocsp', '-issuer', 'issuing.pem', '-cert', 'est-new.pem', '-url', `${ledger.url}/ocsp`, '-CAfile', 'root.pem', '-VAfile', 'issuing.pem'], work);
    expect(fresh.out).toMatch(/est-new\.pem: good/);
    expect((await curl('cacerts')).status).toBe(200);

    // Revoking it again is an illegal transition and writes nothing.
    const before = await head();
    const again = await api('POST', `/cas/devid-issuing/server-certificates/${revoked}/revoke`, { body: { reason: 'superseded' } });
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(again.body.detail).toBe(`RevokeServerCertificate is not allowed when the server certificate ${revoked} is revoked`);
    expect(await head()).toBe(before);
  });

  // Restarts the ledger, renewing 3 s after issuance instead of 30 days before expiry.
  it('renews its TLS certificate while running once it is due (EST_TLS_RENEW_SECONDS before expiry), recording each one first', async () => {
    await stopLedgerProcess(ledger);
    ledger = await startLedgerProcess({ ...ledgerEnv(), EST_TLS_RENEW_SECONDS: String(397 * 86_400 - 3) });
    est = /EST\s+(https:\/\/\S+)/.exec(ledger.output())![1]!;
    const first = await servedSerial('est-renew-1.pem');
    const renewed = await servedOtherThan(first, 'est-renew-2.pem');
    expect(renewed).not.toBe(first);
    expect(await listedServerCertificates()).toEqual(expect.arrayContaining([expect.objectContaining({ serialNumber: first, status: 'good' }), expect.objectContaining({ serialNumber: renewed, status: 'good' })]));
    const dates = async (file: string) => (await openssl(['x509', '-in', file, '-noout', '-startdate', '-enddate'], work)).out;
    expect(await dates('est-renew-2.pem')).not.toBe(await dates('est-renew-1.pem'));
    expect((await openssl(['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'est-renew-2.pem'], work)).out).toMatch(/est-renew-2\.pem: OK/);
  });
});
