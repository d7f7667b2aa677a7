import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import { toAppendRequest, type AppendRequest } from '../append-request';
import { CatchUpSubscription } from '../catch-up-subscription';
import { EventStoreError, IdempotencyConflict, StoreUnavailable, WrongExpectedRevision } from '../errors';
import type {
  AllHandler,
  AppendOptions,
  AppendResult,
  EventMetadata,
  EventStore,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  StoredEvent,
  SubscribeOptions,
  Subscription,
} from '../event-store';
import { assertExpectedRevision, NO_STREAM } from '../expected-revision';
import { matchEarlierAppend } from '../idempotency';
import { nonNegative, pageSize } from '../read-limits';
import { EVENT_COLUMNS, rowToEvent } from './event-row';
import { GroupCommitQueue } from './group-commit';
import { migrate } from './schema';

export interface SqliteEventStoreOptions {
  /** Source of recordedAt (read once per commit group); the wall clock by default. */
  clock?: () => Date;
  /** How long a write waits for another process's lock before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** Max appends per transaction: bounds the latency one group adds. Default 1000. */
  maxGroupSize?: number;
  /** Idle subscriptions re-read the log this often (appends by other processes). Default 100 ms. */
  pollIntervalMs?: number;
  /** Streams whose revision is cached before the cache is dropped and refilled lazily. Default 100,000. */
  revisionCacheSize?: number;
  /** Fault injection for tests: runs inside the transaction right before COMMIT; a throw fails the group. */
  beforeCommit?: () => void;
}

export interface SqliteEventStoreStats {
  /** Transactions committed by append groups. */
  commits: number;
  /** Appends answered by those commits (written or duplicate). */
  appends: number;
  /** Events written. */
  events: number;
}

interface PendingAppend {
  request: AppendRequest;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

type Outcome = { result: AppendResult } | { error: EventStoreError };

// Duck-typed, not instanceof Error: node:sqlite errors may come from another realm (jest, vm).
const isDuplicateEventId = (error: unknown): boolean => {
  const { errcode, message } = (error ?? {}) as { errcode?: unknown; message?: unknown };
  return errcode === 2067 /* SQLITE_CONSTRAINT_UNIQUE */ && typeof message === 'string' && message.includes('events.id');
};

const messageOf = (error: unknown): string => String((error as { message?: unknown } | null)?.message ?? error);

/**
 * The embedded EventStore: one SQLite file (WAL, synchronous=FULL) written by one process.
 * Appends are group-committed: everything appended during one event-loop turn is checked
 * and written in one transaction, and every caller learns its outcome after the COMMIT.
 */
export class SqliteEventStore implements EventStore {
  private readonly queue: GroupCommitQueue<PendingAppend>;
  private readonly subscriptions = new Set<CatchUpSubscription>();
  /** Last revision per stream; authoritative while this process is the only writer. */
  private readonly revisions = new Map<string, number>();
  private head: number;
  /** Set by close(): from then on appends are refused. */
  private closing: Promise<void> | undefined;
  private closed = false;
  private readonly counters: SqliteEventStoreStats = { commits: 0, appends: 0, events: 0 };
  private readonly clock: () => Date;

  private readonly insertEvent: StatementSync;
  private readonly deleteAfter: StatementSync;
  private readonly selectById: StatementSync;
  private readonly selectLastRevision: StatementSync;
  private readonly selectHead: StatementSync;
  private readonly selectAll: StatementSync;
  private readonly selectStream: StatementSync;

  private constructor(
    private readonly db: DatabaseSync,
    private readonly options: SqliteEventStoreOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.queue = new GroupCommitQueue((group) => this.commitGroup(group), options.maxGroupSize ?? 1000);
    this.insertEvent = db.prepare(
      `INSERT INTO events (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.deleteAfter = db.prepare('DELETE FROM events WHERE position > ?');
    this.selectById = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`, { returnArrays: true });
    this.selectLastRevision = db.prepare('SELECT max(revision) FROM events WHERE stream_id = ?', { returnArrays: true });
    this.selectHead = db.prepare('SELECT max(position) FROM events', { returnArrays: true });
    this.selectAll = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`, {
      returnArrays: true,
    });
    this.selectStream = db.prepare(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?`,
      { returnArrays: true },
    );
    this.head = this.readHead();
  }

