import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { mutatedCsr } from './testing/csr-mutations';
import { generateKeyPairSync, sign } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { AlgorithmIdentifier, AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { checkCsr, checkCsrAsync, checkCsrWithLibrary, receivedDer, type CsrPolicyOptions } from './csr-policy';
import { readCanonicalCsr } from './csr-der';
import { CsrRejected } from './csr-rejected';
import { spkiSha256 } from './fingerprints';

interface Manifest {
  options: { expectedDeviceId: string; expectedSerialNumber: string; maxBytes: number; blockedKeys: string[] };
  cases: { file: string; code?: string; keyAlgorithm?: string; description: string }[];
}

const testdata = join(__dirname, '..', 'testdata');
const load = (dir: string): Manifest => JSON.parse(readFileSync(join(testdata, dir, 'index.json'), 'utf8')) as Manifest;
const policy = (manifest: Manifest): CsrPolicyOptions => ({
  expectedDeviceId: manifest.options.expectedDeviceId,
  expectedSerialNumber: manifest.options.expectedSerialNumber,
  maxBytes: manifest.options.maxBytes,
  blockedKeys: (hash) => manifest.options.blockedKeys.includes(hash),
});
const read = (dir: string, file: string): string | Uint8Array =>
  file.endsWith('.pem') ? readFileSync(join(testdata, dir, file), 'utf8') : new Uint8Array(readFileSync(join(testdata, dir, file)));

const bad = load('bad-csrs');
const good = load('good-csrs');

describe('checkCsr on the bad-CSR corpus', () => {
  it('has at least 50 cases', () => {
    expect(bad.cases.length).toBeGreaterThanOrEqual(50);
  });

  it.each(bad.cases.map((entry) => [entry.file, entry.code, entry.description] as const))('%s -> %s (%s)', (file, code) => {
    let thrown: unknown;
    try {
      checkCsr(read('bad-csrs', file), policy(bad));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CsrRejected);
    expect(thrown).toMatchObject({ code, status: 400, retriable: false, type: `/problems/${code}` });
  });
});

describe('checkCsr on valid CSRs', () => {
  it.each(good.cases.map((entry) => [entry.file, entry.keyAlgorithm] as const))('accepts %s as %s', (file, keyAlgorithm) => {
    const checked = checkCsr(read('good-csrs', file), policy(good));
    expect(checked.keyAlgorithm).toBe(keyAlgorithm);
    expect(checked.subjectPublicKeyInfoSha256).toBe(spkiSha256(checked.subjectPublicKeyInfo));
  });

  it('hashes a compressed and an uncompressed encoding of one key alike', () => {
    const uncompressed = checkCsr(read('good-csrs', 'p256.der'), policy(good));
    const compressed = checkCsr(read('good-csrs', 'p256-compressed-point.der'), policy(good));
    expect(compressed.subjectPublicKeyInfoSha256).toBe(uncompressed.subjectPublicKeyInfoSha256);
  });

  it('skips the subject policy when no device is expected', () => {
    const checked = checkCsr(read('good-csrs', 'p256.der'), { blockedKeys: () => false });
    expect(checked.commonNames).toEqual([good.options.expectedDeviceId]);
  });

  it('accepts a serialNumber subject only for the expected serial', () => {
    const csr = read('good-csrs', 'serial-only.der');
    expect(() => checkCsr(csr, { ...policy(good), expectedSerialNumber: 'SN-0002' })).toThrow(expect.objectContaining({ code: 'csr-subject-mismatch' }));
  });

  it('reads PEM base64 with set unused bits in its last quantum as the same DER, and refuses base64url characters', () => {
    const pem = read('good-csrs', 'p256.pem') as string;
    const der = checkCsr(pem, policy(good)).der;
    // "…bo8=": the last quantum carries 2 unused bits; "9" sets one of them and decodes to the same octets.
    expect(pem).toMatch(/8=\n-----END/);
    expect(Buffer.from(checkCsr(pem.replace(/8=\n-----END/, '9=\n-----END'), policy(good)).der)).toEqual(Buffer.from(der));
    // Buffer.from(…, 'base64') would decode "-" and "_" as "+" and "/"; a PEM must not carry them.
    for (const [from, to] of [['+', '-'], ['/', '_']] as const) {
      const body = pem.indexOf('\n') + 1;
      const at = pem.indexOf(from, body);
      expect(at).toBeGreaterThan(0);
      expect(() => checkCsr(`${pem.slice(0, at)}${to}${pem.slice(at + 1)}`, policy(good))).toThrow(expect.objectContaining({ code: 'csr-malformed' }));
    }
  });
});

describe('checkCsr never throws anything but CsrRejected', () => {
  const seeds = good.cases.filter((entry) => entry.file.endsWith('.der')).map((entry) => read('good-csrs', entry.file) as Uint8Array);
  const rejectsOrAccepts = (input: string | Uint8Array): boolean => {
    try {
      checkCsr(input, policy(good));
      return true;
    } catch (error) {
      if (error instanceof CsrRejected) return true;
      throw error;
    }
  };

  it('on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), rejectsOrAccepts), { numRuns: 2000 });
  });

  it('on random strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 512 }), (text) => rejectsOrAccepts(`-----BEGIN CERTIFICATE REQUEST-----\n${text}`)), { numRuns: 500 });
  });

  it('on random mutations of valid CSRs', () => {
    const mutation = fc.record({
      seed: fc.nat({ max: seeds.length - 1 }),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 6 }),
    });
    fc.assert(
      fc.property(mutation, ({ seed, edits }) => {
        const bytes = Array.from(seeds[seed]!);
        for (const [position, value, kind] of edits) {
          const at = position % (bytes.length + 1);
          if (kind === 'set' && at < bytes.length) bytes[at] = value;
          if (kind === 'insert') bytes.splice(at, 0, value);
          if (kind === 'delete') bytes.splice(at, 1);
        }
        return rejectsOrAccepts(new Uint8Array(bytes));
      }),
      { numRuns: 3000 },
    );
  });
});

