import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { StoredEvent } from '@devid/event-store';
import type { WholeEventProjection } from '@devid/projections';
import { ChainDiscontinuity, ChainForked } from '../errors';
import { chainHash, GENESIS_HASH } from './chain-hash';

export type ChainListener = (events: readonly StoredEvent[], head: { position: number; hash: Buffer }) => void;

/**
 * Follows the global log like a projection (run it with ProjectionRunner) and stores
 * (position, hash) for every event in `audit_chain`, one transaction per batch.
 */
export class HashChain implements WholeEventProjection {
  readonly name = 'audit-chain';
  /** It hashes every event whole, metadata included. */
  readonly needsMetadata = true;
  private headPosition: number;
  private headHash: Buffer;
  private readonly listeners: ChainListener[] = [];
  private readonly insert: StatementSync;
  private readonly selectHash: StatementSync;
  private readonly selectHead: StatementSync;

  constructor(private readonly db: DatabaseSync) {
    this.insert = db.prepare('INSERT INTO audit_chain (position, hash) VALUES (?, ?)');
    this.selectHash = db.prepare('SELECT hash FROM audit_chain WHERE position = ?');
    this.selectHead = db.prepare('SELECT position, hash FROM audit_chain ORDER BY position DESC LIMIT 1');
    const last = this.storedHead();
    this.headPosition = last?.position ?? 0;
    this.headHash = last ? Buffer.from(last.hash) : GENESIS_HASH;
  }

  checkpoint(): number {
    return this.headPosition;
  }

  head(): { position: number; hash: Buffer } {
    return { position: this.headPosition, hash: this.headHash };
  }

  /** The last row of audit_chain, whoever wrote it (this process or another sharing the file). */
  private storedHead(): { position: number; hash: Uint8Array } | undefined {
    return this.selectHead.get() as { position: number; hash: Uint8Array } | undefined;
  }

  /** The stored hash at `position` (GENESIS_HASH at 0), undefined beyond the head. */
  hashAt(position: number): Buffer | undefined {
    if (position === 0) return GENESIS_HASH;
    const row = this.selectHash.get(position) as { hash: Uint8Array } | undefined;
    return row && Buffer.from(row.hash);
  }

  /** Called after each committed batch, with the new head (the checkpoint signer listens). */
  onChained(listener: ChainListener): void {
    this.listeners.push(listener);
  }

  /**
   * Chains the events after the head, in one transaction. Another process on the same data dir
   * (a second ledger, started on it) may have chained some of them already: those are checked
   * against what it stored, not written again, and a hash that differs (the two processes read
   * different logs) is refused with ChainForked, writing nothing.
   */
  apply(events: readonly StoredEvent[]): void {
    const fresh = events.filter((e) => e.position > this.headPosition);
    if (fresh.length === 0) return;
    let position = this.headPosition;
    let hash = this.headHash;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const stored = this.storedHead()?.position ?? 0;
      for (const event of fresh) {
        if (event.position !== position + 1) throw new ChainDiscontinuity(position + 1, event.position);
        hash = chainHash(hash, event);
        position = event.position;
        if (position > stored) {
          this.insert.run(position, hash);
          continue;
        }
        const theirs = this.selectHash.get(position) as { hash: Uint8Array } | undefined;
        if (!theirs || !hash.equals(theirs.hash)) throw new ChainForked(position);
      }
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
    this.headPosition = position;
    this.headHash = hash;
    for (const listener of this.listeners) listener(fresh, this.head());
  }

  reset(): void {
    this.db.exec('DELETE FROM audit_chain');
    this.headPosition = 0;
    this.headHash = GENESIS_HASH;
  }
}
