import { createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);

/** A device key pair made on the gateway for a device too weak to make its own (P-256, as IDevIDs use). */
export interface GatewayKey {
  subjectPublicKeyInfo: Uint8Array;
  /** PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) encrypted PKCS#8, as injection tools and `openssl pkey` read it. */
  encryptedPkcs8Pem(passphrase: string): string;
}

export async function generateGatewayKey(): Promise<GatewayKey> {
  const { privateKey } = (await generate('ec', { namedCurve: 'P-256' })) as { privateKey: KeyObject };
  return {
    subjectPublicKeyInfo: new Uint8Array(createPublicKey(privateKey).export({ type: 'spki', format: 'der' })),
    encryptedPkcs8Pem: (passphrase) => privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }).toString(),
  };
}