  /** Opens (creating if needed) the store in the file at `path` and migrates its schema. */
  static async open(path: string, options: SqliteEventStoreOptions = {}): Promise<SqliteEventStore> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path, { timeout: options.busyTimeoutMs ?? 5000 });
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = FULL');
      migrate(db);
      return new SqliteEventStore(db, options);
    } catch (error) {
      if (db?.isOpen) db.close();
      if (error instanceof StoreUnavailable) throw error;
      throw new StoreUnavailable(`cannot open event store ${path}: ${messageOf(error)}`, error);
    }
  }

  append(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult> {
    if (this.closing !== undefined) return Promise.reject(new StoreUnavailable('the event store is closed'));
    let request: AppendRequest;
    try {
      request = toAppendRequest(streamId, events, options?.expectedRevision);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => this.queue.enqueue({ request, resolve, reject }));
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    this.assertReadable();
    const from = nonNegative('fromRevision', options.fromRevision);
    // A decider folds the whole stream, so no default page here; -1 is SQLite's "no limit".
    const limit = options.maxCount === undefined ? -1 : pageSize(options.maxCount);
    return this.rows(this.selectStream.all(streamId, from, limit));
  }

  async readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    this.assertReadable();
    return this.rows(this.selectAll.all(nonNegative('after', options.after), pageSize(options.maxCount)));
  }

  /**
   * Streams the global log from `after` to the head as it is when each page is read, in
   * pages of `maxCount` rows (default 1000): replay without a promise per page.
   */
  *readAllIterator(options: ReadAllOptions = {}): Generator<StoredEvent, void, undefined> {
    let after = nonNegative('after', options.after);
    // 1000 measured faster than 10,000: big pages cost more in GC than they save in calls.
    const limit = pageSize(options.maxCount);
    for (;;) {
      this.assertReadable();
      const rows = this.selectAll.all(after, limit) as unknown as SQLOutputValue[][];
      for (const row of rows) yield rowToEvent(row);
      if (rows.length < limit) return;
      after = rows[rows.length - 1]![0] as number;
    }
  }

  async getEvent(eventId: string): Promise<StoredEvent | undefined> {
    this.assertReadable();
    return this.findById(eventId);
  }

  async headPosition(): Promise<number> {
    this.assertReadable();
    return this.readHead();
  }

  subscribeToAll(handler: AllHandler, options: SubscribeOptions): Subscription {
    // Refused while closing too: close() has already chosen which subscriptions to stop.
    if (this.closing !== undefined) throw new StoreUnavailable('the event store is closed');
    const subscription = new CatchUpSubscription((after, maxCount) => this.readAll({ after, maxCount }), handler, {
      ...options,
      pollIntervalMs: this.options.pollIntervalMs ?? 100,
      onEnd: (ended) => this.subscriptions.delete(ended),
    });
    this.subscriptions.add(subscription);
    return subscription;
  }

  stats(): SqliteEventStoreStats {
    return { ...this.counters };
  }

  /** Commits what is queued, stops the subscriptions, then closes the file. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    await this.queue.drained();
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    this.closed = true;
    this.db.close();
  }

  private commitGroup(group: PendingAppend[]): void {
    const outcomes: Outcome[] = [];
    const revisionsBefore = new Map<string, number | undefined>();
    try {
      this.db.exec('BEGIN IMMEDIATE');
      this.syncWithOtherWriters();
      const recordedAt = this.clock().toISOString();
      for (const pending of group) outcomes.push(this.applyAppend(pending.request, recordedAt, revisionsBefore));
      this.options.beforeCommit?.();
      this.db.exec('COMMIT');
    } catch (error) {
      this.abandonGroup(revisionsBefore);
      const failure = new StoreUnavailable(`commit failed, nothing of this append is stored: ${messageOf(error)}`, error);
      for (const pending of group) pending.reject(failure);
      return;
    }
    this.counters.commits++;
    let written = false;
    for (const [index, pending] of group.entries()) {
      const outcome = outcomes[index]!;
      if ('error' in outcome) {
        pending.reject(outcome.error);
        continue;
      }
      this.counters.appends++;
      if (!outcome.result.duplicate) {
        this.counters.events += outcome.result.events.length;
        written = true;
      }
      pending.resolve(outcome.result);
    }
    if (written) for (const subscription of this.subscriptions) subscription.notify();
  }

  /**
   * Validates one append against the state left by the appends before it in the group, then
   * writes it. Repeated ids are found by the UNIQUE index on insert, so a fresh append costs
   * no extra lookup; only a refused or colliding append looks its first id up.
   */
  private applyAppend(request: AppendRequest, recordedAt: string, revisionsBefore: Map<string, number | undefined>): Outcome {
    const { streamId, events, expectedRevision } = request;
    const current = this.currentRevision(streamId);
    try {
      assertExpectedRevision(streamId, expectedRevision, current);
    } catch (error) {
      // A retried append is answered as the first time, whatever revision it expected.
      if (error instanceof WrongExpectedRevision && this.findById(events[0]!.id) !== undefined) return this.earlierAppend(request);
      if (error instanceof EventStoreError) return { error };
      throw error;
    }

    const stored: StoredEvent[] = [];
    for (const [index, event] of events.entries()) {
      const position = this.head + index + 1;
      const revision = current + index + 1;
      try {
        this.insertEvent.run(position, event.id, streamId, revision, event.type, event.version, event.occurredAt, recordedAt, event.dataJson, event.metadataJson);
      } catch (error) {
        if (!isDuplicateEventId(error)) throw error;
        if (index === 0) return this.earlierAppend(request);
        // A later id of the append is stored already: undo this append's rows, keep the group.
        this.deleteAfter.run(this.head);
        return { error: new IdempotencyConflict(streamId, event.id, 'is stored but the first id of the append is new') };
      }
      stored.push({
        id: event.id,
        type: event.type,
        version: event.version,
        occurredAt: event.occurredAt,
        data: JSON.parse(event.dataJson) as unknown,
        metadata: JSON.parse(event.metadataJson) as EventMetadata,
        streamId,
        revision,
        position,
        recordedAt,
      });
    }
    if (!revisionsBefore.has(streamId)) revisionsBefore.set(streamId, this.revisions.get(streamId));
    this.revisions.set(streamId, current + events.length);
    this.head += events.length;
    return { result: { streamId, nextExpectedRevision: current + events.length, events: stored, duplicate: false } };
  }

  /** The answer to an append whose first id is stored: the earlier append, or a conflict. */
  private earlierAppend({ streamId, events }: AppendRequest): Outcome {
    try {
      const earlier = matchEarlierAppend(streamId, events, (id) => this.findById(id));
      return { result: { streamId, nextExpectedRevision: earlier[earlier.length - 1]!.revision, events: earlier, duplicate: true } };
    } catch (error) {
      if (error instanceof IdempotencyConflict) return { error };
      throw error;
    }
  }

  /** Rolls the transaction back and puts the in-memory state back to what the file holds. */
  private abandonGroup(revisionsBefore: Map<string, number | undefined>): void {
    try {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
    } catch {
      // SQLite may already have rolled back (e.g. after an I/O error); the state below is re-read either way.
    }
    for (const [streamId, revision] of revisionsBefore) {
      if (revision === undefined) this.revisions.delete(streamId);
      else this.revisions.set(streamId, revision);
    }
    try {
      this.head = this.readHead();
    } catch {
      this.revisions.clear();
    }
  }

  /** Another process may have appended since our last commit: then our caches are stale. */
  private syncWithOtherWriters(): void {
    const head = this.readHead();
    if (head !== this.head || this.revisions.size > (this.options.revisionCacheSize ?? 100_000)) this.revisions.clear();
    this.head = head;
  }

  private currentRevision(streamId: string): number {
    const cached = this.revisions.get(streamId);
    if (cached !== undefined) return cached;
    const [last] = this.selectLastRevision.get(streamId) as unknown as [number | null];
    const revision = last ?? NO_STREAM;
    this.revisions.set(streamId, revision);
    return revision;
  }

  private findById(eventId: string): StoredEvent | undefined {
    const row = this.selectById.get(eventId) as unknown as SQLOutputValue[] | undefined;
    return row === undefined ? undefined : rowToEvent(row);
  }

  private readHead(): number {
    const [head] = this.selectHead.get() as unknown as [number | null];
    return head ?? 0;
  }

  private rows(rows: Record<string, SQLOutputValue>[]): StoredEvent[] {
    return (rows as unknown as SQLOutputValue[][]).map(rowToEvent);
  }

  private assertReadable(): void {
    if (this.closed) throw new StoreUnavailable('the event store is closed');
  }
}
