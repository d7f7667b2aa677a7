import type { DatabaseSync } from 'node:sqlite';
import type { EventStore, EventMetadata, StoredEvent, StoredEventText } from '@devid/event-store';
import { canonicalEventText } from '../chain/canonical-event';
import { chainHash, chainStep, GENESIS_HASH } from '../chain/chain-hash';
import { StoredChainRows } from '../chain/stored-chain-rows';
import {
  AUDIT_CHECKPOINT_SIGNED,
  AUDIT_CHECKPOINT_STREAM,
  checkSignature,
  keyOfCheckpoint,
  parseCheckpointData,
} from '../checkpoint/audit-checkpoint';
import type { AuditPublicKey } from '../checkpoint/audit-public-key';
import { CheckpointCursor } from '../checkpoint/checkpoint-cursor';
import { LogReadError, logTextPages } from '../log/log-pages';
import type { VerificationFailure } from './verification-failure';

export interface VerifyLogOptions {
  /** The stored chain (audit_chain of DATA_DIR/audit.db); without it only checkpoints vouch for the log. */
  chainDb?: DatabaseSync;
  /** The key checkpoints must be signed with; without it, the key of the first checkpoint (reported). */
  trustedKey?: AuditPublicKey;
  onProgress?: (position: number) => void;
}

export interface LogVerification {
  ok: boolean;
  failure?: VerificationFailure;
  /** Events read and hashed. */
  events: number;
  /** Last position of the log. */
  head: number;
  headHash: string;
  /** Positions up to here have a stored chain hash that matched. */
  chainedUpTo: number;
  /** Signed checkpoints found and verified. */
  checkpoints: number;
  /** Highest position covered by a verified checkpoint (0: none). */
  sealedUpTo: number;
  /** Thumbprint of the key the checkpoints were verified with. */
  keyId?: string;
  /**
   * Events at the end of the log that neither the stored chain nor a signed checkpoint vouch
   * for yet (appended after the chainer's last batch and the last checkpoint): verify cannot
   * tell them from forged appends until the ledger chains and signs them.
   */
  unvouched: number;
}

/** An event read as text, parsed (throws SyntaxError on text that is not JSON). */
const parsed = ({ dataJson, metadataJson, ...rest }: StoredEventText): StoredEvent => ({
  ...rest,
  data: JSON.parse(dataJson) as unknown,
  metadata: JSON.parse(metadataJson) as EventMetadata,
});

/**
 * Recomputes the hash chain over the whole log in position order, compares it with the
 * stored chain row by row and checks every checkpoint (signature, and the hash it covers).
 * Streams: memory holds one page of events and the hashes of positions that a checkpoint
 * not yet reached will cover. Stops at the first bad position.
 */
