import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import type { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { readCanonicalCsr, type CanonicalCsr } from './csr-der';
import { CsrRejected } from './csr-rejected';
import { NAME_OIDS, nameAttributeValues } from './distinguished-name';
import { canonicalSubjectPublicKeyInfo, sha256Hex } from './fingerprints';
import { checkSignatureOffThread, type SignatureJob, type SignatureOutcome } from './crypto-worker';
import type { KeyAlgorithm } from './key-provider';

export interface CsrPolicyOptions {
  /** The CSR must name this device as CN ... */
  expectedDeviceId?: string;
  /** ... or carry this serial number in the serialNumber attribute. */
  expectedSerialNumber?: string;
  /** True for the SHA-256 of a canonical SPKI (see `spkiSha256`) that may never be certified again. */
  blockedKeys: (spkiSha256: string) => boolean;
  /** Limit on the PEM or DER as received. Default 8192. */
  maxBytes?: number;
}

export interface CheckedCsr {
  der: Uint8Array;
  /** Canonical DER SubjectPublicKeyInfo, ready for `issueCertificate`. */
  subjectPublicKeyInfo: Uint8Array;
  subjectPublicKeyInfoSha256: string;
  keyAlgorithm: KeyAlgorithm;
  commonNames: string[];
  serialNumbers: string[];
}

const SIGNATURE_ALGORITHMS: Readonly<Record<string, { family: 'ec' | 'rsa' | 'ed25519'; digest: string | null }>> = {
  '1.2.840.10045.4.3.2': { family: 'ec', digest: 'sha256' },
  '1.2.840.10045.4.3.3': { family: 'ec', digest: 'sha384' },
  '1.2.840.10045.4.3.4': { family: 'ec', digest: 'sha512' },
  '1.2.840.113549.1.1.11': { family: 'rsa', digest: 'sha256' },
  '1.2.840.113549.1.1.12': { family: 'rsa', digest: 'sha384' },
  '1.2.840.113549.1.1.13': { family: 'rsa', digest: 'sha512' },
  '1.3.101.112': { family: 'ed25519', digest: null },
};
const KEY_ALGORITHM_FAMILIES: Readonly<Record<string, 'ec' | 'rsa' | 'ed25519'>> = {
  '1.2.840.10045.2.1': 'ec',
  '1.2.840.113549.1.1.1': 'rsa',
  '1.3.101.112': 'ed25519',
};
const CURVES: Readonly<Record<string, KeyAlgorithm>> = {
  '1.2.840.10045.3.1.7': 'ECDSA-P256',
  '1.3.132.0.34': 'ECDSA-P384',
};
const OID_TAG = 0x06;
const RSA_MIN_BITS = 2048;
const RSA_MAX_BITS = 4096;
const PEM = /^-----BEGIN (NEW )?CERTIFICATE REQUEST-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END (NEW )?CERTIFICATE REQUEST-----\s*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Everything a CSR must pass before its key is certified: size, strict PKCS#10 structure,
 * proof of possession, key policy, block list and subject policy. Throws `CsrRejected`.
 */
export function checkCsr(input: string | Uint8Array, options: CsrPolicyOptions): CheckedCsr {
  const pending = checksUpToSignature(receivedDer(input, options), options);
  return settle(pending, verifies(pending.signature));
}

/**
 * `checkCsr` with the proof of possession (key import + verify) off the main thread: on a worker
 * thread for the canonical form, on the libuv pool for the rest. The same checks in the same
 * order, so the same answer (or `CsrRejected`) for every CSR.
 */
export async function checkCsrAsync(input: string | Uint8Array, options: CsrPolicyOptions): Promise<CheckedCsr> {
  const { der, awaitingProof } = checkCsrUpToProof(input, options);
  if (awaitingProof) {
    const outcome = await checkSignatureOffThread(awaitingProof.proof);
    return outcome === 'verified' ? awaitingProof.afterProof() : awaitingProof.refuse(outcome);
  }
  const pending = checkWithLibraryUpToSignature(der, options);
  return settle(pending, await verifiesAsync(pending.signature));
}

/** A canonical CSR that passed every check before its proof of possession, which the caller verifies. */
export interface CsrAwaitingProof {
  /** The proof of possession as a crypto-worker job (key import + verify). */
  proof: SignatureJob;
  /** checkCsr's answer once the proof verified: the checked CSR, or the CsrRejected of a check after the proof. */
  afterProof(): CheckedCsr;
  /** checkCsr's answer when the proof did not verify: throws its CsrRejected. */
  refuse(outcome: Exclude<SignatureOutcome, 'verified'>): never;
}

/**
 * The checks before the proof of possession (size, PEM, strict form), for a caller that verifies
 * the proof itself, e.g. in one worker job with the certificate's signature (see
 * issueCertificateForCsr). `awaitingProof` is undefined for a CSR that is not in the canonical
 * form; `checkCsrAsync(der)` then checks it.
 */
export function checkCsrUpToProof(input: string | Uint8Array, options: CsrPolicyOptions): { der: Uint8Array; awaitingProof: CsrAwaitingProof | undefined } {
  const der = receivedDer(input, options);
  const canonical = readCanonicalCsr(der);
  if (!canonical) return { der, awaitingProof: undefined };
  return {
    der,
    awaitingProof: {
      proof: signatureJob(der, canonical),
      afterProof: canonicalAfterSignature(der, canonical, options).afterSignature,
      refuse(outcome) {
        // A key the worker could not import gets importKey's error, as in checkCsr.
        if (outcome === 'bad-key') importKey(canonical.subjectPublicKeyInfo, canonical.keyAlgorithm === 'Ed25519' ? 'csr-malformed' : 'csr-ec-point-invalid');
        throw noProofOfPossession();
      },
    },
  };
}

/** The DER of a CSR as received (PEM or DER), after the size limit; exported for the specs. */
export function receivedDer(input: string | Uint8Array, options: CsrPolicyOptions): Uint8Array {
  const maxBytes = options.maxBytes ?? 8192;
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength;
  if (size > maxBytes) throw new CsrRejected('csr-too-large', `CSR is ${size} bytes; the limit is ${maxBytes}`);
  return toDer(input);
}

/** Every CSR through @peculiar/asn1-csr: the reference behaviour (exported for the equivalence spec). */
export function checkCsrWithLibrary(der: Uint8Array, options: CsrPolicyOptions): CheckedCsr {
  const pending = checkWithLibraryUpToSignature(der, options);
  return settle(pending, verifies(pending.signature));
}

/** A signature to verify: the signed bytes are absent when the CSR has none to check (it then fails). */
interface SignatureToVerify {
  digest: string | null;
  signedBytes: Uint8Array | undefined;
  key: KeyObject;
  signature: Uint8Array;
}

/** A CSR that passed every check before its proof of possession; `afterSignature` runs the rest. */
interface CsrAwaitingSignature {
  signature: SignatureToVerify;
  afterSignature: () => CheckedCsr;
}

function settle(pending: Pick<CsrAwaitingSignature, 'afterSignature'>, verified: boolean): CheckedCsr {
  if (!verified) throw noProofOfPossession();
  return pending.afterSignature();
}

function noProofOfPossession(): CsrRejected {
  return new CsrRejected('csr-signature-invalid', 'the CSR signature does not verify (no proof of possession)');
}

function checksUpToSignature(der: Uint8Array, options: CsrPolicyOptions): CsrAwaitingSignature {
  return checkCanonicalUpToSignature(der, options) ?? checkWithLibraryUpToSignature(der, options);
}

/**
 * The hot path, for a CSR in the canonical form of `readCanonicalCsr`: the DER is read by hand,
 * the signature verified over the received bytes, the SPKI (canonical already) hashed as is.
 * Undefined for any other form. Its checks run in the same order as the library path's,
 * so a CSR gets the same answer either way.
 */
function checkCanonicalUpToSignature(der: Uint8Array, options: CsrPolicyOptions): CsrAwaitingSignature | undefined {
  const csr = readCanonicalCsr(der);
  if (!csr) return undefined;
  const key = importKey(csr.subjectPublicKeyInfo, csr.keyAlgorithm === 'Ed25519' ? 'csr-malformed' : 'csr-ec-point-invalid');
  return {
    signature: { digest: csr.digest, signedBytes: csr.certificationRequestInfo, key, signature: csr.signature },
    afterSignature: canonicalAfterSignature(der, csr, options).afterSignature,
  };
}

/** The checks after the proof of possession, for a canonical CSR. */
function canonicalAfterSignature(der: Uint8Array, csr: CanonicalCsr, options: CsrPolicyOptions): Pick<CsrAwaitingSignature, 'afterSignature'> {
  return {
    afterSignature: () => {
      const subjectPublicKeyInfo = csr.subjectPublicKeyInfo.slice();
      const subjectPublicKeyInfoSha256 = sha256Hex(subjectPublicKeyInfo);
      if (options.blockedKeys(subjectPublicKeyInfoSha256)) throw new CsrRejected('csr-key-blocked', 'this public key was revoked as compromised and may not be certified again');
      checkSubject(csr.commonNames, csr.serialNumbers, options);
      return { der, subjectPublicKeyInfo, subjectPublicKeyInfoSha256, keyAlgorithm: csr.keyAlgorithm, commonNames: csr.commonNames, serialNumbers: csr.serialNumbers };
    },
  };
}

/** The canonical CSR's signature as offsets into its DER (the crypto worker copies the DER into its batch). */
function signatureJob(der: Uint8Array, csr: CanonicalCsr): SignatureJob {
  const span = (part: Uint8Array) => [part.byteOffset - der.byteOffset, part.byteOffset - der.byteOffset + part.byteLength] as const;
  return { der, spki: span(csr.subjectPublicKeyInfo), signed: span(csr.certificationRequestInfo), signature: span(csr.signature), digest: csr.digest };
}

function checkWithLibraryUpToSignature(der: Uint8Array, options: CsrPolicyOptions): CsrAwaitingSignature {
  const csr = parse(der);
  const info = csr.certificationRequestInfo;
  const spkiDer = reencodedSpki(info.subjectPKInfo);
  const { key, keyAlgorithm } = checkKey(info.subjectPKInfo, spkiDer);
  const signatureAlgorithm = SIGNATURE_ALGORITHMS[csr.signatureAlgorithm.algorithm];
  if (!signatureAlgorithm) throw new CsrRejected('csr-signature-algorithm-not-allowed', `signature algorithm ${csr.signatureAlgorithm.algorithm} is not allowed`);
  if (KEY_ALGORITHM_FAMILIES[info.subjectPKInfo.algorithm.algorithm] !== signatureAlgorithm.family) {
    throw new CsrRejected('csr-signature-invalid', 'the signature algorithm does not fit the public key');
  }
  const signedBytes = csr.certificationRequestInfoRaw ? new Uint8Array(csr.certificationRequestInfoRaw) : undefined;
  return {
    signature: { digest: signatureAlgorithm.digest, signedBytes, key, signature: new Uint8Array(csr.signature) },
    afterSignature: () => {
      const subjectPublicKeyInfo = canonicalSubjectPublicKeyInfo(key);
      const subjectPublicKeyInfoSha256 = sha256Hex(subjectPublicKeyInfo);
      if (options.blockedKeys(subjectPublicKeyInfoSha256)) throw new CsrRejected('csr-key-blocked', 'this public key was revoked as compromised and may not be certified again');
      const commonNames = subjectValues(info, NAME_OIDS.CN!);
      const serialNumbers = subjectValues(info, NAME_OIDS.serialNumber!);
      checkSubject(commonNames, serialNumbers, options);
      return { der, subjectPublicKeyInfo, subjectPublicKeyInfoSha256, keyAlgorithm, commonNames, serialNumbers };
    },
  };
}

/** The SPKI as DER again; what the library parsed but cannot write back (e.g. curve parameters that are no OID) is malformed. */
function reencodedSpki(spki: SubjectPublicKeyInfo): Uint8Array {
  try {
    return new Uint8Array(AsnConvert.serialize(spki));
  } catch {
    throw new CsrRejected('csr-malformed', 'the public key cannot be decoded');
  }
}

function toDer(input: string | Uint8Array): Uint8Array {
  const text = typeof input === 'string' ? input : looksLikePem(input) ? Buffer.from(input).toString('latin1') : undefined;
  if (text === undefined) return input as Uint8Array;
  const match = PEM.exec(text.trimStart());
  const base64 = match?.[2]?.replace(/\r?\n/g, '');
  if (!base64) throw new CsrRejected('csr-malformed', 'not a PEM CERTIFICATE REQUEST with valid base64');
  const der = Buffer.from(base64, 'base64');
  // Base64 that re-encodes to itself is valid (the common case, checked without the slower regex); anything else must pass the regex.
  if (der.toString('base64') !== base64 && !BASE64.test(base64)) throw new CsrRejected('csr-malformed', 'not a PEM CERTIFICATE REQUEST with valid base64');
  return new Uint8Array(der);
}

function looksLikePem(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 64)).toString('latin1').trimStart().startsWith('-----BEGIN');
}

