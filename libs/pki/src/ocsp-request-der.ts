import { AsnConvert } from '@peculiar/asn1-schema';
import { CertID, OCSPRequest, id_pkix_ocsp_nonce } from '@peculiar/asn1-ocsp';
import { equalBytes, hexBytes, readOidAndValue, readTlv } from './der';

// Hand-written reading of an OCSP request (RFC 6960 §4.1.1) in the form clients send (openssl,
// browsers, embedded stacks): strict DER; no version, requestor name, per-certificate
// extensions or signature. That is the responder's hot path: @peculiar/asn1-schema takes
// ~110 µs to parse one request, more than the signature of a fresh answer (tools/bench/pki.mjs).
// Anything else goes through @peculiar/asn1-ocsp as before; ocsp-request-der.spec.ts checks
// that both readings agree on valid requests and on random mutations of them.

/** One certificate a request asks about (its CertID). */
export interface RequestedCertificate {
  /** The CertID's DER: echoed in the answer's SingleResponse. */
  der: Uint8Array;
  /** Dotted OID of the hash the issuer name and key hashes were made with. */
  hashAlgorithm: string;
  issuerNameHash: Uint8Array;
  issuerKeyHash: Uint8Array;
  /** Content octets of the serial number INTEGER. */
  serialNumber: Uint8Array;
}

export interface ParsedOcspRequest {
  certificates: RequestedCertificate[];
  /** extnValue of the first nonce extension (the DER of the nonce as the client wrapped it), if any. */
  nonce?: Uint8Array;
}

/** Hash OIDs a CertID may name, by their content octets. */
const HASH_OIDS: readonly { octets: Uint8Array; oid: string }[] = [
  { octets: hexBytes('2b0e03021a'), oid: '1.3.14.3.2.26' },
  { octets: hexBytes('608648016503040201'), oid: '2.16.840.1.101.3.4.2.1' },
  { octets: hexBytes('608648016503040202'), oid: '2.16.840.1.101.3.4.2.2' },
  { octets: hexBytes('608648016503040203'), oid: '2.16.840.1.101.3.4.2.3' },
];
/** id-pkix-ocsp-nonce, 1.3.6.1.5.5.7.48.1.2. */
const NONCE_OID = hexBytes('2b0601050507300102');
const DER_NULL = hexBytes('0500');

/**
 * The request's certificates and nonce if it is in the common form above; undefined for
 * anything else, which is not necessarily malformed: the responder then reads it with
 * readOcspRequestWithLibrary, which reads it or throws.
 */
export function readCanonicalOcspRequest(der: Uint8Array): ParsedOcspRequest | undefined {
  const outer = readTlv(der, 0, der.length);
  if (!outer || outer.tag !== 0x30 || outer.end !== der.length) return undefined;
  const tbs = readTlv(der, outer.contentStart, outer.end);
  // A second member would be optionalSignature [0].
  if (!tbs || tbs.tag !== 0x30 || tbs.end !== outer.end) return undefined;
  // version [0] and requestorName [1] are left to the library: the list must come first.
  const list = readTlv(der, tbs.contentStart, tbs.end);
  if (!list || list.tag !== 0x30) return undefined;
  const certificates: RequestedCertificate[] = [];
  for (let at = list.contentStart; at < list.end; ) {
    const request = readTlv(der, at, list.end);
    if (!request || request.tag !== 0x30) return undefined;
    const certificate = readCertId(der, request.contentStart, request.end);
    // A CertID followed by anything (singleRequestExtensions [0]) is left to the library.
    if (!certificate || certificate.end !== request.end) return undefined;
    certificates.push(certificate.value);
    at = request.end;
  }
  if (list.end === tbs.end) return { certificates };
  const extensions = readTlv(der, list.end, tbs.end);
  if (!extensions || extensions.tag !== 0xa2 || extensions.end !== tbs.end) return undefined;
  const sequence = readTlv(der, extensions.contentStart, extensions.end);
  if (!sequence || sequence.tag !== 0x30 || sequence.end !== extensions.end || sequence.contentStart === sequence.end) return undefined;
  let nonce: Uint8Array | undefined;
  for (let at = sequence.contentStart; at < sequence.end; ) {
    // A `critical` BOOLEAN between the OID and the value is left to the library.
    const extension = readOidAndValue(der, at, sequence.end);
    if (!extension || extension.value.tag !== 0x04) return undefined;
    const { oid, value } = extension;
    if (nonce === undefined && oid.end - oid.contentStart === NONCE_OID.length && equalBytes(der, oid.contentStart, NONCE_OID)) {
      nonce = der.subarray(value.contentStart, value.end);
    }
    at = extension.end;
  }
  return nonce === undefined ? { certificates } : { certificates, nonce };
}

