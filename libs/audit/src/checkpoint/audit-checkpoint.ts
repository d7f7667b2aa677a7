import { z } from 'zod';
import { EVENT_ID_NAMESPACE, uuidV5, type NewEvent } from '@devid/event-store';
import { canonicalize } from '../canonical/jcs';
import { HASH_HEX } from '../chain/chain-hash';
import { AUDIT_KEY_ALGORITHMS, AuditPublicKey } from './audit-public-key';
import { decodeCanonical } from './base64';

export const AUDIT_CHECKPOINT_STREAM = 'audit-checkpoints';
export const AUDIT_CHECKPOINT_SIGNED = 'AuditCheckpointSigned';
export const AUDIT_CHECKPOINT_VERSION = 1;

const RFC3339_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** What the audit key signs: the chain head `hash` after the event at `position`, at `time`. */
export const checkpointStatement = z
  .object({
    position: z.number().int().positive(),
    hash: z.string().regex(HASH_HEX),
    time: z.string().regex(RFC3339_MS),
    keyId: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
    algorithm: z.enum(AUDIT_KEY_ALGORITHMS),
  })
  .strict();
export type CheckpointStatement = z.infer<typeof checkpointStatement>;

/** A signed statement: base64url signature (raw Ed25519, DER ECDSA). */
export const signedCheckpoint = checkpointStatement.extend({ signature: z.string().min(1) }).strict();
export type SignedCheckpoint = z.infer<typeof signedCheckpoint>;

/** The data of an AuditCheckpointSigned event: the signed statement and the key's SPKI (base64). */
export const auditCheckpointData = signedCheckpoint.extend({ publicKey: z.string().min(1) }).strict();
export type AuditCheckpointData = z.infer<typeof auditCheckpointData>;

/**
 * The signed bytes: UTF-8 of the RFC 8785 form of the statement plus a fixed `purpose`, so
 * a signature over a checkpoint can never be taken for a signature over anything else.
 */
export const statementBytes = (statement: CheckpointStatement): Buffer =>
  Buffer.from(
    canonicalize({
      purpose: 'devid-audit-checkpoint-v1',
      position: statement.position,
      hash: statement.hash,
      time: statement.time,
      keyId: statement.keyId,
      algorithm: statement.algorithm,
    }),
    'utf8',
  );

/** A key the checkpoints are signed with: KeyProvider of @devid/pki (software or PKCS#11) fits. */
export interface CheckpointSigningKey {
  readonly subjectPublicKeyInfo: Uint8Array;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

export const signCheckpoint = async (
  key: CheckpointSigningKey,
  head: { position: number; hash: Uint8Array },
  time: Date,
): Promise<AuditCheckpointData> => {
  const publicKey = AuditPublicKey.fromSpki(key.subjectPublicKeyInfo);
  const statement: CheckpointStatement = {
    position: head.position,
    hash: Buffer.from(head.hash).toString('hex'),
    time: time.toISOString(),
    keyId: publicKey.keyId,
    algorithm: publicKey.algorithm,
  };
  const signature = await key.sign(statementBytes(statement));
  return { ...statement, signature: Buffer.from(signature).toString('base64url'), publicKey: publicKey.spki.toString('base64') };
};

/** Why a signed checkpoint does not hold, or undefined when it does. */
export const checkSignature = (checkpoint: SignedCheckpoint, key: AuditPublicKey): string | undefined => {
  if (checkpoint.keyId !== key.keyId) return `signed by key ${checkpoint.keyId}, expected ${key.keyId}`;
  if (checkpoint.algorithm !== key.algorithm) return `algorithm ${checkpoint.algorithm} does not match the ${key.algorithm} key`;
  const signature = decodeCanonical(checkpoint.signature, 'base64url');
  if (signature === undefined) return 'signature is not canonical base64url';
  const { signature: _signature, ...statement } = checkpoint;
  return key.verify(statementBytes(statement), signature) ? undefined : 'signature does not verify';
};

/** The key named inside a checkpoint event (checked against keyId by checkSignature). */
export const keyOfCheckpoint = (data: AuditCheckpointData): AuditPublicKey | undefined => {
  const spki = decodeCanonical(data.publicKey, 'base64');
  if (spki === undefined) return undefined;
  try {
    return AuditPublicKey.fromSpki(spki);
  } catch {
    return undefined;
  }
};

/** One checkpoint per covered position: replicas that sign the same head write it once. */
export const checkpointEvent = (data: AuditCheckpointData, actor: string): NewEvent => {
  const id = uuidV5(`audit-checkpoint:${data.position}`, EVENT_ID_NAMESPACE);
  return {
    id,
    type: AUDIT_CHECKPOINT_SIGNED,
    version: AUDIT_CHECKPOINT_VERSION,
    occurredAt: data.time,
    data,
    metadata: { commandId: id, causationId: id, correlationId: id, actor },
  };
};

export const parseCheckpointData = (data: unknown): AuditCheckpointData | undefined => {
  const parsed = auditCheckpointData.safeParse(data);
  return parsed.success ? parsed.data : undefined;
};
