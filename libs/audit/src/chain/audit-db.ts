import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { switchToWal } from '@devid/event-store';

export const AUDIT_DB_FILE = 'audit.db';

/**
 * The chain lives in a file of its own beside the log (DATA_DIR/audit.db), not in the
 * log's file: it is derived from the log through the EventStore port, so it works with any
 * adapter (EventStoreDB has no SQLite file to share) and never depends on the store's
 * internal schema. Keeping it apart adds no weakness: whoever can rewrite one file can
 * rewrite the other; what protects both is the signed checkpoints inside the log.
 */
export const openAuditDb = (path: string): DatabaseSync => {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path, { timeout: 5000 });
  switchToWal(db, 5000);
  db.exec('PRAGMA synchronous = NORMAL');
  // One row per event; the last row is the chainer's checkpoint, so rows and checkpoint
  // cannot disagree after a crash.
  db.exec('CREATE TABLE IF NOT EXISTS audit_chain (position INTEGER PRIMARY KEY, hash BLOB NOT NULL) STRICT');
  return db;
};