/** What a caller observes: the CheckedCsr, or the rejection's code and message. */
const outcome = (check: () => unknown): unknown => {
  try {
    return { accepted: check() };
  } catch (error) {
    if (!(error instanceof CsrRejected)) throw error;
    return { code: error.code, message: error.message };
  }
};
const asDer = (input: string | Uint8Array): Uint8Array | undefined => {
  try {
    return receivedDer(input, { blockedKeys: () => false, maxBytes: 1 << 20 });
  } catch {
    return undefined;
  }
};

describe('the hand-read CSR path answers exactly as @peculiar/asn1-csr does', () => {
  const corpus = [
    ...bad.cases.map((entry) => ['bad-csrs', entry.file, bad] as const),
    ...good.cases.map((entry) => ['good-csrs', entry.file, good] as const),
  ];

  it.each(corpus)('%s/%s', (dir, file, manifest) => {
    const der = asDer(read(dir, file));
    if (der === undefined) return; // refused as PEM, before either path: one code path
    expect(outcome(() => checkCsr(der, { ...policy(manifest), maxBytes: 1 << 20 }))).toEqual(outcome(() => checkCsrWithLibrary(der, policy(manifest))));
  });

  it('takes the hand-read path for the common forms (P-256, P-384, Ed25519)', () => {
    for (const file of ['p256.der', 'p384.der', 'ed25519.der', 'serial-only.der']) expect(readCanonicalCsr(read('good-csrs', file) as Uint8Array)).toBeDefined();
    for (const file of ['p256-compressed-point.der', 'rsa2048.der']) expect(readCanonicalCsr(read('good-csrs', file) as Uint8Array)).toBeUndefined();
  });

  const csrWithSubject = (subject: Name, curve: 'P-256' | 'P-384' = 'P-256'): Uint8Array => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
    const info = new CertificationRequestInfo({ subject, subjectPKInfo: AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo) });
    const infoDer = new Uint8Array(AsnConvert.serialize(info));
    const digest = curve === 'P-256' ? 'sha256' : 'sha384';
    return new Uint8Array(
      AsnConvert.serialize(
        new CertificationRequest({
          certificationRequestInfo: info,
          signatureAlgorithm: new AlgorithmIdentifier({ algorithm: curve === 'P-256' ? '1.2.840.10045.4.3.2' : '1.2.840.10045.4.3.3' }),
          signature: new Uint8Array(sign(digest, infoDer, privateKey)).buffer,
        }),
      ),
    );
  };
  const rdn = (type: string, value: AttributeValue) => new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value })]);

  it.each([
    ['UTF-8 CN with non-ASCII characters', new Name([rdn('2.5.4.3', new AttributeValue({ utf8String: 'Gerät-ü-€-𝄞' }))])],
    ['CN with a byte-order mark', new Name([rdn('2.5.4.3', new AttributeValue({ utf8String: '\uFEFFdevice-0001' }))])],
    ['PrintableString CN and serialNumber, O and OU', new Name([rdn('2.5.4.10', new AttributeValue({ utf8String: 'ACME' })), rdn('2.5.4.11', new AttributeValue({ printableString: 'Line 7' })), rdn('2.5.4.3', new AttributeValue({ printableString: 'device-0001' })), rdn('2.5.4.5', new AttributeValue({ printableString: 'SN-0001' }))])],
    ['IA5String CN', new Name([rdn('2.5.4.3', new AttributeValue({ ia5String: 'device-0001' }))])],
    ['BMPString CN (library path)', new Name([rdn('2.5.4.3', new AttributeValue({ bmpString: 'device-0001' }))])],
    ['two CNs in one RDN', new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: '2.5.4.3', value: new AttributeValue({ utf8String: 'a' }) }), new AttributeTypeAndValue({ type: '2.5.4.3', value: new AttributeValue({ utf8String: 'device-0001' }) })])])],
    ['empty subject', new Name([])],
    ['empty CN', new Name([rdn('2.5.4.3', new AttributeValue({ utf8String: '' }))])],
  ])('same answer for a CSR with %s', (_label, subject) => {
    for (const curve of ['P-256', 'P-384'] as const) {
      const der = csrWithSubject(subject, curve);
      for (const options of [policy(good), { blockedKeys: () => false }, { ...policy(good), expectedDeviceId: 'Gerät-ü-€-𝄞' }]) {
        expect(outcome(() => checkCsr(der, options))).toEqual(outcome(() => checkCsrWithLibrary(der, options)));
      }
    }
  });

  it('same answer on random mutations of valid CSRs', () => {
    const seeds = good.cases.filter((entry) => entry.file.endsWith('.der')).map((entry) => read('good-csrs', entry.file) as Uint8Array);
    let handRead = 0;
    fc.assert(
      fc.property(mutatedCsr(seeds), (der) => {
        if (readCanonicalCsr(der)) handRead++;
        expect(outcome(() => checkCsr(der, policy(good)))).toEqual(outcome(() => checkCsrWithLibrary(der, policy(good))));
      }),
      { numRuns: 5000 },
    );
    expect(handRead).toBeGreaterThan(500);
  });
});

