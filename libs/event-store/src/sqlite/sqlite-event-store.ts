import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import { toAppendRequest, type AppendRequest } from '../append-request';
import { CatchUpSubscription } from '../catch-up-subscription';
import { isCanonicalUuid } from '../event-id';
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
  StoredEventText,
  SubscribeOptions,
  Subscription,
} from '../event-store';
import { assertExpectedRevision, NO_STREAM } from '../expected-revision';
import { matchEarlierAppend } from '../idempotency';
import { nonNegative, pageSize } from '../read-limits';
import { EVENT_COLUMNS, rowToEvent, rowToEventText } from './event-row';
import { GroupCommitQueue } from './group-commit';
import { BulkInsert } from './bulk-insert';
import { IdKeyFilter, idKey, IndexTail } from './index-tail';
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
  /** The stream and id indexes are brought up to date this often. Default 500 ms; 0 = only by size and on close. */
  indexFlushIntervalMs?: number;
  /** …and as soon as this many events wait to be indexed. Default 20,000. */
  indexFlushThreshold?: number;
  /** Fault injection for tests: runs inside the transaction right before COMMIT; a throw fails the group. */
  beforeCommit?: () => void;
  /** Fault injection for tests: runs inside an index flush right before its COMMIT; a throw abandons the flush. */
  beforeIndexCommit?: () => void;
}

export interface SqliteEventStoreStats {
  /** Transactions committed by append groups. */
  commits: number;
  /** Appends answered by those commits (written or duplicate). */
  appends: number;
  /** Events written. */
  events: number;
}

export interface SqliteEventStoreIndexStats {
  /** Last position covered by stream_index and event_ids (as this process knows it). */
  indexedPosition: number;
  /** Events after it, indexed in memory only. */
  unindexedEvents: number;
  /** Index flushes committed by this process, and the index rows they wrote. */
  flushes: number;
  flushedEvents: number;
  /** Wall-clock time spent in committed flushes (the event loop is blocked meanwhile). */
  flushMillis: number;
}

interface PendingAppend {
  request: AppendRequest;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

type Outcome = { result: AppendResult } | { error: EventStoreError };

const messageOf = (error: unknown): string => String((error as { message?: unknown } | null)?.message ?? error);

/** What a group changed in memory, so that a failed commit can put it back. */
interface GroupUndo {
  head: number;
  revisions: Map<string, number | undefined>;
  /** (stream, id) of every event written, in order. */
  written: [streamId: string, id: string][];
}

/**
 * The embedded EventStore: one SQLite file (WAL, synchronous=FULL).
 *
 * Appends are group-committed: everything appended during one event-loop turn is checked
 * and written in one transaction, and every caller learns its outcome after the COMMIT.
 * The log table has no secondary index; the per-stream index and the event-id index are
 * derived from it lazily (as EventStoreDB builds its index after the log write):
 * - in memory: the last revision of every stream (complete, loaded on open), and the
 *   events after the index checkpoint (the tail: positions per stream, ids);
 * - on disk: stream_index / event_ids, written by a flush every indexFlushIntervalMs or
 *   indexFlushThreshold events, thousands of rows per transaction, with the checkpoint.
 * A crash loses no event: on open the tail is rebuilt from the log after the checkpoint.
 * Another process may write the same file: its events are read into the in-memory state
 * before each write and each stream read (the head moved).
 */
export class SqliteEventStore implements EventStore {
  private readonly queue: GroupCommitQueue<PendingAppend>;
  private readonly subscriptions = new Set<CatchUpSubscription>();
  /** Last revision of every stream up to `head`. */
  private readonly revisions = new Map<string, number>();
  /** The events in (indexedPosition, head]. */
  private readonly tail = new IndexTail();
  /** Every id up to `head` (a superset): a new id is known new without probing event_ids. */
  private idFilter = new IdKeyFilter();
  /** Position of the last event read into `revisions` / `tail`. */
  private head = 0;
  /** stream_index / event_ids cover the events up to here (this process's view). */
  private indexedPosition = 0;
  /** Set by close(): from then on appends are refused. */
  private closing: Promise<void> | undefined;
  private closed = false;
  private readonly counters: SqliteEventStoreStats = { commits: 0, appends: 0, events: 0 };
  private readonly indexCounters = { flushes: 0, flushedEvents: 0, flushMillis: 0 };
  private readonly clock: () => Date;
  private readonly flushThreshold: number;
  private readonly flushTimer: NodeJS.Timeout | undefined;
  private flushScheduled = false;

