import type { DatabaseSync, StatementSync } from 'node:sqlite';

const NO_ROW = new Uint8Array(0);

/**
 * The stored chain as a pass that has its links checked off the thread sees it (see
 * ChainLinksOffThread and verifyLog): positions 1 .. `last` taken as present, without reading
 * them, and a hash read only when asked for (a checkpoint's, the head's, an event hashed on
 * this thread). The worker that checks a queued link reads that row itself and counts a
 * missing one as a broken link; a hash asked for here that has no row comes back empty and
 * equals no hash, so the pass fails and the log is verified again reading every row.
 */
export class StoredChainPositions {
  /** The row next() moved to. */
  position = 0;
  private readonly select: StatementSync;

  constructor(
    db: DatabaseSync,
    private readonly last: number,
  ) {
    this.select = db.prepare('SELECT hash FROM audit_chain WHERE position = ?', { returnArrays: true });
  }

  next(): boolean {
    if (this.position >= this.last) return false;
    this.position++;
    return true;
  }

  get hash(): Uint8Array {
    return this.hashAt(this.position);
  }

  hashAt(position: number): Uint8Array {
    const [hash] = (this.select.get(position) as unknown as [unknown] | undefined) ?? [];
    return hash instanceof Uint8Array ? hash : NO_ROW;
  }
}
