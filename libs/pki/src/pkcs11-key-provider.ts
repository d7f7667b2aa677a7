import type { Crypto as Pkcs11Crypto } from 'node-webcrypto-p11';
import { KeyProviderError } from './errors';
import { ecdsaRawToDer, webCryptoParams, type KeyAlgorithm, type KeyProvider } from './key-provider';

export interface Pkcs11TokenOptions {
  /** Path of the PKCS#11 module (e.g. libsofthsm2.so). */
  module: string;
  tokenLabel: string;
  pin: string;
  /**
   * How long (ms) an operation may wait for the session and run, DEFAULT_OPERATION_TIMEOUT_MS
   * unless given; key generation is not bounded (see SessionQueue).
   */
  operationTimeoutMs?: number;
}

/** An HSM answers a signature in milliseconds; SoftHSM2 here made an RSA-4096 pair in 0.7–3.5 s. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 30_000;

/**
 * The operations of one PKCS#11 session, one at a time: a session runs a single operation
 * (C_SignInit while another sign is under way fails with CKR_OPERATION_ACTIVE), and a CA
 * signs certificates, CRLs and OCSP answers concurrently.
 *
 * A caller waits `timeoutMs` at most, queue included: a token that stops answering (a network
 * HSM cut off, a module call that never returns) fails it `key-store-unavailable` (retriable)
 * instead of holding a request, a key check or a shutdown for as long as the token is away.
 * The operation under way keeps the session until the module returns; those whose callers have
 * been answered are not run, so nothing piles up behind it and nothing is signed for no one.
 */
class SessionQueue {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly timeoutMs: number) {}

  run<T>(operation: () => Promise<T>, bounded = true): Promise<T> {
    let answered = false;
    const result = this.tail.then(() => {
      if (answered) throw new KeyProviderError('key-store-unavailable', 'not run: its caller was answered already');
      return operation();
    });
    this.tail = result.catch(() => undefined);
    if (!bounded) return result;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        answered = true;
        reject(new KeyProviderError('key-store-unavailable', `the token did not answer within ${this.timeoutMs / 1000} s (an operation before this one, or this one, is still under way)`));
      }, this.timeoutMs);
      result.then(
        (value) => {
          clearTimeout(timer);
          if (!answered) resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          if (!answered) reject(error);
        },
      );
    });
  }
}

/** How many times the token's key objects are read before a failing read is reported. */
const LIST_ATTEMPTS = 5;

/** A CA key that never leaves the token; signing happens inside the HSM. */
export class Pkcs11KeyProvider implements KeyProvider {
  constructor(
    readonly algorithm: KeyAlgorithm,
    readonly label: string,
    readonly subjectPublicKeyInfo: Uint8Array,
    private readonly token: Pkcs11Token,
    /** The pair's objects as the session they were found in knows them; found again in a new session. */
    private pair: SessionPair,
  ) {}

  publicKey(): Promise<CryptoKey> {
    return Promise.resolve(this.pair.publicKey);
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    let signature: Uint8Array;
    try {
      signature = new Uint8Array(
        await this.token.onSession(async (link) => {
          if (this.pair.link !== link) this.pair = await this.token.pairIn(link, this.label, this.subjectPublicKeyInfo);
          return link.crypto.subtle.sign(webCryptoParams(this.algorithm).sign, this.pair.privateKey, new Uint8Array(data));
        }),
      );
    } catch (error) {
      throw asKeyStoreError(error, `PKCS#11 sign with key "${this.label}" failed`);
    }
    return this.algorithm.startsWith('ECDSA') ? ecdsaRawToDer(signature) : signature;
  }
}

/** A logged-in session: what every operation on the token goes through, until the token drops it. */
interface SessionLink {
  crypto: Pkcs11Crypto;
  session: import('graphene-pk11').Session;
}

/** A key pair's two objects, found in the session of `link`. */
interface SessionPair {
  link: SessionLink;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

/**
 * Return values of PKCS#11 that say the session is gone, not the operation wrong: the token
 * closed it or logged out (a network HSM's failover or idle timeout, a token re-inserted), or
 * forgot the object handles it gave out. A new session, logged in, then works.
 */
const SESSION_LOST = /CKR_(SESSION_HANDLE_INVALID|SESSION_CLOSED|USER_NOT_LOGGED_IN|DEVICE_REMOVED|TOKEN_NOT_PRESENT|OBJECT_HANDLE_INVALID|KEY_HANDLE_INVALID)/;
const sessionLost = (error: unknown): boolean => {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) if (SESSION_LOST.test(cause.message)) return true;
  return false;
};

/**
 * A logged-in session on one token; finds and creates CA keys by label. When the token drops the
 * session, the next operation that meets it opens a new one, logs in, and runs once more: a CA
 * on a network HSM signs again after a failover without a restart of the ledger.
 */
