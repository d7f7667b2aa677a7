import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { checkCsr, type CsrPolicyOptions } from './csr-policy';
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
