import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import { toAppendRequest, type AppendRequest } from '../append-request';
import { CatchUpSubscription, type LiveSubscription } from '../catch-up-subscription';
import { isCanonicalUuid } from '../event-id';
import { EventStoreError, IdempotencyConflict, StoreUnavailable, WrongExpectedRevision } from '../errors';
import type {
  AllHandler,
  AppendOptions,
  AppendResult,
  EventMetadata,
  EventStore,
  EventsWith,
  MetadataOption,
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
import { BOUND_LIMIT } from './bound-limit';
import { switchToWal } from './wal';
import { EVENT_COLUMNS, PROJECTED_EVENT_COLUMNS, rowToEvent, rowToEventText, rowToProjectedEvent } from './event-row';
import { GroupCommitQueue } from './group-commit';
import { IdKeyFilter, idKey, IndexTail } from './index-tail';
import { indexFileOf, migrate, prepareIndexFile } from './schema';
import { WriterThread, type WriterLost, type WriterReply } from './writer-thread';

export interface SqliteEventStoreOptions {
  /** Source of recordedAt (read once per commit group); the wall clock by default. */
  clock?: () => Date;
  /** How long a write waits for another process's lock before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** Max appends per transaction: bounds the latency one group adds. Default 1000. */
  maxGroupSize?: number;
  /** Idle subscriptions re-read the log this often (appends by other processes). Default 100 ms. */
  pollIntervalMs?: number;
  /**
   * The stream and id indexes are brought up to date this often. Default 2000 ms; 0 = only by
   * size and on close. With appends spread over many streams a flush rewrites most leaf pages of
   * both indexes whatever its size, so fewer, larger flushes cost less per event (bench: 5.9–6.8
   * instead of 9.5–10.0 µs of index thread time per event over 20 s at 64 writers on random streams).
   */
  indexFlushIntervalMs?: number;
  /** …and as soon as this many events wait to be indexed (≈ 160 bytes of memory each). Default 100,000. */
  indexFlushThreshold?: number;
  /**
   * Fault injection for tests: a CommonJS module the writer and index threads load, whose
   * `beforeCommit(path)` and `beforeIndexCommit(path)` (all hooks optional) they call with the
   * log's path inside the transaction right before COMMIT (a throw fails that commit or flush),
   * and `onOpen(path, role)` once the thread's file is open (a throw: the thread cannot start).
   */
  faultModule?: string;
}

export interface SqliteEventStoreStats {
  /** Transactions committed by append groups. */
  commits: number;
  /** Appends answered by those commits (written or duplicate). */
  appends: number;
  /** Events written. */
  events: number;
  /** Time the writer thread spent in those commits, fsync included. */
  commitMillis: number;
}

export interface SqliteEventStoreIndexStats {
  /** Last position covered by stream_index and event_ids (as this process knows it). */
  indexedPosition: number;
  /** Events after it, indexed in memory only. */
  unindexedEvents: number;
  /** Index flushes committed by this process, and the index rows they wrote. */
  flushes: number;
  flushedEvents: number;
  /** Time the index thread spent in committed flushes (commits and this thread go on meanwhile). */
  flushMillis: number;
  /** Index threads started again after one died (its flush never committed: the index is as it was). */
  indexerRestarts: number;
  /** Why the index thread could not be started again (retried at each flush); undefined while it runs. */
  indexerFailure: string | undefined;
}

const DEFAULT_FLUSH_INTERVAL_MS = 2000;
const DEFAULT_FLUSH_THRESHOLD = 100_000;

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
  /** The id of every event written, in order. */
  written: string[];
}

/** A group validated and sent to the writer thread, not answered yet. */
interface InFlightGroup {
  group: PendingAppend[];
  outcomes: Outcome[];
  undo: GroupUndo;
  /** Log head once it is committed. */
  head: number;
}

