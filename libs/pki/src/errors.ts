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
  readonly code:
    | 'key-not-found'
    | 'key-label-taken'
    /** More than one key pair under one label, and nothing says which is meant. */
    | 'key-label-ambiguous'
    /** The key is not the key pair of the certificate it was loaded for. */
    | 'key-mismatch'
    | 'key-store-unavailable'
    | 'key-algorithm-unsupported'
    | 'key-decrypt-failed';
  readonly status = 503;
  readonly retriable: boolean;
  override readonly name = 'KeyProviderError';
  constructor(code: KeyProviderError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retriable = code === 'key-store-unavailable';
  }
}

/**
 * The CA's own certificate is not valid at the time of signing (expired, or not yet valid):
 * nothing it signed then would verify (RFC 5280 §6.1.3 checks every certificate of the path).
 * Not retriable: the operator must put a valid CA in its place.
 */
export class CaCertificateNotValid extends PkiError {
  readonly code: 'ca-certificate-expired' | 'ca-certificate-not-yet-valid';
  readonly status = 409;
  readonly retriable = false;
  override readonly name = 'CaCertificateNotValid';
  constructor(
    readonly caId: string,
    readonly notBefore: Date,
    readonly notAfter: Date,
    at: Date,
  ) {
    const expired = at.getTime() > notAfter.getTime();
    super(
      expired
        ? `the certificate of CA ${caId} expired at ${notAfter.toISOString()}: it signs nothing more`
        : `the certificate of CA ${caId} is valid from ${notBefore.toISOString()} only: it signs nothing before`,
    );
    this.code = expired ? 'ca-certificate-expired' : 'ca-certificate-not-yet-valid';
  }
}

/**
 * Why a CA whose certificate is valid from `notBefore` to `notAfter` (both ends included, RFC
 * 5280 §4.1.2.5) cannot sign at `at`; undefined when it can. The one statement of that rule, for
 * callers holding a parsed certificate (assertValidAt) or only its recorded dates (the ledger's CA directory).
 */
export function validityRefusal(caId: string, notBefore: Date, notAfter: Date, at: Date): CaCertificateNotValid | undefined {
  return at.getTime() < notBefore.getTime() || at.getTime() > notAfter.getTime() ? new CaCertificateNotValid(caId, notBefore, notAfter, at) : undefined;
}
