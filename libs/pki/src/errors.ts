/** Base of every error this library throws: what a boundary needs to answer (STYLE.md §5). */
export abstract class PkiError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  abstract readonly retriable: boolean;
}

/** A CA, profile or template is not usable as given (a programming or configuration error). */
export class PkiConfigurationError extends PkiError {
  readonly code = 'pki-configuration-invalid';
  readonly status = 500;
  readonly retriable = false;
  override readonly name = 'PkiConfigurationError';
}

/** The key store (software or PKCS#11 token) failed; a token may come back, so the caller may retry. */
export class KeyProviderError extends PkiError {
  readonly code: 'key-not-found' | 'key-label-taken' | 'key-store-unavailable' | 'key-algorithm-unsupported' | 'key-decrypt-failed';
  readonly status = 503;
  readonly retriable: boolean;
  override readonly name = 'KeyProviderError';
  constructor(code: KeyProviderError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retriable = code === 'key-store-unavailable';
  }
}
