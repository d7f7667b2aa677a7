import type { KeyProvider } from './key-provider';
import { proveKeyPair } from './key-proof';
import { SoftwareKeyProvider } from './software-key-provider';

describe('proveKeyPair', () => {
  it.each(['ECDSA-P256', 'ECDSA-P384', 'Ed25519', 'RSA-2048'] as const)('accepts a %s key for the public key of its own pair', async (algorithm) => {
    const key = await SoftwareKeyProvider.generate(algorithm);
    await expect(proveKeyPair(key, key.subjectPublicKeyInfo, 'the key')).resolves.toBeUndefined();
  });

  it("refuses, key-mismatch, another pair's public key of the same algorithm, and one of another algorithm", async () => {
    const key = await SoftwareKeyProvider.generate('ECDSA-P256');
    for (const other of [await SoftwareKeyProvider.generate('ECDSA-P256'), await SoftwareKeyProvider.generate('ECDSA-P384'), await SoftwareKeyProvider.generate('Ed25519')]) {
      await expect(proveKeyPair(key, other.subjectPublicKeyInfo, 'the key of CA x')).rejects.toMatchObject({
        code: 'key-mismatch',
        status: 503,
        retriable: false,
        message: expect.stringMatching(/^the key of CA x is not the key pair of its certificate/),
      });
    }
  });

  it("refuses a key that reports its certificate's public key but signs with another private key (halves of two pairs)", async () => {
    const [one, other] = [await SoftwareKeyProvider.generate('ECDSA-P256'), await SoftwareKeyProvider.generate('ECDSA-P256')];
    const mixed: KeyProvider = { algorithm: 'ECDSA-P256', subjectPublicKeyInfo: one.subjectPublicKeyInfo, publicKey: () => one.publicKey(), sign: (data) => other.sign(data) };
    await expect(proveKeyPair(mixed, one.subjectPublicKeyInfo, 'the key')).rejects.toMatchObject({ code: 'key-mismatch' });
  });
});
