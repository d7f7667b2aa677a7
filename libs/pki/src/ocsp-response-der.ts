import { digits, tlv } from './der';
import { REVOCATION_REASON_CODES, type RevocationReason } from './revocation-reason';

// Hand-written DER for a signed OCSP answer (the measured hot path of fresh, nonced responses,
// see tools/bench/pki.mjs): the ResponseData that is signed, and the envelope framed around those
// bytes and the signer's certificate. ocsp-response-der.spec.ts compares both byte for byte with
// @peculiar/asn1-ocsp.

const SUCCESSFUL = Uint8Array.of(0x0a, 0x01, 0x00);
const ID_PKIX_OCSP_BASIC = Uint8Array.of(0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01);
const NO_UNUSED_BITS = Uint8Array.of(0);

/**
 * OCSPResponse { successful, responseBytes { id-pkix-ocsp-basic, BasicOCSPResponse { tbsResponseData,
 * signatureAlgorithm, signature, certs [0] { signer certificate } } } } (RFC 6960 §4.2.1).
 */
export function encodeSuccessfulOcspResponse(
  tbsResponseData: Uint8Array,
  signatureAlgorithmDer: Uint8Array,
  signature: Uint8Array,
  signerCertificateDer: Uint8Array,
): Uint8Array {
  const basic = tlv(0x30, tbsResponseData, signatureAlgorithmDer, tlv(0x03, NO_UNUSED_BITS, signature), tlv(0xa0, tlv(0x30, signerCertificateDer)));
  return tlv(0x30, SUCCESSFUL, tlv(0xa0, tlv(0x30, ID_PKIX_OCSP_BASIC, tlv(0x04, basic))));
}

/** What one SingleResponse says: the CertID as asked, the status, and its validity. */
export interface SingleResponseFields {
  certIdDer: Uint8Array;
  status: { status: 'good' } | { status: 'revoked'; revokedAt: Date; reason?: RevocationReason } | { status: 'unknown' };
  thisUpdate: Date;
  nextUpdate: Date;
}

const GOOD = Uint8Array.of(0x80, 0x00);
const UNKNOWN = Uint8Array.of(0x82, 0x00);
/** Extension { id-pkix-ocsp-nonce } up to its extnValue (critical is FALSE: omitted). */
const NONCE_OID = Uint8Array.of(0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02);

/**
 * ResponseData { responderID byKey, producedAt, responses, responseExtensions { nonce }? }
 * (RFC 6960 §4.2.1): version v1 is the DEFAULT and not written; nextUpdate always is.
 */
export function encodeResponseData(fields: { responderKeyHash: Uint8Array; producedAt: Date; responses: SingleResponseFields[]; nonce?: Uint8Array }): Uint8Array {
  const responses = fields.responses.map((single) =>
    tlv(0x30, single.certIdDer, encodeCertStatus(single.status), encodeGeneralizedTime(single.thisUpdate), tlv(0xa0, encodeGeneralizedTime(single.nextUpdate))),
  );
  const parts = [tlv(0xa2, tlv(0x04, fields.responderKeyHash)), encodeGeneralizedTime(fields.producedAt), tlv(0x30, ...responses)];
  if (fields.nonce !== undefined) parts.push(tlv(0xa1, tlv(0x30, tlv(0x30, NONCE_OID, tlv(0x04, fields.nonce)))));
  return tlv(0x30, ...parts);
}

/** CertID { AlgorithmIdentifier { hash OID, NULL }, issuerNameHash, issuerKeyHash, serialNumber (INTEGER content) }. */
export function encodeCertId(hashOidDer: Uint8Array, issuerNameHash: Uint8Array, issuerKeyHash: Uint8Array, serialNumber: Uint8Array): Uint8Array {
  return tlv(0x30, tlv(0x30, hashOidDer, Uint8Array.of(0x05, 0x00)), tlv(0x04, issuerNameHash), tlv(0x04, issuerKeyHash), tlv(0x02, serialNumber));
}

function encodeCertStatus(status: SingleResponseFields['status']): Uint8Array {
  if (status.status === 'good') return GOOD;
  if (status.status === 'unknown') return UNKNOWN;
  const time = encodeGeneralizedTime(status.revokedAt);
  return status.reason === undefined ? tlv(0xa1, time) : tlv(0xa1, time, tlv(0xa0, Uint8Array.of(0x0a, 0x01, REVOCATION_REASON_CODES[status.reason])));
}

/** GeneralizedTime as asn1js writes it: YYYYMMDDHHMMSS, then .mmm without trailing zeros if any, then Z. */
export function encodeGeneralizedTime(date: Date): Uint8Array {
  const millis = date.getUTCMilliseconds();
  const fraction = millis === 0 ? 0 : millis % 100 === 0 ? 1 : millis % 10 === 0 ? 2 : 3;
  const length = 15 + (fraction === 0 ? 0 : fraction + 1);
  const out = new Uint8Array(2 + length);
  out[0] = 0x18;
  out[1] = length;
  let at = digits(out, 2, date.getUTCFullYear(), 4);
  at = digits(out, at, date.getUTCMonth() + 1, 2);
  at = digits(out, at, date.getUTCDate(), 2);
  at = digits(out, at, date.getUTCHours(), 2);
  at = digits(out, at, date.getUTCMinutes(), 2);
  at = digits(out, at, date.getUTCSeconds(), 2);
  if (fraction > 0) {
    out[at++] = 0x2e;
    at = digits(out, at, Math.floor(millis / 10 ** (3 - fraction)), fraction);
  }
  out[at] = 0x5a;
  return out;
}