/** CertID ::= SEQUENCE { AlgorithmIdentifier { hash OID, NULL or nothing }, OCTET STRING, OCTET STRING, INTEGER (positive, minimal) }. */
function readCertId(der: Uint8Array, at: number, limit: number): { value: RequestedCertificate; end: number } | undefined {
  const certId = readTlv(der, at, limit);
  if (!certId || certId.tag !== 0x30) return undefined;
  const algorithm = readTlv(der, certId.contentStart, certId.end);
  if (!algorithm || algorithm.tag !== 0x30) return undefined;
  const oid = readTlv(der, algorithm.contentStart, algorithm.end);
  if (!oid || oid.tag !== 0x06) return undefined;
  const hash = HASH_OIDS.find(({ octets }) => oid.end - oid.contentStart === octets.length && equalBytes(der, oid.contentStart, octets));
  if (!hash) return undefined;
  if (oid.end !== algorithm.end && (algorithm.end - oid.end !== DER_NULL.length || !equalBytes(der, oid.end, DER_NULL))) return undefined;
  const nameHash = readTlv(der, algorithm.end, certId.end);
  if (!nameHash || nameHash.tag !== 0x04) return undefined;
  const keyHash = readTlv(der, nameHash.end, certId.end);
  if (!keyHash || keyHash.tag !== 0x04) return undefined;
  const serial = readTlv(der, keyHash.end, certId.end);
  if (!serial || serial.tag !== 0x02 || serial.end !== certId.end) return undefined;
  const length = serial.end - serial.contentStart;
  const first = der[serial.contentStart]!;
  // Empty, negative or not minimal: left to the library.
  if (length === 0 || first & 0x80 || (first === 0 && length > 1 && (der[serial.contentStart + 1]! & 0x80) === 0)) return undefined;
  return {
    value: {
      der: der.subarray(certId.start, certId.end),
      hashAlgorithm: hash.oid,
      issuerNameHash: der.subarray(nameHash.contentStart, nameHash.end),
      issuerKeyHash: der.subarray(keyHash.contentStart, keyHash.end),
      serialNumber: der.subarray(serial.contentStart, serial.end),
    },
    end: certId.end,
  };
}

/** Any OCSP request @peculiar/asn1-ocsp reads, in the same shape; throws what the library throws. */
export function readOcspRequestWithLibrary(der: Uint8Array): ParsedOcspRequest {
  const request = AsnConvert.parse(der, OCSPRequest);
  const certificates = request.tbsRequest.requestList.map(({ reqCert }) => requestedCertificate(reqCert));
  const nonce = request.tbsRequest.requestExtensions?.find((extension) => extension.extnID === id_pkix_ocsp_nonce);
  return nonce === undefined ? { certificates } : { certificates, nonce: new Uint8Array(nonce.extnValue.buffer) };
}

function requestedCertificate(certId: CertID): RequestedCertificate {
  return {
    der: new Uint8Array(AsnConvert.serialize(certId)),
    hashAlgorithm: certId.hashAlgorithm.algorithm,
    issuerNameHash: new Uint8Array(certId.issuerNameHash.buffer),
    issuerKeyHash: new Uint8Array(certId.issuerKeyHash.buffer),
    serialNumber: new Uint8Array(certId.serialNumber),
  };
}
