import { createPublicKey, hash, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { canonicalSpkiAlgorithm } from './csr-der';
import { readTlv } from './der';

export function sha256Hex(data: Uint8Array): string {
  return hash('sha256', data, 'hex');
}

/**
 * SHA-256 of the key's canonical SubjectPublicKeyInfo. The key is re-encoded first, so a
 * blocked key cannot be resubmitted under another encoding (e.g. a compressed EC point).
 */
export function spkiSha256(subjectPublicKeyInfo: Uint8Array): string {
  const key = createPublicKey({ key: Buffer.from(subjectPublicKeyInfo), format: 'der', type: 'spki' });
  // Already canonical (what OpenSSL would export, byte for byte): hashed as is, once the import above has validated the key.
  if (canonicalSpkiAlgorithm(subjectPublicKeyInfo)) return sha256Hex(subjectPublicKeyInfo);
  return sha256Hex(canonicalSubjectPublicKeyInfo(key));
}

/** DER SPKI with a named curve and an uncompressed point for EC keys (OpenSSL keeps the submitted point form otherwise). */
export function canonicalSubjectPublicKeyInfo(key: KeyObject): Uint8Array {
  const exported = key.export({ type: 'spki', format: 'der' });
  // A named-curve SPKI is 59/72 bytes (P-256/P-384) with a compressed point and 91/120 uncompressed.
  const compressed = key.asymmetricKeyType === 'ec' && exported.length < 91;
  if (!compressed) return new Uint8Array(exported);
  return new Uint8Array(createPublicKey({ key: key.export({ format: 'jwk' }), format: 'jwk' }).export({ type: 'spki', format: 'der' }));
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING contents. */
export function keyIdentifier(subjectPublicKeyInfo: Uint8Array): Uint8Array {
  return new Uint8Array(hash('sha1', subjectPublicKeyBits(subjectPublicKeyInfo), 'buffer'));
}

/** The subjectPublicKey BIT STRING contents (after the unused-bits octet); read by hand when strict DER. */
function subjectPublicKeyBits(der: Uint8Array): Uint8Array {
  const spki = readTlv(der, 0, der.length);
  const algorithm = spki && spki.tag === 0x30 && spki.end === der.length ? readTlv(der, spki.contentStart, spki.end) : undefined;
  const bits = algorithm && algorithm.tag === 0x30 ? readTlv(der, algorithm.end, spki!.end) : undefined;
  if (bits && bits.tag === 0x03 && bits.end === spki!.end && bits.end > bits.contentStart && der[bits.contentStart] === 0) return der.subarray(bits.contentStart + 1, bits.end);
  return new Uint8Array(AsnConvert.parse(der, SubjectPublicKeyInfo).subjectPublicKey);
}
