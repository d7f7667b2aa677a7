import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { ECDSASigValue } from '@peculiar/asn1-ecc';
import type { SignatureJob, SignatureOutcome } from './crypto-worker';

export const KEY_ALGORITHMS = ['ECDSA-P256', 'ECDSA-P384', 'Ed25519', 'RSA-2048', 'RSA-3072', 'RSA-4096'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/**
 * A signing key, wherever it lives. Certificates, CRLs and OCSP responses are all signed
 * through `sign`, so the same code works with a software key and a PKCS#11 key.
 */
export interface KeyProvider {
  readonly algorithm: KeyAlgorithm;
  /** DER SubjectPublicKeyInfo of the key pair. */
  readonly subjectPublicKeyInfo: Uint8Array;
  /** WebCrypto handle of the public key (for verification by callers). */
  publicKey(): Promise<CryptoKey>;
  /** Signs `data`; returns the signature as it goes into an X.509 signatureValue (DER Ecdsa-Sig-Value for ECDSA). */
  sign(data: Uint8Array): Promise<Uint8Array>;
  /**
   * Optional: `sign(data)` only if `proof` (a CSR's proof of possession) verifies, both in one
   * step where the key allows it (a software key: one job on the crypto worker). Answers the
   * signature, or why the proof failed, in which case nothing was signed.
   */
  signIfVerified?(data: Uint8Array, proof: SignatureJob): Promise<Uint8Array | Exclude<SignatureOutcome, 'verified'>>;
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ed25519: '1.3.101.112',
  sha256WithRsa: '1.2.840.113549.1.1.11',
} as const;

/** The X.509 signature AlgorithmIdentifier that `KeyProvider.sign` output corresponds to. */
export function signatureAlgorithmIdentifier(algorithm: KeyAlgorithm): AlgorithmIdentifier {
  switch (algorithm) {
    case 'ECDSA-P256':
      return new AlgorithmIdentifier({ algorithm: OID.ecdsaWithSha256 });
    case 'ECDSA-P384':
      return new AlgorithmIdentifier({ algorithm: OID.ecdsaWithSha384 });
    case 'Ed25519':
      return new AlgorithmIdentifier({ algorithm: OID.ed25519 });
    case 'RSA-2048':
    case 'RSA-3072':
    case 'RSA-4096':
      // RFC 4055 §5: the parameters of sha256WithRSAEncryption MUST be NULL.
      return new AlgorithmIdentifier({ algorithm: OID.sha256WithRsa, parameters: null });
  }
}

/** node:crypto digest name used with the key (null: the algorithm hashes internally). */
export function digestFor(algorithm: KeyAlgorithm): 'sha256' | 'sha384' | null {
  if (algorithm === 'ECDSA-P384') return 'sha384';
  if (algorithm === 'Ed25519') return null;
  return 'sha256';
}

/** WebCrypto algorithm parameters for generating, importing and signing with a key of `algorithm`. */
export function webCryptoParams(algorithm: KeyAlgorithm): {
  generate: EcKeyGenParams | RsaHashedKeyGenParams | Algorithm;
  import: EcKeyImportParams | RsaHashedImportParams | Algorithm;
  sign: EcdsaParams | Algorithm;
} {
  switch (algorithm) {
    case 'ECDSA-P256':
    case 'ECDSA-P384': {
      const namedCurve = algorithm === 'ECDSA-P256' ? 'P-256' : 'P-384';
      const hash = algorithm === 'ECDSA-P256' ? 'SHA-256' : 'SHA-384';
      return { generate: { name: 'ECDSA', namedCurve }, import: { name: 'ECDSA', namedCurve }, sign: { name: 'ECDSA', hash } };
    }
    case 'Ed25519':
      return { generate: { name: 'Ed25519' }, import: { name: 'Ed25519' }, sign: { name: 'Ed25519' } };
    case 'RSA-2048':
    case 'RSA-3072':
    case 'RSA-4096': {
      const modulusLength = Number(algorithm.slice(4));
      const rsa = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
      return {
        generate: { ...rsa, modulusLength, publicExponent: new Uint8Array([1, 0, 1]) },
        import: rsa,
        sign: rsa,
      };
    }
  }
}

/** Converts WebCrypto's fixed-width r||s ECDSA signature to the DER Ecdsa-Sig-Value X.509 carries. */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  const value = new ECDSASigValue({
    r: toDerIntegerBytes(raw.subarray(0, half)),
    s: toDerIntegerBytes(raw.subarray(half)),
  });
  return new Uint8Array(AsnConvert.serialize(value));
}

/** Minimal two's-complement big-endian bytes of a non-negative integer. */
function toDerIntegerBytes(unsigned: Uint8Array): ArrayBuffer {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start++;
  const trimmed = unsigned.subarray(start);
  const needsPad = (trimmed[0] ?? 0) & 0x80;
  const out = new Uint8Array(trimmed.length + (needsPad ? 1 : 0));
  out.set(trimmed, needsPad ? 1 : 0);
  return out.buffer;
}
