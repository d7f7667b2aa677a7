import { DatabaseSync } from 'node:sqlite';
import { StoreUnavailable } from '../errors';
import { switchToWal } from './wal';

/**
 * Schema migrations, applied in order, each once. Append only: a released migration is
 * never edited, a change is a new entry.
 */
const EVENTS_COLUMNS = `
     position     INTEGER PRIMARY KEY,
     id           TEXT    NOT NULL,
     stream_id    TEXT    NOT NULL,
     revision     INTEGER NOT NULL,
     type         TEXT    NOT NULL,
     version      INTEGER NOT NULL,
     occurred_at  TEXT    NOT NULL,
     recorded_at  TEXT    NOT NULL,
     data         TEXT    NOT NULL,
     metadata     TEXT    NOT NULL`;

const MIGRATIONS: readonly string[] = [
  // 1: the global log. position is the rowid, so reading the log in order is a rowid scan;
  // UNIQUE(stream_id, revision) is also the index that finds a stream's current revision.
  `CREATE TABLE events (${EVENTS_COLUMNS.replace('id           TEXT    NOT NULL,', 'id           TEXT    NOT NULL UNIQUE,')},
     UNIQUE (stream_id, revision)
   ) STRICT`,
  // 2: the log loses its secondary indexes; they become derived tables.
  // `events` is append-only and has no secondary index: an append only extends the right
  // edge of one B-tree. A UNIQUE index on a random key (event id, stream id) costs one random
  // leaf page per row and per index on every commit; that, not fsync, was the write limit
  // (bench: 25k/s raw with both UNIQUE indexes, 80k/s without, 64-row transactions).
  // `stream_index` and `event_ids` are built lazily from the log, thousands of rows per
  // transaction, and record in `index_checkpoint` (same transaction) the last position they
  // cover; the events after it are indexed in memory and rebuilt from the log on open, so a
  // file migrated here starts at checkpoint 0 and is indexed by its first flush.
  // event_ids is keyed by 52 bits of the UUID (an INTEGER is a quarter of the page space of
  // the text); collisions are possible, so a lookup checks the id in `events`.
  `CREATE TABLE events_v2 (${EVENTS_COLUMNS}
   ) STRICT;
   INSERT INTO events_v2 SELECT position, id, stream_id, revision, type, version, occurred_at, recorded_at, data, metadata FROM events ORDER BY position;
   DROP TABLE events;
   ALTER TABLE events_v2 RENAME TO events;
   CREATE TABLE stream_index (
     stream_id    TEXT    NOT NULL,
     revision     INTEGER NOT NULL,
     position     INTEGER NOT NULL,
     PRIMARY KEY (stream_id, revision)
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE event_ids (
     id_key       INTEGER NOT NULL,
     position     INTEGER NOT NULL,
     PRIMARY KEY (id_key, position)
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE index_checkpoint (
     singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
     position     INTEGER NOT NULL
   ) STRICT;
   INSERT INTO index_checkpoint (singleton, position) VALUES (1, 0);`,
  // 3: the derived index moves to a file of its own (INDEX_SCHEMA, `<file>.index`), written by
  // its own thread: its B-tree pages and their checkpoints no longer share the log's WAL and
  // commits. It is rebuilt from the log on the first open.
  `DROP TABLE stream_index;
   DROP TABLE event_ids;
   DROP TABLE index_checkpoint;`,
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

/**
 * The index file beside the log (`<file>.index`): stream_index (stream, revision → position),
 * event_ids (52 bits of the event id → position) and the checkpoint up to which they cover the
 * log, with the id of the event there, so that an index that does not belong to the log beside
 * it (a restored backup of one of the two) is recognised and rebuilt.
 */
export const INDEX_SCHEMA = `
  CREATE TABLE IF NOT EXISTS stream_index (
    stream_id    TEXT    NOT NULL,
    revision     INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    PRIMARY KEY (stream_id, revision)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS event_ids (
    id_key       INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    PRIMARY KEY (id_key, position)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS index_checkpoint (
    singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
    position     INTEGER NOT NULL,
    event_id     TEXT
  ) STRICT;
  INSERT OR IGNORE INTO index_checkpoint (singleton, position, event_id) VALUES (1, 0, NULL);`;

/** Where the index of the log in `path` lives. */
export const indexFileOf = (path: string): string => `${path}.index`;

/**
 * Creates the index file if needed and checks it belongs to the log (`log` is a connection to
 * it): an index whose checkpoint event is not the log's event at that position (a restored
 * backup, a copied file) is emptied, to be rebuilt from the log.
 */
export const prepareIndexFile = (log: DatabaseSync, path: string, busyTimeoutMs: number): void => {
  const index = new DatabaseSync(path, { timeout: busyTimeoutMs });
  try {
    switchToWal(index, busyTimeoutMs);
    index.exec('PRAGMA synchronous = FULL');
    index.exec('BEGIN IMMEDIATE');
    try {
      index.exec(INDEX_SCHEMA);
      const { position, event_id: eventId } = index.prepare('SELECT position, event_id FROM index_checkpoint WHERE singleton = 1').get() as { position: number; event_id: string | null };
      const there = position === 0 ? undefined : (log.prepare('SELECT id FROM events WHERE position = ?').get(position) as { id: string } | undefined);
      if (position !== 0 && there?.id !== eventId) {
        index.exec('DELETE FROM stream_index; DELETE FROM event_ids; UPDATE index_checkpoint SET position = 0, event_id = NULL');
      }
      index.exec('COMMIT');
    } catch (error) {
      if (index.isTransaction) index.exec('ROLLBACK');
      throw error;
    }
  } finally {
    index.close();
  }
};
