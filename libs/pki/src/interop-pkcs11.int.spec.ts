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
  /** Every key pair this run made (label, public key): destroyed when it is done, so the token is left as it was found. */
  const made: [string, Uint8Array][] = [];
  const generate = async (label: string, algorithm: Parameters<Pkcs11Token['generateKey']>[1]) => {
    const key = await token.generateKey(label, algorithm);
    made.push([label, key.subjectPublicKeyInfo]);
    return key;
  };
  afterAll(async () => {
    if (token) for (const [label, spki] of made) await token.destroyKey(label, spki);
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

  it('destroys a key pair on the token by its label and public key, and no other (pkcs11-tool lists what is left)', async () => {
    const [gone, kept] = [`devid-${run}-destroyed`, `devid-${run}-kept`];
    const goner = await generate(gone, 'ECDSA-P256');
    const keep = await generate(kept, 'ECDSA-P256');
    // Another pair's public key names nothing under this label: nothing goes.
    expect(await token.destroyKey(gone, keep.subjectPublicKeyInfo)).toEqual({ destroyed: 0, kept: 2 });
    expect(await token.destroyKey(gone, goner.subjectPublicKeyInfo)).toEqual({ destroyed: 2, kept: 0 }); // the private and the public key object
    await expect(token.findKey(gone)).rejects.toMatchObject({ code: 'key-not-found' });
    // Repeated (after a crash between destroying and recording it): nothing left, no error.
    expect(await token.destroyKey(gone, goner.subjectPublicKeyInfo)).toEqual({ destroyed: 0, kept: 0 });
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

  it('finds, under a label another client (pkcs11-tool) gave a second key pair, the pair with the public key asked for; without one the label is ambiguous', async () => {
    const label = `devid-${run}-shared`;
    const own = await generate(label, 'ECDSA-P256');
    // An independent PKCS#11 client makes a second P-256 pair under the same label.
    execFileSync('pkcs11-tool', ['--module', env.module!, '--token-label', env.tokenLabel!, '--login', '--pin', env.pin!, '--keypairgen', '--key-type', 'EC:prime256v1', '--label', label, '--id', '0badc0de'], { stdio: 'ignore' });
    const data = Buffer.from('signed by the pair asked for');
    const found = await token.findKey(label, own.subjectPublicKeyInfo);
    expect(Buffer.from(found.subjectPublicKeyInfo).equals(Buffer.from(own.subjectPublicKeyInfo))).toBe(true);
    expect(verify('sha256', data, createPublicKey({ key: Buffer.from(own.subjectPublicKeyInfo), format: 'der', type: 'spki' }), await found.sign(data))).toBe(true);
    await expect(token.findKey(label)).rejects.toMatchObject({ code: 'key-label-ambiguous', message: `2 key pairs are labelled "${label}" on the token` });
    const stranger = await generate(`devid-${run}-stranger`, 'ECDSA-P256');
    await expect(token.findKey(label, stranger.subjectPublicKeyInfo)).rejects.toMatchObject({ code: 'key-mismatch' });
    // The label is taken for a new key as long as anything carries it.
    await expect(generate(label, 'ECDSA-P256')).rejects.toMatchObject({ code: 'key-label-taken' });
    // Destroying this process's key destroys its pair only: the other client's pair stays, as pkcs11-tool reads it.
    const tool = ['--module', env.module!, '--token-label', env.tokenLabel!, '--login', '--pin', env.pin!];
    expect(await token.destroyKey(label, own.subjectPublicKeyInfo)).toEqual({ destroyed: 2, kept: 2 });
    const theirs = new Uint8Array(execFileSync('pkcs11-tool', [...tool, '--read-object', '--type', 'pubkey', '--id', '0badc0de']));
    const left = await token.findKey(label);
    expect(Buffer.from(left.subjectPublicKeyInfo).equals(Buffer.from(theirs))).toBe(true);
    expect(await token.destroyKey(label, theirs)).toEqual({ destroyed: 2, kept: 0 });
    await expect(token.findKey(label)).rejects.toMatchObject({ code: 'key-not-found' });
  });

  it('signs, finds and makes keys again after the token dropped every session (C_CloseAllSessions, as a network HSM failover does), and closes without error', async () => {
    const label = `devid-${run}-failover`;
    const key = await generate(label, 'ECDSA-P256');
    const publicKey = createPublicKey({ key: Buffer.from(key.subjectPublicKeyInfo), format: 'der', type: 'spki' });
    const data = Buffer.from('signed across a dropped session');
    expect(verify('sha256', data, publicKey, await key.sign(data))).toBe(true);
    // Another handle on the same PKCS#11 module (one per process) closes every session of the token.
    const graphene = require('graphene-pk11') as typeof import('graphene-pk11');
    const module = graphene.Module.load(env.module!, 'failover');
    const slots = module.getSlots(true);
    const slot = Array.from({ length: slots.length }, (_, index) => slots.items(index)).find((candidate) => candidate.getToken().label.trim() === env.tokenLabel);
    slot!.closeAll();
    // Signatures queued together: one of them meets the dropped session, one new session serves them all.
    const signatures = await Promise.all([1, 2, 3].map(() => key.sign(data)));
    expect(signatures.map((signature) => verify('sha256', data, publicKey, signature))).toEqual([true, true, true]);
    slot!.closeAll();
    expect(Buffer.from((await token.findKey(label, key.subjectPublicKeyInfo)).subjectPublicKeyInfo).equals(Buffer.from(key.subjectPublicKeyInfo))).toBe(true);
    slot!.closeAll();
    await expect(generate(`${label}-after`, 'ECDSA-P256')).resolves.toMatchObject({ label: `${label}-after` });
    // A token object made before the drop is still found by its label and signs.
    expect(verify('sha256', data, publicKey, await (await token.findKey(label)).sign(data))).toBe(true);
    // Closing a session the token dropped: no error (a ledger shutting down after a failover).
    const other = Pkcs11Token.open({ module: env.module!, tokenLabel: env.tokenLabel!, pin: env.pin! });
    slot!.closeAll();
    expect(() => other.close()).not.toThrow();
  });

  it('answers key-store-unavailable once the operation timeout has passed while the token does not answer, runs nothing for callers answered meanwhile, and signs again once it answers', async () => {
    const bounded = Pkcs11Token.open({ module: env.module!, tokenLabel: env.tokenLabel!, pin: env.pin!, operationTimeoutMs: 300 });
    try {
      const label = `devid-${run}-bounded`;
      const key = await bounded.generateKey(label, 'ECDSA-P256');
      made.push([label, key.subjectPublicKeyInfo]);
      const publicKey = createPublicKey({ key: Buffer.from(key.subjectPublicKeyInfo), format: 'der', type: 'spki' });
      // An operation that does not return holds the session, as a module call to an HSM that stopped answering does.
      let release!: () => void;
      const held = bounded.onSession(() => new Promise<void>((resolve) => (release = resolve)));
      const timedOut = { code: 'key-store-unavailable', retriable: true, message: expect.stringMatching(/^the token did not answer within 0\.3 s/) };
      await expect(held).rejects.toMatchObject(timedOut);
      let ran = false;
      const queued = bounded.onSession(async () => void (ran = true));
      await expect(key.sign(Buffer.from('waits for the token'))).rejects.toMatchObject(timedOut);
      await expect(bounded.findKey(label)).rejects.toMatchObject(timedOut);
      await expect(queued).rejects.toMatchObject(timedOut);
      release();
      const data = Buffer.from('signed once the token answers');
      expect(verify('sha256', data, publicKey, await key.sign(data))).toBe(true);
      expect(ran).toBe(false);
    } finally {
      bounded.close();
    }
  });

  it('reports an unknown token label as key-not-found', () => {
    expect(() => Pkcs11Token.open({ module: env.module!, tokenLabel: `no-such-token-${run}`, pin: '0000' })).toThrow(expect.objectContaining({ code: 'key-not-found' }));
  });

  describe('openssl interop, CA keys on the token', () => {
    interopSuite(() => (role, algorithm) => generate(`devid-${run}-ca-${role}`, algorithm));
  });
});

