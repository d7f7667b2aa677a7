import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { BOUND_LIMIT } from '@devid/event-store';

/**
 * The stored chain (audit_chain) in position order, a page of 1,000 rows per native call.
 * A regular page (positions without a hole, every hash 32 bytes: what the chainer writes)
 * comes as one blob of the hashes in position order (group_concat keeps a blob's bytes; the
 * length is checked), so a row costs no array and no SQLite value of its own; any other page
 * is read row by row, as it is, for the caller to find what is wrong with it.
 * Only rows present when it was made: the chainer keeps appending beside a running ledger,
 * and a row written after the log was read to its end must not look like a removed event.
 */
export class StoredChainRows {
  /** The row next() moved to. */
  position = 0;
  hash: Uint8Array = new Uint8Array(0);
  private readonly selectRegular: StatementSync;
  private readonly selectRows: StatementSync;
  private readonly last: number;
  /** Regular page: the hashes, `first` the position of the first. */
  private hashes: Uint8Array | undefined;
  private first = 0;
  /** Irregular page: the rows as read. */
  private rows: [number, Uint8Array][] = [];
  private count = 0;
  private index = 0;
  private after = 0;
  private exhausted = false;

  constructor(
    db: DatabaseSync,
    private readonly pageSize = 1000,
  ) {
    this.last = StoredChainRows.lastPosition(db);
    const page = `SELECT position, hash FROM audit_chain WHERE position > ? AND position <= ? ORDER BY position LIMIT ${BOUND_LIMIT}`;
    this.selectRegular = db.prepare(
      `SELECT count(*), coalesce(min(position), 0), coalesce(max(position), 0), coalesce(min(length(hash)) = 32 AND max(length(hash)) = 32, 0),
              coalesce(CAST(group_concat(hash, x'' ORDER BY position) AS BLOB), x'')
         FROM (${page})`,
      { returnArrays: true },
    );
    this.selectRows = db.prepare(page, { returnArrays: true });
  }

  /** The highest position the stored chain holds (0: none). */
  static lastPosition(db: DatabaseSync): number {
    const [last] = db.prepare('SELECT coalesce(max(position), 0) FROM audit_chain', { returnArrays: true }).get() as unknown as [number];
    return last;
  }

  /** Moves to the next row (position, hash); false after the last one. */
  next(): boolean {
    if (this.index === this.count && !this.fill()) return false;
    const index = this.index++;
    if (this.hashes !== undefined) {
      this.position = this.first + index;
      this.hash = this.hashes.subarray(index * 32, index * 32 + 32);
    } else {
      [this.position, this.hash] = this.rows[index]!;
    }
    return true;
  }

  private fill(): boolean {
    if (this.exhausted) return false;
    const [count, first, lastOfPage, sized, hashes] = this.selectRegular.get(this.after, this.last, this.pageSize) as unknown as [number, number, number, number, Uint8Array];
    if (count === 0) {
      this.exhausted = true;
      return false;
    }
    if (lastOfPage - first + 1 === count && sized === 1 && hashes.length === count * 32) {
      this.hashes = hashes;
      this.first = first;
      this.count = count;
      this.after = lastOfPage;
    } else {
      this.hashes = undefined;
      this.rows = this.selectRows.all(this.after, this.last, this.pageSize) as unknown as [number, Uint8Array][];
      this.count = this.rows.length;
      if (this.count === 0) {
        this.exhausted = true;
        return false;
      }
      this.after = this.rows[this.count - 1]![0];
    }
    this.index = 0;
    if (this.count < this.pageSize) this.exhausted = true;
    return true;
  }
}