/**
 * The embedded EventStore: one SQLite file (WAL, synchronous=FULL).
 *
 * Appends are group-committed: everything appended during one event-loop turn is checked
 * against the in-memory state on this thread and written by the writer thread (writer-thread.ts)
 * in one transaction; every caller learns its outcome after the COMMIT. While one group waits
 * on its fsync the next one is checked and sent (it is checked against a state that includes
 * the groups still in flight; if one of them fails, the later ones are put back, checked again
 * and sent again), so this thread never waits on the disk.
 * The log table has no secondary index; the per-stream index and the event-id index are
 * derived from it lazily (as EventStoreDB builds its index after the log write):
 * - in memory: the last revision of every stream (complete, loaded on open), and the
 *   events after the index checkpoint (the tail: positions per stream, ids);
 * - on disk: stream_index / event_ids in the index file beside the log (`<file>.index`),
 *   written by a flush every indexFlushIntervalMs or indexFlushThreshold events, thousands of
 *   rows per transaction, with the checkpoint, by a thread of its own (commits never wait on it).
 * A crash loses no acknowledged event: on open the tail is rebuilt from the log after the checkpoint.
 * Another process may write the same file: its events are read into the in-memory state
 * before a group is checked when nothing is in flight, and a group sent while another process
 * moved the log's head is refused by the writer, then checked again after reading its events.
 */
export class SqliteEventStore implements EventStore {
  private readonly queue: GroupCommitQueue<PendingAppend>;
  private readonly subscriptions = new Set<LiveSubscription>();
  /** Last revision of every stream up to `head`. */
  private readonly revisions = new Map<string, number>();
  /** The events in (indexedPosition, head]. */
  private readonly tail = new IndexTail();
  /** Every id up to `head` (a superset): a new id is known new without probing event_ids. */
  private idFilter = new IdKeyFilter();
  /** Position of the last event in `revisions` / `tail`: committed, or in a group in flight. */
  private head = 0;
  /** Position of the last event known committed: what reads may return. */
  private committedHead = 0;
  /** The log's head was probed in this task of the event loop (catchUpIfMoved); a microtask clears it. */
  private headProbed = false;
  /** Pages of the log read in this task (logPage); a microtask clears them. */
  private keptPages: { projected: boolean; after: number; limit: number; rows: SQLOutputValue[][] }[] | undefined;
  /** Groups sent to the writer thread, oldest first; replies come back in this order. */
  private readonly inFlight: InFlightGroup[] = [];
  /** The events of the groups in flight, by position (an append repeating one is answered from here). */
  private readonly inFlightEvents = new Map<number, StoredEvent>();
  /** Requests of an older epoch are refused by the writer (see writer-thread.ts). */
  private epoch = 0;
  /** Callers of whenSettled(), woken when no group is in flight. */
  private settledWaiters: (() => void)[] = [];
  /** stream_index / event_ids cover the events up to here (this process's view). */
  private indexedPosition = 0;
  private flushing: Promise<boolean> | undefined;
  /** Set by close(): from then on appends are refused. */
  private closing: Promise<void> | undefined;
  private closed = false;
  private readonly counters: SqliteEventStoreStats = { commits: 0, appends: 0, events: 0, commitMillis: 0 };
  private readonly indexCounters = { flushes: 0, flushedEvents: 0, flushMillis: 0, indexerRestarts: 0, indexerFailure: undefined as string | undefined };
  private readonly clock: () => Date;
  private readonly flushThreshold: number;
  private readonly flushTimer: NodeJS.Timeout | undefined;

  private readonly selectByPosition: StatementSync;
  private readonly selectPositionsByIdKey: StatementSync;
  private readonly selectHead: StatementSync;
  private readonly selectAll: StatementSync;
  private readonly selectAllProjected: StatementSync;
  private readonly selectIndexedStream: StatementSync;
  private readonly selectAfter: StatementSync;
  private readonly selectCheckpoint: StatementSync;