  private readonly insertEvent: StatementSync;
  private readonly selectByPosition: StatementSync;
  private readonly selectPositionsByIdKey: StatementSync;
  private readonly selectHead: StatementSync;
  private readonly selectAll: StatementSync;
  private readonly selectIndexedStream: StatementSync;
  private readonly selectAfter: StatementSync;
  private readonly selectCheckpoint: StatementSync;
  private readonly updateCheckpoint: StatementSync;
  private readonly insertStreamIndex: BulkInsert;
  private readonly insertEventId: BulkInsert;

  private constructor(
    private readonly db: DatabaseSync,
    private readonly options: SqliteEventStoreOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.flushThreshold = options.indexFlushThreshold ?? 20_000;
    if (!Number.isSafeInteger(this.flushThreshold) || this.flushThreshold < 1) throw new RangeError('indexFlushThreshold must be a positive integer');
    this.queue = new GroupCommitQueue((group) => this.commitGroup(group), options.maxGroupSize ?? 1000);
    const arrays = { returnArrays: true } as const;
    this.insertEvent = db.prepare(`INSERT INTO events (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.selectByPosition = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE position = ?`, arrays);
    this.selectPositionsByIdKey = db.prepare('SELECT position FROM event_ids WHERE id_key = ?', arrays);
    this.selectHead = db.prepare('SELECT max(position) FROM events', arrays);
    this.selectAll = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`, arrays);
    // Only rows up to the checkpoint this process knows: the tail in memory covers the rest,
    // even if another process has flushed further meanwhile.
    this.selectIndexedStream = db.prepare(
      `SELECT ${EVENT_COLUMNS.split(', ').map((column) => `e.${column}`).join(', ')}
         FROM stream_index s JOIN events e ON e.position = s.position
        WHERE s.stream_id = ? AND s.revision >= ? AND s.position <= ?
        ORDER BY s.revision LIMIT ?`,
      arrays,
    );
    this.selectAfter = db.prepare('SELECT position, id, stream_id, revision FROM events WHERE position > ? ORDER BY position', arrays);
    this.selectCheckpoint = db.prepare('SELECT position FROM index_checkpoint WHERE singleton = 1', arrays);
    this.updateCheckpoint = db.prepare('UPDATE index_checkpoint SET position = ? WHERE singleton = 1');
    this.insertStreamIndex = new BulkInsert(db, 'stream_index', ['stream_id', 'revision', 'position']);
    this.insertEventId = new BulkInsert(db, 'event_ids', ['id_key', 'position']);
    this.loadIndexState();
    const interval = options.indexFlushIntervalMs ?? 500;
    if (interval > 0 && Number.isFinite(interval)) {
      this.flushTimer = setInterval(() => this.flushIndex(), interval);
      this.flushTimer.unref();
    }
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
      if (error instanceof StoreUnavailable || error instanceof RangeError) throw error;
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
    // A decider folds the whole stream, so no default page here.
    const limit = options.maxCount === undefined ? Number.MAX_SAFE_INTEGER : pageSize(options.maxCount);
    this.catchUpIfMoved();
    // Both parts are read in one synchronous step: no flush can move events between them.
    const indexed = this.rows(this.selectIndexedStream.all(streamId, from, this.indexedPosition, limit === Number.MAX_SAFE_INTEGER ? -1 : limit));
    if (indexed.length >= limit) return indexed;
    const tailFrom = indexed.length > 0 ? indexed[indexed.length - 1]!.revision + 1 : from;
    for (const position of this.tail.positionsFrom(streamId, tailFrom)) {
      if (indexed.length >= limit) break;
      indexed.push(this.eventAt(position)!);
    }
    return indexed;
  }

  async readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    this.assertReadable();
    return this.rows(this.selectAll.all(nonNegative('after', options.after), pageSize(options.maxCount)));
  }

  /**
   * Streams the global log from `after` to the head as it is when each page is read, in
   * pages of `maxCount` rows (default 1000): replay without a promise per page.
   */
  readAllIterator(options: ReadAllOptions = {}): Generator<StoredEvent, void, undefined> {
    return this.iterateLog(options, rowToEvent);
  }

  /** readAllIterator with data and metadata as the stored JSON text (no JSON.parse). */
  readAllTextIterator(options: ReadAllOptions = {}): Generator<StoredEventText, void, undefined> {
    return this.iterateLog(options, rowToEventText);
  }

  async getEvent(eventId: string): Promise<StoredEvent | undefined> {
    this.assertReadable();
    if (typeof eventId !== 'string' || !isCanonicalUuid(eventId)) return undefined;
    this.catchUpIfMoved();
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

  indexStats(): SqliteEventStoreIndexStats {
    return { indexedPosition: this.indexedPosition, unindexedEvents: this.tail.size, ...this.indexCounters };
  }

  /**
   * Writes the in-memory tail to stream_index / event_ids in one transaction, with the
   * checkpoint. Runs by itself (timer, size, close); safe to call any time. A failed flush
   * changes nothing and is retried by the next one. Returns whether the index is now current.
   */
  flushIndex(): boolean {
    if (this.closed || this.tail.size === 0) return this.tail.size === 0;
    const started = performance.now();
    try {
      this.db.exec('BEGIN IMMEDIATE');
      // Another process may have appended and flushed: read its events first, so that our
      // head is at least its checkpoint, then write only what is not indexed yet.
      this.catchUp();
      const [stored] = this.selectCheckpoint.get() as unknown as [number];
      let rows = 0;
      for (const [streamId, revision, position] of this.tail.streamEntries()) {
        if (position <= stored) continue;
        this.insertStreamIndex.add(streamId, revision, position);
        rows++;
      }
      this.insertStreamIndex.finish();
      const ids: [number, number][] = [];
      for (const [id, position] of this.tail.idEntries()) if (position > stored) ids.push([idKey(id), position]);
      ids.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      for (const [key, position] of ids) this.insertEventId.add(key, position);
      this.insertEventId.finish();
      const checkpoint = Math.max(stored, this.head);
      this.updateCheckpoint.run(checkpoint);
      this.options.beforeIndexCommit?.();
      this.db.exec('COMMIT');
      this.tail.clear();
      this.indexedPosition = checkpoint;
      this.indexCounters.flushes++;
      this.indexCounters.flushedEvents += rows;
      this.indexCounters.flushMillis += performance.now() - started;
      return true;
    } catch {
      this.insertStreamIndex.discard();
      this.insertEventId.discard();
      // The index is derived: nothing is lost, the next flush (or the next open) redoes it.
      try {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
      } catch {
        // already rolled back by SQLite
      }
      return false;
    }
  }

  /** Commits what is queued, stops the subscriptions, flushes the index, then closes the file. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    await this.queue.drained();
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    if (this.flushTimer !== undefined) clearInterval(this.flushTimer);
    this.flushIndex();
    this.closed = true;
    this.db.close();
  }

  private *iterateLog<T>(options: ReadAllOptions, toEvent: (row: SQLOutputValue[]) => T): Generator<T, void, undefined> {
    let after = nonNegative('after', options.after);
    // 1000 measured faster than 10,000: big pages cost more in GC than they save in calls.
    const limit = pageSize(options.maxCount);
    for (;;) {
      this.assertReadable();
      const rows = this.selectAll.all(after, limit) as unknown as SQLOutputValue[][];
      for (const row of rows) yield toEvent(row);
      if (rows.length < limit) return;
      after = rows[rows.length - 1]![0] as number;
    }
  }

  private commitGroup(group: PendingAppend[]): void {
    const outcomes: Outcome[] = [];
    let undo: GroupUndo | undefined;
    try {
      this.db.exec('BEGIN IMMEDIATE');
      this.catchUpIfMoved();
      undo = { head: this.head, revisions: new Map(), written: [] };
      const recordedAt = this.clock().toISOString();
      for (const pending of group) outcomes.push(this.applyAppend(pending.request, recordedAt, undo));
      this.options.beforeCommit?.();
      this.db.exec('COMMIT');
    } catch (error) {
      this.abandonGroup(undo);
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
    if (this.tail.size >= this.flushThreshold && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flushIndex();
      });
    }
  }

  /**
   * Validates one append against the state left by the appends before it in the group, then
   * writes it. Its ids are looked up in the tail (a Map) and in event_ids (one B-tree probe).
   */
  private applyAppend(request: AppendRequest, recordedAt: string, undo: GroupUndo): Outcome {
    const { streamId, events, expectedRevision } = request;
    const current = this.revisions.get(streamId) ?? NO_STREAM;
    const firstIsStored = this.positionOfId(events[0]!.id) !== undefined;
    try {
      assertExpectedRevision(streamId, expectedRevision, current);
    } catch (error) {
      // A retried append is answered as the first time, whatever revision it expected.
      if (error instanceof WrongExpectedRevision && firstIsStored) return this.earlierAppend(request);
      if (error instanceof EventStoreError) return { error };
      throw error;
    }
    if (firstIsStored) return this.earlierAppend(request);
    for (let index = 1; index < events.length; index++) {
      const event = events[index]!;
      if (this.positionOfId(event.id) !== undefined) {
        return { error: new IdempotencyConflict(streamId, event.id, 'is stored but the first id of the append is new') };
      }
    }

    if (!undo.revisions.has(streamId)) undo.revisions.set(streamId, this.revisions.get(streamId));
    const stored: StoredEvent[] = [];
    for (const [index, event] of events.entries()) {
      const position = this.head + index + 1;
      const revision = current + index + 1;
      this.insertEvent.run(position, event.id, streamId, revision, event.type, event.version, event.occurredAt, recordedAt, event.dataJson, event.metadataJson);
      this.tail.add(streamId, revision, event.id, position);
      this.idFilter.add(idKey(event.id));
      undo.written.push([streamId, event.id]);
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
  private abandonGroup(undo: GroupUndo | undefined): void {
    try {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
    } catch {
      // SQLite may already have rolled back (e.g. after an I/O error).
    }
    if (undo === undefined) return; // failed before writing anything: the state is the file's
    for (let k = undo.written.length - 1; k >= 0; k--) this.tail.removeLast(...undo.written[k]!);
    for (const [streamId, revision] of undo.revisions) {
      if (revision === undefined) this.revisions.delete(streamId);
      else this.revisions.set(streamId, revision);
    }
    this.head = undo.head;
  }

  /** On open: the last revision of every indexed stream, then the log after the checkpoint. */
  private loadIndexState(): void {
    this.db.exec('BEGIN');
    try {
      const [checkpoint] = this.selectCheckpoint.get() as unknown as [number];
      const lastRevisions = this.db.prepare('SELECT stream_id, max(revision) FROM stream_index GROUP BY stream_id', { returnArrays: true });
      for (const [streamId, revision] of lastRevisions.iterate() as unknown as Iterable<[string, number]>) this.revisions.set(streamId, revision);
      const [indexedIds] = this.db.prepare('SELECT count(*) FROM event_ids', { returnArrays: true }).get() as unknown as [number];
      this.idFilter = new IdKeyFilter(Math.max(1 << 16, indexedIds * 2));
      for (const [key] of this.db.prepare('SELECT id_key FROM event_ids', { returnArrays: true }).iterate() as unknown as Iterable<[number]>) this.idFilter.add(key);
      this.indexedPosition = checkpoint;
      this.head = checkpoint;
      this.catchUp();
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Reads the events after `head` (appended by another process, or before a crash) into memory. */
  private catchUp(): void {
    const rows = this.selectAfter.all(this.head) as unknown as [number, string, string, number][];
    for (const [position, id, streamId, revision] of rows) {
      this.tail.add(streamId, revision, id, position);
      this.idFilter.add(idKey(id));
      this.revisions.set(streamId, revision);
      this.head = position;
    }
  }

  /** Another process may have appended since we last looked: one probe of the log's last rowid. */
  private catchUpIfMoved(): void {
    if (this.readHead() !== this.head) this.catchUp();
  }

  private positionOfId(eventId: string): number | undefined {
    const position = this.tail.positionOf(eventId);
    if (position !== undefined) return position;
    const key = idKey(eventId);
    if (!this.idFilter.mightContain(key)) return undefined;
    const candidates = this.selectPositionsByIdKey.all(key) as unknown as [number][];
    if (candidates.length === 0) return undefined;
    return this.findIndexed(eventId, candidates)?.position;
  }

  private findById(eventId: string): StoredEvent | undefined {
    const position = this.tail.positionOf(eventId);
    if (position !== undefined) return this.eventAt(position);
    const key = idKey(eventId);
    if (!this.idFilter.mightContain(key)) return undefined;
    const candidates = this.selectPositionsByIdKey.all(key) as unknown as [number][];
    return candidates.length === 0 ? undefined : this.findIndexed(eventId, candidates);
  }

  /** event_ids keys are 52 bits of the id: the event at a candidate position must carry the id. */
  private findIndexed(eventId: string, candidates: [number][]): StoredEvent | undefined {
    for (const [position] of candidates) {
      const event = this.eventAt(position);
      if (event?.id === eventId) return event;
    }
    return undefined;
  }

  private eventAt(position: number): StoredEvent | undefined {
    const row = this.selectByPosition.get(position) as unknown as SQLOutputValue[] | undefined;
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
