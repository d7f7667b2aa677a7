import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** Where a relay stopped: the position of the last event the broker acknowledged. */
export class RelayCheckpoint {
  private readonly read: StatementSync;
  private readonly write: StatementSync;

  constructor(
    db: DatabaseSync,
    readonly name: string,
  ) {
    db.exec('CREATE TABLE IF NOT EXISTS relay_checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL)');
    this.read = db.prepare('SELECT position FROM relay_checkpoints WHERE name = ?');
    this.write = db.prepare(
      'INSERT INTO relay_checkpoints (name, position) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET position = max(position, excluded.position)',
    );
  }

  position(): number {
    return (this.read.get(this.name) as { position: number } | undefined)?.position ?? 0;
  }

  save(position: number): void {
    this.write.run(this.name, position);
  }
}
