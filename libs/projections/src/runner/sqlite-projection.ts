import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { StoredEvent } from '@devid/event-store';
import type { Projection } from './projection';

/**
 * A read model in SQLite: rows and checkpoint change in one transaction, and events at or
 * below the checkpoint are skipped, so at-least-once delivery applies each event once.
 */
export abstract class SqliteProjection implements Projection {
  private readonly saveCheckpoint: StatementSync;
  private readonly readCheckpoint: StatementSync;

  protected constructor(
    readonly name: string,
    protected readonly db: DatabaseSync,
    schema: string,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS projection_checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL);\n${schema}`);
    this.saveCheckpoint = db.prepare(
      `INSERT INTO projection_checkpoints (name, position) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET position = excluded.position`,
    );
    this.readCheckpoint = db.prepare(`SELECT position FROM projection_checkpoints WHERE name = ?`);
  }

  checkpoint(): number {
    const row = this.readCheckpoint.get(this.name) as { position: number } | undefined;
    return row?.position ?? 0;
  }

  apply(events: readonly StoredEvent[]): void {
    if (events.length === 0) return;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const from = this.checkpoint();
      for (const stored of events) if (stored.position > from) this.applyOne(stored);
      this.saveCheckpoint.run(this.name, events[events.length - 1].position);
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  reset(): void {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const table of this.tables()) this.db.exec(`DELETE FROM ${table}`);
      this.db.prepare('DELETE FROM projection_checkpoints WHERE name = ?').run(this.name);
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  protected abstract applyOne(event: StoredEvent): void;
  /** Tables this projection owns (emptied by reset). */
  protected abstract tables(): string[];
}
