import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { mutatedCsr } from './testing/csr-mutations';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import type { CertificateAuthority } from './certificate-authority';
import { checkCsr, type CsrPolicyOptions } from './csr-policy';
import { CsrRejected } from './csr-rejected';
import { PkiConfigurationError } from './errors';
import { issueCertificate, type IssueCertificateInput } from './issue-certificate';
import { issueCertificateForCsr, type CertificateForCsrInput } from './issue-certificate-for-csr';
import type { KeyProvider } from './key-provider';
import { idevidProfile, ldevidProfile } from './profiles';
import { BASE_URL, createTestHierarchy, type TestHierarchy } from './testing/hierarchy';

// issueCertificateForCsr frames the certificate before the CSR's proof of possession is known and
// has the worker verify and sign in one job; it must answer exactly as checkCsr followed by
// issueCertificate do, and sign nothing for a CSR that fails.

interface Manifest {
  options: { expectedDeviceId: string; expectedSerialNumber: string; maxBytes: number; blockedKeys: string[] };
  cases: { file: string; code?: string }[];
}
const testdata = join(__dirname, '..', 'testdata');
const load = (dir: string): Manifest => JSON.parse(readFileSync(join(testdata, dir, 'index.json'), 'utf8')) as Manifest;
const read = (dir: string, file: string): string | Uint8Array =>
  file.endsWith('.pem') ? readFileSync(join(testdata, dir, file), 'utf8') : new Uint8Array(readFileSync(join(testdata, dir, file)));
const policy = (manifest: Manifest): CsrPolicyOptions => ({
  expectedDeviceId: manifest.options.expectedDeviceId,
  expectedSerialNumber: manifest.options.expectedSerialNumber,
  maxBytes: manifest.options.maxBytes,
  blockedKeys: (hash) => manifest.options.blockedKeys.includes(hash),
});
const bad = load('bad-csrs');
const good = load('good-csrs');
const corpus = [...bad.cases.map((entry) => ['bad-csrs', entry.file, bad] as const), ...good.cases.map((entry) => ['good-csrs', entry.file, good] as const)];

const now = new Date('2026-03-01T12:00:00Z');
const tbsHex = (der: Uint8Array) => Buffer.from(AsnConvert.serialize(AsnConvert.parse(der, Certificate).tbsCertificate)).toString('hex');

/** The CA's key, counting the signatures it hands out (through sign or signIfVerified). */
class CountingKey implements KeyProvider {
  signatures = 0;
  readonly algorithm: KeyProvider['algorithm'];
  readonly subjectPublicKeyInfo: Uint8Array;
  readonly signIfVerified?: KeyProvider['signIfVerified'];

  constructor(
    private readonly key: KeyProvider,
    { withSignIfVerified }: { withSignIfVerified: boolean },
  ) {
    this.algorithm = key.algorithm;
    this.subjectPublicKeyInfo = key.subjectPublicKeyInfo;
    if (withSignIfVerified) {
      this.signIfVerified = async (data, proof) => {
        const answer = await key.signIfVerified!(data, proof);
        if (typeof answer !== 'string') this.signatures++;
        return answer;
      };
    }
  }

  publicKey() {
    return this.key.publicKey();
  }

  async sign(data: Uint8Array) {
    const signature = await this.key.sign(data);
    this.signatures++;
    return signature;
  }
}

type Outcome = { code: string; message: string } | { error: string } | { tbs: string; subject: string; spkiSha256: string };

