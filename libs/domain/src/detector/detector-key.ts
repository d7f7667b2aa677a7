import { DomainError } from '../errors';

/** Signature algorithms a detector key may use: JWS ES256 (P-256) or EdDSA (Ed25519). */
export type DetectorAlgorithm = 'ES256' | 'EdDSA';
export const DETECTOR_ALGORITHMS: readonly DetectorAlgorithm[] = ['ES256', 'EdDSA'];

/** A public JWK reduced to the members that define the key, plus the algorithm it signs with. */
export type DetectorPublicKey =
  | { kty: 'EC'; crv: 'P-256'; x: string; y: string; alg: 'ES256' }
  | { kty: 'OKP'; crv: 'Ed25519'; x: string; alg: 'EdDSA' };

export class InvalidDetectorKey extends DomainError {
  readonly code = 'invalid-detector-key';
  readonly status = 400;
  constructor(message: string) {
    super(`publicKey: ${message}`);
  }
  override details() {
    return { field: 'publicKey' };
  }
}

/** base64url without padding of exactly 32 bytes: 43 characters, the last one carrying 4 bits. */
const COORDINATE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

const coordinate = (jwk: Record<string, unknown>, member: 'x' | 'y'): string => {
  const value = jwk[member];
  if (typeof value !== 'string' || !COORDINATE.test(value)) throw new InvalidDetectorKey(`${member} must be 32 bytes, base64url without padding`);
  return value;
};

/**
 * Checks the shape of a detector's public JWK (RFC 7517/7518/8037): EC P-256 or OKP Ed25519,
 * no private part. Whether an EC point lies on the curve needs crypto: the boundary checks that.
 */
export const parseDetectorPublicKey = (jwk: unknown): DetectorPublicKey => {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new InvalidDetectorKey('must be a JWK object');
  const key = jwk as Record<string, unknown>;
  // Refusing `d` keeps private keys out of an event log that is exported to auditors.
  if ('d' in key) throw new InvalidDetectorKey('contains a private key (d); register the public JWK only');
  if (key.kty === 'EC') {
    if (key.crv !== 'P-256') throw new InvalidDetectorKey('an EC key must be on curve P-256');
    if (key.alg !== undefined && key.alg !== 'ES256') throw new InvalidDetectorKey('a P-256 key signs with ES256');
    return { kty: 'EC', crv: 'P-256', x: coordinate(key, 'x'), y: coordinate(key, 'y'), alg: 'ES256' };
  }
  if (key.kty === 'OKP') {
    if (key.crv !== 'Ed25519') throw new InvalidDetectorKey('an OKP key must be Ed25519');
    if (key.alg !== undefined && key.alg !== 'EdDSA') throw new InvalidDetectorKey('an Ed25519 key signs with EdDSA');
    if ('y' in key) throw new InvalidDetectorKey('an Ed25519 key has no y');
    return { kty: 'OKP', crv: 'Ed25519', x: coordinate(key, 'x'), alg: 'EdDSA' };
  }
  throw new InvalidDetectorKey('kty must be EC (P-256, ES256) or OKP (Ed25519, EdDSA)');
};

export const sameKey = (a: DetectorPublicKey, b: DetectorPublicKey): boolean =>
  a.kty === b.kty && a.x === b.x && (a.kty !== 'EC' || (b.kty === 'EC' && a.y === b.y));
