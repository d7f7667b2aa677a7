import { Worker } from 'node:worker_threads';
import { EVENT_COLUMNS } from './event-row';

/**
 * The writer threads of SqliteEventStore, one per file. The log's holds the only connection
 * that writes the events file and runs, in the order the store sends them, its commits (one
 * transaction and one fsync per group of appends); the store's thread validates appends against
 * its in-memory state and sends the next group while this one waits on fsync, so that the two
 * overlap. The index's writes the index file (stream_index, event_ids) in bulk flushes of events
 * already committed: its B-tree work and checkpoints neither delay commits nor the store's thread.
 *
 * Protocol (WriterRequest / WriterReply): every request carries an `epoch`. The first commit
 * that fails (an I/O error, or the log's head is not where the store expected it: another
 * process appended) poisons its epoch: every later request of that epoch is answered `stale`
 * without touching the file, because the store validated it against state that includes the
 * failed group. The store then rolls its state back, reads the file, and sends again in a new epoch.
 */

export type WriterRequest =
  | {
      kind: 'open';
      /** 'log': commits to the events file; 'index': flushes to the index file (see INDEX_SCHEMA). */
      role: 'log' | 'index';
      path: string;
      busyTimeoutMs: number;
      eventColumns: string[];
      faultModule: string | undefined;
      /** What the fault hooks are given: the store's (log) file. */
      faultPath: string;
    }
  | {
      kind: 'commit';
      seq: number;
      epoch: number;
      /** The log's last position before this group: refused (`moved`) if the file's is different. */
      expectedHead: number;
      /** Ten values per event, in EVENT_COLUMNS order. */
      rows: (string | number)[];
    }
  | {
      kind: 'flush';
      seq: number;
      epoch: number;
      /** The index will cover the log up to here once committed, and this is the event there. */
      upTo: number;
      upToId: string;
      /** (stream_id, revision, position) triples, flat, in any order. */
      streamRows: (string | number)[];
      /** (event_ids key, position) pairs, flat, in any order: the keys index-tail computed on append. */
      idRows: number[];
    }
  | { kind: 'close'; seq: number };

export type WriterReply =
  | { seq: number; outcome: 'ok'; checkpoint?: number; indexRows?: number; millis?: number }
  | { seq: number; outcome: 'moved'; head: number }
  | { seq: number; outcome: 'stale' }
  | { seq: number; outcome: 'failed'; message: string }
  | { seq: -1; outcome: 'opened' }
  | { seq: -1; outcome: 'open-failed'; message: string };

/**
 * The thread's program. It is started with `new Worker(source, { eval: true })` from its own
 * text (writerThreadSource), so it must be self-contained: everything it uses is required or
 * declared inside. That runs the same under tsc's output, ts-jest and a transpiling require.
 */
