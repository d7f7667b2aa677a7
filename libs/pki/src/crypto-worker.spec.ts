import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { checkSignatureOffThread, signIfVerifiedOffThread, signOffThread } from './crypto-worker';

describe('crypto worker', () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const ed25519 = generateKeyPairSync('ed25519');

  /**
   * A proof of possession as a job carries it (SPKI ‖ signed bytes ‖ signature, with the ranges of
   * each), good, with a flipped signature byte, and with a key off its curve.
   */
  const proofs = () => {
    const spki = new Uint8Array(p256.publicKey.export({ type: 'spki', format: 'der' }));
    const signed = new Uint8Array(randomBytes(100));
    const signature = new Uint8Array(sign('sha256', signed, p256.privateKey));
    const job = (der: Uint8Array) => ({
      der,
      spki: [0, spki.length] as const,
      signed: [spki.length, spki.length + signed.length] as const,
      signature: [spki.length + signed.length, der.length] as const,
      digest: 'sha256',
    });
    const good = new Uint8Array([...spki, ...signed, ...signature]);
    const badSignature = good.slice();
    badSignature[spki.length + 5]! ^= 1;
    const offCurve = good.slice();
    offCurve[spki.length - 1]! ^= 1;
    return { spki, job, good, badSignature, offCurve };
  };

  it('signs many messages at once, each with its own key, as node:crypto verifies them', async () => {
    const jobs = Array.from({ length: 200 }, (_, index) => {
      const [pair, digest] = ([[p256, 'sha256'], [p384, 'sha384'], [ed25519, null]] as const)[index % 3]!;
      return { pair, digest, data: new Uint8Array(randomBytes(1 + (index % 700))) };
    });
    const signatures = await Promise.all(jobs.map(({ pair, digest, data }) => signOffThread(digest, data, pair.privateKey)));
    jobs.forEach(({ pair, digest, data }, index) => expect(verify(digest, data, pair.publicKey, signatures[index]!)).toBe(true));
  });

  it('rejects a sign that node:crypto refuses with node:crypto\'s own error', async () => {
    const data = new Uint8Array(randomBytes(32));
    let message = '';
    try {
      sign('sha256', data, ed25519.privateKey);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toBe('');
    await expect(signOffThread('sha256', data, ed25519.privateKey)).rejects.toThrow(message);
  });

  it('tells a good signature, a bad one and a key that cannot be imported apart, all in one batch', async () => {
    const { job, good, badSignature, offCurve, spki } = proofs();
    expect(() => createPublicKey({ key: Buffer.from(offCurve.subarray(0, spki.length)), format: 'der', type: 'spki' })).toThrow();
    const outcomes = await Promise.all([good, badSignature, offCurve, good].map((der) => checkSignatureOffThread(job(der))));
    expect(outcomes).toEqual(['verified', 'bad-signature', 'bad-key', 'verified']);
  });

  it('signs only behind a proof that verifies, and tells the failures apart, all in one batch', async () => {
    const { job: proof, good, badSignature, offCurve } = proofs();
    const tbs = Array.from({ length: 4 }, () => new Uint8Array(randomBytes(500)));
    const answers = await Promise.all(
      [good, badSignature, offCurve, good].map((der, index) => signIfVerifiedOffThread(proof(der), 'sha384', tbs[index]!, p384.privateKey)),
    );
    expect(answers.slice(1, 3)).toEqual(['bad-signature', 'bad-key']);
    for (const index of [0, 3]) expect(verify('sha384', tbs[index]!, p384.publicKey, answers[index] as Uint8Array)).toBe(true);
  });

  it('rejects a sign behind a verified proof with node:crypto\'s own error', async () => {
    const spki = new Uint8Array(p256.publicKey.export({ type: 'spki', format: 'der' }));
    const signed = new Uint8Array(randomBytes(10));
    const der = new Uint8Array([...spki, ...signed, ...sign('sha256', signed, p256.privateKey)]);
    const proof = { der, spki: [0, spki.length] as const, signed: [spki.length, spki.length + 10] as const, signature: [spki.length + 10, der.length] as const, digest: 'sha256' };
    await expect(signIfVerifiedOffThread(proof, 'sha256', signed, ed25519.privateKey)).rejects.toThrow();
  });

  it('answers a job whose digest a batch cannot carry (here SHA-224) in-process, the same way', async () => {
    const spki = new Uint8Array(p256.publicKey.export({ type: 'spki', format: 'der' }));
    const signed = new Uint8Array(randomBytes(50));
    const der = new Uint8Array([...spki, ...signed, ...sign('sha224', signed, p256.privateKey)]);
    const proof = { der, spki: [0, spki.length] as const, signed: [spki.length, spki.length + 50] as const, signature: [spki.length + 50, der.length] as const, digest: 'sha224' };
    expect(await checkSignatureOffThread(proof)).toBe('verified');
    expect(await checkSignatureOffThread({ ...proof, digest: 'sha256' })).toBe('bad-signature');
    const signature = await signOffThread('sha224', signed, p256.privateKey);
    expect(verify('sha224', signed, p256.publicKey, signature)).toBe(true);
  });
});