export class Pkcs11Token {
  private readonly queue: SessionQueue;

  private constructor(
    private readonly options: Pkcs11TokenOptions,
    private link: SessionLink,
  ) {
    this.queue = new SessionQueue(options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS);
  }

  static open(options: Pkcs11TokenOptions): Pkcs11Token {
    let link: SessionLink;
    try {
      link = Pkcs11Token.login(options);
    } catch (error) {
      // SoftHSM2 initialized while another process wrote the token keeps a broken view of it
      // (C_GetTokenInfo: CKR_GENERAL_ERROR, or no token of that label) until it is initialized
      // again: with no token of this process open on the module, it is, at the next open.
      if ((openTokens.get(options.module) ?? 0) === 0) forgetModule(options.module);
      throw error;
    }
    openTokens.set(options.module, (openTokens.get(options.module) ?? 0) + 1);
    return new Pkcs11Token(options, link);
  }

  /** A new session on the token labelled `options.tokenLabel`, logged in as its user. */
  private static login(options: Pkcs11TokenOptions): SessionLink {
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
        try {
          session.login(options.pin, graphene.UserType.USER);
        } catch (error) {
          // Login is per application: another session of this process may still be logged in.
          if (!/CKR_USER_ALREADY_LOGGED_IN/.test((error as Error).message)) throw error;
        }
        return { crypto: new Crypto({ session }), session };
      }
    } catch (error) {
      throw new KeyProviderError('key-store-unavailable', `cannot open PKCS#11 token "${options.tokenLabel}"`, { cause: error });
    }
    throw new KeyProviderError('key-not-found', `no PKCS#11 token labelled "${options.tokenLabel}" in ${options.module}`);
  }

  /**
   * Runs `operation` on the session, one operation at a time. When the token has dropped the
   * session (SESSION_LOST), a new one is opened and logged in, and `operation` runs once more
   * in it; a token that is not back yet fails this operation, and the next one tries again.
   * Unless `bounded` is false, the caller waits the operation timeout at most (SessionQueue).
   * Internal to this file (the key providers sign through it); an operation must not call it.
   */
  async onSession<T>(operation: (link: SessionLink) => Promise<T>, bounded = true): Promise<T> {
    let link: SessionLink | undefined;
    try {
      return await this.queue.run(() => operation((link = this.link)), bounded);
    } catch (error) {
      if (link === undefined || !sessionLost(error)) throw error;
      await this.queue.run(async () => {
        // Once per lost session: operations queued behind the one that met it find the new one.
        if (this.link !== link) return;
        try {
          link!.session.close();
        } catch {
          // Gone with the token's state already.
        }
        this.link = Pkcs11Token.login(this.options);
      });
      return this.queue.run(() => operation(this.link), bounded);
    }
  }

  /**
   * Generates a non-extractable key pair on the token under `label`, which must name nothing
   * yet. PKCS#11 cannot create an object only if its label is free, so two processes can both
   * find the label free and both generate: after generating, the label must name this pair's two
   * objects and nothing else, or the pair is destroyed again and the label reported as taken. Of
   * processes racing, at most one keeps its pair (each keeps it only if it saw no other), and a
   * label never ends up naming two pairs.
   */
  async generateKey(label: string, algorithm: KeyAlgorithm): Promise<Pkcs11KeyProvider> {
    if (algorithm === 'Ed25519') throw new KeyProviderError('key-algorithm-unsupported', 'Ed25519 is not supported by the PKCS#11 provider (node-webcrypto-p11)');
    if (await this.hasKey(label)) throw new KeyProviderError('key-label-taken', `a key labelled "${label}" already exists on the token`);
    const params = { ...webCryptoParams(algorithm).generate, label, token: true, sensitive: true };
    let pair: CryptoKeyPair;
    let link: SessionLink;
    try {
      // Not bounded: an HSM may take minutes for an RSA-4096 pair (operations queued behind it are).
      [pair, link] = await this.onSession(async (current) => [(await current.crypto.subtle.generateKey(params, false, ['sign', 'verify'])) as CryptoKeyPair, current] as const, false);
    } catch (error) {
      throw new KeyProviderError('key-store-unavailable', `PKCS#11 key generation for "${label}" failed`, { cause: error });
    }
    const ours = [objectIdOf(pair.privateKey), objectIdOf(pair.publicKey)];
    let others: CryptoKey[];
    try {
      // In the session the pair was made in: its objects' handles are that session's.
      others = await this.queue.run(async () => (await this.labelled(link, label)).filter((object) => !ours.includes(objectIdOf(object))));
    } catch (error) {
      throw asKeyStoreError(error, `a key labelled "${label}" was made on the token, but whether the label names anything else could not be read`);
    }
    if (others.length > 0) {
      try {
        await this.queue.run(async () => {
          for (const key of [pair.privateKey, pair.publicKey]) destroyObject(key);
        });
      } catch (error) {
        // Left on the token beside the other pair: a key is found by its certificate's public key (findKey), so neither is taken for the other.
        throw new KeyProviderError('key-store-unavailable', `a key labelled "${label}" was made on the token by another process at the same time, and this one could not be destroyed`, { cause: error });
      }
      throw new KeyProviderError('key-label-taken', `a key labelled "${label}" was made on the token by another process at the same time`);
    }
    return this.onSession(() => this.provider(label, algorithm, { link, privateKey: pair.privateKey, publicKey: pair.publicKey })).catch((error: unknown) => {
      throw asKeyStoreError(error, `PKCS#11 key generation for "${label}" failed`);
    });
  }

  /**
   * The key pair stored under `label`: the one whose public key is `spki` (DER) when given, else
   * the only one. Throws `key-not-found` when there is none, `key-mismatch` when none has that
   * public key, `key-label-ambiguous` when several pairs share the label and no `spki` says which.
   */
  async findKey(label: string, spki?: Uint8Array): Promise<Pkcs11KeyProvider> {
    const found = this.onSession(async (link) => {
      if (spki !== undefined) {
        const pair = await this.pairIn(link, label, spki);
        return this.provider(label, algorithmOfKey(pair.privateKey), pair);
      }
      const pairs = await this.searchKeys(link, label);
      if (pairs.length === 0) throw new KeyProviderError('key-not-found', `no key pair labelled "${label}" on the token`);
      if (pairs.length > 1) throw new KeyProviderError('key-label-ambiguous', `${pairs.length} key pairs are labelled "${label}" on the token`);
      return this.provider(label, algorithmOfKey(pairs[0]!.privateKey), pairs[0]!);
    });
    return found.catch((error: unknown) => {
      throw asKeyStoreError(error, `PKCS#11 search for the key "${label}" failed`);
    });
  }

  /** In the session of `link`, the pair labelled `label` whose public key is `spki` (see findKey). */
  async pairIn(link: SessionLink, label: string, spki: Uint8Array): Promise<SessionPair> {
    const pairs = await this.searchKeys(link, label);
    if (pairs.length === 0) throw new KeyProviderError('key-not-found', `no key pair labelled "${label}" on the token`);
    for (const pair of pairs) if (await hasPublicKey(link, pair.publicKey, spki)) return pair;
    throw new KeyProviderError('key-mismatch', `no key pair labelled "${label}" on the token has the public key of its certificate (${pairs.length} labelled so)`);
  }

  /** Whether any key object on the token is labelled `label`. */
  async hasKey(label: string): Promise<boolean> {
    const found = await this.onSession((link) => this.labelled(link, label)).catch((error: unknown) => {
      throw asKeyStoreError(error, `PKCS#11 search for the key "${label}" failed`);
    });
    return found.length > 0;
  }

  /**
   * Destroys the key pair stored under `label` whose public key is `spki` (DER): C_DestroyObject
   * on its private key object, then on its public one (the objects with that pair's CKA_ID).
   * Other objects under the label are kept: another client's pair, a key this one was not
   * asked to destroy. Answers how many objects went and how many were kept. None is not an
   * error: a destruction repeated after a crash finds none.
   */
  async destroyKey(label: string, spki: Uint8Array): Promise<{ destroyed: number; kept: number }> {
    try {
      return await this.onSession(async (link) => {
        const found = await this.labelled(link, label);
        const ids = new Set<string>();
        for (const key of found) if (key.type === 'public' && (await hasPublicKey(link, key, spki))) ids.add(ckaIdOf(key));
        // labelled() lists private keys first: a crash between the two leaves the public key, found again next time.
        const ours = found.filter((key) => ids.has(ckaIdOf(key)));
        for (const key of ours) destroyObject(key);
        return { destroyed: ours.length, kept: found.length - ours.length };
      });
    } catch (error) {
      throw new KeyProviderError('key-store-unavailable', `PKCS#11 destruction of the key "${label}" failed`, { cause: error });
    }
  }

  /** Logs out and closes the session; one the token has dropped already is no error. */
  close(): void {
    openTokens.set(this.options.module, Math.max(0, (openTokens.get(this.options.module) ?? 0) - 1));
    for (const step of [() => this.link.session.logout(), () => this.link.session.close()]) {
      try {
        step();
      } catch {
        // The token dropped the session (SESSION_LOST): nothing is left to close.
      }
    }
  }

  /**
   * The key objects (private and public) on the token labelled `label`. Another process may
   * destroy an object while the token is read (a generateKey that gives its pair up): the read
   * then fails on that object's handle, and is made again.
   */
  private async labelled(link: SessionLink, label: string): Promise<CryptoKey[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        // The token picks the objects by label (C_FindObjects with a template): reading every key
        // object of the token and its attributes would cost a pass over all of them per key.
        const { ObjectClass } = require('graphene-pk11') as typeof import('graphene-pk11');
        const { CryptoKey: P11CryptoKey } = require('node-webcrypto-p11') as typeof import('node-webcrypto-p11');
        const indexes: string[] = [];
        for (const objectClass of [ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY]) {
          link.session.find({ class: objectClass, token: true, label }, (object) => void indexes.push(P11CryptoKey.getID(object.toType())));
        }
        const found: CryptoKey[] = [];
        for (const index of indexes) found.push(await link.crypto.keyStorage.getItem(index));
        return found;
      } catch (error) {
        // A lost session is not made good by reading again (onSession opens a new one).
        if (sessionLost(error) && !/CKR_OBJECT_HANDLE_INVALID/.test(String((error as Error).message))) throw error;
        if (attempt === LIST_ATTEMPTS) throw new KeyProviderError('key-store-unavailable', `cannot list the keys labelled "${label}" on the token`, { cause: error });
      }
    }
  }

  /**
   * The key pairs labelled `label`: a private and a public key object with the same CKA_ID
   * (node-webcrypto-p11 sets both to a digest of the public key). Taken by label alone, the
   * private key of one pair could be used with the public key of another.
   */
  private async searchKeys(link: SessionLink, label: string): Promise<SessionPair[]> {
    const privateKeys = new Map<string, CryptoKey>();
    const publicKeys = new Map<string, CryptoKey>();
    for (const key of await this.labelled(link, label)) {
      const id = ckaIdOf(key);
      if (key.type === 'private') privateKeys.set(id, key);
      if (key.type === 'public') publicKeys.set(id, key);
    }
    return [...privateKeys].flatMap(([id, privateKey]) => {
      const publicKey = publicKeys.get(id);
      return publicKey ? [{ link, privateKey, publicKey }] : [];
    });
  }

  /** The provider of `pair`, with its public key as the token exports it (inside an onSession operation). */
  private async provider(label: string, algorithm: KeyAlgorithm, pair: SessionPair): Promise<Pkcs11KeyProvider> {
    const spki = new Uint8Array(await pair.link.crypto.subtle.exportKey('spki', pair.publicKey));
    return new Pkcs11KeyProvider(algorithm, label, spki, this, pair);
  }
}

