import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { ProjectedEvent } from '@devid/event-store';
import type { DataProjection } from './projection';

/**
 * A read model in SQLite: rows and checkpoint change in one transaction, and events at or
 * below the checkpoint are skipped, so at-least-once delivery applies each event once.
 */
export abstract class SqliteProjection implements DataProjection {
  private readonly saveCheckpoint: StatementSync;
  private readonly readCheckpoint: StatementSync;

  /**
   * @param version what the rows mean: raise it when a new version derives rows the old one did
   *   not (a new table, a new event handled), and a file made by another version is emptied and
   *   rebuilt from the log. Files from before versions were kept count as version 1.
   */
  protected constructor(
    readonly name: string,
    protected readonly db: DatabaseSync,
    schema: string,
    version = 1,
  ) {
    db.exec(
      `CREATE TABLE IF NOT EXISTS projection_checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
       CREATE TABLE IF NOT EXISTS projection_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL);\n${schema}`,
    );
    this.saveCheckpoint = db.prepare(
      `INSERT INTO projection_checkpoints (name, position) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET position = excluded.position`,
    );
    this.readCheckpoint = db.prepare(`SELECT position FROM projection_checkpoints WHERE name = ?`);
    // One transaction, so that of several processes opening one file at once, only the first empties it.
    this.inTransaction(() => {
      const stored = db.prepare('SELECT version FROM projection_versions WHERE name = ?').get(name) as { version: number } | undefined;
      if ((stored?.version ?? (this.checkpoint() > 0 ? 1 : version)) !== version) this.empty();
      db.prepare('INSERT INTO projection_versions (name, version) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET version = excluded.version').run(name, version);
    });
  }

  checkpoint(): number {
    const row = this.readCheckpoint.get(this.name) as { position: number } | undefined;
    return row?.position ?? 0;
  }

  apply(events: readonly ProjectedEvent[]): void {
    if (events.length === 0) return;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const from = this.checkpoint();
      const last = events[events.length - 1].position;
      for (const stored of events) if (stored.position > from) this.applyOne(stored);
      // Another process on this file may have applied further already: the checkpoint never moves back.
      if (last > from) this.saveCheckpoint.run(this.name, last);
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  reset(): void {
    this.inTransaction(() => this.empty());
  }

  /** Its rows and its checkpoint deleted (the caller holds the transaction). */
  private empty(): void {
    for (const table of this.tables()) this.db.exec(`DELETE FROM ${table}`);
    this.db.prepare('DELETE FROM projection_checkpoints WHERE name = ?').run(this.name);
  }

  private inTransaction(work: () => void): void {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      work();
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  protected abstract applyOne(event: ProjectedEvent): void;
  /**
   * Tables this projection owns (emptied by reset, and by the constructor when the version
   * changed: a constant list, as the subclass's own fields are not set yet then).
   */
  protected abstract tables(): string[];
}
