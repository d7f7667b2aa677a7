import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DEVICE_REVOCATION_REASONS, type RevocationReason } from '@devid/domain';
import { EVENT_ID_NAMESPACE, uuidV5 } from '@devid/event-store';

/** The signed payload of a revoke command (the JWS payload on devid.commands.revoke). */
export const revokeCommandPayload = z.strictObject({
  commandId: z.string().regex(/^[\x21-\x7e]{1,128}$/, 'must be 1-128 visible ASCII characters'),
  deviceId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'not a device id'),
  reason: z.enum(DEVICE_REVOCATION_REASONS as [RevocationReason, ...RevocationReason[]]),
  evidence: z.string().max(8_192),
  detectorId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'not a detector id'),
  issuedAt: z.iso.datetime({ offset: true }),
});

export type RevokeCommandPayload = z.infer<typeof revokeCommandPayload>;

/**
 * The ledger's command id for a detector's command: name-based, so the same detector command
 * always derives the same event ids and the store writes it once however often it arrives.
 */
export const ledgerCommandId = (detectorId: string, commandId: string): string => uuidV5(`detector:${detectorId}:${commandId}`, EVENT_ID_NAMESPACE);

/** Fingerprint of the signed bytes: the same commandId with another body is a replay, not a retry. */
export const payloadFingerprint = (payload: Buffer): string => createHash('sha256').update(payload).digest('base64url');

const COMMENT_MAX = 1024;

/** The revocation comment: which detector, and its evidence made printable and short enough for the domain. */
export const evidenceComment = (detectorId: string, evidence: string): string => {
  const printable = evidence.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  const comment = printable ? `detector ${detectorId}: ${printable}` : `revoked by detector ${detectorId}`;
  return comment.length > COMMENT_MAX ? `${comment.slice(0, COMMENT_MAX - 1)}…` : comment;
};
