/** Bounds of the timers that renew the ledger's own certificates (EST TLS, OCSP signers). */
export const RENEWAL_TIMER = {
  /** Never sooner than this: a certificate can never be renewed in a loop. */
  minMs: 1_000,
  /** After a renewal failed (key store or HSM unavailable, store closed): tried again this much later. */
  retryMs: 60_000,
  /** Never later than this, so that what changed meanwhile (a new CA, a revocation) is looked at. */
  maxMs: 12 * 3_600_000,
} as const;

/** How long a renewal timer sleeps when the next renewal is due at `dueAt` (ms since the epoch; 0: now). */
export const renewalDelay = (dueAt: number, now: number, lastFailed = false): number =>
  Math.min(Math.max(dueAt - now, lastFailed ? RENEWAL_TIMER.retryMs : RENEWAL_TIMER.minMs), RENEWAL_TIMER.maxMs);
