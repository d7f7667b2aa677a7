import { readFile, writeFile } from 'node:fs/promises';
import { buildCrl } from '../crl-builder';
import { issueCertificate, type IssuedCertificate } from '../issue-certificate';
import type { KeyAlgorithm, KeyProvider } from '../key-provider';
import { OcspResponder, type CertificateStatus } from '../ocsp-responder';
import { idevidProfile, ldevidProfile } from '../profiles';
import type { RevokedEntry } from '../revocation-reason';
import { newSerialNumber } from '../serial-number';
import { toPem } from '../sign-certificate';
import { SoftwareKeyProvider } from '../software-key-provider';
import { BASE_URL, createTestHierarchy, type TestHierarchy } from './hierarchy';
import { openssl, withTempDir } from './openssl';

/**
 * Issuance, CRL and OCSP checked by openssl as the independent client; run once with software
 * CA keys and once with CA keys on a PKCS#11 token.
 */
export function interopSuite(newCaKey: () => (role: string, algorithm: KeyAlgorithm) => Promise<KeyProvider>): void {
  const now = new Date();
  let hierarchy: TestHierarchy;
  let ldevid: IssuedCertificate;
  let idevid: IssuedCertificate;
  const revoked = new Map<string, RevokedEntry>();
  const lookup = (caId: string, serialNumber: string): CertificateStatus => {
    const entry = revoked.get(`${caId}:${serialNumber}`);
    if (entry) return { status: 'revoked', revokedAt: entry.revokedAt, ...(entry.reason ? { reason: entry.reason } : {}) };
    return [ldevid.serialNumber, idevid.serialNumber].includes(serialNumber) ? { status: 'good' } : { status: 'unknown' };
  };
  let responder: OcspResponder;

  beforeAll(async () => {
    hierarchy = await createTestHierarchy(now, newCaKey());
    const deviceKey = await SoftwareKeyProvider.generate('ECDSA-P256');
    ldevid = await issueCertificate({ authority: hierarchy.issuing, profile: ldevidProfile(), device: { deviceId: 'device-0001' }, subjectPublicKeyInfo: deviceKey.subjectPublicKeyInfo, serialNumber: newSerialNumber(), now, baseUrl: BASE_URL });
    idevid = await issueCertificate({ authority: hierarchy.factory, profile: idevidProfile(), device: { deviceId: 'device-0001', serialNumber: 'SN-0001' }, subjectPublicKeyInfo: deviceKey.subjectPublicKeyInfo, serialNumber: newSerialNumber(), now, baseUrl: BASE_URL });
    responder = new OcspResponder({
      authorities: [
        { ca: hierarchy.issuing, signer: hierarchy.issuingOcspSigner },
        { ca: hierarchy.factory, signer: hierarchy.factoryOcspSigner },
      ],
      lookup,
    });
  }, 60_000);

  const files = async (write: (name: string, content: string | Uint8Array) => Promise<string>) => ({
    root: await write('root.pem', toPem('CERTIFICATE', hierarchy.root.certificateDer)),
    issuing: await write('issuing.pem', toPem('CERTIFICATE', hierarchy.issuing.certificateDer)),
    intermediates: await write('intermediates.pem', toPem('CERTIFICATE', hierarchy.issuing.certificateDer) + toPem('CERTIFICATE', hierarchy.factory.certificateDer)),
    ldevid: await write('ldevid.pem', ldevid.pem),
    idevid: await write('idevid.pem', idevid.pem),
  });

  it('openssl verify accepts the IDevID, LDevID and OCSP signer chains', async () => {
    await withTempDir(async (_dir, write) => {
      const f = await files(write);
      const signer = await write('signer.pem', toPem('CERTIFICATE', hierarchy.issuingOcspSigner.certificateDer));
      const result = await openssl(['verify', '-CAfile', f.root, '-untrusted', f.intermediates, f.idevid, f.ldevid, signer]);
      expect(result).toMatchObject({ code: 0 });
      expect(result.stdout.match(/: OK/g)).toHaveLength(3);
    });
  });

  it('openssl x509 shows the 802.1AR IDevID fields', async () => {
    await withTempDir(async (_dir, write) => {
      const f = await files(write);
      const text = (await openssl(['x509', '-in', f.idevid, '-noout', '-text', '-nameopt', 'RFC2253'])).stdout;
      const dates = (await openssl(['x509', '-in', f.idevid, '-noout', '-enddate'])).stdout;
      expect(dates.trim()).toBe('notAfter=Dec 31 23:59:59 9999 GMT');
      expect(text).toContain('serialNumber=SN-0001');
      expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);
      expect(text).toContain('CA:FALSE');
      const der = await write('idevid.der', idevid.der);
      // GeneralizedTime (tag 0x18) 99991231235959Z in the DER itself.
      const asn1 = (await openssl(['asn1parse', '-inform', 'DER', '-in', der])).stdout;
      expect(asn1).toContain('GENERALIZEDTIME   :99991231235959Z');
    });
  });

  it('openssl reads full and delta CRLs and verify -crl_check reports the revoked LDevID', async () => {
    await withTempDir(async (_dir, write) => {
      const f = await files(write);
      const before = await buildCrl({ authority: hierarchy.issuing, crlNumber: 1, thisUpdate: now, nextUpdate: new Date(now.getTime() + 86_400_000), entries: [], baseUrl: BASE_URL });
      const beforePem = await write('before.crl', toPem('X509 CRL', before.der));
      const chain = await write('chain.pem', toPem('CERTIFICATE', hierarchy.root.certificateDer) + toPem('CERTIFICATE', hierarchy.issuing.certificateDer));
      expect(await openssl(['verify', '-crl_check', '-CAfile', chain, '-CRLfile', beforePem, f.ldevid])).toMatchObject({ code: 0 });

      const entry: RevokedEntry = { serialNumber: ldevid.serialNumber, revokedAt: now, reason: 'keyCompromise' };
      revoked.set(`issuing-1:${ldevid.serialNumber}`, entry);
      const full = await buildCrl({ authority: hierarchy.issuing, crlNumber: 2, thisUpdate: now, nextUpdate: new Date(now.getTime() + 86_400_000), entries: [entry], baseUrl: BASE_URL });
      const delta = await buildCrl({ authority: hierarchy.issuing, crlNumber: 3, thisUpdate: now, nextUpdate: new Date(now.getTime() + 3_600_000), entries: [entry], baseUrl: BASE_URL, delta: { baseCrlNumber: 2 } });
      const fullPem = await write('full.crl', toPem('X509 CRL', full.der));
      const deltaPem = await write('delta.crl', toPem('X509 CRL', delta.der));
      const fullText = await openssl(['crl', '-in', fullPem, '-noout', '-text']);
      expect(fullText.code).toBe(0);
      expect(fullText.stdout).toMatch(/X509v3 CRL Number:\s+2/);
      expect(fullText.stdout).toContain(`URI:${BASE_URL}/crl/issuing-1/delta.crl`);
      expect(fullText.stdout).toContain(`Serial Number: ${ldevid.serialNumber.toUpperCase()}`);
      expect(fullText.stdout).toMatch(/CRL Reason Code:\s+Key Compromise/);
      const deltaText = await openssl(['crl', '-in', deltaPem, '-noout', '-text']);
      expect(deltaText.code).toBe(0);
      expect(deltaText.stdout).toMatch(/X509v3 Delta CRL Indicator: critical\s+2/);
      expect(await openssl(['crl', '-in', fullPem, '-noout', '-CAfile', chain])).toMatchObject({ code: 0 });

      const after = await openssl(['verify', '-crl_check', '-CAfile', chain, '-CRLfile', fullPem, f.ldevid]);
      expect(after.code).not.toBe(0);
      expect(after.stdout + after.stderr).toContain('certificate revoked');
    });
  });

  it('openssl ocsp verifies good, revoked-with-reason and nonce responses', async () => {
    await withTempDir(async (_dir, write) => {
      const f = await files(write);
      const factory = await write('factory.pem', toPem('CERTIFICATE', hierarchy.factory.certificateDer));
      const ask = async (issuer: string, cert: string, nonce: boolean) => {
        const requestPath = `${cert}.${nonce}.req`;
        expect(await openssl(['ocsp', '-issuer', issuer, '-cert', cert, nonce ? '-nonce' : '-no_nonce', '-reqout', requestPath])).toMatchObject({ code: 0 });
        const response = await responder.respond(new Uint8Array(await readFile(requestPath)), now);
        const responsePath = `${requestPath}.resp`;
        await writeFile(responsePath, response);
        // -reqin without -cert: openssl then checks the response nonce against this very request.
        return openssl(['ocsp', '-reqin', requestPath, '-respin', responsePath, '-CAfile', f.root, '-verify_other', f.intermediates, '-resp_text']);
      };
      const good = await ask(factory, f.idevid, true);
      expect(good.stderr).toContain('Response verify OK');
      expect(good.stdout + good.stderr).not.toContain('WARNING');
      expect(good.stdout).toContain('Cert Status: good');
      expect(good.stdout).toContain('OCSP Nonce');

      revoked.set(`issuing-1:${ldevid.serialNumber}`, { serialNumber: ldevid.serialNumber, revokedAt: now, reason: 'keyCompromise' });
      responder.invalidate('issuing-1', ldevid.serialNumber);
      for (const nonce of [false, true]) {
        const result = await ask(f.issuing, f.ldevid, nonce);
        expect(result.stderr).toContain('Response verify OK');
        expect(result.stdout).toContain('Cert Status: revoked');
        expect(result.stdout).toMatch(/Revocation Reason: keyCompromise/);
        expect(result.stdout.includes('OCSP Nonce')).toBe(nonce);
      }
    });
  });

  it('openssl sees malformedRequest for garbage and unauthorized for a CA the responder does not serve', async () => {
    await withTempDir(async (_dir, write) => {
      const malformed = await write('malformed.resp', await responder.respond(Uint8Array.of(0x30, 0x03, 0x02, 0x01), now));
      expect((await openssl(['ocsp', '-respin', malformed, '-resp_text', '-noverify'])).stdout).toContain('malformedrequest (1)');
      const root = await write('root.pem', toPem('CERTIFICATE', hierarchy.root.certificateDer));
      const issuing = await write('issuing.pem', toPem('CERTIFICATE', hierarchy.issuing.certificateDer));
      await openssl(['ocsp', '-issuer', root, '-cert', issuing, '-reqout', `${issuing}.req`]);
      const unauthorized = await write('unauthorized.resp', await responder.respond(new Uint8Array(await readFile(`${issuing}.req`)), now));
      expect((await openssl(['ocsp', '-respin', unauthorized, '-resp_text', '-noverify'])).stdout).toContain('unauthorized (6)');
    });
  });
}

export const softwareCaKeys = () => (_role: string, algorithm: KeyAlgorithm) => SoftwareKeyProvider.generate(algorithm);
