import { verify, type X509Certificate } from 'node:crypto';
import type { KeyProvider } from '@devid/pki';

/** The digest node:crypto must use to verify what a KeyProvider of this key type signed. */
const digestOf = (certificate: X509Certificate): string | null => {
  const key = certificate.publicKey;
  if (key.asymmetricKeyType === 'ed25519') return null;
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1') return 'sha384';
  return 'sha256';
};

export const signStatement = async (key: KeyProvider, statement: Uint8Array): Promise<{ algorithm: string; value: string }> => ({
  algorithm: key.algorithm,
  value: Buffer.from(await key.sign(statement)).toString('base64'),
});

export const statementVerifies = (certificate: X509Certificate, statement: Uint8Array, signatureBase64: string): boolean => {
  try {
    return verify(digestOf(certificate), statement, certificate.publicKey, Buffer.from(signatureBase64, 'base64'));
  } catch {
    return false;
  }
};