export function writerThreadMain(): void {
  const { parentPort } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { DatabaseSync } = require('node:sqlite') as typeof import('node:sqlite');
  type Statement = import('node:sqlite').StatementSync;
  type Database = import('node:sqlite').DatabaseSync;
  const port = parentPort!;
  const CHUNK = 64;

  /**
   * Rows inserted with multi-row INSERTs: CHUNK rows at a time, then the rest in one statement
   * (prepared once per row count; groups tend to repeat their sizes).
   */
  const bulkInsert = (db: Database, table: string, columns: string[]) => {
    const row = `(${columns.map(() => '?').join(', ')})`;
    const into = `INSERT INTO ${table} (${columns.join(', ')}) VALUES `;
    const statements = new Map<number, Statement>();
    const rowsOf = (count: number): Statement => {
      let statement = statements.get(count);
      if (statement === undefined) statements.set(count, (statement = db.prepare(into + Array.from({ length: count }, () => row).join(', '))));
      return statement;
    };
    const width = columns.length;
    return (values: (string | number)[]): void => {
      let offset = 0;
      for (; offset + CHUNK * width <= values.length; offset += CHUNK * width) rowsOf(CHUNK).run(...values.slice(offset, offset + CHUNK * width));
      if (offset < values.length) rowsOf((values.length - offset) / width).run(...values.slice(offset));
    };
  };

  let db: Database | undefined;
  let insertEvents: ReturnType<typeof bulkInsert>;
  let insertStreamIndex: ReturnType<typeof bulkInsert>;
  let insertEventIds: ReturnType<typeof bulkInsert>;
  let selectHead: Statement;
  let selectCheckpoint: Statement;
  let updateCheckpoint: Statement;
  let faults: { onOpen?: (path: string, role: 'log' | 'index') => void; beforeCommit?: (path: string) => void; beforeIndexCommit?: (path: string) => void } = {};
  let faultPath = '';
  let failedEpoch = -1;

  const rollback = (): void => {
    try {
      if (db!.isTransaction) db!.exec('ROLLBACK');
    } catch {
      // SQLite may already have rolled back (e.g. after an I/O error).
    }
  };
  const head = (): number => ((selectHead.get() as unknown as [number | null])[0] ?? 0);
  const messageOf = (error: unknown): string => String((error as { message?: unknown } | null)?.message ?? error);

  port.on('message', (request: WriterRequest) => {
    if (request.kind === 'open') {
      try {
        faultPath = request.faultPath;
        db = new DatabaseSync(request.path, { timeout: request.busyTimeoutMs });
        db.exec('PRAGMA journal_mode = WAL');
        db.exec('PRAGMA synchronous = FULL');
        if (request.role === 'log') {
          insertEvents = bulkInsert(db, 'events', request.eventColumns);
          selectHead = db.prepare('SELECT max(position) FROM events', { returnArrays: true });
        } else {
          insertStreamIndex = bulkInsert(db, 'stream_index', ['stream_id', 'revision', 'position']);
          insertEventIds = bulkInsert(db, 'event_ids', ['id_key', 'position']);
          selectCheckpoint = db.prepare('SELECT position FROM index_checkpoint WHERE singleton = 1', { returnArrays: true });
          updateCheckpoint = db.prepare('UPDATE index_checkpoint SET position = ?, event_id = ? WHERE singleton = 1');
        }
        if (request.faultModule !== undefined) faults = require(request.faultModule) as typeof faults;
        faults.onOpen?.(faultPath, request.role);
        port.postMessage({ seq: -1, outcome: 'opened' } satisfies WriterReply);
      } catch (error) {
        port.postMessage({ seq: -1, outcome: 'open-failed', message: messageOf(error) } satisfies WriterReply);
      }
      return;
    }
    if (request.kind === 'close') {
      db?.close();
      port.postMessage({ seq: request.seq, outcome: 'ok' } satisfies WriterReply);
      port.close();
      return;
    }
    if (request.epoch === failedEpoch) {
      port.postMessage({ seq: request.seq, outcome: 'stale' } satisfies WriterReply);
      return;
    }
    const started = performance.now();
    try {
      db!.exec('BEGIN IMMEDIATE');
      if (request.kind === 'commit') {
        const current = head();
        if (current !== request.expectedHead) {
          rollback();
          failedEpoch = request.epoch;
          port.postMessage({ seq: request.seq, outcome: 'moved', head: current } satisfies WriterReply);
          return;
        }
        insertEvents(request.rows);
        faults.beforeCommit?.(faultPath);
        db!.exec('COMMIT');
        port.postMessage({ seq: request.seq, outcome: 'ok', millis: performance.now() - started } satisfies WriterReply);
        return;
      }
      // An index flush (index file): only rows after what the index (maybe flushed by another process) covers.
      const stored = (selectCheckpoint.get() as unknown as [number])[0];
      // Rows in B-tree order (stream then revision; id key then position): each insert extends
      // the leaf the previous one touched. Only what the index does not hold yet (another
      // process may have flushed further).
      const { streamRows, idRows } = request;
      const streams: [string, number, number][] = [];
      for (let k = 0; k < streamRows.length; k += 3) {
        const position = streamRows[k + 2] as number;
        if (position > stored) streams.push([streamRows[k] as string, streamRows[k + 1] as number, position]);
      }
      streams.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
      const ids: [number, number][] = [];
      for (let k = 0; k < idRows.length; k += 2) {
        const position = idRows[k + 1]!;
        if (position > stored) ids.push([idRows[k]!, position]);
      }
      ids.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      insertStreamIndex(streams.flat());
      insertEventIds(ids.flat());
      const rows = streams.length;
      if (request.upTo > stored) updateCheckpoint.run(request.upTo, request.upToId);
      const checkpoint = Math.max(stored, request.upTo);
      faults.beforeIndexCommit?.(faultPath);
      db!.exec('COMMIT');
      port.postMessage({ seq: request.seq, outcome: 'ok', checkpoint, indexRows: rows, millis: performance.now() - started } satisfies WriterReply);
    } catch (error) {
      rollback();
      // A failed commit poisons its epoch; a failed index flush changes nothing (the index is derived).
      if (request.kind === 'commit') failedEpoch = request.epoch;
      port.postMessage({ seq: request.seq, outcome: 'failed', message: messageOf(error) } satisfies WriterReply);
    }
  });
}