function parse(der: Uint8Array): CertificationRequest {
  if (!isSingleDerSequence(der)) throw new CsrRejected('csr-malformed', 'not a single DER SEQUENCE');
  let csr: CertificationRequest;
  try {
    csr = AsnConvert.parse(der, CertificationRequest);
  } catch {
    throw new CsrRejected('csr-malformed', 'not a PKCS#10 certification request');
  }
  if (csr.certificationRequestInfo.version !== 0) throw new CsrRejected('csr-malformed', 'PKCS#10 version must be v1 (0)');
  return csr;
}

/** Definite-length SEQUENCE spanning exactly the input: BER forms and trailing bytes are refused. */
function isSingleDerSequence(der: Uint8Array): boolean {
  if (der.length < 2 || der[0] !== 0x30) return false;
  const first = der[1]!;
  if (first < 0x80) return 2 + first === der.length;
  const lengthOctets = first & 0x7f;
  if (lengthOctets === 0 || lengthOctets > 3 || der.length < 2 + lengthOctets || der[2] === 0) return false;
  let length = 0;
  for (let index = 0; index < lengthOctets; index++) length = length * 256 + der[2 + index]!;
  return length >= 0x80 && 2 + lengthOctets + length === der.length;
}

function checkKey(spki: SubjectPublicKeyInfo, spkiDer: Uint8Array): { key: KeyObject; keyAlgorithm: KeyAlgorithm } {
  const { algorithm: algorithmOid, parameters } = spki.algorithm;
  const family = KEY_ALGORITHM_FAMILIES[algorithmOid];
  if (!family) throw new CsrRejected('csr-key-algorithm-not-allowed', `public key algorithm ${algorithmOid} is not allowed`);
  if (family === 'ec') {
    const curveOid = parameters ? namedCurveOid(new Uint8Array(parameters)) : undefined;
    const keyAlgorithm = curveOid ? CURVES[curveOid] : undefined;
    if (!keyAlgorithm) throw new CsrRejected('csr-curve-not-allowed', `EC curve ${curveOid ?? '(explicit or missing parameters)'} is not allowed; use P-256 or P-384`);
    // OpenSSL decodes the point at infinity (a lone 0x00), so the encoding is checked here;
    // points off the curve are refused by OpenSSL when the key is imported.
    if (!isFinitePointEncoding(new Uint8Array(spki.subjectPublicKey), keyAlgorithm === 'ECDSA-P256' ? 32 : 48)) {
      throw new CsrRejected('csr-ec-point-invalid', 'the EC public key is not a finite point in SEC 1 encoding');
    }
    return { key: importKey(spkiDer, 'csr-ec-point-invalid'), keyAlgorithm };
  }
  if (family === 'ed25519') {
    if (parameters !== undefined && parameters !== null) throw new CsrRejected('csr-malformed', 'Ed25519 key algorithm must have absent parameters');
    return { key: importKey(spkiDer, 'csr-malformed'), keyAlgorithm: 'Ed25519' };
  }
  const key = importKey(spkiDer, 'csr-malformed');
  const details = key.asymmetricKeyDetails;
  const bits = details?.modulusLength ?? 0;
  if (bits < RSA_MIN_BITS) throw new CsrRejected('csr-rsa-too-small', `RSA modulus of ${bits} bits; at least ${RSA_MIN_BITS} required`);
  if (bits > RSA_MAX_BITS) throw new CsrRejected('csr-rsa-too-large', `RSA modulus of ${bits} bits; at most ${RSA_MAX_BITS} allowed`);
  if (details?.publicExponent !== 65537n) throw new CsrRejected('csr-rsa-exponent', `RSA public exponent must be 65537, not ${details?.publicExponent ?? '?'}`);
  const keyAlgorithm: KeyAlgorithm = bits <= 2048 ? 'RSA-2048' : bits <= 3072 ? 'RSA-3072' : 'RSA-4096';
  return { key, keyAlgorithm };
}

