import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { KeyProviderError } from './errors';
import { digestFor, type KeyProvider } from './key-provider';

/**
 * Proves that `key` is the key pair of the certificate whose SubjectPublicKeyInfo is `spki`
 * (DER): it signs a fresh challenge and the certificate's public key verifies the signature.
 * A key file restored from another data dir, a token object that only shares the label, or a
 * private key paired with another pair's public key would otherwise sign certificates, CRLs and
 * OCSP answers that no relying party can verify. Throws KeyProviderError `key-mismatch`; a key
 * that cannot sign at all rejects as its `sign` does.
 */
export async function proveKeyPair(key: KeyProvider, spki: Uint8Array, what: string): Promise<void> {
  const challenge = randomBytes(32);
  const signature = await key.sign(challenge);
  let verified: boolean;
  try {
    verified = verify(digestFor(key.algorithm), challenge, createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }), signature);
  } catch {
    // A public key of another algorithm than the key's, or a signature it cannot parse.
    verified = false;
  }
  if (!verified) throw new KeyProviderError('key-mismatch', `${what} is not the key pair of its certificate: the certificate's public key does not verify what it signs`);
}
