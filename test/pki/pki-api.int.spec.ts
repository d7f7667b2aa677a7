// The CA through the ledger API, checked by openssl as the independent client: chains,
// OCSP good → revoked (with reason), CRL and delta CRL, blocked keys, rebuild equality.
// Runs once with software CA keys and once with the CA keys in SoftHSM2.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../apps/ledger/src/config/config';
import { startLedger, type RunningLedger } from '../../apps/ledger/src/ledger';
import { Authorities } from '../../apps/ledger/src/pki/authorities';
import { loadCa } from '../../apps/ledger/src/pki/execute-ca-command';
import { KeyStore } from '../../apps/ledger/src/pki/key-store';
import { KeyWatch } from '../../apps/ledger/src/pki/key-watch';
import { EVENT_STORE } from '../../apps/ledger/src/store/tokens';
import type { EventStore } from '@devid/event-store';
import { authorityDetails, type Pkcs11Token } from '@devid/pki';
import { request } from '../support/http';
import { deviceCsr, openssl } from '../support/openssl';
import { hsmEnv } from '../support/hsm';

jest.setTimeout(120_000);
const run = promisify(execFile);
const KEY = 'pki-test-admin-key-0123456789';
const hsm = hsmEnv();
const variants: Array<[string, Record<string, string>]> = [['software keys', { CA_KEY_BACKEND: 'software' }]];
if (hsm) variants.push(['SoftHSM2 keys', { ...hsm, CA_KEY_BACKEND: 'pkcs11' }]);

/** The public key of a certificate the ledger recorded (what KeyStore.destroy checks a key against). */
const spkiOf = (certificate: { der: string }) => authorityDetails(new Uint8Array(Buffer.from(certificate.der, 'base64'))).subjectPublicKeyInfo;

