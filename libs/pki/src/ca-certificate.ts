import { buildName, type NameAttribute } from './distinguished-name';
import { authorityDetails, assertKeyMatchesCertificate, notAfterUnder, type CaRole, type CertificateAuthority } from './certificate-authority';
import {
  KeyUsageFlags,
  OID_KP_OCSP_SIGNING,
  authorityInfoAccessExtension,
  authorityKeyIdentifierExtension,
  basicConstraintsExtension,
  crlDistributionPointsExtension,
  extendedKeyUsageExtension,
  keyUsageExtension,
  ocspNoCheckExtension,
  revocationUrls,
  subjectKeyIdentifierExtension,
} from './extensions';
import { keyIdentifier } from './fingerprints';
import type { KeyProvider } from './key-provider';
import { signCertificate } from './sign-certificate';
import { NO_WELL_DEFINED_EXPIRATION, addDays } from './validity';

export interface RootCaInput {
  subject: NameAttribute[];
  key: KeyProvider;
  serialNumber: string;
  now: Date;
  /** Default: 99991231235959Z, as device identities below it never expire either. */
  notAfter?: Date;
  /** Omitted: no limit on the depth of subordinate CAs. */
  pathLength?: number;
}

/** A self-signed root CA certificate (DER). */
export function createRootCaCertificate(input: RootCaInput): Promise<Uint8Array> {
  const name = buildName(input.subject);
  const keyId = keyIdentifier(input.key.subjectPublicKeyInfo);
  return signCertificate(
    {
      serialNumber: input.serialNumber,
      issuer: name,
      subject: name,
      notBefore: input.now,
      notAfter: input.notAfter ?? NO_WELL_DEFINED_EXPIRATION,
      subjectPublicKeyInfo: input.key.subjectPublicKeyInfo,
      extensions: [
        basicConstraintsExtension(true, input.pathLength),
        keyUsageExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign),
        subjectKeyIdentifierExtension(keyId),
        authorityKeyIdentifierExtension(keyId),
      ],
    },
    input.key,
  );
}

export interface SubordinateCaInput {
  role: Exclude<CaRole, 'root'>;
  subject: NameAttribute[];
  /** DER SubjectPublicKeyInfo of the new CA's key. */
  subjectPublicKeyInfo: Uint8Array;
  parent: CertificateAuthority;
  serialNumber: string;
  now: Date;
  baseUrl: string;
  /** Default: factory CAs 99991231235959Z (their IDevIDs never expire), issuing CAs 10 years; cut to the parent's notAfter. */
  notAfter?: Date;
  /** Default 0: an issuing or factory CA signs end-entity certificates only. */
  pathLength?: number;
}

/** An issuing (LDevID) or factory (IDevID) CA certificate signed by `parent` (DER). */
export async function createSubordinateCaCertificate(input: SubordinateCaInput): Promise<Uint8Array> {
  assertKeyMatchesCertificate(input.parent);
  const parent = authorityDetails(input.parent.certificateDer);
  const urls = revocationUrls(input.baseUrl, input.parent.caId);
  const defaultNotAfter = input.role === 'factory' ? NO_WELL_DEFINED_EXPIRATION : addDays(input.now, 3650);
  return signCertificate(
    {
      serialNumber: input.serialNumber,
      issuer: parent.name,
      subject: buildName(input.subject),
      notBefore: input.now,
      notAfter: notAfterUnder(input.parent, input.now, input.notAfter ?? defaultNotAfter),
      subjectPublicKeyInfo: input.subjectPublicKeyInfo,
      extensions: [
        basicConstraintsExtension(true, input.pathLength ?? 0),
        keyUsageExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign),
        subjectKeyIdentifierExtension(keyIdentifier(input.subjectPublicKeyInfo)),
        authorityKeyIdentifierExtension(parent.keyIdentifier),
        crlDistributionPointsExtension(urls.crl),
        authorityInfoAccessExtension(urls.ocsp, urls.caIssuers),
      ],
    },
    input.parent.key,
  );
}

export interface OcspSignerInput {
  subject: NameAttribute[];
  subjectPublicKeyInfo: Uint8Array;
  /** The CA whose certificates this signer answers for (RFC 6960 §4.2.2.2: issued directly by it). */
  ca: CertificateAuthority;
  serialNumber: string;
  now: Date;
  /** Default 365: a short life, because nocheck means it is never checked for revocation. Cut to the CA's notAfter. */
  validityDays?: number;
}

/** A delegated OCSP signer certificate: id-kp-OCSPSigning and id-pkix-ocsp-nocheck (DER). */
export async function createOcspSignerCertificate(input: OcspSignerInput): Promise<Uint8Array> {
  assertKeyMatchesCertificate(input.ca);
  const ca = authorityDetails(input.ca.certificateDer);
  return signCertificate(
    {
      serialNumber: input.serialNumber,
      issuer: ca.name,
      subject: buildName(input.subject),
      notBefore: input.now,
      notAfter: notAfterUnder(input.ca, input.now, addDays(input.now, input.validityDays ?? 365)),
      subjectPublicKeyInfo: input.subjectPublicKeyInfo,
      extensions: [
        basicConstraintsExtension(false),
        keyUsageExtension(KeyUsageFlags.digitalSignature),
        extendedKeyUsageExtension([OID_KP_OCSP_SIGNING]),
        ocspNoCheckExtension(),
        subjectKeyIdentifierExtension(keyIdentifier(input.subjectPublicKeyInfo)),
        authorityKeyIdentifierExtension(ca.keyIdentifier),
      ],
    },
    input.ca.key,
  );
}
