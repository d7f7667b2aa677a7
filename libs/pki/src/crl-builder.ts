import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  BaseCRLNumber,
  CRLNumber,
  DistributionPointName,
  Extension,
  Extensions,
  GeneralName,
  IssuingDistributionPoint,
  Time,
  id_ce_cRLNumber,
  id_ce_deltaCRLIndicator,
  id_ce_issuingDistributionPoint,
} from '@peculiar/asn1-x509';
import { authorityDetails, assertKeyMatchesCertificate, type CertificateAuthority } from './certificate-authority';
import { PkiConfigurationError } from './errors';
import { authorityKeyIdentifierExtension, freshestCrlExtension, revocationUrls } from './extensions';
import { signatureAlgorithmIdentifier } from './key-provider';
import type { RevokedEntry } from './revocation-reason';
import { derHeader, encodeRevokedCertificates } from './revoked-certificates-der';

export interface CrlInput {
  authority: CertificateAuthority;
  /** Monotonic per CA across full and delta CRLs (RFC 5280 §5.2.3); the caller keeps the counter. */
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: Iterable<RevokedEntry>;
  baseUrl: string;
  /** Present: a delta CRL holding the changes since the full CRL `baseCrlNumber`. */
  delta?: { baseCrlNumber: number };
  /** Adds a critical issuingDistributionPoint naming this CRL's URL. */
  issuingDistributionPoint?: boolean;
}

export interface BuiltCrl {
  der: Uint8Array;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
}

/** A signed full or delta CRL (DER), signed over the TBS by the CA's KeyProvider. */
export async function buildCrl(input: CrlInput): Promise<BuiltCrl> {
  const tbs = encodeTbsCertList(input);
  const signatureAlgorithm = new Uint8Array(AsnConvert.serialize(signatureAlgorithmIdentifier(input.authority.key.algorithm)));
  const signature = await input.authority.key.sign(tbs);
  const bitString = concat([derHeader(0x03, signature.length + 1), Uint8Array.of(0), signature]);
  const header = derHeader(0x30, tbs.length + signatureAlgorithm.length + bitString.length);
  return { der: concat([header, tbs, signatureAlgorithm, bitString]), crlNumber: input.crlNumber, thisUpdate: input.thisUpdate, nextUpdate: input.nextUpdate };
}

/** DER TBSCertList; exported for the byte-for-byte comparison with the library encoding. */
export function encodeTbsCertList(input: CrlInput): Uint8Array {
  assertKeyMatchesCertificate(input.authority);
  if (!Number.isSafeInteger(input.crlNumber) || input.crlNumber < 0) throw new PkiConfigurationError('crlNumber must be a non-negative integer');
  if (input.nextUpdate <= input.thisUpdate) throw new PkiConfigurationError('nextUpdate must be after thisUpdate');
  if (input.delta && !(input.delta.baseCrlNumber < input.crlNumber)) throw new PkiConfigurationError('a delta CRL number must exceed its base CRL number');
  const issuer = authorityDetails(input.authority.certificateDer);
  const revoked = encodeRevokedCertificates(input.entries);
  const extensions = new Uint8Array(AsnConvert.serialize(new Extensions(crlExtensions(input, issuer.keyIdentifier))));
  const parts = [
    Uint8Array.of(0x02, 0x01, 0x01),
    new Uint8Array(AsnConvert.serialize(signatureAlgorithmIdentifier(input.authority.key.algorithm))),
    issuer.nameDer,
    new Uint8Array(AsnConvert.serialize(new Time(input.thisUpdate))),
    new Uint8Array(AsnConvert.serialize(new Time(input.nextUpdate))),
    ...(revoked ? [revoked] : []),
    derHeader(0xa0, extensions.length),
    extensions,
  ];
  const contentLength = parts.reduce((sum, part) => sum + part.length, 0);
  return concat([derHeader(0x30, contentLength), ...parts]);
}

function crlExtensions(input: CrlInput, authorityKeyId: Uint8Array): Extension[] {
  const urls = revocationUrls(input.baseUrl, input.authority.caId);
  const extensions = [
    authorityKeyIdentifierExtension(authorityKeyId),
    new Extension({ extnID: id_ce_cRLNumber, critical: false, extnValue: new OctetString(AsnConvert.serialize(new CRLNumber(input.crlNumber))) }),
  ];
  if (input.delta) {
    // RFC 5280 §5.2.4: the delta CRL indicator is critical.
    const base = new BaseCRLNumber(input.delta.baseCrlNumber);
    extensions.push(new Extension({ extnID: id_ce_deltaCRLIndicator, critical: true, extnValue: new OctetString(AsnConvert.serialize(base)) }));
  } else {
    extensions.push(freshestCrlExtension(urls.deltaCrl));
  }
  if (input.issuingDistributionPoint) {
    const url = input.delta ? urls.deltaCrl : urls.crl;
    const idp = new IssuingDistributionPoint({ distributionPoint: new DistributionPointName({ fullName: [new GeneralName({ uniformResourceIdentifier: url })] }) });
    extensions.push(new Extension({ extnID: id_ce_issuingDistributionPoint, critical: true, extnValue: new OctetString(AsnConvert.serialize(idp)) }));
  }
  return extensions;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}
