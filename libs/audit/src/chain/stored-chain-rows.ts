import type { DatabaseSync, StatementSync } from 'node:sqlite';

/**
 * The stored chain (audit_chain) in position order, read a page of arrays at a time: one
 * native call per 1,000 rows instead of one iterator step and one row object per event.
 * Only rows present when it was made: the chainer keeps appending beside a running ledger,
 * and a row written after the log was read to its end must not look like a removed event.
 */
export class StoredChainRows {
  private readonly select: StatementSync;
  private readonly last: number;
  private page: [number, Uint8Array][] = [];
  private index = 0;
  private after = 0;
  private exhausted = false;

  constructor(
    db: DatabaseSync,
    private readonly pageSize = 1000,
  ) {
    const [last] = db.prepare('SELECT coalesce(max(position), 0) FROM audit_chain', { returnArrays: true }).get() as unknown as [number];
    this.last = last;
    this.select = db.prepare('SELECT position, hash FROM audit_chain WHERE position > ? AND position <= ? ORDER BY position LIMIT ?', { returnArrays: true });
  }

  /** The next row as [position, hash], or undefined after the last one. */
  next(): [number, Uint8Array] | undefined {
    if (this.index === this.page.length) {
      if (this.exhausted) return undefined;
      this.page = this.select.all(this.after, this.last, this.pageSize) as unknown as [number, Uint8Array][];
      this.index = 0;
      if (this.page.length < this.pageSize) this.exhausted = true;
      if (this.page.length === 0) return undefined;
      this.after = this.page[this.page.length - 1]![0];
    }
    return this.page[this.index++];
  }
}
