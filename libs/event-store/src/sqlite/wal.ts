import type { DatabaseSync } from 'node:sqlite';

/**
 * Puts the database of `db` in WAL mode. Switching a new file takes an exclusive lock, and two
 * processes opening the file at the same moment can each hold the shared lock the other must
 * wait out: SQLite then answers one of them SQLITE_BUSY at once, without its busy handler
 * (waiting could not end). Seen here as `database is locked` in about 1 of 45 processes that
 * started ledgers together on a new data dir. The switch is tried again until `timeoutMs` has
 * passed; a file already in WAL mode takes no lock and answers at once.
 */
export const switchToWal = (db: DatabaseSync, timeoutMs: number): void => {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      db.exec('PRAGMA journal_mode = WAL');
      return;
    } catch (error) {
      if (!/database is locked|SQLITE_BUSY/.test(String((error as Error)?.message)) || Date.now() >= deadline) throw error;
      // A few milliseconds, growing, with jitter so that the processes do not meet again.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(100, 5 * attempt) + Math.random() * 10);
    }
  }
};
