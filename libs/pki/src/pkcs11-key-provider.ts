import type { Crypto as Pkcs11Crypto } from 'node-webcrypto-p11';
import { KeyProviderError } from './errors';
import { ecdsaRawToDer, webCryptoParams, type KeyAlgorithm, type KeyProvider } from './key-provider';

export interface Pkcs11TokenOptions {
  /** Path of the PKCS#11 module (e.g. libsofthsm2.so). */
  module: string;
  tokenLabel: string;
  pin: string;
}

/**
 * The operations of one PKCS#11 session, one at a time: a session runs a single operation
 * (C_SignInit while another sign is under way fails with CKR_OPERATION_ACTIVE), and a CA
 * signs certificates, CRLs and OCSP answers concurrently.
 */
class SessionQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.tail.then(operation);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** A CA key that never leaves the token; signing happens inside the HSM. */
export class Pkcs11KeyProvider implements KeyProvider {
  constructor(
    readonly algorithm: KeyAlgorithm,
    readonly label: string,
    readonly subjectPublicKeyInfo: Uint8Array,
    private readonly crypto: Pkcs11Crypto,
    private readonly privateKey: CryptoKey,
    private readonly publicCryptoKey: CryptoKey,
    private readonly session: SessionQueue,
  ) {}

  publicKey(): Promise<CryptoKey> {
    return Promise.resolve(this.publicCryptoKey);
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    let signature: Uint8Array;
    try {
      signature = new Uint8Array(await this.session.run(() => this.crypto.subtle.sign(webCryptoParams(this.algorithm).sign, this.privateKey, new Uint8Array(data))));
    } catch (error) {
      throw new KeyProviderError('key-store-unavailable', `PKCS#11 sign with key "${this.label}" failed`, { cause: error });
    }
    return this.algorithm.startsWith('ECDSA') ? ecdsaRawToDer(signature) : signature;
  }
}

/** A logged-in session on one token; finds and creates CA keys by label. */
export class Pkcs11Token {
  private readonly queue = new SessionQueue();

  private constructor(
    private readonly crypto: Pkcs11Crypto,
    private readonly session: import('graphene-pk11').Session,
  ) {}

  static open(options: Pkcs11TokenOptions): Pkcs11Token {
    // Loaded lazily: optional native dependencies, not needed by software-key deployments.
    const { Crypto } = require('node-webcrypto-p11') as typeof import('node-webcrypto-p11');
    const graphene = require('graphene-pk11') as typeof import('graphene-pk11');
    try {
      const pkcs11 = loadedModule(graphene, options.module);
      const slots = pkcs11.getSlots(true);
      for (let index = 0; index < slots.length; index++) {
        const slot = slots.items(index);
        if (slot.getToken().label.trim() !== options.tokenLabel) continue;
        const session = slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
        session.login(options.pin, graphene.UserType.USER);
        return new Pkcs11Token(new Crypto({ session }), session);
      }
    } catch (error) {
      throw new KeyProviderError('key-store-unavailable', `cannot open PKCS#11 token "${options.tokenLabel}"`, { cause: error });
    }
    throw new KeyProviderError('key-not-found', `no PKCS#11 token labelled "${options.tokenLabel}" in ${options.module}`);
  }

  /** Generates a non-extractable key pair on the token under `label`. */
  async generateKey(label: string, algorithm: KeyAlgorithm): Promise<Pkcs11KeyProvider> {
    if (algorithm === 'Ed25519') throw new KeyProviderError('key-algorithm-unsupported', 'Ed25519 is not supported by the PKCS#11 provider (node-webcrypto-p11)');
    if ((await this.findKeys(label)) !== undefined) throw new KeyProviderError('key-label-taken', `a key labelled "${label}" already exists on the token`);
    const params = { ...webCryptoParams(algorithm).generate, label, token: true, sensitive: true };
    let pair: CryptoKeyPair;
    try {
      pair = (await this.queue.run(() => this.crypto.subtle.generateKey(params, false, ['sign', 'verify']))) as CryptoKeyPair;
    } catch (error) {
      throw new KeyProviderError('key-store-unavailable', `PKCS#11 key generation for "${label}" failed`, { cause: error });
    }
    return this.provider(label, algorithm, pair.privateKey, pair.publicKey);
  }

