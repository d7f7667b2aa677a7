import type { EventStore, StoredEvent } from '@devid/event-store';
import { AUDIT_CHECKPOINT_STREAM, parseCheckpointData, type AuditCheckpointData } from './audit-checkpoint';

export interface CheckpointEntry {
  event: StoredEvent;
  data: AuditCheckpointData;
}

/**
 * Walks the checkpoint stream in order, a page at a time, so a pass over the log can look
 * ahead at which positions checkpoints cover without holding every checkpoint in memory.
 * Events whose data does not parse are skipped here; the pass over the log reports them.
 */
export class CheckpointCursor {
  private buffer: CheckpointEntry[] = [];
  private nextRevision = 0;
  private exhausted = false;

  constructor(
    private readonly store: EventStore,
    private readonly pageSize = 1000,
  ) {}

  /** The next checkpoint without consuming it; undefined at the end of the stream. */
  async peek(): Promise<CheckpointEntry | undefined> {
    while (this.buffer.length === 0 && !this.exhausted) await this.fill();
    return this.buffer[0];
  }

  async next(): Promise<CheckpointEntry | undefined> {
    const entry = await this.peek();
    this.buffer.shift();
    return entry;
  }

  /** The first checkpoint covering a position ≥ `position`, consuming those that cover less. */
  async firstCovering(position: number): Promise<CheckpointEntry | undefined> {
    for (;;) {
      const entry = await this.peek();
      if (entry === undefined || entry.data.position >= position) return entry;
      this.buffer.shift();
    }
  }

  private async fill(): Promise<void> {
    let page: StoredEvent[];
    try {
      page = await this.store.readStream(AUDIT_CHECKPOINT_STREAM, { fromRevision: this.nextRevision, maxCount: this.pageSize });
    } catch {
      // A row that no longer reads (tampered JSON) is skipped here; the pass over the log names it.
      page = await this.readAroundUnreadable();
    }
    if (page.length < this.pageSize) this.exhausted = true;
    if (page.length > 0) this.nextRevision = page[page.length - 1]!.revision + 1;
    for (const event of page) {
      const data = parseCheckpointData(event.data);
      if (data) this.buffer.push({ event, data });
    }
  }

  /** One event at a time from nextRevision, stepping over revisions that cannot be read. */
  private async readAroundUnreadable(): Promise<StoredEvent[]> {
    const page: StoredEvent[] = [];
    let revision = this.nextRevision;
    for (let tries = 0; page.length < this.pageSize && tries < this.pageSize; tries++) {
      try {
        const [event] = await this.store.readStream(AUDIT_CHECKPOINT_STREAM, { fromRevision: revision, maxCount: 1 });
        if (event === undefined) return page;
        page.push(event);
        revision = event.revision + 1;
      } catch {
        revision++;
      }
    }
    // Still a full page: the caller goes on from after the last one read.
    if (page.length === 0) this.nextRevision = revision;
    return page.length === 0 ? [] : page;
  }
}
