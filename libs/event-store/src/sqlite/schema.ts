import type { DatabaseSync } from 'node:sqlite';
import { StoreUnavailable } from '../errors';

/**
 * Schema migrations, applied in order, each once. Append only: a released migration is
 * never edited, a change is a new entry.
 */
const MIGRATIONS: readonly string[] = [
  // 1: the global log. position is the rowid, so reading the log in order is a rowid scan;
  // UNIQUE(stream_id, revision) is also the index that finds a stream's current revision.
  `CREATE TABLE events (
     position     INTEGER PRIMARY KEY,
     id           TEXT    NOT NULL UNIQUE,
     stream_id    TEXT    NOT NULL,
     revision     INTEGER NOT NULL,
     type         TEXT    NOT NULL,
     version      INTEGER NOT NULL,
     occurred_at  TEXT    NOT NULL,
     recorded_at  TEXT    NOT NULL,
     data         TEXT    NOT NULL,
     metadata     TEXT    NOT NULL,
     UNIQUE (stream_id, revision)
   ) STRICT`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the file to SCHEMA_VERSION; refuses a file written by a newer release. */
export const migrate = (db: DatabaseSync): void => {
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT');
    const row = db.prepare('SELECT max(version) AS version FROM schema_version').get();
    const current = typeof row?.['version'] === 'number' ? row['version'] : 0;
    if (current > SCHEMA_VERSION) {
      throw new StoreUnavailable(`event store schema ${current} is newer than this release understands (${SCHEMA_VERSION})`);
    }
    const record = db.prepare('INSERT INTO schema_version (version) VALUES (?)');
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version - 1]!);
      record.run(version);
    }
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
};
