import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { KeyProviderError, Pkcs11Token, proveKeyPair, SoftwareKeyProvider, type KeyAlgorithm, type KeyProvider } from '@devid/pki';
import type { LedgerConfig } from '../config/config';
import { createFileDurably } from '../store/durable-file';

export class KeyStoreError extends Error {
  readonly code = 'key-unavailable';
  readonly status = 503;
  readonly retriable = false;
}

/**
 * A key of this name is already in the key store (a file in ca-keys, or an object on the token):
 * another create is under way with it, or an earlier one failed and left it. Keys are never
 * written over, so nothing was made.
 */
export class KeyNameTaken extends Error {
  readonly code = 'key-name-taken';
  readonly status = 409;
  readonly retriable = false;
  constructor(
    readonly keyName: string,
    /** When the key there was written (ms since the epoch; a key file's mtime), when known. */
    readonly madeAt?: number,
    why = '',
  ) {
    super(`a key named ${keyName} already exists${why}`);
  }
}

/** A file's mtime (ms since the epoch), or undefined when it is gone. */
const modifiedAt = (file: string): number | undefined => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
};

const SAFE_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
/** How many times the token is opened before its failure is the answer. */
const TOKEN_OPEN_ATTEMPTS = 4;

/**
 * Resolves a CA's key reference to a signing key. `file:<name>`: encrypted PKCS#8 in
 * DATA_DIR/ca-keys; `pkcs11:token=<label>;object=<label>` (RFC 7512): a key on the HSM.
 * Keys are opened once and kept; they never appear in events.
 */
export class KeyStore {
  private readonly logger = new Logger('keys');
  private readonly open = new Map<string, Promise<KeyProvider>>();
  private token?: Pkcs11Token;
  /** The open under way (Pkcs11Token.open made again after a failure), while there is one. */
  private opening?: Promise<Pkcs11Token>;
  private readonly dir: string;
  private readonly passphrase: string;

  constructor(private readonly config: LedgerConfig) {
    this.dir = join(config.DATA_DIR, 'ca-keys');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.passphrase = config.CA_KEY_PASSPHRASE ?? this.demoPassphrase();
  }

  async generate(name: string, algorithm: KeyAlgorithm, backend = this.config.CA_KEY_BACKEND): Promise<{ keyRef: string; key: KeyProvider }> {
    if (!SAFE_NAME.test(name)) throw new KeyStoreError(`bad key name ${name}`);
    if (backend === 'pkcs11') {
      const token = await this.hsm();
      const key = await token.generateKey(name, algorithm).catch((error: unknown) => {
        throw error instanceof KeyProviderError && error.code === 'key-label-taken' ? new KeyNameTaken(name) : error;
      });
      const keyRef = `pkcs11:token=${encodeURIComponent(this.config.HSM_TOKEN_LABEL!)};object=${encodeURIComponent(name)}`;
      this.open.set(keyRef, Promise.resolve(key));
      return { keyRef, key };
    }
    const key = await SoftwareKeyProvider.generate(algorithm);
    const file = join(this.dir, `${name}.p8.pem`);
    // On disk before the ledger records the CA or signer that uses it; never over another key.
    if (!createFileDurably(file, key.toEncryptedPkcs8Pem(this.passphrase), 0o600)) throw new KeyNameTaken(name, modifiedAt(file));
    const keyRef = `file:${name}`;
    this.open.set(keyRef, Promise.resolve(key));
    return { keyRef, key };
  }

  /**
   * The key `keyRef` names. With `spki`, the SubjectPublicKeyInfo (DER) of the certificate the
   * key signs for: on a token, the pair with that public key is taken, and the key is proved to
   * be that certificate's key pair (a signature its public key verifies, see proveKeyPair) before
   * it is kept. A load or proof that fails is not kept, so a key put right loads on the next call.
   */
  get(keyRef: string, spki?: Uint8Array): Promise<KeyProvider> {
    let key = this.open.get(keyRef);
    if (!key) {
      key = this.load(keyRef, spki).then(async (loaded) => {
        if (spki !== undefined) await proveKeyPair(loaded, spki, `the key ${keyRef}`);
        return loaded;
      });
      key.catch(() => this.open.delete(keyRef));
      this.open.set(keyRef, key);
    }
    return key;
  }