export const verifyLog = async (store: EventStore, options: VerifyLogOptions = {}): Promise<LogVerification> => {
  const cursor = new CheckpointCursor(store);
  const coveredHashes = new Map<number, Buffer>();
  let lookahead = 0;
  const chainRows = options.chainDb && new StoredChainRows(options.chainDb);
  let chainDone = chainRows === undefined;
  let key = options.trustedKey;
  const report: LogVerification = { ok: true, events: 0, head: 0, headHash: GENESIS_HASH.toString('hex'), chainedUpTo: 0, checkpoints: 0, sealedUpTo: 0, unvouched: 0 };
  let previous = GENESIS_HASH;
  let position = 0;
  const fail = (at: number, code: VerificationFailure['code'], reason: string): LogVerification => {
    report.ok = false;
    report.failure = { position: at, code, reason };
    if (key) report.keyId = key.keyId;
    return report;
  };

  try {
    for await (const page of logTextPages(store, 0)) {
      // Note which positions the checkpoints ahead cover, before those positions go by.
      const last = page[page.length - 1]!.position;
      while (lookahead <= last) {
        const next = await cursor.next();
        if (next === undefined) {
          lookahead = Number.POSITIVE_INFINITY;
          break;
        }
        lookahead = next.data.position;
        coveredHashes.set(next.data.position, GENESIS_HASH);
      }
      for (const entry of page) {
        const expected = position + 1;
        if (entry.position !== expected) {
          return entry.position > expected
            ? fail(expected, 'position-gap', `the event at position ${expected} is missing (next stored is ${entry.position})`)
            : fail(expected, 'position-out-of-order', `expected position ${expected}, read ${entry.position}`);
        }
        let row: [number, Uint8Array] | undefined;
        if (!chainDone) {
          row = chainRows!.next();
          if (row === undefined) chainDone = true;
        }
        // Stored text whose hash is the chain's own for this position is the canonical form that
        // was chained (see canonicalEventText); anything else is parsed and canonicalised.
        let hash: Buffer | undefined;
        let event = 'dataJson' in entry ? undefined : entry;
        if (event === undefined && row !== undefined && row[0] === expected) {
          const text = canonicalEventText(entry as StoredEventText);
          if (text !== undefined) {
            const fast = chainStep(previous, text);
            if (fast.equals(row[1])) hash = fast;
          }
        }
        if (hash === undefined) {
          try {
            event ??= parsed(entry as StoredEventText);
            hash = chainHash(previous, event);
          } catch (error) {
            return fail(expected, 'event-unreadable', `cannot canonicalise the event: ${(error as Error).message}`);
          }
        }
        if (row !== undefined) {
          if (row[0] !== expected) {
            return fail(expected, 'chain-row-missing', `the stored chain has no row for position ${expected} (next row is ${row[0]})`);
          } else if (!hash.equals(row[1])) {
            return fail(expected, 'hash-mismatch', `recomputed hash ${hash.toString('hex')} differs from the stored chain's ${Buffer.from(row[1]).toString('hex')}: the event (or an earlier one) changed since it was chained`);
          } else report.chainedUpTo = expected;
        }
        if (coveredHashes.has(expected)) coveredHashes.set(expected, hash);
        if (entry.streamId === AUDIT_CHECKPOINT_STREAM) {
          if (entry.type !== AUDIT_CHECKPOINT_SIGNED) return fail(expected, 'checkpoint-malformed', `unexpected event type ${entry.type} in ${AUDIT_CHECKPOINT_STREAM}`);
          // Its hash matched, so its text is canonical JSON: it parses.
          event ??= parsed(entry as StoredEventText);
          const data = parseCheckpointData(event.data);
          if (!data) return fail(expected, 'checkpoint-malformed', 'the checkpoint data does not parse');
          const named = keyOfCheckpoint(data);
          if (!named) return fail(expected, 'checkpoint-malformed', 'the checkpoint names no valid public key');
          key ??= named;
          if (!key.equals(named)) return fail(expected, 'checkpoint-key-mismatch', `signed with key ${named.keyId}, expected ${key.keyId}`);
          const bad = checkSignature(data, key);
          if (bad) return fail(expected, 'checkpoint-signature-invalid', bad);
          if (data.position >= expected) return fail(expected, 'checkpoint-not-before-itself', `the checkpoint at ${expected} claims to cover position ${data.position}`);
          const covered = coveredHashes.get(data.position);
          if (covered === undefined || covered === GENESIS_HASH) {
            return fail(expected, 'checkpoint-position-unknown', `the checkpoint covers position ${data.position}, which is not in the checkpoint stream's order`);
          }
          if (covered.toString('hex') !== data.hash) {
            return fail(
              data.position,
              'checkpoint-hash-mismatch',
              `the log hashes to ${covered.toString('hex')} at position ${data.position}, but the checkpoint at ${expected} signed ${data.hash}: an event in positions ${report.sealedUpTo + 1}..${data.position} changed`,
            );
          }
          coveredHashes.delete(data.position);
          report.checkpoints++;
          report.sealedUpTo = Math.max(report.sealedUpTo, data.position);
        }
        previous = hash;
        position = expected;
        report.events++;
        if ((expected & 0x3fff) === 0) options.onProgress?.(expected);
      }
    }
  } catch (error) {
    if (error instanceof LogReadError) return fail(error.after + 1, 'event-unreadable', error.message);
    throw error;
  }
  options.onProgress?.(position);
  report.head = position;
  report.headHash = previous.toString('hex');
  if (!chainDone) {
    const extra = chainRows!.next();
    if (extra !== undefined) return fail(extra[0], 'chain-longer-than-log', `the stored chain has position ${extra[0]} but the log ends at ${position}: events were removed`);
  }
  if (key) report.keyId = key.keyId;
  report.unvouched = position - Math.max(report.chainedUpTo, report.sealedUpTo);
  return report;
};
