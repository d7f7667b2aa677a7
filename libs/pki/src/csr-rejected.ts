import { PkiError } from './errors';

export const CSR_REJECTION_CODES = [
  'csr-too-large',
  'csr-malformed',
  'csr-signature-algorithm-not-allowed',
  'csr-signature-invalid',
  'csr-key-algorithm-not-allowed',
  'csr-curve-not-allowed',
  'csr-ec-point-invalid',
  'csr-rsa-too-small',
  'csr-rsa-too-large',
  'csr-rsa-exponent',
  'csr-subject-mismatch',
  'csr-key-blocked',
] as const;
export type CsrRejectionCode = (typeof CSR_REJECTION_CODES)[number];

/** A CSR refused before anything is signed; the boundary answers 400 problem+json with `type`. */
export class CsrRejected extends PkiError {
  readonly status = 400;
  readonly retriable = false;
  /** Relative problem type URI (RFC 9457 §3.1.1), resolved against the API base. */
  readonly type: string;
  override readonly name = 'CsrRejected';

  constructor(
    readonly code: CsrRejectionCode,
    message: string,
  ) {
    super(message);
    this.type = `/problems/${code}`;
  }
}
