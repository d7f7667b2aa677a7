import { availableParallelism } from 'node:os';
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
import { canIterateText, LogReadError, logTextPages } from '../log/log-pages';
import { ChainLinksOffThread, WorkerLost } from './chain-links-off-thread';
import { StoredChainPositions } from './stored-chain-positions';
import type { VerificationFailure } from './verification-failure';

export interface VerifyLogOptions {
  /** The stored chain (audit_chain of DATA_DIR/audit.db); without it only checkpoints vouch for the log. */
  chainDb?: DatabaseSync;
  /** The key checkpoints must be signed with; without it, the key of the first checkpoint (reported). */
  trustedKey?: AuditPublicKey;
  onProgress?: (position: number) => void;
  /**
   * Hash the links of the stored chain on a worker thread while this one reads the log (see
   * ChainLinksOffThread). Default: with a stored chain of at least OFF_THREAD_FROM rows and a
   * second CPU. Only with a chain in a file and a store that hands out its stored text (SQLite).
   * The report is the same either way.
   */
  offThread?: boolean;
}

/** Below this many stored chain rows, starting a worker costs more than it saves. */
export const OFF_THREAD_FROM = 20_000;

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

const hex = (hash: Uint8Array): string => Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('hex');
const sameHash = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

/** In an off-thread pass: "the stored hash of this position", its link queued for the worker. */
const QUEUED: Uint8Array = new Uint8Array(32);

interface OffThread {
  links: ChainLinksOffThread;
  rows: StoredChainPositions;
}

/**
 * Recomputes the hash chain over the whole log in position order, compares it with the
 * stored chain row by row and checks every checkpoint (signature, and the hash it covers).
 * Streams: memory holds one page of events and the hashes of positions that a checkpoint
 * not yet reached will cover. Stops at the first bad position.
 *
 * Off the thread (see VerifyLogOptions.offThread): a first pass queues every event whose
 * stored text is a candidate for its canonical form on a worker that checks its link (see
 * ChainLinksOffThread), and goes on as if the link held, the stored hash standing for the
 * recomputed one. Its report is used only when it says the log verified and the worker found
 * every queued link holding: then every hash it used was the recomputed one and every row it
 * took as present is, so a pass hashing on this thread reports the same. Otherwise (a broken
 * link, any failure, the worker lost) the log is verified again on this thread, which finds
 * and names the first bad position.
 */
export const verifyLog = async (store: EventStore, options: VerifyLogOptions = {}): Promise<LogVerification> => {
  const chainDb = options.chainDb;
  const file = chainDb?.location();
  // Only links whose stored text is a candidate are queued: other adapters' events are hashed here.
  if (chainDb !== undefined && typeof file === 'string' && canIterateText(store)) {
    const lastRow = StoredChainRows.lastPosition(chainDb);
    if (options.offThread ?? (availableParallelism() > 1 && lastRow >= OFF_THREAD_FROM)) {
      const links = new ChainLinksOffThread(file, lastRow);
      try {
        const report = await verifyPass(store, options, { links, rows: new StoredChainPositions(chainDb, lastRow) });
        if (report.ok && links.allHeld()) return report;
      } catch (error) {
        if (!(error instanceof WorkerLost)) throw error;
      } finally {
        links.close();
      }
    }
  }
  return verifyPass(store, options, undefined);
};

/** One pass over the log (see verifyLog for `offThread`). */
const verifyPass = async (store: EventStore, options: VerifyLogOptions, offThread: OffThread | undefined): Promise<LogVerification> => {
  const cursor = new CheckpointCursor(store);
  const coveredHashes = new Map<number, Uint8Array>();
  let lookahead = 0;
  const links = offThread?.links;
  const chainRows = offThread?.rows ?? (options.chainDb && new StoredChainRows(options.chainDb));
  /** A hash as this pass holds it, QUEUED resolved to the stored one. */
  const resolved = (hash: Uint8Array, at: number): Uint8Array => (hash === QUEUED ? offThread!.rows.hashAt(at) : hash);
  let chainDone = chainRows === undefined;
  let key = options.trustedKey;
  const report: LogVerification = { ok: true, events: 0, head: 0, headHash: GENESIS_HASH.toString('hex'), chainedUpTo: 0, checkpoints: 0, sealedUpTo: 0, unvouched: 0 };
  let previous: Uint8Array = GENESIS_HASH;
  let position = 0;
  const fail = (at: number, code: VerificationFailure['code'], reason: string): LogVerification => {
    report.ok = false;
    report.failure = { position: at, code, reason };
    if (key) report.keyId = key.keyId;
    return report;
  };

  try {
    for await (const page of logTextPages(store, 0)) {
      // A link already found broken: this pass's report will not be used.
      if (links !== undefined && links.failedAt() !== 0) return report;
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
        let row = false;
        if (!chainDone) {
          row = chainRows!.next();
          chainDone = !row;
        }
        // Stored text whose hash is the chain's own for this position is the canonical form that
        // was chained (see canonicalEventText); anything else is parsed and canonicalised.
        let hash: Uint8Array | undefined;
        let event = 'dataJson' in entry ? undefined : entry;
        if (event === undefined && row && chainRows!.position === expected) {
          const text = canonicalEventText(entry as StoredEventText);
          if (text !== undefined) {
            if (links?.add(expected, text)) hash = QUEUED;
            else {
              const fast = chainStep(resolved(previous, position), text);
              if (sameHash(fast, chainRows!.hash)) hash = fast;
            }
          }
        }
        if (hash === undefined) {
          try {
            event ??= parsed(entry as StoredEventText);
            hash = chainHash(resolved(previous, position), event);
          } catch (error) {
            return fail(expected, 'event-unreadable', `cannot canonicalise the event: ${(error as Error).message}`);
          }
        }
        if (row) {
          if (chainRows!.position !== expected) {
            return fail(expected, 'chain-row-missing', `the stored chain has no row for position ${expected} (next row is ${chainRows!.position})`);
          } else if (hash !== QUEUED && !sameHash(hash, chainRows!.hash)) {
            return fail(expected, 'hash-mismatch', `recomputed hash ${hex(hash)} differs from the stored chain's ${hex(chainRows!.hash)}: the event (or an earlier one) changed since it was chained`);
          } else report.chainedUpTo = expected;
        }
        if (coveredHashes.has(expected)) coveredHashes.set(expected, resolved(hash, expected));
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
          if (hex(covered) !== data.hash) {
            return fail(
              data.position,
              'checkpoint-hash-mismatch',
              `the log hashes to ${hex(covered)} at position ${data.position}, but the checkpoint at ${expected} signed ${data.hash}: an event in positions ${report.sealedUpTo + 1}..${data.position} changed`,
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
  report.headHash = hex(resolved(previous, position));
  if (!chainDone) {
    if (chainRows!.next()) {
      return fail(chainRows!.position, 'chain-longer-than-log', `the stored chain has position ${chainRows!.position} but the log ends at ${position}: events were removed`);
    }
  }
  if (key) report.keyId = key.keyId;
  report.unvouched = position - Math.max(report.chainedUpTo, report.sealedUpTo);
  return report;
};
