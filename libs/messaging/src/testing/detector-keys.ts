// Test-only: detector key pairs and signed revoke commands.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { CompactSign } from 'jose';

export interface DetectorKeyPair {
  alg: 'ES256' | 'EdDSA';
  privateKey: KeyObject;
  publicJwk: Record<string, string>;
}

export const detectorKeyPair = (alg: 'ES256' | 'EdDSA' = 'ES256'): DetectorKeyPair => {
  const { privateKey, publicKey } = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  return { alg, privateKey, publicJwk: publicKey.export({ format: 'jwk' }) as Record<string, string> };
};

export const signCommand = (key: DetectorKeyPair, payload: unknown, alg: string = key.alg): Promise<string> =>
  new CompactSign(Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload))).setProtectedHeader({ alg }).sign(key.privateKey);
