import { createPublicKey, verify } from 'node:crypto';
import { KEY_ALGORITHMS } from './key-provider';
import { SoftwareKeyProvider } from './software-key-provider';

describe('SoftwareKeyProvider', () => {
  it.each(KEY_ALGORITHMS.filter((algorithm) => algorithm !== 'RSA-4096' && algorithm !== 'RSA-3072'))(
    '%s survives an encrypted PKCS#8 round trip and signs verifiably',
    async (algorithm) => {
      const key = await SoftwareKeyProvider.generate(algorithm);
      const pem = key.toEncryptedPkcs8Pem('correct horse battery');
      expect(pem).toContain('-----BEGIN ENCRYPTED PRIVATE KEY-----');
      const restored = SoftwareKeyProvider.fromEncryptedPkcs8Pem(pem, 'correct horse battery');
      expect(restored.algorithm).toBe(algorithm);
      expect(Buffer.from(restored.subjectPublicKeyInfo).equals(Buffer.from(key.subjectPublicKeyInfo))).toBe(true);
      const data = Buffer.from('tbs');
      const digest = algorithm === 'Ed25519' ? null : algorithm === 'ECDSA-P384' ? 'sha384' : 'sha256';
      const publicKey = createPublicKey({ key: Buffer.from(key.subjectPublicKeyInfo), format: 'der', type: 'spki' });
      expect(verify(digest, data, publicKey, await restored.sign(data))).toBe(true);
      expect((await restored.publicKey()).type).toBe('public');
    },
  );

  it('refuses a wrong passphrase with key-decrypt-failed', async () => {
    const pem = (await SoftwareKeyProvider.generate('ECDSA-P256')).toEncryptedPkcs8Pem('correct horse battery');
    expect(() => SoftwareKeyProvider.fromEncryptedPkcs8Pem(pem, 'wrong passphrase')).toThrow(expect.objectContaining({ code: 'key-decrypt-failed' }));
  });
});