describe.each(variants)('PKI through the API with %s', (_name, env) => {
  let ledger: RunningLedger;
  let dataDir: string;
  let work: string;
  let seq = 0;
  const api = (method: string, path: string, options: Parameters<typeof request>[3] = {}) => request(ledger.url, method, path, { key: KEY, ...options });
  const save = async (path: string, file: string) => {
    const res = await fetch(`${ledger.url}${path}`);
    expect(res.status).toBe(200);
    writeFileSync(join(work, file), Buffer.from(await res.arrayBuffer()));
  };
  const start = async (extra: Record<string, string> = {}) => {
    ledger = await startLedger(loadConfig({ ...process.env, ...env, DATA_DIR: dataDir, PORT: '0', ADMIN_API_KEY: KEY, LOG_LEVEL: 'silent', CA_KEY_PASSPHRASE: 'test-passphrase-0123', ...extra }), false);
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'devid-pki-data-'));
    work = mkdtempSync(join(tmpdir(), 'devid-pki-work-'));
    await start();
    await save('/cas/devid-root/certificate', 'root.pem');
    await save('/cas/devid-issuing/certificate', 'issuing.pem');
    await save('/cas/devid-factory-1/certificate', 'factory.pem');
  });
  afterAll(async () => {
    // The token outlives the data dir: its keys go with it, so that the next run (same token) can make the demo CAs again.
    if (env.CA_KEY_BACKEND === 'pkcs11') await destroyTokenKeys();
    await ledger.app.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  /** Destroys on the token every key the ledger recorded: each CA's, its OCSP signer's and its replaced signers' (a key already gone is no error). */
  const destroyTokenKeys = async () => {
    const keys = ledger.app.get(KeyStore);
    const cas = (await api('GET', '/cas')).body as { cas: Array<{ caId: string }> };
    for (const { caId } of cas.cas) {
      const { state } = await loadCa(ledger.app.get(EVENT_STORE), caId);
      if (state.status === 'unknown') continue;
      const recorded = [state, ...(state.ocspSigner ? [state.ocspSigner] : []), ...Object.values(state.retiredOcspSigners ?? {})];
      for (const { keyRef, certificate } of recorded) if (keyRef.startsWith('pkcs11:')) await keys.destroy(keyRef, spkiOf(certificate));
    }
  };

  /** manufacture (with an IDevID CSR) → ship → enroll (with an LDevID CSR). */
  const enrolledDevice = async () => {
    const n = ++seq;
    const serialNumber = `SN-PKI-${n}-${Date.now()}`;
    await deviceCsr(work, `idev-${n}`, `/serialNumber=${serialNumber}`);
    const made = await api('POST', '/devices', { body: { serialNumber, model: 'gw-200', factoryId: 'devid-factory-1', csr: readFileSync(join(work, `idev-${n}.csr`), 'utf8') } });
    expect(made.status).toBe(201);
    const deviceId = made.body.deviceId as string;
    writeFileSync(join(work, `idev-${n}.pem`), (made.body.certificate as { pem: string }).pem);
    await api('POST', `/devices/${deviceId}/ship`, { body: { owner: 'acme' } });
    await deviceCsr(work, `ldev-${n}`, `/CN=${deviceId}`);
    const enrolled = await api('POST', `/devices/${deviceId}/enroll`, { body: { csr: readFileSync(join(work, `ldev-${n}.csr`), 'utf8') } });
    expect(enrolled.status).toBe(200);
    const certificate = enrolled.body.certificate as { pem: string; serialNumber: string };
    writeFileSync(join(work, `ldev-${n}.pem`), certificate.pem);
    return { n, deviceId, serialNumber, ldevid: certificate.serialNumber, idevid: (made.body.certificate as { serialNumber: string }).serialNumber };
  };
  const ocsp = (n: number, extra: string[] = []) =>
    openssl(['ocsp', '-issuer', 'issuing.pem', '-cert', `ldev-${n}.pem`, '-url', `${ledger.url}/ocsp`, '-CAfile', 'root.pem', '-VAfile', 'issuing.pem', ...extra], work);

  it('issues an IDevID and an LDevID that openssl verifies against the published chain', async () => {
    const { n } = await enrolledDevice();
    expect((await openssl(['verify', '-CAfile', 'root.pem', '-untrusted', 'factory.pem', `idev-${n}.pem`], work)).out).toMatch(/: OK/);
    expect((await openssl(['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', `ldev-${n}.pem`], work)).out).toMatch(/: OK/);
    const idevid = (await openssl(['x509', '-in', `idev-${n}.pem`, '-noout', '-text'], work)).out;
    expect(idevid).toMatch(/Not After : Dec 31 23:59:59 9999 GMT/);
    expect(idevid).toMatch(/serialNumber ?= ?SN-PKI-/);
    expect(idevid).toMatch(/CA:FALSE/);
    const ldevid = (await openssl(['x509', '-in', `ldev-${n}.pem`, '-noout', '-text'], work)).out;
    expect(ldevid).toMatch(/OCSP - URI:http:\/\/127\.0\.0\.1:\d+\/ocsp/);
    expect(ldevid).toMatch(/URI:http:\/\/127\.0\.0\.1:\d+\/crl\/devid-issuing\.crl/);
    expect(ldevid).toMatch(/X509v3 Authority Key Identifier/);
    expect(ldevid).toMatch(/X509v3 Subject Key Identifier/);
  });

  it('answers OCSP good, then revoked with the reason; the full CRL makes openssl refuse the certificate', async () => {
    const { n, deviceId, ldevid } = await enrolledDevice();
    const before = await ocsp(n);
    expect(before.out).toMatch(new RegExp(`ldev-${n}\\.pem: good`));
    expect(before.out).toMatch(/Response verify OK/);
    expect((await api('POST', `/devices/${deviceId}/revoke`, { body: { reason: 'keyCompromise' } })).status).toBe(200);
    const after = await ocsp(n, ['-nonce']);
    expect(after.out).toMatch(new RegExp(`ldev-${n}\\.pem: revoked`));
    expect(after.out).toMatch(/Reason: keyCompromise/);
    expect(after.out).toMatch(/Response verify OK/);
    const getForm = await openssl(['ocsp', '-issuer', 'issuing.pem', '-cert', `ldev-${n}.pem`, '-url', `${ledger.url}/ocsp`, '-CAfile', 'root.pem', '-VAfile', 'issuing.pem', '-no_nonce', '-header', 'Host=127.0.0.1'], work);
    expect(getForm.out).toMatch(/revoked/);

    await save('/crl/devid-issuing.crl', 'issuing.crl');
    const crl = (await openssl(['crl', '-inform', 'DER', '-in', 'issuing.crl', '-noout', '-text'], work)).out;
    expect(crl).toMatch(new RegExp(`Serial Number: ${ldevid.toUpperCase()}`));
    expect(crl).toMatch(/X509v3 CRL Number/);
    expect(crl).toMatch(/X509v3 Authority Key Identifier/);
    expect(crl).toMatch(/Next Update/);
    await openssl(['crl', '-inform', 'DER', '-in', 'issuing.crl', '-out', 'issuing.crl.pem'], work);
    const rootCrl = await fetch(`${ledger.url}/crl/devid-root.crl`);
    writeFileSync(join(work, 'root.crl'), Buffer.from(await rootCrl.arrayBuffer()));
    await openssl(['crl', '-inform', 'DER', '-in', 'root.crl', '-out', 'root.crl.pem'], work);
    const verify = await openssl(['verify', '-crl_check', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', '-CRLfile', 'issuing.crl.pem', `ldev-${n}.pem`], work);
    expect(verify.code).not.toBe(0);
    expect(verify.out).toMatch(/certificate revoked/);

    await save('/crl/devid-issuing/delta.crl', 'issuing-delta.crl');
    const delta = (await openssl(['crl', '-inform', 'DER', '-in', 'issuing-delta.crl', '-noout', '-text'], work)).out;
    expect(delta).toMatch(/Delta CRL Indicator: critical/);
    expect(delta).toMatch(new RegExp(`Serial Number: ${ldevid.toUpperCase()}`));
  });

  it('serves a CRL with its CRL number as ETag: curl revalidating an unchanged CRL gets 304 and no body, a new CRL a new ETag', async () => {
    const curl = async (extra: string[]) => {
      const { stdout } = await run('curl', ['-s', '-D', '-', '-o', '/dev/null', '-w', 'size=%{size_download}', ...extra, `${ledger.url}/crl/devid-issuing.crl`]);
      return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(stdout)?.[1]), etag: /^etag: (.*?)\r?$/im.exec(stdout)?.[1], size: Number(/size=(\d+)/.exec(stdout)?.[1]) };
    };
    const first = await curl([]);
    expect(first.status).toBe(200);
    expect(first.etag).toMatch(/^"\d+"$/);
    await save('/crl/devid-issuing.crl', 'etag.crl');
    const crlNumber = /X509v3 CRL Number:\s*\n\s*(\S+)/.exec((await openssl(['crl', '-inform', 'DER', '-in', 'etag.crl', '-noout', '-text'], work)).out)?.[1];
    // openssl prints the CRL number in decimal when it fits in a long, else in hex.
    expect(BigInt(crlNumber!.includes(':') || /[A-F]/.test(crlNumber!) ? `0x${crlNumber!.replace(/:/g, '')}` : crlNumber!)).toBe(BigInt(JSON.parse(first.etag!) as string));
    const again = await curl(['-H', `If-None-Match: ${first.etag}`]);
    expect([again.status, again.size]).toEqual([304, 0]);
    const { deviceId } = await enrolledDevice();
    expect((await api('POST', `/devices/${deviceId}/revoke`, { body: { reason: 'superseded' } })).status).toBe(200);
    const changed = await curl(['-H', `If-None-Match: ${first.etag}`]);
    expect(changed.status).toBe(200);
    expect(changed.size).toBeGreaterThan(first.size);
    expect(changed.etag).not.toBe(first.etag);
  });

  it('answers OCSP over GET with RFC 5019 caching headers when the answer is the same for every client: curl revalidates it (304), a revocation changes it, a nonce or POST is no-cache', async () => {
    const { n, deviceId } = await enrolledDevice();
    const request = async (file: string, nonce: boolean) => {
      await openssl(['ocsp', '-issuer', 'issuing.pem', '-cert', `ldev-${n}.pem`, nonce ? '-nonce' : '-no_nonce', '-reqout', file], work);
      return encodeURIComponent(readFileSync(join(work, file)).toString('base64'));
    };
    const curl = async (path: string, extra: string[] = [], out = '/dev/null') => {
      const { stdout } = await run('curl', ['-s', '-D', '-', '-o', out, '-w', 'size=%{size_download}', ...extra, `${ledger.url}${path}`]);
      const header = (name: string) => new RegExp(`^${name}: (.*?)\\r?$`, 'im').exec(stdout)?.[1];
      return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(stdout)?.[1]), size: Number(/size=(\d+)/.exec(stdout)?.[1]), cacheControl: header('cache-control'), etag: header('etag'), lastModified: header('last-modified'), expires: header('expires') };
    };
    const plain = `/ocsp/${await request(`get-${n}.der`, false)}`;
    const first = await curl(plain, [], join(work, `get-${n}.resp`));
    expect(first.status).toBe(200);
    const maxAge = Number(/^max-age=(\d+), public, no-transform, must-revalidate$/.exec(first.cacheControl ?? '')?.[1]);
    // Kept until the responder signs it again (half of OCSP_VALIDITY_SECONDS, 3600 by default), never past nextUpdate.
    expect(maxAge).toBeGreaterThan(1700);
    expect(maxAge).toBeLessThanOrEqual(1800);
    expect((Date.parse(first.expires!) - Date.parse(first.lastModified!)) / 1000).toBe(3600);
    expect(first.etag).toMatch(/^"[\w-]{27}"$/);
    // The body is the signed answer: openssl reads it, and its dates are the headers'.
    const read = await openssl(['ocsp', '-respin', `get-${n}.resp`, '-issuer', 'issuing.pem', '-cert', `ldev-${n}.pem`, '-CAfile', 'root.pem', '-VAfile', 'issuing.pem', '-resp_text'], work);
    expect(read.out).toMatch(new RegExp(`ldev-${n}\\.pem: good`));
    expect(read.out).toMatch(/Response verify OK/);
    expect(Date.parse(/This Update: (.*)/.exec(read.out)![1]!)).toBe(Date.parse(first.lastModified!));
    expect(Date.parse(/Next Update: (.*)/.exec(read.out)![1]!)).toBe(Date.parse(first.expires!));
    // Revalidation of an unchanged answer: 304, no body.
    const again = await curl(plain, ['-H', `If-None-Match: ${first.etag}`]);
    expect([again.status, again.size, again.etag]).toEqual([304, 0, first.etag]);
    // Answers that differ per client are not cached: a nonce, or POST.
    expect((await curl(`/ocsp/${await request(`get-nonce-${n}.der`, true)}`)).cacheControl).toBe('no-cache');
    expect((await curl('/ocsp', ['-H', 'Content-Type: application/ocsp-request', '--data-binary', `@${join(work, `get-${n}.der`)}`])).cacheControl).toBe('no-cache');
    // Once revoked, the same URL gives a new answer: a new ETag, revoked.
    expect((await api('POST', `/devices/${deviceId}/revoke`, { body: { reason: 'keyCompromise' } })).status).toBe(200);
    const changed = await curl(plain, ['-H', `If-None-Match: ${first.etag}`], join(work, `get-${n}-revoked.resp`));
    expect(changed.status).toBe(200);
    expect(changed.etag).not.toBe(first.etag);
    const revoked = await openssl(['ocsp', '-respin', `get-${n}-revoked.resp`, '-issuer', 'issuing.pem', '-cert', `ldev-${n}.pem`, '-CAfile', 'root.pem', '-VAfile', 'issuing.pem'], work);
    expect(revoked.out).toMatch(new RegExp(`ldev-${n}\\.pem: revoked`));
  });

  it("renews the issuing CA's OCSP signer, its key where the CA's is, then destroys the replaced key (recorded only once done): answers are signed by the new signer and still verify", async () => {
    const { n, deviceId } = await enrolledDevice();
    const issuingOcspKeyFiles = () => readdirSync(join(dataDir, 'ca-keys')).filter((file) => file.startsWith('devid-issuing-ocsp')).length;
    const filesBefore = issuingOcspKeyFiles();
    const before = ((await api('GET', '/cas/devid-issuing')).body.ocspSigner as { serialNumber: string }).serialNumber;
    const renewed = await api('POST', '/cas/devid-issuing/ocsp-signer/renew', { body: {} });
    expect(renewed.status).toBe(200);
    const after = (renewed.body.ocspSigner as { serialNumber: string }).serialNumber;
    expect(after).not.toBe(before);
    // Software: one more encrypted key file. SoftHSM2: the new key is on the token, none in the data dir.
    expect(issuingOcspKeyFiles()).toBe(filesBefore + (env.CA_KEY_BACKEND === 'pkcs11' ? 0 : 1));
    // Another process's timer that still saw the old signer renews nothing and makes no key.
    const late = await ledger.app.get(Authorities).renewOcspSigner('devid-issuing', 'system:ocsp', { replacing: before });
    expect(late.status !== 'unknown' && late.ocspSigner?.certificate.serialNumber).toBe(after);
    expect(((await api('GET', '/cas/devid-issuing')).body.ocspSigner as { serialNumber: string }).serialNumber).toBe(after);
    expect(issuingOcspKeyFiles()).toBe(filesBefore + (env.CA_KEY_BACKEND === 'pkcs11' ? 0 : 1));
    if (env.CA_KEY_BACKEND === 'pkcs11') {
      const objects = await run('pkcs11-tool', ['--module', env.PKCS11_MODULE!, '--token-label', env.HSM_TOKEN_LABEL!, '--login', '--pin', env.HSM_PIN!, '--list-objects', '--type', 'privkey'], {
        env: { ...process.env, SOFTHSM2_CONF: env.SOFTHSM2_CONF! },
      });
      expect(objects.stdout).toMatch(/label:\s+devid-issuing-ocsp-\d+-[0-9a-f]{8}/);
    }
    // Once its retention is over (here: now), the replaced signer's key is destroyed, then recorded; once.
    const authorities = ledger.app.get(Authorities);
    // A key store that fails (an HSM away): nothing is recorded, the key stays, the next run does it.
    const keyStore = ledger.app.get(KeyStore);
    const destroy = jest.spyOn(keyStore, 'destroy').mockRejectedValueOnce(new Error('token not present'));
    await expect(authorities.destroyRetiredOcspSignerKeys('devid-issuing', Date.now(), 'test')).rejects.toThrow('token not present');
    const untouched = (await loadCa(ledger.app.get(EVENT_STORE), 'devid-issuing')).state;
    expect(untouched.status !== 'unknown' && untouched.retiredOcspSigners?.[before]).toEqual({ keyRef: expect.any(String), certificate: expect.objectContaining({ serialNumber: before }), retiredAt: expect.any(String) });
    if (env.CA_KEY_BACKEND !== 'pkcs11') expect(readdirSync(join(dataDir, 'ca-keys'))).toContain('devid-issuing-ocsp.p8.pem');
    destroy.mockRestore();
    expect((await authorities.destroyRetiredOcspSignerKeys('devid-issuing', Date.now(), 'test')).destroyed).toEqual([before]);
    expect((await authorities.destroyRetiredOcspSignerKeys('devid-issuing', Date.now(), 'test')).destroyed).toEqual([]);
    const { state } = await loadCa(ledger.app.get(EVENT_STORE), 'devid-issuing');
    expect(state.status !== 'unknown' && state.retiredOcspSigners?.[before]?.keyDestroyedAt).toEqual(expect.any(String));
    if (env.CA_KEY_BACKEND === 'pkcs11') {
      const objects = await run('pkcs11-tool', ['--module', env.PKCS11_MODULE!, '--token-label', env.HSM_TOKEN_LABEL!, '--login', '--pin', env.HSM_PIN!, '--list-objects'], {
        env: { ...process.env, SOFTHSM2_CONF: env.SOFTHSM2_CONF! },
      });
      // The first signer's pair (label devid-issuing-ocsp) is gone; the new one and the CA's own are there.
      expect(objects.stdout).not.toMatch(/label:\s+devid-issuing-ocsp\s*$/m);
      expect(objects.stdout).toMatch(/label:\s+devid-issuing-ocsp-\d+-[0-9a-f]{8}/);
      expect(objects.stdout).toMatch(/label:\s+devid-issuing\s*$/m);
    } else {
      expect(readdirSync(join(dataDir, 'ca-keys')).filter((file) => file.startsWith('devid-issuing'))).toEqual(
        expect.arrayContaining(['devid-issuing.p8.pem', expect.stringMatching(/^devid-issuing-ocsp-\d+-[0-9a-f]{8}\.p8\.pem$/)]),
      );
      expect(issuingOcspKeyFiles()).toBe(filesBefore);
      expect(readdirSync(join(dataDir, 'ca-keys'))).not.toContain('devid-issuing-ocsp.p8.pem');
    }
    const signerOf = (out: string) => /Certificate:\s+Data:[\s\S]*?Serial Number:\s*([0-9a-f:]+)/i.exec(out)?.[1]?.replace(/:/g, '').toLowerCase();
    const good = await ocsp(n, ['-resp_text']);
    expect(good.out).toMatch(new RegExp(`ldev-${n}\\.pem: good`));
    expect(good.out).toMatch(/Response verify OK/);
    expect(signerOf(good.out)).toBe(after);
    expect((await api('POST', `/devices/${deviceId}/revoke`, { body: { reason: 'keyCompromise' } })).status).toBe(200);
    const revoked = await ocsp(n, ['-nonce', '-resp_text']);
    expect(revoked.out).toMatch(new RegExp(`ldev-${n}\\.pem: revoked`));
    expect(revoked.out).toMatch(/Response verify OK/);
    expect(signerOf(revoked.out)).toBe(after);
  });

  /** How many keys of renewed OCSP signers of `caId` exist (files in ca-keys, or private keys on the token). */
  const renewedSignerKeys = async (caId: string) => {
    const label = new RegExp(`^${caId}-ocsp-\\d+-[0-9a-f]{8}(\\.p8\\.pem)?$`);
    if (env.CA_KEY_BACKEND !== 'pkcs11') return readdirSync(join(dataDir, 'ca-keys')).filter((file) => label.test(file)).length;
    const objects = await run('pkcs11-tool', ['--module', env.PKCS11_MODULE!, '--token-label', env.HSM_TOKEN_LABEL!, '--login', '--pin', env.HSM_PIN!, '--list-objects', '--type', 'privkey'], {
      env: { ...process.env, SOFTHSM2_CONF: env.SOFTHSM2_CONF! },
    });
    return [...objects.stdout.matchAll(/label:\s+(\S+)/g)].filter(([, name]) => label.test(name!)).length;
  };

  it("destroys a replaced OCSP signer's key only: another key found under its name (a key file put there, another client's pair under the label) is kept, and the destruction is recorded", async () => {
    const authorities = ledger.app.get(Authorities);
    const store = ledger.app.get<EventStore>(EVENT_STORE);
    const before = ((await api('GET', '/cas/devid-root')).body.ocspSigner as { serialNumber: string }).serialNumber;
    expect((await api('POST', '/cas/devid-root/ocsp-signer/renew', { body: {} })).status).toBe(200);
    const renewed = (await loadCa(store, 'devid-root')).state;
    if (renewed.status === 'unknown') throw new Error('devid-root is not recorded');
    const retired = renewed.retiredOcspSigners![before]!;
    const stillThere = async (): Promise<string> => {
      if (env.CA_KEY_BACKEND !== 'pkcs11') return readFileSync(join(dataDir, 'ca-keys', `${retired.keyRef.slice('file:'.length)}.p8.pem`), 'utf8');
      const label = decodeURIComponent(/object=([^;]+)$/.exec(retired.keyRef)![1]!);
      const listed = await run('pkcs11-tool', ['--module', env.PKCS11_MODULE!, '--token-label', env.HSM_TOKEN_LABEL!, '--login', '--pin', env.HSM_PIN!, '--list-objects'], { env: process.env });
      return `${[...listed.stdout.matchAll(/label:\s*(\S+)/g)].filter((m) => m[1] === label).length} objects labelled ${label}`;
    };
    let other: { what: string; spki: Uint8Array };
    if (env.CA_KEY_BACKEND === 'pkcs11') {
      // Another PKCS#11 client (pkcs11-tool) makes a pair under the retired signer's label.
      const label = decodeURIComponent(/object=([^;]+)$/.exec(retired.keyRef)![1]!);
      const tool = ['--module', env.PKCS11_MODULE!, '--token-label', env.HSM_TOKEN_LABEL!, '--login', '--pin', env.HSM_PIN!];
      await run('pkcs11-tool', [...tool, '--keypairgen', '--key-type', 'EC:prime256v1', '--label', label, '--id', 'f00dfeed'], { env: process.env });
      await run('pkcs11-tool', [...tool, '--read-object', '--type', 'pubkey', '--id', 'f00dfeed', '-o', join(work, 'theirs.der')], { env: process.env });
      other = { what: `2 objects labelled ${label}`, spki: new Uint8Array(readFileSync(join(work, 'theirs.der'))) };
      expect(await stillThere()).toBe(`4 objects labelled ${label}`);
    } else {
      // The retired signer's key file holds another key now (the root's own, copied over it).
      const file = join(dataDir, 'ca-keys', `${retired.keyRef.slice('file:'.length)}.p8.pem`);
      writeFileSync(file, readFileSync(join(dataDir, 'ca-keys', 'devid-root.p8.pem')));
      other = { what: readFileSync(file, 'utf8'), spki: spkiOf(renewed.certificate) };
    }
    expect((await authorities.destroyRetiredOcspSignerKeys('devid-root', Date.now(), 'test')).destroyed).toEqual([before]);
    // The signer's own pair is gone, the other key is there as it was; the ledger records the signer's key destroyed, once.
    expect(await stillThere()).toBe(other.what);
    const { state } = await loadCa(store, 'devid-root');
    expect(state.status !== 'unknown' && state.retiredOcspSigners?.[before]?.keyDestroyedAt).toEqual(expect.any(String));
    expect((await authorities.destroyRetiredOcspSignerKeys('devid-root', Date.now(), 'test')).destroyed).toEqual([]);
    expect(await stillThere()).toBe(other.what);
    // The root still signs with its own key (OCSP for its issuing CA is answered by its new signer).
    expect((await api('GET', '/health')).body).toMatchObject({ pki: { keysUnavailable: [] } });
    // Left as found: the other key goes by its own public key.
    await ledger.app.get(KeyStore).destroy(retired.keyRef, other.spki);
  });

  it("records one OCSP signer when two renewals of the same signer race with one command id (as two ledgers' timers do), answers both with it, and destroys the other's key", async () => {
    const authorities = ledger.app.get(Authorities);
    const signerKeys = () => renewedSignerKeys('devid-factory-1');
    const keysBefore = await signerKeys();
    const before = ((await api('GET', '/cas/devid-factory-1')).body.ocspSigner as { serialNumber: string }).serialNumber;
    const options = { replacing: before, commandId: crypto.randomUUID() };
    const answers = await Promise.all([authorities.renewOcspSigner('devid-factory-1', 'system:ocsp', options), authorities.renewOcspSigner('devid-factory-1', 'system:ocsp', options)]);
    const recorded = ((await api('GET', '/cas/devid-factory-1')).body.ocspSigner as { serialNumber: string }).serialNumber;
    expect(recorded).not.toBe(before);
    expect(answers.map((answer) => answer.status !== 'unknown' && answer.ocspSigner?.certificate.serialNumber)).toEqual([recorded, recorded]);
    expect(await signerKeys()).toBe(keysBefore + 1);
    const stream = await ledger.app.get<EventStore>(EVENT_STORE).readStream('ca-devid-factory-1');
    expect(stream.filter((event) => event.metadata.commandId === options.commandId).map((event) => event.type)).toEqual(['OcspSignerIssued']);
  });

  it('destroys the key of an OCSP signer renewal refused because its CA was revoked while the key was made', async () => {
    expect((await api('POST', '/cas', { body: { caId: 'renew-factory', role: 'factory', parentId: 'devid-root' } })).status).toBe(201);
    const keys = ledger.app.get(KeyStore);
    const generate = keys.generate.bind(keys);
    const made: string[] = [];
    // Another operator (or process) revokes the CA between the renewal's checks and its record.
    const spy = jest.spyOn(keys, 'generate').mockImplementationOnce(async (...args) => {
      const key = await generate(...args);
      made.push(key.keyRef);
      expect((await api('POST', '/cas/renew-factory/revoke', { body: { reason: 'superseded' } })).status).toBe(200);
      return key;
    });
    const refused = await api('POST', '/cas/renew-factory/ocsp-signer/renew', { body: {} });
    spy.mockRestore();
    expect(refused.status).toBe(409);
    expect(made).toEqual([expect.stringMatching(/renew-factory-ocsp-\d+-[0-9a-f]{8}$/)]);
    expect(await renewedSignerKeys('renew-factory')).toBe(0);
    const stream = await ledger.app.get<EventStore>(EVENT_STORE).readStream('ca-renew-factory');
    expect(stream.map((event) => event.type)).toEqual(['CertificateAuthorityCreated', 'OcspSignerIssued', 'CertificateAuthorityRevoked']);
  });

  it("answers OCSP for every other CA when one CA's signer key cannot be loaded after a restart (a revoked CA whose keys were destroyed), and refuses that CA's requests only, 503", async () => {
    expect((await api('POST', '/cas', { body: { caId: 'gone-factory', role: 'factory', parentId: 'devid-root' } })).status).toBe(201);
    expect((await api('POST', '/cas/gone-factory/revoke', { body: { reason: 'cessationOfOperation' } })).status).toBe(200);
    await save('/cas/gone-factory/certificate', 'gone-factory.pem');
    const { state } = await loadCa(ledger.app.get(EVENT_STORE), 'gone-factory');
    if (state.status === 'unknown' || !state.ocspSigner) throw new Error('gone-factory is not recorded with a signer');
    for (const { keyRef, certificate } of [state, state.ocspSigner]) await ledger.app.get(KeyStore).destroy(keyRef, spkiOf(certificate));
    await ledger.app.close();
    await start();
    const { n } = await enrolledDevice();
    expect((await ocsp(n)).out).toMatch(new RegExp(`ldev-${n}\\.pem: good`));
    await openssl(['ocsp', '-issuer', 'gone-factory.pem', '-serial', `0x${state.ocspSigner.certificate.serialNumber}`, '-no_nonce', '-reqout', 'gone-factory.req'], work);
    const refused = await fetch(`${ledger.url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: readFileSync(join(work, 'gone-factory.req')) });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { code: string }).code).toMatch(/^key-(unavailable|not-found)$/);
    // The others again, after the refusal.
    expect((await ocsp(n, ['-nonce'])).out).toMatch(new RegExp(`ldev-${n}\\.pem: good`));
  });

  it('names in /health, from the start on, the active CA whose key cannot be loaded, as the issuance it fails answers; no more once the key is back (a file put back), or once that CA is revoked', async () => {
    expect((await api('POST', '/cas', { body: { caId: 'keyless-factory', role: 'factory', parentId: 'devid-root' } })).status).toBe(201);
    const { state } = await loadCa(ledger.app.get(EVENT_STORE), 'keyless-factory');
    if (state.status === 'unknown') throw new Error('keyless-factory is not recorded');
    expect(((await api('GET', '/health')).body.pki as { keysUnavailable: unknown[] }).keysUnavailable).toEqual([]);
    // A software key file moved away (to be put back below); a token's key destroyed.
    const keyFile = join(dataDir, 'ca-keys', 'keyless-factory.p8.pem');
    if (env.CA_KEY_BACKEND === 'pkcs11') await ledger.app.get(KeyStore).destroy(state.keyRef, spkiOf(state.certificate));
    else renameSync(keyFile, `${keyFile}.away`);
    await ledger.app.close();
    await start({ KEY_CHECK_INTERVAL_SECONDS: '1' });
    await ledger.app.get(KeyWatch).settled();
    const problems = ((await api('GET', '/health')).body.pki as { keysUnavailable: unknown[] }).keysUnavailable;
    expect(problems).toEqual([{ caId: 'keyless-factory', key: 'ca', keyRef: state.keyRef, code: expect.stringMatching(/^key-(unavailable|not-found)$/), detail: expect.any(String), since: expect.any(String) }]);
    const serialNumber = `SN-KEYLESS-${Date.now()}`;
    await deviceCsr(work, 'keyless', `/serialNumber=${serialNumber}`);
    const refused = await api('POST', '/devices', { body: { serialNumber, model: 'gw-200', factoryId: 'keyless-factory', csr: readFileSync(join(work, 'keyless.csr'), 'utf8') } });
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe((problems[0] as { code: string }).code);
    const gauge = async () => (await (await fetch(`${ledger.url}/metrics`)).text()).split('\n').filter((line) => line.startsWith('devid_ca_key_unavailable{'));
    expect(await gauge()).toEqual(['devid_ca_key_unavailable{ca="keyless-factory",kind="ca"} 1']);
    if (env.CA_KEY_BACKEND !== 'pkcs11') {
      // Put back: a later check loads it, /health and the gauge clear, and the CA signs again.
      renameSync(`${keyFile}.away`, keyFile);
      const unavailable = async () => ((await api('GET', '/health')).body.pki as { keysUnavailable: unknown[] }).keysUnavailable;
      while ((await unavailable()).length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await gauge()).toEqual([]);
      const issued = await api('POST', '/devices', { body: { serialNumber, model: 'gw-200', factoryId: 'keyless-factory', csr: readFileSync(join(work, 'keyless.csr'), 'utf8') } });
      expect(issued.status).toBe(201);
    }
    expect((await api('POST', '/cas/keyless-factory/revoke', { body: { reason: 'cessationOfOperation' } })).status).toBe(200);
    expect(((await api('GET', '/health')).body.pki as { keysUnavailable: unknown[] }).keysUnavailable).toEqual([]);
    expect(await gauge()).toEqual([]);
  });

  it("signs only with the CA's own key pair: another pair where its key is looked for (a key file restored from elsewhere, a key made on the token under its label by another client) is refused, 503 key-mismatch, with nothing written, and named in /health", async () => {
    expect((await api('POST', '/cas', { body: { caId: 'mixed-factory', role: 'factory', parentId: 'devid-root' } })).status).toBe(201);
    await save('/cas/mixed-factory/certificate', 'mixed-factory.pem');
    const { state } = await loadCa(ledger.app.get(EVENT_STORE), 'mixed-factory');
    if (state.status === 'unknown') throw new Error('mixed-factory is not recorded');
    let next = 0;
    const idevid = async () => {
      const serialNumber = `SN-MIXED-${++next}-${Date.now()}`;
      await deviceCsr(work, `mixed-${next}`, `/serialNumber=${serialNumber}`);
      return api('POST', '/devices', { body: { serialNumber, model: 'gw-200', factoryId: 'mixed-factory', csr: readFileSync(join(work, `mixed-${next}.csr`), 'utf8') } });
    };
    const verifies = async (issued: Awaited<ReturnType<typeof idevid>>) => {
      expect(issued.status).toBe(201);
      writeFileSync(join(work, `mixed-${next}.pem`), (issued.body.certificate as { pem: string }).pem);
      return (await openssl(['verify', '-CAfile', 'root.pem', '-untrusted', 'mixed-factory.pem', `mixed-${next}.pem`], work)).out;
    };
    // A key pair of the same algorithm under the CA's label, made by OpenSC's pkcs11-tool: `id` is its CKA_ID.
    const foreignPairOnToken = (id: string) =>
      run('pkcs11-tool', ['--module', env.PKCS11_MODULE!, '--token-label', env.HSM_TOKEN_LABEL!, '--login', '--pin', env.HSM_PIN!, '--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'mixed-factory', '--id', id], { env: process.env });
    const keyFile = join(dataDir, 'ca-keys', 'mixed-factory.p8.pem');
    if (env.CA_KEY_BACKEND === 'pkcs11') {
      // Two pairs under one label: the one with the certificate's public key is the CA's.
      await foreignPairOnToken('0badc0de01');
      await ledger.app.close();
      await start();
      expect(await verifies(await idevid())).toMatch(/: OK/);
      // Then only another pair under it.
      await ledger.app.get(KeyStore).destroy(state.keyRef, spkiOf(state.certificate));
      await foreignPairOnToken('0badc0de02');
    } else {
      renameSync(keyFile, `${keyFile}.away`);
      writeFileSync(keyFile, readFileSync(join(dataDir, 'ca-keys', 'devid-factory-1.p8.pem')), { mode: 0o600 });
    }
    await ledger.app.close();
    await start({ KEY_CHECK_INTERVAL_SECONDS: '1' });
    const head = await ledger.app.get<EventStore>(EVENT_STORE).headPosition();
    const refused = await idevid();
    expect([refused.status, refused.body.code]).toEqual([503, 'key-mismatch']);
    expect(await ledger.app.get<EventStore>(EVENT_STORE).headPosition()).toBe(head);
    const crl = await fetch(`${ledger.url}/crl/mixed-factory.crl`);
    expect([crl.status, ((await crl.json()) as { code: string }).code]).toEqual([503, 'key-mismatch']);
    const unavailable = async () => ((await api('GET', '/health')).body.pki as { keysUnavailable: unknown[] }).keysUnavailable;
    expect(await unavailable()).toEqual([{ caId: 'mixed-factory', key: 'ca', keyRef: state.keyRef, code: 'key-mismatch', detail: expect.stringMatching(/(not the key pair|has the public key) of its certificate/), since: expect.any(String) }]);
    if (env.CA_KEY_BACKEND !== 'pkcs11') {
      // The CA's own key put back: a later check loads it, and the CA signs again.
      renameSync(`${keyFile}.away`, keyFile);
      while ((await unavailable()).length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await verifies(await idevid())).toMatch(/: OK/);
    }
    expect((await api('POST', '/cas/mixed-factory/revoke', { body: { reason: 'cessationOfOperation' } })).status).toBe(200);
  });

  it('refuses forever a key revoked as compromised, with a typed 400 and nothing written', async () => {
    const { n, deviceId } = await enrolledDevice();
    await api('POST', `/devices/${deviceId}/revoke`, { body: { reason: 'keyCompromise' } });
    await api('POST', `/devices/${deviceId}/reinstate`, { body: {} });
    const events = (await api('GET', `/devices/${deviceId}/events`)).body.events as unknown[];
    const again = await api('POST', `/devices/${deviceId}/reenroll`, { body: { csr: readFileSync(join(work, `ldev-${n}.csr`), 'utf8') } });
    expect(again.status).toBe(400);
    expect(again.body.type).toBe('/problems/csr-key-blocked');
    expect((await api('GET', `/devices/${deviceId}/events`)).body.events).toEqual(events);
  });

  it('decommission revokes the IDevID too (cessationOfOperation)', async () => {
    const { deviceId, idevid, ldevid } = await enrolledDevice();
    await api('POST', `/devices/${deviceId}/decommission`, { body: { reason: 'end of life' } });
    const certs = (await api('GET', `/certificates?deviceId=${deviceId}`)).body.certificates as Array<{ serialNumber: string; status: string; reason: string }>;
    expect(certs.map((c) => [c.serialNumber, c.status, c.reason])).toEqual([
      [idevid, 'revoked', 'cessationOfOperation'],
      [ldevid, 'revoked', 'cessationOfOperation'],
    ]);
    const der = await fetch(`${ledger.url}/certificates/${ldevid}`, { headers: { accept: 'application/pkix-cert' } });
    expect(der.headers.get('content-type')).toMatch(/application\/pkix-cert/);
    expect(Buffer.from(await der.arrayBuffer())[0]).toBe(0x30);
    // The CRLs a relying party downloads right after the answer already list both.
    for (const [caId, serial] of [['devid-factory-1', idevid], ['devid-issuing', ldevid]] as const) {
      await save(`/crl/${caId}.crl`, `${caId}-after-decommission.crl`);
      const text = (await openssl(['crl', '-inform', 'DER', '-in', `${caId}-after-decommission.crl`, '-noout', '-text'], work)).out;
      expect({ caId, listed: text.includes(`Serial Number: ${serial.toUpperCase()}`) }).toEqual({ caId, listed: true });
    }
  });

  it('gives the same CRL entries and OCSP answers after the read models are deleted and rebuilt', async () => {
    const { n } = await enrolledDevice();
    // The EST port's certificate, revoked on the CA stream, is on the CRL like the devices' (and rebuilt like them).
    const estCertificate = ((await api('GET', '/cas/devid-issuing')).body.serverCertificates as Array<{ serialNumber: string }>)[0]!.serialNumber;
    expect((await api('POST', `/cas/devid-issuing/server-certificates/${estCertificate}/revoke`, { body: { reason: 'superseded' } })).status).toBe(200);
    const crlText = async () => {
      await save('/crl/devid-issuing.crl', 'r.crl');
      return (await openssl(['crl', '-inform', 'DER', '-in', 'r.crl', '-noout', '-text'], work)).out.match(/Serial Number: [0-9A-F]+|Reason Code:\s+\S+( \S+)?|Revocation Date: .*/g);
    };
    const before = { crl: await crlText(), ocsp: (await ocsp(n)).out.match(/: (good|revoked)|Reason: \S+/g) };
    await ledger.app.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(dataDir, `read-models.db${suffix}`), { force: true });
    await start();
    await save('/cas/devid-issuing/certificate', 'issuing.pem');
    const after = { crl: await crlText(), ocsp: (await ocsp(n)).out.match(/: (good|revoked)|Reason: \S+/g) };
    expect(after).toEqual(before);
    expect(before.crl).toEqual(expect.arrayContaining([`Serial Number: ${estCertificate.toUpperCase()}`, expect.stringMatching(/Reason Code:\s+Superseded/)]));
  });
  it('leaves no key behind when a CA cannot be created, so that its caId can be created once the cause is gone', async () => {
    const keys = ledger.app.get(KeyStore);
    // A key left over under the name the new CA's OCSP signer needs (as an older version could leave one).
    const leftover = await keys.generate('extra-factory-ocsp', 'ECDSA-P256');
    const refused = await api('POST', '/cas', { body: { caId: 'extra-factory', role: 'factory', parentId: 'devid-root' } });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'key-name-taken', detail: expect.stringMatching(/^a key named extra-factory-ocsp already exists, and no CA extra-factory is recorded: .*remove that key \(DATA_DIR\/ca-keys\/extra-factory-ocsp\.p8\.pem, or the token object labelled extra-factory-ocsp\) and create extra-factory again$/) });
    expect((await api('GET', '/cas/extra-factory')).status).toBe(404);
    // The CA's own key, made before the signer's failed, is gone again (not only unused).
    if (env.CA_KEY_BACKEND === 'software') expect(readdirSync(join(dataDir, 'ca-keys')).filter((file) => file.startsWith('extra-factory'))).toEqual(['extra-factory-ocsp.p8.pem']);

    await keys.destroy(leftover.keyRef, leftover.key.subjectPublicKeyInfo);
    const created = await api('POST', '/cas', { body: { caId: 'extra-factory', role: 'factory', parentId: 'devid-root' } });
    expect(created.status).toBe(201);
    expect((await api('GET', '/cas/extra-factory')).body).toMatchObject({ caId: 'extra-factory', status: 'active' });
  });
  it('answers 409 ca-exists to a second create of one caId, also when both arrive at once, and keeps the first CA and its key', async () => {
    const body = { caId: 'twin-factory', role: 'factory', parentId: 'devid-root' };
    const answers = await Promise.all([api('POST', '/cas', { body }), api('POST', '/cas', { body })]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409]);
    const created = answers.find((answer) => answer.status === 201)!.body as { serialNumber: string };
    expect(answers.find((answer) => answer.status === 409)!.body).toMatchObject({ code: 'ca-exists', detail: 'certificate authority twin-factory already exists' });
    // A CA id is never reused, revoked or not.
    expect((await api('POST', '/cas/twin-factory/revoke', { body: { reason: 'cessationOfOperation' } })).status).toBe(200);
    const again = await api('POST', '/cas', { body });
    expect(again).toMatchObject({ status: 409, body: { code: 'ca-exists' } });
    expect((await api('GET', '/cas/twin-factory')).body).toMatchObject({ status: 'revoked', serialNumber: created.serialNumber });
    if (env.CA_KEY_BACKEND === 'software') expect(readdirSync(join(dataDir, 'ca-keys')).filter((file) => file.startsWith('twin-factory'))).toEqual(['twin-factory-ocsp.p8.pem', 'twin-factory.p8.pem']);
  });
});

// A network HSM's failover (or idle timeout) drops every session: the next request must find a
// new one, not answer 503 until the ledger is restarted. SoftHSM2 runs in this process, so a
// second handle on its module closes every session of the token (C_CloseAllSessions).
(hsm ? describe : describe.skip)('PKI through the API with SoftHSM2 keys, when the token drops its sessions', () => {
  let ledger: RunningLedger;
  let dataDir: string;
  let work: string;
  const dropEverySession = () => {
    const graphene = require('graphene-pk11') as typeof import('graphene-pk11');
    const slots = graphene.Module.load(hsm!.PKCS11_MODULE!, 'failover').getSlots(true);
    for (let index = 0; index < slots.length; index++) if (slots.items(index).getToken().label.trim() === hsm!.HSM_TOKEN_LABEL) slots.items(index).closeAll();
  };
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'devid-pki-failover-'));
    work = mkdtempSync(join(tmpdir(), 'devid-pki-failover-work-'));
    ledger = await startLedger(loadConfig({ ...process.env, ...hsm, CA_KEY_BACKEND: 'pkcs11', DATA_DIR: dataDir, PORT: '0', EST_PORT: 'off', ADMIN_API_KEY: KEY, LOG_LEVEL: 'silent', CA_KEY_PASSPHRASE: 'test-passphrase-0123' }), false);
    for (const ca of ['devid-root', 'devid-factory-1']) writeFileSync(join(work, `${ca}.pem`), await (await fetch(`${ledger.url}/cas/${ca}/certificate`)).text());
  });
  afterAll(async () => {
    const keys = ledger.app.get(KeyStore);
    for (const caId of ['devid-root', 'devid-issuing', 'devid-factory-1']) {
      const { state } = await loadCa(ledger.app.get(EVENT_STORE), caId);
      if (state.status !== 'unknown') for (const { keyRef, certificate } of [state, ...(state.ocspSigner ? [state.ocspSigner] : [])]) await keys.destroy(keyRef, spkiOf(certificate));
    }
    await ledger.app.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('issues an IDevID that openssl verifies and answers OCSP for it after every session was dropped, and shuts down cleanly after another drop', async () => {
    const idevid = async (n: number) => {
      const serialNumber = `SN-FAILOVER-${n}-${Date.now()}`;
      await deviceCsr(work, `idev-${n}`, `/serialNumber=${serialNumber}`);
      const made = await request(ledger.url, 'POST', '/devices', { key: KEY, body: { serialNumber, model: 'gw-200', factoryId: 'devid-factory-1', csr: readFileSync(join(work, `idev-${n}.csr`), 'utf8') } });
      expect([made.status, made.body.code]).toEqual([201, undefined]);
      writeFileSync(join(work, `idev-${n}.pem`), (made.body.certificate as { pem: string }).pem);
      return (await openssl(['verify', '-CAfile', 'devid-root.pem', '-untrusted', 'devid-factory-1.pem', `idev-${n}.pem`], work)).out;
    };
    expect(await idevid(1)).toMatch(/idev-1\.pem: OK/);
    dropEverySession();
    expect(await idevid(2)).toMatch(/idev-2\.pem: OK/);
    dropEverySession();
    // The OCSP signer's key is on the token too.
    const ocsp = await openssl(['ocsp', '-issuer', 'devid-factory-1.pem', '-cert', 'idev-2.pem', '-url', `${ledger.url}/ocsp`, '-CAfile', 'devid-root.pem', '-VAfile', 'devid-factory-1.pem'], work);
    expect(ocsp.out).toMatch(/idev-2\.pem: good/);
    expect(((await request(ledger.url, 'GET', '/health')).body.pki as { keysUnavailable: unknown[] }).keysUnavailable).toEqual([]);
    dropEverySession();
    // Shutdown logs out of a session the token dropped: no error (before: CKR_SESSION_HANDLE_INVALID).
    await ledger.app.close();
    ledger = await startLedger(loadConfig({ ...process.env, ...hsm, CA_KEY_BACKEND: 'pkcs11', DATA_DIR: dataDir, PORT: '0', EST_PORT: 'off', ADMIN_API_KEY: KEY, LOG_LEVEL: 'silent', CA_KEY_PASSPHRASE: 'test-passphrase-0123' }), false);
    expect(await idevid(3)).toMatch(/idev-3\.pem: OK/);
  });

  it('answers 503 key-store-unavailable after HSM_OPERATION_TIMEOUT_SECONDS while the token does not answer (a module call that does not return), with nothing written, names its keys in /health, signs again once it answers, and shuts down while it does not', async () => {
    const config = { ...process.env, ...hsm, CA_KEY_BACKEND: 'pkcs11', DATA_DIR: dataDir, PORT: '0', EST_PORT: 'off', ADMIN_API_KEY: KEY, LOG_LEVEL: 'silent', CA_KEY_PASSPHRASE: 'test-passphrase-0123' };
    await ledger.app.close();
    ledger = await startLedger(loadConfig({ ...config, HSM_OPERATION_TIMEOUT_SECONDS: '0.5' }), false);
    const serialNumber = `SN-FAILOVER-HUNG-${Date.now()}`;
    await deviceCsr(work, 'hung', `/serialNumber=${serialNumber}`);
    const issue = () => request(ledger.url, 'POST', '/devices', { key: KEY, body: { serialNumber, model: 'gw-200', factoryId: 'devid-factory-1', csr: readFileSync(join(work, 'hung.csr'), 'utf8') } });
    const authorities = ledger.app.get(Authorities);
    expect(await authorities.checkKeys()).toEqual([]);
    // An operation that does not return holds the ledger's session, as a module call to an HSM that stopped answering does.
    const hang = () => {
      let release!: () => void;
      const token = (ledger.app.get(KeyStore) as unknown as { token: Pkcs11Token }).token;
      token.onSession(() => new Promise<void>((resolve) => (release = resolve))).catch(() => undefined);
      return () => release();
    };
    let release = hang();
    const store = ledger.app.get<EventStore>(EVENT_STORE);
    const head = await store.headPosition();
    const refused = await issue();
    expect([refused.status, refused.body.code, refused.body.detail]).toEqual([503, 'key-store-unavailable', expect.stringMatching(/^the token did not answer within 0\.5 s/)]);
    expect(await store.headPosition()).toBe(head);
    // Every active CA's key and OCSP signer's is on this token: the check names each, none waits longer than the bound.
    const problems = await authorities.checkKeys();
    expect(problems.map(({ caId, key, code }) => `${caId} ${key} ${code}`).sort()).toEqual(
      ['devid-factory-1', 'devid-issuing', 'devid-root'].flatMap((caId) => [`${caId} ca key-store-unavailable`, `${caId} ocsp-signer key-store-unavailable`]).sort(),
    );
    expect(((await request(ledger.url, 'GET', '/health')).body.pki as { keysUnavailable: unknown[] }).keysUnavailable).toHaveLength(6);
    // The token answers again: the operations of the callers answered meanwhile are not run, the next ones are.
    release();
    expect(await authorities.checkKeys()).toEqual([]);
    const issued = await issue();
    expect([issued.status, issued.body.code]).toEqual([201, undefined]);
    writeFileSync(join(work, 'hung.pem'), (issued.body.certificate as { pem: string }).pem);
    expect((await openssl(['verify', '-CAfile', 'devid-root.pem', '-untrusted', 'devid-factory-1.pem', 'hung.pem'], work)).out).toMatch(/hung\.pem: OK/);
    // A shutdown while the token does not answer: it waits for KeyWatch's check under way, which ends at the bound.
    release = hang();
    const keyWatch = ledger.app.get(KeyWatch);
    keyWatch.check();
    let checked = false;
    void keyWatch.settled().then(() => (checked = true));
    await ledger.app.close();
    expect(checked).toBe(true);
    release();
    ledger = await startLedger(loadConfig(config), false);
  });

  it('names in /health, and in the gauge, a CA key that stops signing after it was loaded (destroyed on the token): found by the key check (a signature) before any request, and as the issuance it fails answers', async () => {
    const serialNumber = `SN-FAILOVER-GONE-${Date.now()}`;
    await deviceCsr(work, 'gone', `/serialNumber=${serialNumber}`);
    const issue = () => request(ledger.url, 'POST', '/devices', { key: KEY, body: { serialNumber, model: 'gw-200', factoryId: 'devid-factory-1', csr: readFileSync(join(work, 'gone.csr'), 'utf8') } });
    const unavailable = async () => ((await request(ledger.url, 'GET', '/health')).body.pki as { keysUnavailable: unknown[] }).keysUnavailable;
    // Loaded and signing (the previous test issued under it after the restart).
    expect(await unavailable()).toEqual([]);
    const { state } = await loadCa(ledger.app.get(EVENT_STORE), 'devid-factory-1');
    if (state.status === 'unknown') throw new Error('devid-factory-1 is not recorded');
    await ledger.app.get(KeyStore).destroy(state.keyRef, spkiOf(state.certificate));
    // KeyWatch's check (every KEY_CHECK_INTERVAL_SECONDS), with no request in between.
    const problem = { caId: 'devid-factory-1', key: 'ca', keyRef: state.keyRef, code: 'key-not-found', detail: 'no key pair labelled "devid-factory-1" on the token', since: expect.any(String) };
    expect(await ledger.app.get(Authorities).checkKeys()).toEqual([problem]);
    expect(await unavailable()).toEqual([problem]);
    const refused = await issue();
    expect([refused.status, refused.body.code, refused.body.detail]).toEqual([503, 'key-not-found', problem.detail]);
    const gauge = (await (await fetch(`${ledger.url}/metrics`)).text()).split('\n').filter((line) => line.startsWith('devid_ca_key_unavailable{'));
    expect(gauge).toEqual(['devid_ca_key_unavailable{ca="devid-factory-1",kind="ca"} 1']);
  });
});
