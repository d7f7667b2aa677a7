import { createPrivateKey, createPublicKey, generateKeyPair, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { checkSignatureOffThread, signIfVerifiedOffThread, signOffThread, type SignatureJob, type SignatureOutcome } from './crypto-worker';
import { KeyProviderError } from './errors';
import { digestFor, webCryptoParams, type KeyAlgorithm, type KeyProvider } from './key-provider';

const generateKeyPairAsync = promisify(generateKeyPair);
const MAX_WORKER_SIGN_BYTES = 64 * 1024;

/** A key held in process memory, stored at rest as a passphrase-encrypted PKCS#8 PEM. */
export class SoftwareKeyProvider implements KeyProvider {
  readonly subjectPublicKeyInfo: Uint8Array;
  readonly #privateKey: KeyObject;
  readonly #digest: 'sha256' | 'sha384' | null;
  #publicCryptoKey: Promise<CryptoKey> | undefined;

  private constructor(
    readonly algorithm: KeyAlgorithm,
    privateKey: KeyObject,
  ) {
    this.#privateKey = privateKey;
    this.#digest = digestFor(algorithm);
    this.subjectPublicKeyInfo = new Uint8Array(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  }

  static async generate(algorithm: KeyAlgorithm): Promise<SoftwareKeyProvider> {
    const { privateKey } = await generateKeyPairForAlgorithm(algorithm);
    return new SoftwareKeyProvider(algorithm, privateKey);
  }

  /** Reads a PKCS#8 PEM encrypted with `passphrase` (PBES2, as written by `toEncryptedPkcs8Pem` or `openssl pkcs8 -topk8`). */
  static fromEncryptedPkcs8Pem(pem: string, passphrase: string): SoftwareKeyProvider {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: pem, format: 'pem', passphrase });
    } catch (error) {
      throw new KeyProviderError('key-decrypt-failed', 'cannot decrypt the PKCS#8 key (wrong passphrase or corrupt PEM)', { cause: error });
    }
    return new SoftwareKeyProvider(algorithmOf(privateKey), privateKey);
  }

  /** PBES2 (PBKDF2-HMAC-SHA256) + AES-256-CBC encrypted PKCS#8, readable by `openssl pkey`. */
  toEncryptedPkcs8Pem(passphrase: string): string {
    if (passphrase.length < 8) throw new KeyProviderError('key-decrypt-failed', 'passphrase must have at least 8 characters');
    return this.#privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }).toString();
  }

  publicKey(): Promise<CryptoKey> {
    this.#publicCryptoKey ??= globalThis.crypto.subtle.importKey(
      'spki',
      new Uint8Array(this.subjectPublicKeyInfo),
      webCryptoParams(this.algorithm).import,
      true,
      ['verify'],
    );
    return this.#publicCryptoKey as Promise<CryptoKey>;
  }

  sign(data: Uint8Array): Promise<Uint8Array> {
    // Certificates and OCSP responses: batched on a crypto worker, off the main thread.
    if (data.byteLength <= MAX_WORKER_SIGN_BYTES) return signOffThread(this.#digest, data, this.#privateKey);
    // Large CRLs: the callback form runs on the libuv pool without copying the TBS to a worker.
    return this.signOnPool(data);
  }

  async signIfVerified(data: Uint8Array, proof: SignatureJob): Promise<Uint8Array | Exclude<SignatureOutcome, 'verified'>> {
    if (data.byteLength <= MAX_WORKER_SIGN_BYTES) return signIfVerifiedOffThread(proof, this.#digest, data, this.#privateKey);
    const outcome = await checkSignatureOffThread(proof);
    return outcome === 'verified' ? this.signOnPool(data) : outcome;
  }

  private signOnPool(data: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      sign(this.#digest, data, this.#privateKey, (error, signature) => (error ? reject(error) : resolve(new Uint8Array(signature))));
    });
  }
}

function generateKeyPairForAlgorithm(algorithm: KeyAlgorithm): Promise<{ privateKey: KeyObject }> {
  switch (algorithm) {
    case 'ECDSA-P256':
      return generateKeyPairAsync('ec', { namedCurve: 'P-256' });
    case 'ECDSA-P384':
      return generateKeyPairAsync('ec', { namedCurve: 'P-384' });
    case 'Ed25519':
      return generateKeyPairAsync('ed25519');
    case 'RSA-2048':
    case 'RSA-3072':
    case 'RSA-4096':
      return generateKeyPairAsync('rsa', { modulusLength: Number(algorithm.slice(4)), publicExponent: 65537 });
  }
}

function algorithmOf(key: KeyObject): KeyAlgorithm {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ed25519') return 'Ed25519';
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') return 'ECDSA-P256';
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'secp384r1') return 'ECDSA-P384';
  if (key.asymmetricKeyType === 'rsa' && details?.publicExponent === 65537n) {
    const bits = details.modulusLength;
    if (bits === 2048 || bits === 3072 || bits === 4096) return `RSA-${bits}`;
  }
  throw new KeyProviderError('key-algorithm-unsupported', `unsupported CA key: ${key.asymmetricKeyType ?? 'unknown'} ${JSON.stringify(details ?? {})}`);
}
