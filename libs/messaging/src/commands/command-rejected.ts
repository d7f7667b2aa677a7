/**
 * Why a message on the revoke topic went to the DLQ. Stable codes, checked in this order
 * (processing-failed: the ledger itself failed on it repeatedly).
 */
export const REJECTION_CODES = [
  'oversized',
  'not-jws',
  'unsupported-alg',
  'malformed-json',
  'invalid-command',
  'unknown-detector',
  'detector-disabled',
  'bad-signature',
  'stale-command',
  'device-not-found',
  'out-of-scope',
  'replayed-command-id',
  'processing-failed',
] as const;

export type RejectionCode = (typeof REJECTION_CODES)[number];

export class RevokeCommandRejected extends Error {
  readonly retriable = false;
  constructor(
    readonly code: RejectionCode,
    message: string,
  ) {
    super(message);
  }
}
