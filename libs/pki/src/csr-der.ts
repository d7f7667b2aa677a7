import { equalBytes, hexBytes, readOidAndValue, readTlv } from './der';
import type { KeyAlgorithm } from './key-provider';

// Hand-written reading of a PKCS#10 CSR in the form devices actually send (strict DER, a
// named-curve EC or Ed25519 key, no parameters on the signature algorithm, no attributes):
// checkCsr's measured hot path. Anything else returns undefined and goes through
// @peculiar/asn1-csr; csr-policy.spec.ts checks both paths agree on every corpus case and on
// random mutations.

/** The parts of a CSR the policy needs, as views into its DER. */
export interface CanonicalCsr {
  /** CertificationRequestInfo exactly as signed. */
  certificationRequestInfo: Uint8Array;
  /** DER SubjectPublicKeyInfo, already canonical (named curve, uncompressed point). */
  subjectPublicKeyInfo: Uint8Array;
  keyAlgorithm: KeyAlgorithm;
  digest: 'sha256' | 'sha384' | 'sha512' | null;
  signature: Uint8Array;
  commonNames: string[];
  serialNumbers: string[];
}

const SPKI_PREFIXES: readonly { prefix: Uint8Array; length: number; keyAlgorithm: KeyAlgorithm }[] = [
  // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING { 0x04 || X || Y } }
  { prefix: hexBytes('3059301306072a8648ce3d020106082a8648ce3d030107034200 04'), length: 91, keyAlgorithm: 'ECDSA-P256' },
  // SEQUENCE { SEQUENCE { id-ecPublicKey, secp384r1 }, BIT STRING { 0x04 || X || Y } }
  { prefix: hexBytes('3076301006072a8648ce3d020106052b81040022036200 04'), length: 120, keyAlgorithm: 'ECDSA-P384' },
  // SEQUENCE { SEQUENCE { id-Ed25519 }, BIT STRING { A } }
  { prefix: hexBytes('302a300506032b6570032100'), length: 44, keyAlgorithm: 'Ed25519' },
];

const SIGNATURE_ALGORITHMS: readonly { der: Uint8Array; family: 'ec' | 'ed25519'; digest: CanonicalCsr['digest'] }[] = [
  { der: hexBytes('300a06082a8648ce3d040302'), family: 'ec', digest: 'sha256' },
  { der: hexBytes('300a06082a8648ce3d040303'), family: 'ec', digest: 'sha384' },
  { der: hexBytes('300a06082a8648ce3d040304'), family: 'ec', digest: 'sha512' },
  { der: hexBytes('300506032b6570'), family: 'ed25519', digest: null },
];

const VERSION_0 = hexBytes('020100');
const EMPTY_ATTRIBUTES = hexBytes('a000');
const OID_CN = hexBytes('550403');
const OID_SERIAL_NUMBER = hexBytes('550405');
const TAG_UTF8_STRING = 0x0c;
const TAG_PRINTABLE_STRING = 0x13;
const TAG_IA5_STRING = 0x16;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The key algorithm of a SubjectPublicKeyInfo already in canonical form (named curve, uncompressed point; Ed25519), else undefined. */
export function canonicalSpkiAlgorithm(spki: Uint8Array): KeyAlgorithm | undefined {
  return SPKI_PREFIXES.find(({ prefix, length }) => spki.length === length && equalBytes(spki, 0, prefix))?.keyAlgorithm;
}

/** The CSR's parts if it has the canonical form described above; undefined for anything else. */
export function readCanonicalCsr(der: Uint8Array): CanonicalCsr | undefined {
  const outer = readTlv(der, 0, der.length);
  if (!outer || outer.tag !== 0x30 || outer.end !== der.length) return undefined;
  const info = readTlv(der, outer.contentStart, outer.end);
  if (!info || info.tag !== 0x30 || !equalBytes(der, info.contentStart, VERSION_0)) return undefined;

  const name = readTlv(der, info.contentStart + VERSION_0.length, info.end);
  if (!name || name.tag !== 0x30) return undefined;
  const commonNames: string[] = [];
  const serialNumbers: string[] = [];
  if (!readName(der, name.contentStart, name.end, commonNames, serialNumbers)) return undefined;

  const spki = readTlv(der, name.end, info.end);
  if (!spki || spki.tag !== 0x30) return undefined;
  const keyShape = SPKI_PREFIXES.find(({ prefix, length }) => spki.end - spki.start === length && equalBytes(der, spki.start, prefix));
  if (!keyShape) return undefined;
  if (spki.end + EMPTY_ATTRIBUTES.length !== info.end || !equalBytes(der, spki.end, EMPTY_ATTRIBUTES)) return undefined;

  const algorithm = readTlv(der, info.end, outer.end);
  if (!algorithm) return undefined;
  const signatureAlgorithm = SIGNATURE_ALGORITHMS.find(({ der: expected }) => algorithm.end - algorithm.start === expected.length && equalBytes(der, algorithm.start, expected));
  if (!signatureAlgorithm || (signatureAlgorithm.family === 'ed25519') !== (keyShape.keyAlgorithm === 'Ed25519')) return undefined;

  const signature = readTlv(der, algorithm.end, outer.end);
  if (!signature || signature.tag !== 0x03 || signature.end !== outer.end || signature.end - signature.contentStart < 2 || der[signature.contentStart] !== 0) {
    return undefined;
  }
  return {
    certificationRequestInfo: der.subarray(info.start, info.end),
    subjectPublicKeyInfo: der.subarray(spki.start, spki.end),
    keyAlgorithm: keyShape.keyAlgorithm,
    digest: signatureAlgorithm.digest,
    signature: der.subarray(signature.contentStart + 1, signature.end),
    commonNames,
    serialNumbers,
  };
}

/** RDNSequence with UTF8String / PrintableString / IA5String values; collects CN and serialNumber values. */
function readName(der: Uint8Array, start: number, end: number, commonNames: string[], serialNumbers: string[]): boolean {
  for (let at = start; at < end; ) {
    const rdn = readTlv(der, at, end);
    if (!rdn || rdn.tag !== 0x31 || rdn.contentStart === rdn.end) return false;
    for (let inner = rdn.contentStart; inner < rdn.end; ) {
      const attribute = readOidAndValue(der, inner, rdn.end);
      if (!attribute) return false;
      const { oid: type, value } = attribute;
      if (value.tag !== TAG_UTF8_STRING && value.tag !== TAG_PRINTABLE_STRING && value.tag !== TAG_IA5_STRING) return false;
      const typeLength = type.end - type.contentStart;
      const target =
        typeLength === 3 && equalBytes(der, type.contentStart, OID_CN) ? commonNames : typeLength === 3 && equalBytes(der, type.contentStart, OID_SERIAL_NUMBER) ? serialNumbers : undefined;
      if (target) {
        const text = decodeString(der.subarray(value.contentStart, value.end), value.tag);
        if (text === undefined) return false;
        target.push(text);
      }
      inner = attribute.end;
    }
    at = rdn.end;
  }
  return true;
}

/** As asn1js decodes them: UTF-8 strictly (BOM kept), the other string types one character per octet. */
function decodeString(octets: Uint8Array, tag: number): string | undefined {
  if (tag !== TAG_UTF8_STRING) return Buffer.from(octets.buffer, octets.byteOffset, octets.byteLength).toString('latin1');
  try {
    return strictUtf8.decode(octets);
  } catch {
    return undefined;
  }
}
