import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AccessDescription,
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  BasicConstraints,
  CertificatePolicies,
  CRLDistributionPoints,
  DistributionPoint,
  DistributionPointName,
  ExtendedKeyUsage,
  Extension,
  FreshestCRL,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  PolicyInformation,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_cRLDistributionPoints,
  id_ce_certificatePolicies,
  id_ce_extKeyUsage,
  id_ce_freshestCRL,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_pe_authorityInfoAccess,
} from '@peculiar/asn1-x509';
import { tlv } from './der';

export const OID_OCSP = '1.3.6.1.5.5.7.48.1';
export const OID_CA_ISSUERS = '1.3.6.1.5.5.7.48.2';
export const OID_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';
export const OID_KP_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
export const OID_KP_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

function extension(extnID: string, critical: boolean, value: object | ArrayBuffer): Extension {
  const der = value instanceof ArrayBuffer ? value : AsnConvert.serialize(value);
  return new Extension({ extnID, critical, extnValue: new OctetString(der) });
}

export function basicConstraintsExtension(cA: boolean, pathLenConstraint?: number): Extension {
  const value = cA ? new BasicConstraints({ cA, ...(pathLenConstraint === undefined ? {} : { pathLenConstraint }) }) : new BasicConstraints();
  return extension(id_ce_basicConstraints, true, value);
}

export function keyUsageExtension(flags: number): Extension {
  return extension(id_ce_keyUsage, true, new KeyUsage(flags));
}
export { KeyUsageFlags };

export function subjectKeyIdentifierExtension(keyId: Uint8Array): Extension {
  return extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyId));
}

const SKI_OID = Uint8Array.of(0x06, 0x03, 0x55, 0x1d, 0x0e);

/** The DER of `subjectKeyIdentifierExtension(keyId)` written by hand (one per issued certificate). */
export function subjectKeyIdentifierExtensionDer(keyId: Uint8Array): Uint8Array {
  return tlv(0x30, SKI_OID, tlv(0x04, tlv(0x04, keyId)));
}

export function authorityKeyIdentifierExtension(keyId: Uint8Array): Extension {
  return extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyId) }));
}

function distributionPoint(url: string): DistributionPoint {
  return new DistributionPoint({ distributionPoint: new DistributionPointName({ fullName: [new GeneralName({ uniformResourceIdentifier: url })] }) });
}

export function crlDistributionPointsExtension(url: string): Extension {
  return extension(id_ce_cRLDistributionPoints, false, new CRLDistributionPoints([distributionPoint(url)]));
}

/** RFC 5280 §5.2.6: on a full CRL, where its delta CRLs are published. */
export function freshestCrlExtension(url: string): Extension {
  return extension(id_ce_freshestCRL, false, new FreshestCRL([distributionPoint(url)]));
}

export function authorityInfoAccessExtension(ocspUrl: string, caIssuersUrl: string): Extension {
  return extension(
    id_pe_authorityInfoAccess,
    false,
    new AuthorityInfoAccessSyntax([
      new AccessDescription({ accessMethod: OID_OCSP, accessLocation: new GeneralName({ uniformResourceIdentifier: ocspUrl }) }),
      new AccessDescription({ accessMethod: OID_CA_ISSUERS, accessLocation: new GeneralName({ uniformResourceIdentifier: caIssuersUrl }) }),
    ]),
  );
}

export function extendedKeyUsageExtension(purposes: readonly string[], critical = false): Extension {
  return extension(id_ce_extKeyUsage, critical, new ExtendedKeyUsage([...purposes]));
}

export function certificatePoliciesExtension(policyOids: readonly string[]): Extension {
  return extension(id_ce_certificatePolicies, false, new CertificatePolicies(policyOids.map((policyIdentifier) => new PolicyInformation({ policyIdentifier }))));
}

export function subjectAltNameUrisExtension(uris: readonly string[], critical: boolean): Extension {
  return extension(id_ce_subjectAltName, critical, new SubjectAlternativeName(uris.map((uri) => new GeneralName({ uniformResourceIdentifier: uri }))));
}

/** RFC 6960 §4.2.2.2.1 id-pkix-ocsp-nocheck: the value is NULL. */
export function ocspNoCheckExtension(): Extension {
  return extension(OID_OCSP_NOCHECK, false, new Uint8Array([0x05, 0x00]).buffer);
}

/** The distribution URLs every certificate issued by `caId` points at. */
export function revocationUrls(baseUrl: string, caId: string): { crl: string; deltaCrl: string; ocsp: string; caIssuers: string } {
  const base = baseUrl.replace(/\/+$/, '');
  const id = encodeURIComponent(caId);
  return { crl: `${base}/crl/${id}.crl`, deltaCrl: `${base}/crl/${id}/delta.crl`, ocsp: `${base}/ocsp`, caIssuers: `${base}/cas/${id}/certificate` };
}
