import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { canonicalize } from '../canonical/jcs';
import { AuditKeyError } from '../errors';
import { decodeCanonical } from './base64';

export const AUDIT_KEY_ALGORITHMS = ['Ed25519', 'ECDSA-P256'] as const;
export type AuditKeyAlgorithm = (typeof AUDIT_KEY_ALGORITHMS)[number];

export type AuditJwk = { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string } | { kty: 'EC'; crv: 'P-256'; x: string; y: string; kid: string };

/** The public half of the ledger's audit key: how checkpoints are checked, and how it is published. */
export class AuditPublicKey {
  readonly algorithm: AuditKeyAlgorithm;
  /** RFC 7638 JWK thumbprint (SHA-256, base64url): names the key in every checkpoint. */
  readonly keyId: string;
  readonly jwk: AuditJwk;
  private readonly key: KeyObject;

  private constructor(
    key: KeyObject,
    readonly spki: Buffer,
  ) {
    this.key = key;
    const jwk = key.export({ format: 'jwk' });
    if (key.asymmetricKeyType === 'ed25519' && jwk.crv === 'Ed25519' && jwk.x) {
      this.algorithm = 'Ed25519';
      const required = { crv: 'Ed25519', kty: 'OKP', x: jwk.x };
      this.keyId = thumbprint(required);
      this.jwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: this.keyId };
    } else if (key.asymmetricKeyType === 'ec' && jwk.crv === 'P-256' && jwk.x && jwk.y) {
      this.algorithm = 'ECDSA-P256';
      const required = { crv: 'P-256', kty: 'EC', x: jwk.x, y: jwk.y };
      this.keyId = thumbprint(required);
      this.jwk = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, kid: this.keyId };
    } else {
      throw new AuditKeyError(`the audit key must be Ed25519 or ECDSA P-256, got ${key.asymmetricKeyType ?? 'unknown'}`);
    }
  }

  static fromSpki(der: Uint8Array): AuditPublicKey {
    try {
      const key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
      return new AuditPublicKey(key, Buffer.from(key.export({ format: 'der', type: 'spki' })));
    } catch (error) {
      if (error instanceof AuditKeyError) throw error;
      throw new AuditKeyError('the audit public key is not a valid SubjectPublicKeyInfo');
    }
  }

  /** Accepts only what `jwk` would produce: canonical base64url coordinates and the right kid. */
  static fromJwk(jwk: AuditJwk): AuditPublicKey {
    const coordinates = jwk.kty === 'EC' ? [jwk.x, jwk.y] : [jwk.x];
    if (coordinates.some((c) => decodeCanonical(c, 'base64url') === undefined)) throw new AuditKeyError('the audit JWK has a non-canonical coordinate');
    let key: AuditPublicKey;
    try {
      const { kid: _kid, ...material } = jwk;
      key = AuditPublicKey.fromKeyObject(createPublicKey({ key: material, format: 'jwk' }));
    } catch (error) {
      if (error instanceof AuditKeyError) throw error;
      throw new AuditKeyError('the audit JWK is not a valid public key');
    }
    if (key.keyId !== jwk.kid) throw new AuditKeyError(`the audit JWK kid ${jwk.kid} is not its thumbprint ${key.keyId}`);
    return key;
  }

  /** A PEM (SPKI) or JWK file's text, as an auditor pins the key with --key. */
  static parse(text: string): AuditPublicKey {
    const trimmed = text.trim();
    if (trimmed.startsWith('{')) return AuditPublicKey.fromJwk(JSON.parse(trimmed) as AuditJwk);
    const m = /^-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----$/.exec(trimmed);
    if (!m) throw new AuditKeyError('expected an SPKI PEM (BEGIN PUBLIC KEY) or a JWK');
    return AuditPublicKey.fromSpki(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  }

  private static fromKeyObject(key: KeyObject): AuditPublicKey {
    return new AuditPublicKey(key, Buffer.from(key.export({ format: 'der', type: 'spki' })));
  }

  pem(): string {
    const lines = this.spki.toString('base64').match(/.{1,64}/g) ?? [];
    return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`;
  }

  /** Signatures as KeyProvider.sign makes them: raw for Ed25519, DER Ecdsa-Sig-Value for ECDSA. */
  verify(data: Uint8Array, signature: Uint8Array): boolean {
    try {
      return verify(this.algorithm === 'Ed25519' ? null : 'sha256', data, this.key, signature);
    } catch {
      return false;
    }
  }

  equals(other: AuditPublicKey): boolean {
    return this.spki.equals(other.spki);
  }
}

const thumbprint = (required: Record<string, string>): string =>
  createHash('sha256').update(canonicalize(required), 'utf8').digest('base64url');
