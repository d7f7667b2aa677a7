import { createPublicKey } from 'node:crypto';
import { InvalidDetectorKey, parseDetectorPublicKey, type DetectorPublicKey } from '@devid/domain';

/**
 * The domain checks a JWK's shape; this checks it is a key at all (an EC point on P-256).
 * Answers the same typed error, so a bad key is one problem type whatever is wrong with it.
 */
export const checkPublicKey = (jwk: unknown): DetectorPublicKey => {
  const key = parseDetectorPublicKey(jwk);
  try {
    createPublicKey({ key: { kty: key.kty, crv: key.crv, x: key.x, ...(key.kty === 'EC' ? { y: key.y } : {}) }, format: 'jwk' });
  } catch {
    throw new InvalidDetectorKey('is not a valid public key (point not on the curve)');
  }
  return key;
};
