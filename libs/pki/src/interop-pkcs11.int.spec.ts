import { execFileSync } from 'node:child_process';
import { createPublicKey, randomUUID, verify } from 'node:crypto';
import { Pkcs11Token } from './pkcs11-key-provider';
import { interopSuite } from './testing/interop-suite';

const env = { module: process.env['PKCS11_MODULE'], tokenLabel: process.env['HSM_TOKEN_LABEL'], pin: process.env['HSM_PIN'] };
const configured = Boolean(env.module && env.tokenLabel && env.pin && process.env['SOFTHSM2_CONF']);
if (!configured && process.env['REQUIRE_HSM'] !== '1') {
  console.log('skipping PKCS#11 tests: set PKCS11_MODULE, SOFTHSM2_CONF, HSM_TOKEN_LABEL, HSM_PIN (tools/softhsm/init-token.sh prints them)');
}
const describeHsm = configured || process.env['REQUIRE_HSM'] === '1' ? describe : describe.skip;

describeHsm('PKCS#11 key provider (SoftHSM2)', () => {
  let token: Pkcs11Token;
  const run = randomUUID().slice(0, 8);
  beforeAll(() => {
    if (!configured) throw new Error('REQUIRE_HSM=1 but PKCS11_MODULE, SOFTHSM2_CONF, HSM_TOKEN_LABEL or HSM_PIN is not set');
    token = Pkcs11Token.open({ module: env.module!, tokenLabel: env.tokenLabel!, pin: env.pin! });
  });
  /** Every label this run made a key under: destroyed when it is done, so the token is left as it was found. */
  const made = new Set<string>();
  const generate = (label: string, algorithm: Parameters<Pkcs11Token['generateKey']>[1]) => {
    made.add(label);
    return token.generateKey(label, algorithm);
  };
  afterAll(async () => {
    if (token) for (const label of made) await token.destroyKey(label);
    token?.close();
  });

  it.each(['ECDSA-P256', 'ECDSA-P384', 'RSA-2048'] as const)('signs with a %s key found again by its label', async (algorithm) => {
    const label = `devid-${run}-${algorithm}`;
    const generated = await generate(label, algorithm);
    const found = await token.findKey(label);
    expect(found.algorithm).toBe(algorithm);
    expect(Buffer.from(found.subjectPublicKeyInfo).equals(Buffer.from(generated.subjectPublicKeyInfo))).toBe(true);
    const data = Buffer.from('to be signed');
    const signature = await found.sign(data);
    const publicKey = createPublicKey({ key: Buffer.from(found.subjectPublicKeyInfo), format: 'der', type: 'spki' });
    expect(verify(algorithm === 'ECDSA-P384' ? 'sha384' : 'sha256', data, publicKey, signature)).toBe(true);
  });

  it('signs concurrently with two keys of one token (one session): every signature verifies', async () => {
    // A PKCS#11 session runs one operation at a time; a CRL, an OCSP answer and a certificate may all be signed at once.
    const keys = await Promise.all(['a', 'b'].map((k) => generate(`devid-${run}-concurrent-${k}`, 'ECDSA-P256')));
    const jobs = Array.from({ length: 40 }, (_, n) => ({ key: keys[n % 2]!, data: Buffer.from(`message ${n}`) }));
    const signatures = await Promise.all(jobs.map(({ key, data }) => key.sign(data)));
    const verified = jobs.map(({ key, data }, n) => verify('sha256', data, createPublicKey({ key: Buffer.from(key.subjectPublicKeyInfo), format: 'der', type: 'spki' }), signatures[n]!));
    expect(verified).toEqual(jobs.map(() => true));
  });

  it('destroys a key pair on the token by its label, and no other (pkcs11-tool lists what is left)', async () => {
    const [gone, kept] = [`devid-${run}-destroyed`, `devid-${run}-kept`];
    await generate(gone, 'ECDSA-P256');
    const keep = await generate(kept, 'ECDSA-P256');
    expect(await token.destroyKey(gone)).toBe(2); // the private and the public key object
    await expect(token.findKey(gone)).rejects.toMatchObject({ code: 'key-not-found' });
    // Repeated (after a crash between destroying and recording it): nothing left, no error.
    expect(await token.destroyKey(gone)).toBe(0);
    const data = Buffer.from('still signs');
    const publicKey = createPublicKey({ key: Buffer.from(keep.subjectPublicKeyInfo), format: 'der', type: 'spki' });
    expect(verify('sha256', data, publicKey, await (await token.findKey(kept)).sign(data))).toBe(true);
    // An independent PKCS#11 client (OpenSC) on the same token.
    const listed = execFileSync('pkcs11-tool', ['--module', env.module!, '--token-label', env.tokenLabel!, '--login', '--pin', env.pin!, '--list-objects'], { encoding: 'utf8' });
    const labels = [...listed.matchAll(/label:\s*(\S+)/g)].map((m) => m[1]);
    expect([labels.filter((label) => label === gone).length, labels.filter((label) => label === kept).length]).toEqual([0, 2]);
  });

  it('reports a missing label as key-not-found', async () => {
    await expect(token.findKey(`devid-${run}-missing`)).rejects.toMatchObject({ code: 'key-not-found', retriable: false });
  });

  it('refuses a second key under an existing label', async () => {
    const label = `devid-${run}-twice`;
    await generate(label, 'ECDSA-P256');
    await expect(generate(label, 'ECDSA-P256')).rejects.toMatchObject({ code: 'key-label-taken' });
  });

  it('reports an unknown token label as key-not-found', () => {
    expect(() => Pkcs11Token.open({ module: env.module!, tokenLabel: `no-such-token-${run}`, pin: '0000' })).toThrow(expect.objectContaining({ code: 'key-not-found' }));
  });

  describe('openssl interop, CA keys on the token', () => {
    interopSuite(() => (role, algorithm) => generate(`devid-${run}-ca-${role}`, algorithm));
  });
});

