/** Why verification stopped; stable codes an auditor's tooling can match on. */
export type VerificationFailureCode =
  | 'event-unreadable'
  | 'position-gap'
  | 'position-out-of-order'
  | 'hash-mismatch'
  | 'chain-row-missing'
  | 'chain-longer-than-log'
  | 'checkpoint-malformed'
  | 'checkpoint-signature-invalid'
  | 'checkpoint-key-mismatch'
  | 'checkpoint-not-before-itself'
  | 'checkpoint-hash-mismatch'
  | 'checkpoint-position-unknown'
  | 'bundle-malformed'
  | 'bundle-run-discontinuous'
  | 'bundle-run-unsealed'
  | 'bundle-count-mismatch'
  | 'bundle-device-incomplete';

export interface VerificationFailure {
  /** The first position found bad (for a bundle: the line number when no position applies). */
  position: number;
  code: VerificationFailureCode;
  reason: string;
  /** For a bundle: the 1-based line where it was found. */
  line?: number;
}
