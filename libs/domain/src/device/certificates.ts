import type { RevocationReason } from './revocation-reason';

export type CertificateProfile = 'IDevID' | 'LDevID';

/**
 * A certificate the CA has signed for this command, carried in with it (the domain neither
 * signs nor parses). Stored whole (DER) in CertificateIssued, so replay rebuilds everything.
 */
export interface IssuedCertificate {
  serialNumber: string;
  caId: string;
  profile: CertificateProfile;
  /** DER, base64. */
  der: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  /** SHA-256 of the SubjectPublicKeyInfo (hex): the identity of the key, for blocking. */
  spkiSha256: string;
  fingerprintSha256: string;
}

export type CertificateStatus = 'good' | 'revoked' | 'superseded';

export interface CertificateSummary {
  serialNumber: string;
  caId: string;
  profile: CertificateProfile;
  notAfter: string;
  spkiSha256: string;
  status: CertificateStatus;
  revocation?: { reason: RevocationReason; revokedAt: string };
}

export const liveCertificates = (certs: readonly CertificateSummary[], profile?: CertificateProfile) =>
  certs.filter((c) => c.status === 'good' && (profile === undefined || c.profile === profile));