  /** The key pair stored under `label`; throws `key-not-found` when there is none. */
  async findKey(label: string): Promise<Pkcs11KeyProvider> {
    const found = await this.findKeys(label);
    if (!found) throw new KeyProviderError('key-not-found', `no key pair labelled "${label}" on the token`);
    return this.provider(label, algorithmOfKey(found.privateKey), found.privateKey, found.publicKey);
  }

  /**
   * Destroys the key pair stored under `label` (C_DestroyObject on each of its objects); answers
   * how many objects went. None is not an error: a destruction repeated after a crash finds none.
   */
  async destroyKey(label: string): Promise<number> {
    try {
      return await this.queue.run(async () => {
        let destroyed = 0;
        for (const index of await this.crypto.keyStorage.keys()) {
          const key = await this.crypto.keyStorage.getItem(index);
          if ((key.algorithm as { label?: string }).label !== label) continue;
          await this.crypto.keyStorage.removeItem(index);
          destroyed++;
        }
        return destroyed;
      });
    } catch (error) {
      throw new KeyProviderError('key-store-unavailable', `PKCS#11 destruction of the key "${label}" failed`, { cause: error });
    }
  }

  close(): void {
    this.session.logout();
    this.session.close();
  }

  private findKeys(label: string): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey } | undefined> {
    return this.queue.run(() => this.searchKeys(label));
  }

  private async searchKeys(label: string): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey } | undefined> {
    let privateKey: CryptoKey | undefined;
    let publicKey: CryptoKey | undefined;
    for (const index of await this.crypto.keyStorage.keys()) {
      const key = await this.crypto.keyStorage.getItem(index);
      if ((key.algorithm as { label?: string }).label !== label) continue;
      if (key.type === 'private') privateKey = key;
      if (key.type === 'public') publicKey = key;
    }
    return privateKey && publicKey ? { privateKey, publicKey } : undefined;
  }

  private async provider(label: string, algorithm: KeyAlgorithm, privateKey: CryptoKey, publicKey: CryptoKey): Promise<Pkcs11KeyProvider> {
    const spki = new Uint8Array(await this.queue.run(() => this.crypto.subtle.exportKey('spki', publicKey)));
    return new Pkcs11KeyProvider(algorithm, label, spki, this.crypto, privateKey, publicKey, this.queue);
  }
}

// C_Initialize is process-wide: load each module once and share it between tokens.
const modules = new Map<string, import('graphene-pk11').Module>();
function loadedModule(graphene: typeof import('graphene-pk11'), path: string): import('graphene-pk11').Module {
  let pkcs11 = modules.get(path);
  if (!pkcs11) {
    pkcs11 = graphene.Module.load(path, 'devid');
    pkcs11.initialize();
    modules.set(path, pkcs11);
  }
  return pkcs11;
}

function algorithmOfKey(key: CryptoKey): KeyAlgorithm {
  const algorithm = key.algorithm as { name: string; namedCurve?: string; modulusLength?: number };
  if (algorithm.name === 'ECDSA' && algorithm.namedCurve === 'P-256') return 'ECDSA-P256';
  if (algorithm.name === 'ECDSA' && algorithm.namedCurve === 'P-384') return 'ECDSA-P384';
  if (algorithm.name === 'RSASSA-PKCS1-v1_5' && [2048, 3072, 4096].includes(algorithm.modulusLength ?? 0)) {
    return `RSA-${algorithm.modulusLength}` as KeyAlgorithm;
  }
  throw new KeyProviderError('key-algorithm-unsupported', `unsupported token key algorithm ${JSON.stringify(algorithm)}`);
}
