import { authorityDetails, type CertificateAuthority } from './certificate-authority';
import { buildName } from './distinguished-name';
import { authorityInfoAccessExtension, authorityKeyIdentifierExtension, crlDistributionPointsExtension, revocationUrls, subjectKeyIdentifierExtension } from './extensions';
import { keyIdentifier, sha256Hex, spkiSha256 } from './fingerprints';
import type { CertificateProfile, DeviceIdentity } from './profiles';
import { normalizeSerialNumber } from './serial-number';
import { signCertificate, toPem } from './sign-certificate';

export interface IssueCertificateInput {
  authority: CertificateAuthority;
  profile: CertificateProfile;
  device: DeviceIdentity;
  /** DER SubjectPublicKeyInfo, normally from a CSR that passed `checkCsr`. */
  subjectPublicKeyInfo: Uint8Array;
  /** From `CheckedCsr`, to skip hashing the key again; computed when absent. */
  subjectPublicKeyInfoSha256?: string;
  /** Hex; see `newSerialNumber`. */
  serialNumber: string;
  now: Date;
  /** Public base URL of the ledger, for the CRL distribution point and AIA. */
  baseUrl: string;
}

export interface IssuedCertificate {
  serialNumber: string;
  der: Uint8Array;
  pem: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the canonical SPKI: the value a keyCompromise revocation blocks. */
  subjectPublicKeyInfoSha256: string;
  fingerprintSha256: string;
}

/** Signs an end-entity certificate; deterministic given its inputs (and the key, for RSA/Ed25519). */
export async function issueCertificate(input: IssueCertificateInput): Promise<IssuedCertificate> {
  const issuer = authorityDetails(input.authority.certificateDer);
  const decision = input.profile.apply(input.device, input.now);
  const urls = revocationUrls(input.baseUrl, input.authority.caId);
  const serialNumber = normalizeSerialNumber(input.serialNumber);
  const notBefore = new Date(Math.floor(input.now.getTime() / 1000) * 1000);
  const der = await signCertificate(
    {
      serialNumber,
      issuer: issuer.name,
      subject: buildName(decision.subject),
      notBefore,
      notAfter: decision.notAfter,
      subjectPublicKeyInfo: input.subjectPublicKeyInfo,
      extensions: [
        ...decision.extensions,
        subjectKeyIdentifierExtension(keyIdentifier(input.subjectPublicKeyInfo)),
        authorityKeyIdentifierExtension(issuer.keyIdentifier),
        crlDistributionPointsExtension(urls.crl),
        authorityInfoAccessExtension(urls.ocsp, urls.caIssuers),
      ],
    },
    input.authority.key,
  );
  return {
    serialNumber,
    der,
    pem: toPem('CERTIFICATE', der),
    notBefore,
    notAfter: decision.notAfter,
    subjectPublicKeyInfoSha256: input.subjectPublicKeyInfoSha256 ?? spkiSha256(input.subjectPublicKeyInfo),
    fingerprintSha256: sha256Hex(der),
  };
}