  private constructor(
    private readonly db: DatabaseSync,
    private readonly writer: WriterThread,
    private indexer: WriterThread,
    /** Starts an index thread on the index file (open, and again if one dies). */
    private readonly startIndexer: () => Promise<WriterThread>,
    private readonly options: SqliteEventStoreOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.flushThreshold = options.indexFlushThreshold ?? DEFAULT_FLUSH_THRESHOLD;
    // With nothing in flight, half of what waits goes now and the rest next turn: two groups in
    // flight, so that one is checked here while the writer commits the other (with all writers
    // in one group, each side would wait for the other).
    const nextGroupSize = (pending: number): number => (this.inFlight.length === 0 && pending >= 16 ? Math.ceil(pending / 2) : pending);
    this.queue = new GroupCommitQueue((group) => this.commitGroup(group), options.maxGroupSize ?? 1000, nextGroupSize);
    const arrays = { returnArrays: true } as const;
    this.selectByPosition = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE position = ?`, arrays);
    this.selectPositionsByIdKey = db.prepare('SELECT position FROM idx.event_ids WHERE id_key = ?', arrays);
    this.selectHead = db.prepare('SELECT max(position) FROM events', arrays);
    this.selectAll = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ${BOUND_LIMIT}`, arrays);
    this.selectAllProjected = db.prepare(`SELECT ${PROJECTED_EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ${BOUND_LIMIT}`, arrays);
    // Only rows up to the checkpoint this process knows: the tail in memory covers the rest,
    // even if another process has flushed further meanwhile.
    this.selectIndexedStream = db.prepare(
      `SELECT ${EVENT_COLUMNS.split(', ').map((column) => `e.${column}`).join(', ')}
         FROM idx.stream_index s JOIN events e ON e.position = s.position
        WHERE s.stream_id = ? AND s.revision >= ? AND s.position <= ?
        ORDER BY s.revision LIMIT ${BOUND_LIMIT}`,
      arrays,
    );
    this.selectAfter = db.prepare('SELECT position, id, stream_id, revision FROM events WHERE position > ? ORDER BY position', arrays);
    this.selectCheckpoint = db.prepare('SELECT position FROM idx.index_checkpoint WHERE singleton = 1', arrays);
    this.loadIndexState();
    const interval = options.indexFlushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    if (interval > 0 && Number.isFinite(interval)) {
      this.flushTimer = setInterval(() => void this.flushIndex(), interval);
      this.flushTimer.unref();
    }
  }

  /** Opens (creating if needed) the store in the file at `path` and migrates its schema. */
  static async open(path: string, options: SqliteEventStoreOptions = {}): Promise<SqliteEventStore> {
    if (path === ':memory:') throw new StoreUnavailable('SqliteEventStore needs a file (its writer thread opens it too); MemoryEventStore keeps events in memory');
    const flushThreshold = options.indexFlushThreshold ?? DEFAULT_FLUSH_THRESHOLD;
    if (!Number.isSafeInteger(flushThreshold) || flushThreshold < 1) throw new RangeError('indexFlushThreshold must be a positive integer');
    mkdirSync(dirname(path), { recursive: true });
    let db: DatabaseSync | undefined;
    let writer: WriterThread | undefined;
    let indexer: WriterThread | undefined;
    try {
      const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
      db = new DatabaseSync(path, { timeout: busyTimeoutMs });
      switchToWal(db, busyTimeoutMs);
      db.exec('PRAGMA synchronous = FULL');
      migrate(db);
      const indexFile = indexFileOf(path);
      prepareIndexFile(db, indexFile, busyTimeoutMs);
      // This connection only reads from here on: the threads write.
      db.prepare('ATTACH DATABASE ? AS idx').run(indexFile);
      writer = await WriterThread.start('log', path, busyTimeoutMs, options.faultModule, path);
      const startIndexer = () => WriterThread.start('index', indexFile, busyTimeoutMs, options.faultModule, path);
      indexer = await startIndexer();
      return new SqliteEventStore(db, writer, indexer, startIndexer, options);
    } catch (error) {
      if (db?.isOpen) db.close();
      await writer?.close();
      await indexer?.close();
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
      // Events of groups in flight are not acknowledged yet: not for readers.
      if (indexed.length >= limit || position > this.committedHead) break;
      indexed.push(this.eventAt(position)!);
    }
    return indexed;
  }
  /** With `metadata: false`, the metadata column is neither read nor parsed (projections replay faster). */
  async readAll<M extends boolean = true>(options: ReadAllOptions & MetadataOption<M> = {}): Promise<EventsWith<M>[]> {
    this.assertReadable();
    const after = nonNegative('after', options.after);
    const limit = pageSize(options.maxCount);
    const projected = options.metadata === false;
    const rows = this.logPage(projected, after, limit);
    return rows.map(projected ? rowToProjectedEvent : rowToEvent) as EventsWith<M>[];
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
    const position = this.tail.positionOf(eventId);
    if (position !== undefined && position > this.committedHead) return undefined; // in flight: not acknowledged yet
    return this.findById(eventId);
  }

  async headPosition(): Promise<number> {
    this.assertReadable();
    const head = this.readHead();
    this.sawPosition(head);
    return head;
  }

  /** From memory (every stream's last revision, groups in flight included), after catching up with other processes. */
  async streamRevision(streamId: string): Promise<number> {
    this.assertReadable();
    this.catchUpIfMoved();
    return this.revisions.get(streamId) ?? NO_STREAM;
  }

  subscribeToAll<M extends boolean = true>(handler: AllHandler<EventsWith<M>>, options: SubscribeOptions & MetadataOption<M>): Subscription {
    // Refused while closing too: close() has already chosen which subscriptions to stop.
    if (this.closing !== undefined) throw new StoreUnavailable('the event store is closed');
    const metadata = options.metadata;
    const subscription = new CatchUpSubscription<EventsWith<M>>((after, maxCount) => this.readAll<M>({ after, maxCount, ...(metadata === undefined ? {} : { metadata }) }), handler, {
      ...options,
      pollIntervalMs: this.options.pollIntervalMs ?? 100,
      onEnd: (ended) => this.subscriptions.delete(ended),
    });
    this.subscriptions.add(subscription);
    return subscription;
  }

  writeFailure(): string | undefined {
    return this.writer.failure;
  }

  stats(): SqliteEventStoreStats {
    return { ...this.counters };
  }

  indexStats(): SqliteEventStoreIndexStats {
    return { indexedPosition: this.indexedPosition, unindexedEvents: this.tail.size, ...this.indexCounters };
  }

  /**
   * Has the writer thread write the tail to stream_index / event_ids in one transaction, with
   * the checkpoint. Runs by itself (timer, size, close); safe to call any time (a call while
   * one runs gets that one). A failed flush changes nothing and is retried by the next one.
   * Resolves to whether the index then covers every event this process knew when it started.
   */
  flushIndex(): Promise<boolean> {
    if (this.closed) return Promise.resolve(this.tail.size === 0);
    this.flushing ??= this.writeIndex().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** Commits what is queued, stops the subscriptions, flushes the index, then closes the file. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    // A group put back after a failure is queued again: wait until both are empty.
    while (this.queue.pending > 0 || this.inFlight.length > 0) {
      await this.queue.drained();
      await this.whenSettled();
    }
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    if (this.flushTimer !== undefined) clearInterval(this.flushTimer);
    await this.flushing;
    await this.flushIndex();
    this.closed = true;
    await this.writer.close();
    await this.indexer.close();
    this.db.close();
  }

  private whenSettled(): Promise<void> {
    if (this.inFlight.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  private *iterateLog<T>(options: ReadAllOptions, toEvent: (row: SQLOutputValue[]) => T): Generator<T, void, undefined> {
    let after = nonNegative('after', options.after);
    // 1000 measured faster than 10,000: big pages cost more in GC than they save in calls.
    const limit = pageSize(options.maxCount);
    for (;;) {
      this.assertReadable();
      const rows = this.selectAll.all(after, limit) as unknown as SQLOutputValue[][];
      if (rows.length > 0) this.sawPosition(rows[rows.length - 1]![0] as number);
      for (const row of rows) yield toEvent(row);
      if (rows.length < limit) return;
      after = rows[rows.length - 1]![0] as number;
    }
  }

  /**
   * Checks a group against the state (the groups in flight included), applies it to the state
   * and sends its rows to the writer thread. The callers are answered when the writer replies.
   */
  private commitGroup(group: PendingAppend[]): void {
    const failure = this.writer.failure;
    if (failure !== undefined) {
      const error = new StoreUnavailable(`${failure}: appends are refused until the store is opened again`);
      for (const pending of group) pending.reject(error);
      return;
    }
    let undo: GroupUndo | undefined;
    const outcomes: Outcome[] = [];
    const rows: (string | number)[] = [];
    try {
      // With groups in flight the file's head is ours to move; the writer tells if another process moved it.
      if (this.inFlight.length === 0) this.catchUpIfMoved();
      undo = { head: this.head, revisions: new Map(), written: [] };
      const recordedAt = this.clock().toISOString();
      for (const pending of group) outcomes.push(this.applyAppend(pending.request, recordedAt, undo, rows));
    } catch (error) {
      if (undo !== undefined) this.undoGroup(undo);
      const failed = new StoreUnavailable(`the log cannot be read, nothing of this append is stored: ${messageOf(error)}`, error);
      for (const pending of group) pending.reject(failed);
      return;
    }
    const entry: InFlightGroup = { group, outcomes, undo, head: this.head };
    this.inFlight.push(entry);
    void this.writer.send({ kind: 'commit', epoch: this.epoch, expectedHead: undo.head, rows }).then((reply) => this.settle(entry, reply));
  }

  /** The writer's reply to the oldest group in flight. */
  private settle(entry: InFlightGroup, reply: WriterReply | WriterLost): void {
    if (this.inFlight[0] !== entry) return; // put back after an earlier group failed: its reply is `stale`
    if (reply.outcome !== 'ok') {
      this.abandonInFlight(reply);
      return;
    }
    this.inFlight.shift();
    for (let position = this.committedHead + 1; position <= entry.head; position++) this.inFlightEvents.delete(position);
    this.committedHead = entry.head;
    this.counters.commits++;
    this.counters.commitMillis += reply.millis ?? 0;
    let written = false;
    for (const [index, pending] of entry.group.entries()) {
      const outcome = entry.outcomes[index]!;
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
    if (this.tail.size >= this.flushThreshold && this.flushing === undefined) void this.flushIndex();
    if (this.inFlight.length === 0) {
      const waiters = this.settledWaiters;
      this.settledWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /**
   * The oldest group in flight was not committed: every group in flight is taken back (the
   * later ones were checked against it; the writer refuses them), the state is put back to the
   * file's, and the groups are queued again, except when the outcome is a failure to report.
   */
  private abandonInFlight(reply: Exclude<WriterReply | WriterLost, { outcome: 'ok' }>): void {
    const groups = this.inFlight.splice(0);
    this.epoch++;
    for (let k = groups.length - 1; k >= 0; k--) this.undoGroup(groups[k]!.undo);
    const again: PendingAppend[] = [];
    if (reply.outcome === 'lost') {
      // The writer died: any of these groups may or may not be on disk. Retrying an append is safe
      // (its ids make it idempotent), so the callers are told to, and the file is read again.
      const error = new StoreUnavailable(`${reply.message}: the outcome of this append is unknown; retry it (appends are idempotent)`);
      for (const { group } of groups) for (const pending of group) pending.reject(error);
    } else {
      const [first, ...later] = groups;
      // Another process moved the head (`moved`): not an error, the group is checked again after reading its events.
      if (reply.outcome === 'failed') {
        const error = new StoreUnavailable(`commit failed, nothing of this append is stored: ${reply.message}`);
        for (const pending of first!.group) pending.reject(error);
      } else again.push(...first!.group);
      for (const { group } of later) again.push(...group);
    }
    try {
      this.catchUp();
    } catch {
      // read again before the next group (catchUpIfMoved)
    }
    this.queue.requeueFront(again);
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Validates one append against the state left by the appends before it (in the group and
   * in flight), applies it and adds its rows. Its ids are looked up in the tail (a Map) and,
   * when the Bloom filter cannot rule them out, in event_ids (one B-tree probe).
   */
  private applyAppend(request: AppendRequest, recordedAt: string, undo: GroupUndo, rows: (string | number)[]): Outcome {
    const { streamId, events, expectedRevision } = request;
    const current = this.revisions.get(streamId) ?? NO_STREAM;
    // Each id's event_ids key, computed once: for the lookups below and the Bloom filter.
    const keys = events.map((event) => idKey(event.id));
    const firstIsStored = this.positionOfId(events[0]!.id, keys[0]!) !== undefined;
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
      if (this.positionOfId(event.id, keys[index]!) !== undefined) {
        return { error: new IdempotencyConflict(streamId, event.id, 'is stored but the first id of the append is new') };
      }
    }

    if (!undo.revisions.has(streamId)) undo.revisions.set(streamId, this.revisions.get(streamId));
    const stored: StoredEvent[] = [];
    for (const [index, event] of events.entries()) {
      const position = this.head + index + 1;
      const revision = current + index + 1;
      rows.push(position, event.id, streamId, revision, event.type, event.version, event.occurredAt, recordedAt, event.dataJson, event.metadataJson);
      this.tail.add(streamId, revision, event.id, position, keys[index]!);
      this.idFilter.add(keys[index]!);
      undo.written.push(event.id);
      const storedEvent: StoredEvent = {
        id: event.id,
        type: event.type,
        version: event.version,
        occurredAt: event.occurredAt,
        data: event.dataCopy ?? (JSON.parse(event.dataJson) as unknown),
        metadata: event.metadataCopy ?? (JSON.parse(event.metadataJson) as EventMetadata),
        streamId,
        revision,
        position,
        recordedAt,
      };
      this.inFlightEvents.set(position, storedEvent);
      stored.push(storedEvent);
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

  /** Puts the in-memory state back to what it was before a group was applied. */
  private undoGroup(undo: GroupUndo): void {
    for (let k = undo.written.length - 1; k >= 0; k--) this.tail.removeLast(undo.written[k]!);
    for (const [streamId, revision] of undo.revisions) {
      if (revision === undefined) this.revisions.delete(streamId);
      else this.revisions.set(streamId, revision);
    }
    for (let position = undo.head + 1; position <= this.head; position++) this.inFlightEvents.delete(position);
    this.head = undo.head;
  }

  /** The tail's committed events go to the index thread; those of groups in flight stay. */
  private async writeIndex(): Promise<boolean> {
    if (this.tail.size === 0) return true;
    try {
      if (this.inFlight.length === 0) this.catchUpIfMoved();
    } catch {
      return false;
    }
    const upTo = this.committedHead;
    if (upTo <= this.indexedPosition) return false; // all in flight: next time
    // Sorting and the id keys are the index thread's work: this thread only hands the rows over.
    const { streamRows, idRows, upToId } = this.tail.seal(upTo);
    const reply =
      upToId === undefined
        ? undefined
        : await this.indexer.send({ kind: 'flush', epoch: 0, upTo, upToId, streamRows, idRows });
    if (reply?.outcome !== 'ok') {
      this.tail.unseal();
      if (reply?.outcome === 'lost') await this.replaceIndexer();
      return false;
    }
    this.tail.release();
    this.indexedPosition = upTo;
    this.indexCounters.flushes++;
    this.indexCounters.flushedEvents += reply.indexRows ?? 0;
    this.indexCounters.flushMillis += reply.millis ?? 0;
    return this.tail.size === 0;
  }

  /**
   * The index thread is gone (crash, out of memory, killed): its flush never committed, so the
   * index file is as the last committed flush left it. A new thread takes over; the tail keeps
   * every event meanwhile, and the next flush writes it. If the thread cannot be started, the
   * reason is kept in indexStats() and the next flush tries again.
   */
  private async replaceIndexer(): Promise<void> {
    const dead = this.indexer;
    if (dead.failure === undefined || this.closing !== undefined) return;
    let next: WriterThread;
    try {
      next = await this.startIndexer();
    } catch (error) {
      this.indexCounters.indexerFailure = `${dead.failure}; starting a new index thread failed: ${messageOf(error)}`;
      return;
    }
    if (this.closing !== undefined) return void (await next.close());
    this.indexer = next;
    this.indexCounters.indexerRestarts++;
    this.indexCounters.indexerFailure = undefined;
    await dead.close();
  }

  /** On open: the last revision of every indexed stream, then the log after the checkpoint. */
  private loadIndexState(): void {
    this.db.exec('BEGIN');
    try {
      const [checkpoint] = this.selectCheckpoint.get() as unknown as [number];
      const lastRevisions = this.db.prepare('SELECT stream_id, max(revision) FROM idx.stream_index GROUP BY stream_id', { returnArrays: true });
      for (const [streamId, revision] of lastRevisions.iterate() as unknown as Iterable<[string, number]>) this.revisions.set(streamId, revision);
      const [indexedIds] = this.db.prepare('SELECT count(*) FROM idx.event_ids', { returnArrays: true }).get() as unknown as [number];
      this.idFilter = new IdKeyFilter(Math.max(1 << 16, indexedIds * 2));
      for (const [key] of this.db.prepare('SELECT id_key FROM idx.event_ids', { returnArrays: true }).iterate() as unknown as Iterable<[number]>) this.idFilter.add(key);
      this.indexedPosition = checkpoint;
      this.head = checkpoint;
      this.committedHead = checkpoint;
      this.catchUp();
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Reads the events after `head` (appended by another process, or before a crash) into memory. Nothing may be in flight. */
  private catchUp(): void {
    const rows = this.selectAfter.all(this.head) as unknown as [number, string, string, number][];
    if (rows.length > 0) this.keptPages = undefined; // another process moved the log past the pages read in this task
    for (const [position, id, streamId, revision] of rows) {
      const key = idKey(id);
      this.tail.add(streamId, revision, id, position, key);
      this.idFilter.add(key);
      this.revisions.set(streamId, revision);
      this.head = position;
    }
    this.committedHead = this.head;
  }

  /**
   * Another process may have appended since we last looked: one probe of the log's last rowid,
   * not repeated until the microtasks queued before it have run, all in the same task of the
   * event loop. What another process acknowledged before a request reached this one was
   * committed before the task that reads for it began, so a probe made earlier in that task has
   * seen it. (A connection writing synchronously on this very thread would be seen a task
   * later; the ledger has none.)
   */
  private catchUpIfMoved(): void {
    // With groups in flight the file's head may be ours, committed before its reply arrived.
    if (this.inFlight.length !== 0 || this.headProbed) return;
    if (this.readHead() !== this.head) this.catchUp();
    this.headProbed = true;
    queueMicrotask(this.endHeadProbe);
  }

  private readonly endHeadProbe = (): void => {
    this.headProbed = false;
  };

  /**
   * The rows of one page of the log. The subscriptions a commit wakes (read models, audit
   * chain, relay) ask for the same page in the same task: its rows are read once and kept
   * until the microtasks queued meanwhile have run; each caller still makes its own events
   * from them. Another process's later commit is then read a task later, as with the head probe.
   */
  private logPage(projected: boolean, after: number, limit: number): SQLOutputValue[][] {
    const kept = this.keptPages?.find((page) => page.projected === projected && page.after === after && page.limit === limit);
    if (kept !== undefined) return kept.rows;
    const rows = (projected ? this.selectAllProjected : this.selectAll).all(after, limit) as unknown as SQLOutputValue[][];
    if (rows.length > 0) this.sawPosition(rows[rows.length - 1]![0] as number);
    if (this.keptPages === undefined) {
      this.keptPages = [];
      queueMicrotask(this.forgetPages);
    }
    this.keptPages.push({ projected, after, limit, rows });
    return rows;
  }

  private readonly forgetPages = (): void => {
    this.keptPages = undefined;
  };

  /**
   * A read of the file itself found the log at `position`: past what this process knows, the
   * next read probes again even in this task and pages kept in it are read again, so that no
   * read in it lags behind another.
   */
  private sawPosition(position: number): void {
    if (position <= this.head) return;
    this.headProbed = false;
    this.keptPages = undefined; // behind the log now
  }

  private positionOfId(eventId: string, key: number): number | undefined {
    const position = this.tail.positionOf(eventId, key);
    if (position !== undefined) return position;
    if (!this.idFilter.mightContain(key)) return undefined;
    const candidates = this.selectPositionsByIdKey.all(key) as unknown as [number][];
    if (candidates.length === 0) return undefined;
    return this.findIndexed(eventId, candidates)?.position;
  }

  /** The event with this id, from the file or, if its group is in flight, from memory. */
  private findById(eventId: string): StoredEvent | undefined {
    const key = idKey(eventId);
    const position = this.tail.positionOf(eventId, key);
    if (position !== undefined) return position > this.committedHead ? this.inFlightEvents.get(position) : this.eventAt(position);
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
