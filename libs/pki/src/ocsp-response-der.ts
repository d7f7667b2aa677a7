import { tlv } from './der';

// Hand-written DER for the envelope of a signed OCSP answer (the measured hot path of fresh,
// nonced responses, see tools/bench/pki.mjs): the library encodes the ResponseData once, for
// signing, and the envelope and the signer's certificate are framed around those bytes instead of
// being encoded again. ocsp-response-der.spec.ts compares it byte for byte with @peculiar/asn1-ocsp.

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