function importKey(spkiDer: Uint8Array, code: 'csr-ec-point-invalid' | 'csr-malformed'): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(spkiDer.buffer, spkiDer.byteOffset, spkiDer.byteLength), format: 'der', type: 'spki' });
  } catch {
    throw new CsrRejected(code, code === 'csr-ec-point-invalid' ? 'the EC public key is not a valid point on its curve' : 'the public key cannot be decoded');
  }
}

function isFinitePointEncoding(point: Uint8Array, fieldBytes: number): boolean {
  const prefix = point[0];
  return (prefix === 0x04 && point.length === 1 + 2 * fieldBytes) || ((prefix === 0x02 || prefix === 0x03) && point.length === 1 + fieldBytes);
}

/** The OID in an ECParameters namedCurve choice, or undefined for explicit parameters. */
function namedCurveOid(parameters: Uint8Array): string | undefined {
  if (parameters[0] !== OID_TAG || parameters[1] === undefined || parameters[1] !== parameters.length - 2) return undefined;
  const body = parameters.subarray(2);
  const arcs: number[] = [];
  let value = 0;
  for (const byte of body) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  const first = arcs.shift();
  if (first === undefined) return undefined;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...arcs].join('.');
}

function verifies({ digest, signedBytes, key, signature }: SignatureToVerify): boolean {
  if (!signedBytes) return false;
  try {
    return verify(digest, signedBytes, key, signature);
  } catch {
    return false;
  }
}

