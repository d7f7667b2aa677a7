import { z } from 'zod';
import { HASH_HEX } from '../chain/chain-hash';
import { signedCheckpoint } from '../checkpoint/audit-checkpoint';

/**
 * An audit bundle is one JSON-lines file (UTF-8, one compact JSON object per line, LF):
 *
 *   header       format, version, device filter, the audit public key (JWK and SPKI PEM)
 *   run          the chain hash just before the next event line (a run of consecutive events)
 *   event        one event exactly as stored (ten fields, original version), written as the
 *                bytes that were hashed (its RFC 8785 form), and its chain hash
 *   checkpoint   a signed statement covering the last event of the run before it
 *   end          counts, so that a cut-off bundle is told apart from a short one
 *
 * Every byte is either hashed into the chain, covered by a signature, or cross-checked
 * against something that is: there are no free-text fields (no export time, no comment).
 */
export const BUNDLE_FORMAT = 'devid-audit-bundle';
export const BUNDLE_VERSION = 1;

const position = z.number().int().nonnegative();
const hash = z.string().regex(HASH_HEX);

const jwk = z.union([
  z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string(), kid: z.string() }).strict(),
  z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), kid: z.string() }).strict(),
]);

export const headerRecord = z
  .object({
    kind: z.literal('header'),
    format: z.literal(BUNDLE_FORMAT),
    version: z.literal(BUNDLE_VERSION),
    /** Only this device's events (and the CA events) were selected; null = every event of the range. */
    deviceId: z.string().min(1).nullable(),
    auditKey: z.object({ jwk, spkiPem: z.string() }).strict(),
  })
  .strict();

export const runRecord = z.object({ kind: z.literal('run'), after: position, hash }).strict();

const storedEvent = z
  .object({
    id: z.string(),
    type: z.string(),
    version: z.number().int(),
    streamId: z.string(),
    revision: z.number().int().nonnegative(),
    position: z.number().int().positive(),
    occurredAt: z.string(),
    recordedAt: z.string(),
    data: z.unknown(),
    metadata: z.record(z.string(), z.unknown()),
  })
  .strict();

export const eventRecord = z.object({ kind: z.literal('event'), event: storedEvent, hash }).strict();

export const checkpointRecord = signedCheckpoint.extend({ kind: z.literal('checkpoint') }).strict();

export const endRecord = z
  .object({ kind: z.literal('end'), runs: z.number().int().nonnegative(), events: z.number().int().nonnegative(), checkpoints: z.number().int().nonnegative() })
  .strict();

export const bundleRecord = z.discriminatedUnion('kind', [headerRecord, runRecord, eventRecord, checkpointRecord, endRecord]);

export type HeaderRecord = z.infer<typeof headerRecord>;
export type RunRecord = z.infer<typeof runRecord>;
export type EventRecord = z.infer<typeof eventRecord>;
export type CheckpointRecord = z.infer<typeof checkpointRecord>;
export type EndRecord = z.infer<typeof endRecord>;
export type BundleRecord = z.infer<typeof bundleRecord>;

const EVENT_RECORD_KEYS = ['kind', 'event', 'hash'];
const STORED_EVENT_KEYS = new Set(['id', 'type', 'version', 'streamId', 'revision', 'position', 'occurredAt', 'recordedAt', 'data', 'metadata']);
const isPlainRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The event line a bundle is made of, checked by hand: the record when eventRecord.safeParse
 * would accept it as it is (every member present), undefined otherwise, and the caller then
 * asks zod, which names what is wrong. bundle.spec.ts holds the two to the same answers.
 */
export const eventRecordOrUndefined = (value: unknown): EventRecord | undefined => {
  if (!isPlainRecord(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 3 || !EVENT_RECORD_KEYS.every((key) => Object.hasOwn(value, key))) return undefined;
  const { kind, event, hash: hex } = value;
  if (kind !== 'event' || typeof hex !== 'string' || !HASH_HEX.test(hex) || !isPlainRecord(event)) return undefined;
  let count = 0;
  for (const key in event) {
    if (!STORED_EVENT_KEYS.has(key)) return undefined;
    count++;
  }
  if (count !== STORED_EVENT_KEYS.size) return undefined;
  const { id, type, version, streamId, revision, position: at, occurredAt, recordedAt, metadata } = event;
  if (typeof id !== 'string' || typeof type !== 'string' || typeof streamId !== 'string' || typeof occurredAt !== 'string' || typeof recordedAt !== 'string') return undefined;
  if (!Number.isSafeInteger(version) || !Number.isSafeInteger(revision) || (revision as number) < 0 || !Number.isSafeInteger(at) || (at as number) <= 0) return undefined;
  if (!isPlainRecord(metadata)) return undefined;
  return value as EventRecord;
};
