/** RFC 5280 §5.3.1 CRLReason values (7 is unused). */
export const REVOCATION_REASON_CODES = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASON_CODES;

export interface RevokedEntry {
  /** Hex serial number of the revoked certificate. */
  serialNumber: string;
  revokedAt: Date;
  /** Omitted: no reasonCode entry extension (RFC 5280 §5.3.1 prefers that to "unspecified"). */
  reason?: RevocationReason;
  /** When the key is known or suspected to have been compromised, if earlier than revokedAt. */
  invalidityDate?: Date;
}
