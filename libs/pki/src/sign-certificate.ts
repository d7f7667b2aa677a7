import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, Extension, Extensions, Name, SubjectPublicKeyInfo, TBSCertificate, Validity, Version } from '@peculiar/asn1-x509';
import { signatureAlgorithmIdentifier, type KeyProvider } from './key-provider';
import { serialNumberToInteger } from './serial-number';

export interface CertificateContent {
  serialNumber: string;
  issuer: Name;
  subject: Name;
  notBefore: Date;
  notAfter: Date;
  /** DER SubjectPublicKeyInfo of the subject's key. */
  subjectPublicKeyInfo: Uint8Array;
  extensions: Extension[];
}

/** Builds the TBSCertificate, has `issuerKey` sign it, and returns the certificate DER. */
export async function signCertificate(content: CertificateContent, issuerKey: KeyProvider): Promise<Uint8Array> {
  const signature = signatureAlgorithmIdentifier(issuerKey.algorithm);
  const tbsCertificate = new TBSCertificate({
    version: Version.v3,
    serialNumber: toArrayBuffer(serialNumberToInteger(content.serialNumber)),
    signature,
    issuer: content.issuer,
    validity: new Validity({ notBefore: content.notBefore, notAfter: content.notAfter }),
    subject: content.subject,
    subjectPublicKeyInfo: AsnConvert.parse(content.subjectPublicKeyInfo, SubjectPublicKeyInfo),
    extensions: new Extensions(content.extensions),
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbsCertificate));
  const signatureValue = await issuerKey.sign(tbsDer);
  const certificate = new Certificate({ tbsCertificate, signatureAlgorithm: signature, signatureValue: toArrayBuffer(signatureValue) });
  return new Uint8Array(AsnConvert.serialize(certificate));
}

export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

export function toPem(label: 'CERTIFICATE' | 'X509 CRL', der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${base64.replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}
