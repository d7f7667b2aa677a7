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
 * Signs the chain head every N events or T seconds and appends it as AuditCheckpointSigned
 * to `audit-checkpoints`. The checkpoint covers positions strictly before its own, and is
 * chained itself like any event; it never counts as new work, or an idle ledger would sign
 * its own checkpoints forever.
 */
export class CheckpointScheduler {
  private pending = 0;
  private lastCovered = 0;
  private signing: Promise<void> | undefined;
  private again = false;
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
      for (const event of events) if (event.position > this.lastCovered && !isCheckpoint(event)) this.pending++;
      if (this.pending >= this.everyEvents) this.trigger();
    });
  }

  /** Learns the last checkpoint and what the chain holds past it; then signs on schedule. */
  async start(): Promise<void> {
    for (let from = 0; ; ) {
      const page = await this.store.readStream(AUDIT_CHECKPOINT_STREAM, { fromRevision: from, maxCount: 1000 });
      for (const event of page) this.lastCovered = Math.max(this.lastCovered, parseCheckpointData(event.data)?.position ?? 0);
      if (page.length < 1000) break;
      from = page[page.length - 1]!.revision + 1;
    }
    const head = this.chain.checkpoint();
    for (let after = this.lastCovered; after < head && this.pending < this.everyEvents; ) {
      const page = await this.store.readAll({ after, maxCount: 1000 });
      if (page.length === 0) break;
      for (const event of page) if (event.position <= head && !isCheckpoint(event)) this.pending++;
      after = page[page.length - 1]!.position;
    }
    const interval = this.options.intervalMs ?? 60_000;
    if (interval > 0) {
      this.timer = setInterval(() => {
        if (this.pending > 0) this.trigger();
      }, interval);
      this.timer.unref();
    }
    if (this.pending >= this.everyEvents) this.trigger();
  }

  /** Signs the current head now if anything is unsigned; resolves when it is stored. */
  async signNow(): Promise<void> {
    if (this.pending > 0) this.trigger();
    while (this.signing) await this.signing;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.signing) await this.signing;
  }

  private trigger(): void {
    if (this.stopped) return;
    if (this.signing) {
      this.again = true;
      return;
    }
    this.signing = this.signHead()
      .catch((error: unknown) => (this.options.onError ?? ((e) => process.emitWarning(String(e))))(error))
      .finally(() => {
        this.signing = undefined;
        if (this.again) {
          this.again = false;
          if (this.pending >= this.everyEvents) this.trigger();
        }
      });
  }

  private async signHead(): Promise<void> {
    const head = this.chain.head();
    if (head.position <= this.lastCovered) return;
    const covering = this.pending;
    const data = await signCheckpoint(this.key, head, this.clock());
    const result = await this.store.append(AUDIT_CHECKPOINT_STREAM, [checkpointEvent(data, this.options.actor ?? 'ledger-audit')], {
      expectedRevision: 'any',
    });
    this.lastCovered = head.position;
    this.pending = Math.max(0, this.pending - covering);
    for (const event of result.events) this.options.onSigned?.(event);
  }
}