describe('checkCsrAsync (proof of possession verified on the libuv pool) answers exactly as checkCsr does', () => {
  const outcomeAsync = async (check: () => Promise<unknown>): Promise<unknown> => {
    try {
      return { accepted: await check() };
    } catch (error) {
      if (!(error instanceof CsrRejected)) throw error;
      return { code: error.code, message: error.message };
    }
  };
  const corpus = [
    ...bad.cases.map((entry) => ['bad-csrs', entry.file, bad] as const),
    ...good.cases.map((entry) => ['good-csrs', entry.file, good] as const),
  ];

  it.each(corpus)('%s/%s', async (dir, file, manifest) => {
    const input = read(dir, file);
    const expected = outcome(() => checkCsr(input, policy(manifest)));
    expect(await outcomeAsync(() => checkCsrAsync(input, policy(manifest)))).toEqual(expected);
  });

  it('gives each CSR its own answer when checked all at once (batched to the worker)', async () => {
    const inputs = Array.from({ length: 4 }, () => corpus).flat();
    const expected = inputs.map(([dir, file, manifest]) => outcome(() => checkCsr(read(dir, file), policy(manifest))));
    const answers = await Promise.all(inputs.map(([dir, file, manifest]) => outcomeAsync(() => checkCsrAsync(read(dir, file), policy(manifest)))));
    expect(answers).toEqual(expected);
  });

  it('on the bad-CSR corpus, rejects with the corpus code', async () => {
    for (const entry of bad.cases) {
      await expect(checkCsrAsync(read('bad-csrs', entry.file), policy(bad))).rejects.toMatchObject({ code: entry.code, status: 400 });
    }
  });

  it('same answer on random mutations of valid CSRs', async () => {
    const seeds = good.cases.filter((entry) => entry.file.endsWith('.der')).map((entry) => read('good-csrs', entry.file) as Uint8Array);
    await fc.assert(
      fc.asyncProperty(mutatedCsr(seeds), async (der) => {
        expect(await outcomeAsync(() => checkCsrAsync(der, policy(good)))).toEqual(outcome(() => checkCsr(der, policy(good))));
      }),
      { numRuns: 2000 },
    );
    // 2,000 CSRs checked twice, once of the two on the libuv pool: this and its sync twin took
    // 2.5 s and 7.2 s here while a CI run used both cores, past jest's 5 s default (seen in CI).
  }, 60_000);
});
