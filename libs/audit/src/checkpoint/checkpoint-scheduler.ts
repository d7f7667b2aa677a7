import type { EventStore, StoredEvent } from '@devid/event-store';
import type { HashChain } from '../chain/hash-chain';
import { AUDIT_CHECKPOINT_STREAM, checkpointEvent, parseCheckpointData, signCheckpoint, type CheckpointSigningKey } from './audit-checkpoint';

export interface CheckpointSchedulerOptions {
  /** Sign once this many events (checkpoints not counted) are past the last checkpoint. Default 1000. */
  everyEvents?: number;
  /** …or this often when at least one is. Default 60 s; 0 = only by count. */
  intervalMs?: number;
  clock?: () => Date;
  /** Recorded as the actor of checkpoint events. */
  actor?: string;
  onError?: (error: unknown) => void;
  onSigned?: (event: StoredEvent) => void;
}

const isCheckpoint = (event: StoredEvent) => event.streamId === AUDIT_CHECKPOINT_STREAM;
/**
 * At most this many uncovered positions are kept (8 MB): while checkpoints cannot be signed
 * (the audit key's token away) the oldest are forgotten. Every checkpoint still signs the true
 * chain hash at its position; only the positions may differ from another ledger's.
 */
const MAX_UNCOVERED = 1_000_000;

/**
 * Signs the chain every N events or T seconds and appends it as AuditCheckpointSigned to
 * `audit-checkpoints`. The checkpoint covers positions strictly before its own, and is chained
 * itself like any event; it never counts as new work, or an idle ledger would sign its own
 * checkpoints forever.
 *
 * By count, a checkpoint covers exactly the N-th (2N-th, …: the last whole multiple chained)
 * event after the last checkpoint, not whatever head the chain has reached when it signs, and
 * checkpoints appended by anyone (another ledger on the same log) count as the last one. So two
 * ledgers following one log sign the same positions, and since the event id is derived from the
 * position, each checkpoint is stored once. By time (and signNow), the head is signed.
 */
export class CheckpointScheduler {
  /** Positions of the chained events after lastCovered (checkpoints not counted), in order, from `first`. */
  private uncovered: number[] = [];
  private first = 0;
  private lastCovered = 0;
  private signing: Promise<void> | undefined;
  /** Asked to sign while a signature was under way: by count (false) or at the head (true, wins). */
  private again: boolean | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly everyEvents: number;
  private readonly clock: () => Date;

  constructor(
    private readonly store: EventStore,
    private readonly chain: HashChain,
    private readonly key: CheckpointSigningKey,
    private readonly options: CheckpointSchedulerOptions = {},
  ) {
    this.everyEvents = options.everyEvents ?? 1000;
    if (!Number.isSafeInteger(this.everyEvents) || this.everyEvents < 1) throw new RangeError('everyEvents must be a positive integer');
    this.clock = options.clock ?? (() => new Date());
    chain.onChained((events) => {
      for (const event of events) {
        if (!isCheckpoint(event)) {
          if (event.position > this.lastCovered) this.uncovered.push(event.position);
          continue;
        }
        // Ours or another ledger's: what it covers needs no other checkpoint.
        const covered = parseCheckpointData(event.data)?.position;
        if (covered !== undefined) this.covered(covered);
      }
      if (this.pending > MAX_UNCOVERED) this.forget(this.pending - MAX_UNCOVERED);
      if (this.pending >= this.everyEvents) this.trigger();
    });
  }

  /** Chained events no checkpoint covers yet (checkpoints not counted). */
  private get pending(): number {
    return this.uncovered.length - this.first;
  }

  /** Learns the last checkpoint and what the chain holds past it; then signs on schedule. */
  async start(): Promise<void> {
    for (let from = 0; ; ) {
      const page = await this.store.readStream(AUDIT_CHECKPOINT_STREAM, { fromRevision: from, maxCount: 1000 });
      for (const event of page) this.lastCovered = Math.max(this.lastCovered, parseCheckpointData(event.data)?.position ?? 0);
      if (page.length < 1000) break;
      from = page[page.length - 1]!.revision + 1;
    }
    // What the chain holds past the last checkpoint, up to N of it: more than that is signed
    // at the head at once (after a long stop, or a first start over an existing log).
    const head = this.chain.checkpoint();
    const past: number[] = [];
    for (let after = this.lastCovered; after < head && past.length < this.everyEvents; ) {
      const page = await this.store.readAll({ after, maxCount: 1000 });
      if (page.length === 0) break;
      for (const event of page) if (event.position <= head && !isCheckpoint(event)) past.push(event.position);
      after = page[page.length - 1]!.position;
    }
    // Chained while this read: already counted by the listener, after these.
    this.uncovered = [...past, ...this.uncovered.slice(this.first).filter((position) => position > head)].filter((position) => position > this.lastCovered);
    this.first = 0;
    const interval = this.options.intervalMs ?? 60_000;
    if (interval > 0) {
      this.timer = setInterval(() => {
        if (this.pending > 0) this.trigger(true);
      }, interval);
      this.timer.unref();
    }
    if (past.length >= this.everyEvents) this.trigger(true);
  }

  /** Signs the current head now if anything is unsigned; resolves when it is stored. */
  async signNow(): Promise<void> {
    if (this.pending > 0) this.trigger(true);
    while (this.signing) await this.signing;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.signing) await this.signing;
  }

  /** A checkpoint covers up to `position`: the events up to there are no longer pending. */
  private covered(position: number): void {
    if (position <= this.lastCovered) return;
    this.lastCovered = position;
    let count = 0;
    while (this.first + count < this.uncovered.length && this.uncovered[this.first + count]! <= position) count++;
    this.forget(count);
  }

  /** Drops the `count` oldest uncovered positions. */
  private forget(count: number): void {
    this.first += count;
    if (this.first > 1024 && this.first * 2 > this.uncovered.length) {
      this.uncovered = this.uncovered.slice(this.first);
      this.first = 0;
    }
  }

  /** `atHead`: sign the chain head (by time, signNow, a backlog at start); else the last whole multiple of N. */
  private trigger(atHead = false): void {
    if (this.stopped) return;
    if (this.signing) {
      this.again = this.again === true || atHead;
      return;
    }
    this.signing = this.sign(atHead)
      .catch((error: unknown) => (this.options.onError ?? ((e) => process.emitWarning(String(e))))(error))
      .finally(() => {
        this.signing = undefined;
        const again = this.again;
        this.again = undefined;
        if (again === true) this.trigger(true);
        else if (again === false && this.pending >= this.everyEvents) this.trigger();
      });
  }

  private async sign(atHead: boolean): Promise<void> {
    const pending = this.pending;
    if (pending === 0 || (!atHead && pending < this.everyEvents)) return;
    let target: { position: number; hash: Uint8Array };
    if (atHead) target = this.chain.head();
    else {
      const position = this.uncovered[this.first + Math.floor(pending / this.everyEvents) * this.everyEvents - 1]!;
      const hash = this.chain.hashAt(position);
      if (hash === undefined) throw new Error(`the chain holds no hash at position ${position}`);
      target = { position, hash };
    }
    if (target.position <= this.lastCovered) return;
    const data = await signCheckpoint(this.key, target, this.clock());
    const result = await this.store.append(AUDIT_CHECKPOINT_STREAM, [checkpointEvent(data, this.options.actor ?? 'ledger-audit')], {
      expectedRevision: 'any',
    });
    this.covered(target.position);
    for (const event of result.events) this.options.onSigned?.(event);
  }
}
