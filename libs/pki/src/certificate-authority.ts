import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, Name, SubjectKeyIdentifier, id_ce_subjectKeyIdentifier } from '@peculiar/asn1-x509';
import { PkiConfigurationError, validityRefusal } from './errors';
import { keyIdentifier } from './fingerprints';
import type { KeyProvider } from './key-provider';

export type CaRole = 'root' | 'issuing' | 'factory';

/** A CA able to sign: its certificate and the key that matches it. */
export interface CertificateAuthority {
  readonly caId: string;
  readonly certificateDer: Uint8Array;
  readonly key: KeyProvider;
}

/** What issuing needs from a CA certificate, parsed once per CA. */
export interface AuthorityDetails {
  readonly name: Name;
  readonly nameDer: Uint8Array;
  readonly keyIdentifier: Uint8Array;
  /** DER SubjectPublicKeyInfo from the certificate. */
  readonly subjectPublicKeyInfo: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

const details = new WeakMap<Uint8Array, AuthorityDetails>();

export function authorityDetails(certificateDer: Uint8Array): AuthorityDetails {
  const cached = details.get(certificateDer);
  if (cached) return cached;
  const certificate = AsnConvert.parse(certificateDer, Certificate);
  const tbs = certificate.tbsCertificate;
  const ski = tbs.extensions?.find((extension) => extension.extnID === id_ce_subjectKeyIdentifier);
  const subjectPublicKeyInfo = new Uint8Array(AsnConvert.serialize(tbs.subjectPublicKeyInfo));
  const parsed: AuthorityDetails = {
    name: tbs.subject,
    nameDer: new Uint8Array(AsnConvert.serialize(tbs.subject)),
    keyIdentifier: ski ? new Uint8Array(AsnConvert.parse(ski.extnValue, SubjectKeyIdentifier).buffer) : keyIdentifier(subjectPublicKeyInfo),
    subjectPublicKeyInfo,
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
  };
  details.set(certificateDer, parsed);
  return parsed;
}

/** Refuses a CA whose key does not match its certificate: everything it signed would fail to verify. */
export function assertKeyMatchesCertificate(authority: CertificateAuthority): void {
  const fromCertificate = Buffer.from(authorityDetails(authority.certificateDer).subjectPublicKeyInfo);
  if (!fromCertificate.equals(Buffer.from(authority.key.subjectPublicKeyInfo))) {
    throw new PkiConfigurationError(`the key of CA ${authority.caId} does not match its certificate`);
  }
}

/**
 * The notAfter of a certificate `authority` signs at `now`: `requested`, cut to the CA's own
 * notAfter, since no certificate verifies past the end of its issuer's (RFC 5280 §6.1.3; boulder
 * and step-ca do the same). Throws CaCertificateNotValid when the CA's certificate is not valid
 * at `now`.
 */
export function notAfterUnder(authority: CertificateAuthority, now: Date, requested: Date): Date {
  const { notAfter } = assertValidAt(authority, now);
  return requested.getTime() > notAfter.getTime() ? notAfter : requested;
}

/** Throws CaCertificateNotValid unless the CA's certificate is valid at `at` (both ends included, RFC 5280 §4.1.2.5). */
export function assertValidAt(authority: CertificateAuthority, at: Date): AuthorityDetails {
  const found = authorityDetails(authority.certificateDer);
  const refusal = validityRefusal(authority.caId, found.notBefore, found.notAfter, at);
  if (refusal) throw refusal;
  return found;
}