// C_Initialize is process-wide: load each module once and share it between tokens.
const modules = new Map<string, import('graphene-pk11').Module>();
/** Tokens of this process open on each module (see Pkcs11Token.open). */
const openTokens = new Map<string, number>();
/** Finalizes a module no token of this process uses, so that the next open initializes it again. */
function forgetModule(path: string): void {
  const pkcs11 = modules.get(path);
  modules.delete(path);
  try {
    pkcs11?.finalize();
  } catch {
    // Not initialized, or already finalized: the next open initializes it.
  }
}
function loadedModule(graphene: typeof import('graphene-pk11'), path: string): import('graphene-pk11').Module {
  let pkcs11 = modules.get(path);
  if (!pkcs11) {
    pkcs11 = graphene.Module.load(path, 'devid');
    pkcs11.initialize();
    modules.set(path, pkcs11);
  }
  return pkcs11;
}

/** A typed error as it is, anything else (a PKCS#11 return value) as key-store-unavailable. */
function asKeyStoreError(error: unknown, message: string): KeyProviderError {
  return error instanceof KeyProviderError ? error : new KeyProviderError('key-store-unavailable', message, { cause: error });
}

/** node-webcrypto-p11's key storage index of a key object: `<class>-<handle hex>-<CKA_ID hex>`. */
function objectIdOf(key: CryptoKey): string {
  return (key as CryptoKey & { id: string }).id;
}

/** C_DestroyObject on a key object, by its handle. */
function destroyObject(key: CryptoKey): void {
  (key as CryptoKey & { p11Object: { destroy(): void } }).p11Object.destroy();
}

/** Whether the public key object `publicKey`, as the token exports it, is `spki` (DER). */
async function hasPublicKey(link: SessionLink, publicKey: CryptoKey, spki: Uint8Array): Promise<boolean> {
  return Buffer.from(await link.crypto.subtle.exportKey('spki', publicKey)).equals(Buffer.from(spki));
}

/** The CKA_ID (hex) of a key object. */
function ckaIdOf(key: CryptoKey): string {
  return objectIdOf(key).split('-')[2] ?? '';
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
