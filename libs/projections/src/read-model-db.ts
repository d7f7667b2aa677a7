import { DatabaseSync } from 'node:sqlite';
import { switchToWal } from '@devid/event-store';

/**
 * Opens the read-model database: a file of its own beside the event log, so it can be
 * deleted and rebuilt from the log at any time. WAL, so that reads take no file lock;
 * synchronous=NORMAL, as a read-model write lost to a power cut only costs a replay (its
 * checkpoint is lost with it).
 */
export const openReadModelDb = (path: string): DatabaseSync => {
  // The busy timeout from the first statement on: switching a new file to WAL takes a lock that
  // another process opening it at the same moment may hold.
  const db = new DatabaseSync(path, { timeout: 5000 });
  switchToWal(db, 5000);
  db.exec('PRAGMA synchronous = NORMAL');
  return db;
};
