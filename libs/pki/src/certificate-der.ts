import { AsnConvert } from '@peculiar/asn1-schema';
import { Time } from '@peculiar/asn1-x509';
import { encodeTime, headerLength, readTlv, writeHeader } from './der';
import { serialNumberToInteger } from './serial-number';

// Hand-written DER for the certificates issuance signs one per device (the measured hot path of
// LDevID enrollment, see tools/bench/pki.mjs): every part arrives encoded, the TBSCertificate is
// only framed. certificate-der.spec.ts compares it byte for byte with @peculiar/asn1-x509's.

/** A TBSCertificate with each part already DER: names, key and every Extension SEQUENCE. */
export interface EncodedCertificateContent {
  /** Hex. */
  serialNumber: string;
  issuerNameDer: Uint8Array;
  subjectNameDer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** One DER SubjectPublicKeyInfo. */
  subjectPublicKeyInfo: Uint8Array;
  extensions: readonly Uint8Array[];
  /** DER AlgorithmIdentifier of the issuer's signature. */
  signatureAlgorithmDer: Uint8Array;
}

const VERSION_3 = Uint8Array.of(0xa0, 0x03, 0x02, 0x01, 0x02);

/** DER TBSCertificate (v3) as @peculiar/asn1-x509 writes it for the same content. */
export function encodeTbsCertificate(content: EncodedCertificateContent): Uint8Array {
  const spki = readTlv(content.subjectPublicKeyInfo, 0, content.subjectPublicKeyInfo.length);
  if (!spki || spki.tag !== 0x30 || spki.end !== content.subjectPublicKeyInfo.length) throw new TypeError('subjectPublicKeyInfo is not one DER SEQUENCE');
  // Measured first, then written into one buffer: a TLV per part, each copied into the next, was most of issuance's main-thread time.
  const serial = serialNumberToInteger(content.serialNumber);
  const notBefore = encodeX509Time(content.notBefore);
  const notAfter = encodeX509Time(content.notAfter);
  let extensionsLength = 0;
  for (const extension of content.extensions) extensionsLength += extension.length;
  const extensionsSequence = headerLength(extensionsLength) + extensionsLength;
  const validityLength = notBefore.length + notAfter.length;
  const tbsLength =
    VERSION_3.length +
    headerLength(serial.length) +
    serial.length +
    content.signatureAlgorithmDer.length +
    content.issuerNameDer.length +
    headerLength(validityLength) +
    validityLength +
    content.subjectNameDer.length +
    content.subjectPublicKeyInfo.length +
    headerLength(extensionsSequence) +
    extensionsSequence;
  const out = new Uint8Array(headerLength(tbsLength) + tbsLength);
  let at = writeHeader(out, 0, 0x30, tbsLength);
  const put = (part: Uint8Array) => {
    out.set(part, at);
    at += part.length;
  };
  put(VERSION_3);
  at = writeHeader(out, at, 0x02, serial.length);
  put(serial);
  put(content.signatureAlgorithmDer);
  put(content.issuerNameDer);
  at = writeHeader(out, at, 0x30, validityLength);
  put(notBefore);
  put(notAfter);
  put(content.subjectNameDer);
  put(content.subjectPublicKeyInfo);
  at = writeHeader(out, at, 0xa3, extensionsSequence);
  at = writeHeader(out, at, 0x30, extensionsLength);
  for (const extension of content.extensions) put(extension);
  return out;
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }. */
export function encodeSignedCertificate(tbs: Uint8Array, signatureAlgorithmDer: Uint8Array, signature: Uint8Array): Uint8Array {
  const bitStringLength = signature.length + 1;
  const contentLength = tbs.length + signatureAlgorithmDer.length + headerLength(bitStringLength) + bitStringLength;
  const out = new Uint8Array(headerLength(contentLength) + contentLength);
  let at = writeHeader(out, 0, 0x30, contentLength);
  out.set(tbs, at);
  at += tbs.length;
  out.set(signatureAlgorithmDer, at);
  at += signatureAlgorithmDer.length;
  at = writeHeader(out, at, 0x03, bitStringLength);
  out[at++] = 0;
  out.set(signature, at);
  return out;
}

/** X.509 Time as the library writes it; by hand unless it would carry fractions of a second. */
function encodeX509Time(date: Date): Uint8Array {
  // From 2050 the library writes GeneralizedTime with milliseconds when there are any.
  if (date.getUTCMilliseconds() !== 0 && date.getUTCFullYear() >= 2050) return new Uint8Array(AsnConvert.serialize(new Time(date)));
  return encodeTime(date);
}
