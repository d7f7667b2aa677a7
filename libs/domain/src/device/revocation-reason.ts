/** RFC 5280 §5.3.1 CRLReason names and codes (value 7 is unused; removeFromCRL is CRL-only). */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

export type RevocationReason = keyof typeof REVOCATION_REASONS;

export const isRevocationReason = (value: unknown): value is RevocationReason =>
  typeof value === 'string' && Object.prototype.hasOwnProperty.call(REVOCATION_REASONS, value);

/** Reasons an operator or detector may give when revoking a device. */
export const DEVICE_REVOCATION_REASONS: readonly RevocationReason[] = [
  'unspecified',
  'keyCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'privilegeWithdrawn',
];