/** The text the thread is started from. */
export const writerThreadSource = `(${writerThreadMain.toString()})()`;

/** A request as the store sends it: the client numbers it. */
type Unnumbered<T> = T extends { seq: number } ? Omit<T, 'seq'> : never;

/** The writer died (crash, out of memory): the outcome of what it was doing is unknown. */
export interface WriterLost {
  seq: number;
  outcome: 'lost';
  message: string;
}

/** The store's side of the writer thread: numbered requests, each answered by one reply. */
export class WriterThread {
  private seq = 0;
  private readonly waiting = new Map<number, (reply: WriterReply | WriterLost) => void>();
  private lost: string | undefined;

  private constructor(
    private readonly worker: Worker,
    /** 'writer thread' or 'index thread', for the reasons it gives. */
    private readonly name: string,
  ) {
    worker.on('message', (reply: WriterReply) => {
      const resolve = this.waiting.get(reply.seq);
      if (resolve === undefined) return;
      this.waiting.delete(reply.seq);
      if (this.waiting.size === 0) worker.unref();
      resolve(reply);
    });
    worker.on('error', (error) => this.die(`the ${name} failed: ${String((error as Error)?.message ?? error)}`));
    worker.on('exit', (code) => this.die(`the ${name} exited with code ${code}`));
  }

  /** Starts the thread and opens `path` in it; rejects with the reason it could not. */
  static start(role: 'log' | 'index', path: string, busyTimeoutMs: number, faultModule: string | undefined, faultPath: string): Promise<WriterThread> {
    return new Promise((resolve, reject) => {
      // Named so that top, perf and /proc tell the two apart (15 characters at most on Linux).
      const worker = new Worker(writerThreadSource, { eval: true, name: role === 'log' ? 'devid-log' : 'devid-index' });
      const opened = (reply: WriterReply): void => {
        if (reply.seq !== -1) return;
        worker.off('message', opened);
        worker.off('error', failed);
        if (reply.outcome === 'opened') {
          worker.unref();
          resolve(new WriterThread(worker, role === 'log' ? 'writer thread' : 'index thread'));
        } else {
          void worker.terminate();
          reject(new Error(reply.outcome === 'open-failed' ? reply.message : 'unexpected reply'));
        }
      };
      const failed = (error: Error): void => reject(error);
      worker.on('message', opened);
      worker.once('error', failed);
      worker.postMessage({ kind: 'open', role, path, busyTimeoutMs, eventColumns: EVENT_COLUMNS.split(', '), faultModule, faultPath } satisfies WriterRequest);
    });
  }

  /** Why the thread is gone, or undefined while it runs. */
  get failure(): string | undefined {
    return this.lost;
  }

  send(request: Unnumbered<WriterRequest>): Promise<WriterReply | WriterLost> {
    const seq = ++this.seq;
    if (this.lost !== undefined) return Promise.resolve({ seq, outcome: 'lost', message: this.lost });
    return new Promise((resolve) => {
      // Referenced while it owes a reply, so that the process waits for a commit under way.
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(seq, resolve);
      this.worker.postMessage({ ...request, seq } as WriterRequest);
    });
  }

  async close(): Promise<void> {
    if (this.lost === undefined) await this.send({ kind: 'close' });
    this.lost ??= `the ${this.name} is closed`;
    await this.worker.terminate();
  }

  private die(message: string): void {
    if (this.lost !== undefined) return;
    this.lost = message;
    for (const [seq, resolve] of this.waiting) resolve({ seq, outcome: 'lost', message });
    this.waiting.clear();
  }
}