/** As `verifies`, on the libuv pool (node:crypto's callback form): a failure of any kind is `false`. */
function verifiesAsync({ digest, signedBytes, key, signature }: SignatureToVerify): Promise<boolean> {
  if (!signedBytes) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      verify(digest, signedBytes, key, signature, (error, ok) => resolve(!error && ok));
    } catch {
      resolve(false);
    }
  });
}

function subjectValues(info: CertificationRequest['certificationRequestInfo'], oid: string): string[] {
  try {
    return nameAttributeValues(info.subject, oid);
  } catch {
    throw new CsrRejected('csr-malformed', 'the CSR subject cannot be decoded');
  }
}

function checkSubject(commonNames: string[], serialNumbers: string[], options: CsrPolicyOptions): void {
  const { expectedDeviceId, expectedSerialNumber } = options;
  if (expectedDeviceId === undefined && expectedSerialNumber === undefined) return;
  const namesDevice = expectedDeviceId !== undefined && commonNames.length === 1 && commonNames[0] === expectedDeviceId;
  const namesSerial = expectedSerialNumber !== undefined && serialNumbers.length === 1 && serialNumbers[0] === expectedSerialNumber;
  if (!namesDevice && !namesSerial) {
    throw new CsrRejected('csr-subject-mismatch', 'the CSR subject must name the device: CN = its deviceId or serialNumber = its serial number');
  }
}
