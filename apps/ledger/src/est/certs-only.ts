import { CertificateChoices, CertificateSet, CMSVersion, ContentInfo, DigestAlgorithmIdentifiers, EncapsulatedContentInfo, id_data, id_signedData, SignedData, SignerInfos } from '@peculiar/asn1-cms';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';

/** A degenerate CMS SignedData that only carries certificates (RFC 5652 §5, "certs-only" in RFC 7030 §4.1.3). */
export const certsOnly = (certificates: readonly Uint8Array[]): Buffer => {
  const signedData = new SignedData({
    version: CMSVersion.v1,
    digestAlgorithms: new DigestAlgorithmIdentifiers(),
    encapContentInfo: new EncapsulatedContentInfo({ eContentType: id_data }),
    certificates: new CertificateSet(certificates.map((der) => new CertificateChoices({ certificate: AsnConvert.parse(der, Certificate) }))),
    signerInfos: new SignerInfos(),
  });
  return Buffer.from(AsnConvert.serialize(new ContentInfo({ contentType: id_signedData, content: AsnConvert.serialize(signedData) })));
};

/** EST bodies are base64 (RFC 7030 §4, RFC 8951): 64-character lines ending in LF, which `base64 -d` and `openssl base64 -d` read as they are. */
export const base64Lines = (der: Uint8Array): string => Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