  /**
   * Destroys a key that is no longer used (a replaced OCSP signer's, one a failed create made):
   * the key named `keyRef` whose public key is `spki` (DER). A key file is checked to hold that
   * key pair, then overwritten, flushed and removed; on a token, that pair's objects are
   * destroyed. A key already gone is not an error, so that a destruction repeated after a crash
   * completes. Another key found under the name (a key file restored from elsewhere, another
   * client's pair under the label) is kept: destroying a key cannot be undone, and that one is
   * not the key asked for. Answers whether such a key was kept.
   */
  async destroy(keyRef: string, spki: Uint8Array): Promise<{ keptOther: boolean }> {
    this.open.delete(keyRef);
    const where = this.locate(keyRef);
    if ('file' in where) {
      const { file } = where;
      let fd: number;
      try {
        fd = openSync(file, 'r+');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { keptOther: false };
        throw new KeyStoreError(`cannot destroy ${keyRef}: ${(error as Error).message}`);
      }
      try {
        let held: Uint8Array;
        try {
          held = SoftwareKeyProvider.fromEncryptedPkcs8Pem(readFileSync(fd, 'utf8'), this.passphrase).subjectPublicKeyInfo;
        } catch {
          throw new KeyStoreError(`cannot destroy ${keyRef}: its file cannot be decrypted (wrong CA_KEY_PASSPHRASE?), so it cannot be told to be the key asked for`);
        }
        if (!Buffer.from(held).equals(Buffer.from(spki))) return { keptOther: true };
        // The PKCS#8 is encrypted, but the ciphertext need not outlive the key on this disk either.
        writeSync(fd, Buffer.alloc(fstatSync(fd).size), 0, undefined, 0);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      unlinkSync(file);
      return { keptOther: false };
    }
    const { kept } = await (await this.hsm()).destroyKey(where.label, spki);
    return { keptOther: kept > 0 };
  }

  close(): void {
    this.token?.close();
  }

  /** Where a key reference points: a key file in the data dir, or a label on HSM_TOKEN_LABEL's token. */
  private locate(keyRef: string): { file: string } | { label: string } {
    if (keyRef.startsWith('file:')) {
      const name = keyRef.slice(5);
      if (!SAFE_NAME.test(name)) throw new KeyStoreError(`bad key reference ${keyRef}`);
      return { file: join(this.dir, `${name}.p8.pem`) };
    }
    const m = /^pkcs11:token=([^;]+);object=([^;]+)$/.exec(keyRef);
    if (!m) throw new KeyStoreError(`unsupported key reference ${keyRef}`);
    if (decodeURIComponent(m[1]) !== this.config.HSM_TOKEN_LABEL) throw new KeyStoreError(`${keyRef} names another token than HSM_TOKEN_LABEL`);
    return { label: decodeURIComponent(m[2]) };
  }

  /** Whether a key named `name` is in the key store of `backend` (a key file, or token objects with that label). */
  async exists(name: string, backend = this.config.CA_KEY_BACKEND): Promise<boolean> {
    if (!SAFE_NAME.test(name)) return false;
    return backend === 'pkcs11' ? (await this.hsm()).hasKey(name) : existsSync(join(this.dir, `${name}.p8.pem`));
  }

  private async load(keyRef: string, spki: Uint8Array | undefined): Promise<KeyProvider> {
    const where = this.locate(keyRef);
    if ('file' in where) {
      const { file } = where;
      if (!existsSync(file)) throw new KeyStoreError(`key file for ${keyRef} is missing from ${this.dir}`);
      try {
        return SoftwareKeyProvider.fromEncryptedPkcs8Pem(readFileSync(file, 'utf8'), this.passphrase);
      } catch {
        throw new KeyStoreError(`cannot decrypt ${keyRef}: wrong CA_KEY_PASSPHRASE?`);
      }
    }
    return (await this.hsm()).findKey(where.label, spki);
  }

  /**
   * The token, opened on first use. An open that fails is made again, up to TOKEN_OPEN_ATTEMPTS
   * times, 0.1 to 0.3 s apart (Pkcs11Token.open initializes the module again first): SoftHSM2
   * read by one process while another writes the token answered CKR_GENERAL_ERROR or showed no
   * token of that label (2 of 87 processes starting ledgers together on a new token), as an HSM
   * coming back may.
   */
  private hsm(): Promise<Pkcs11Token> {
    if (this.token) return Promise.resolve(this.token);
    const { PKCS11_MODULE, HSM_TOKEN_LABEL, HSM_PIN, HSM_OPERATION_TIMEOUT_SECONDS } = this.config;
    if (!PKCS11_MODULE || !HSM_TOKEN_LABEL || !HSM_PIN) {
      return Promise.reject(new KeyStoreError('PKCS#11 keys need PKCS11_MODULE, HSM_TOKEN_LABEL and HSM_PIN'));
    }
    this.opening ??= (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          const options = { module: PKCS11_MODULE, tokenLabel: HSM_TOKEN_LABEL, pin: HSM_PIN, operationTimeoutMs: HSM_OPERATION_TIMEOUT_SECONDS * 1000 };
          return (this.token = Pkcs11Token.open(options));
        } catch (error) {
          if (attempt === TOKEN_OPEN_ATTEMPTS || !(error instanceof KeyProviderError)) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        }
      }
    })().finally(() => (this.opening = undefined));
    return this.opening;
  }

  /** Demo only: a generated passphrase kept beside the keys, so `npm start` needs no setup. */
  private demoPassphrase(): string {
    const file = join(this.dir, '.passphrase');
    // Two processes starting on a new data dir at once keep the one that landed first.
    if (createFileDurably(file, randomBytes(32).toString('base64url'), 0o600)) {
      this.logger.warn(`CA_KEY_PASSPHRASE is not set: generated one in ${file} (set it in production)`);
    }
    return readFileSync(file, 'utf8').trim();
  }
}