describe.each([
  ['one worker job (signIfVerified)', true],
  ['a key without signIfVerified (check, then sign)', false],
])('issueCertificateForCsr, %s, answers as checkCsr then issueCertificate', (_label, withSignIfVerified) => {
  let hierarchy: TestHierarchy;
  let key: CountingKey;
  let authority: CertificateAuthority;
  beforeAll(async () => {
    hierarchy = await createTestHierarchy(now);
    key = new CountingKey(hierarchy.issuing.key, { withSignIfVerified });
    authority = { ...hierarchy.issuing, key };
  });

  const input = (profile = ldevidProfile()): CertificateForCsrInput => ({
    authority,
    profile,
    device: { deviceId: 'device-0001', serialNumber: 'SN-0001' },
    serialNumber: '4a1f00000000000000000000000000ee',
    now,
    baseUrl: BASE_URL,
  });

  /** checkCsr (sync, in-process) then issueCertificate with the reference key: what the combined path must answer. */
  const expected = async (csr: string | Uint8Array, options: CsrPolicyOptions, issue = input()): Promise<Outcome> => {
    let checked;
    try {
      checked = checkCsr(csr, options);
    } catch (error) {
      if (error instanceof CsrRejected) return { code: error.code, message: error.message };
      throw error;
    }
    try {
      const reference: IssueCertificateInput = { ...issue, authority: hierarchy.issuing, subjectPublicKeyInfo: checked.subjectPublicKeyInfo, subjectPublicKeyInfoSha256: checked.subjectPublicKeyInfoSha256 };
      const issued = await issueCertificate(reference);
      return { tbs: tbsHex(issued.der), subject: issued.subject, spkiSha256: issued.subjectPublicKeyInfoSha256 };
    } catch (error) {
      return { error: `${(error as Error).name}: ${(error as Error).message}` };
    }
  };

  /** The combined path; checks that an issued certificate verifies under the CA and that nothing was signed for a refusal. */
  const actual = async (csr: string | Uint8Array, options: CsrPolicyOptions, issue = input(), { alone } = { alone: true }): Promise<Outcome> => {
    const before = key.signatures;
    try {
      const { issued, checked } = await issueCertificateForCsr(csr, options, issue);
      if (alone) expect(key.signatures).toBe(before + 1);
      expect(new X509Certificate(Buffer.from(issued.der)).verify(new X509Certificate(Buffer.from(authority.certificateDer)).publicKey)).toBe(true);
      expect(issued.subjectPublicKeyInfoSha256).toBe(checked.subjectPublicKeyInfoSha256);
      return { tbs: tbsHex(issued.der), subject: issued.subject, spkiSha256: issued.subjectPublicKeyInfoSha256 };
    } catch (error) {
      if (alone) expect(key.signatures).toBe(before);
      if (error instanceof CsrRejected) return { code: error.code, message: error.message };
      if (error instanceof PkiConfigurationError) return { error: `${error.name}: ${error.message}` };
      throw error;
    }
  };

  it.each(corpus)('%s/%s', async (dir, file, manifest) => {
    const csr = read(dir, file);
    expect(await actual(csr, policy(manifest))).toEqual(await expected(csr, policy(manifest)));
  });

  it('gives each CSR its own answer when all are in flight at once (batched to the worker)', async () => {
    const inputs = Array.from({ length: 3 }, () => corpus).flat();
    const before = key.signatures;
    const answers = await Promise.all(inputs.map(([dir, file, manifest]) => actual(read(dir, file), policy(manifest), input(), { alone: false })));
    const expectedAnswers: Outcome[] = [];
    for (const [dir, file, manifest] of inputs) expectedAnswers.push(await expected(read(dir, file), policy(manifest)));
    expect(answers).toEqual(expectedAnswers);
    expect(key.signatures - before).toBe(expectedAnswers.filter((answer) => 'tbs' in answer).length);
  });

  it('answers a bad CSR before an issuance error, and the issuance error for a good CSR', async () => {
    // An IDevID needs the device serial number: the profile refuses this device.
    const noSerial = { ...input(idevidProfile()), device: { deviceId: 'device-0001' } };
    const goodCsr = read('good-csrs', 'p256.der');
    const mismatch = read('good-csrs', 'p256.der');
    const badSignature = (read('good-csrs', 'p256.der') as Uint8Array).slice();
    badSignature[badSignature.length - 3]! ^= 1;
    expect(await actual(goodCsr, policy(good), noSerial)).toEqual({ error: 'PkiConfigurationError: IDevID for device-0001 needs the device serial number' });
    expect(await actual(goodCsr, policy(good), noSerial)).toEqual(await expected(goodCsr, policy(good), noSerial));
    expect(await actual(mismatch, { ...policy(good), expectedDeviceId: 'other', expectedSerialNumber: 'other' }, noSerial)).toMatchObject({ code: 'csr-subject-mismatch' });
    expect(await actual(badSignature, { ...policy(good), expectedDeviceId: 'other' }, noSerial)).toMatchObject({ code: 'csr-signature-invalid' });
    expect(await actual(badSignature, { ...policy(good), blockedKeys: () => true })).toMatchObject({ code: 'csr-signature-invalid' });
  });

  it('same answer on random mutations of valid CSRs', async () => {
    const seeds = good.cases.filter((entry) => entry.file.endsWith('.der')).map((entry) => read('good-csrs', entry.file) as Uint8Array);
    await fc.assert(
      fc.asyncProperty(mutatedCsr(seeds), async (der) => {
        expect(await actual(der, policy(good))).toEqual(await expected(der, policy(good)));
      }),
      { numRuns: 500 },
    );
  });
});
