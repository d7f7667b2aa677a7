import type { AllStreamSubscription, AppendStreamState, EventData, Filter, JSONType, KurrentDBClient, ReadPosition } from '@kurrent/kurrentdb-client';
import { toAppendRequest, type AppendRequest, type SerializedEvent } from '../append-request';
import { CatchUpSubscription, type LiveSubscription } from '../catch-up-subscription';
import { EventStoreError, IdempotencyConflict, InvalidAppend, StoreUnavailable, WrongExpectedRevision } from '../errors';
import type {
  AllHandler,
  AppendOptions,
  AppendResult,
  EventStore,
  EventsWith,
  MetadataOption,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  StoredEvent,
  SubscribeOptions,
  Subscription,
} from '../event-store';
import { matchEarlierAppend } from '../idempotency';
import { nonNegative, pageSize } from '../read-limits';
import { trimLeastRecentlyUsed } from '../recently-used';
import { fromEventStoreDbRecord, toEventStoreDbEvent, type EventStoreDbRecord } from './event-envelope';
import { loadKurrent, type Kurrent } from './kurrent-client';
import type { LogPosition } from './log-position';
import { numberFrom, OrdinalIndex, type SeekPoint } from './ordinal-index';

export interface EventStoreDbEventStoreOptions {
  /**
   * Put before every stream id in EventStoreDB (`<namespace>device-42`); '' keeps the
   * ledger's names as they are. With a namespace, the $all filter is the namespace; several
   * ledgers (or test runs) can then share one EventStoreDB without seeing each other.
   */
  namespace?: string;
  /**
   * The stream-id prefixes the ledger writes (device-, ca-, detector-, audit-…). Without a
   * namespace they are the $all filter, and an append to any other stream is refused: an
   * event the filter would not read back would break the numbering of the log.
   */
  streamPrefixes?: readonly string[];
  /**
   * Source of recordedAt, kept in the event's metadata. Unset (production): EventStoreDB's
   * own commit time. A migration sets it to keep the recordedAt of the copied log.
   */
  clock?: () => Date;
  /** Re-read $all this often when a subscription is idle (a live EventStoreDB subscription wakes it sooner). */
  pollIntervalMs?: number;
}

/** Page size of the reads that extend the ordinal index. */
const CATCH_UP_PAGE = 4096;
/** Recently read events kept decoded, so an append answers without reading its events back. */
const RECENT_EVENTS = 20_000;
const NAMESPACE = /^([A-Za-z0-9][\x21-\x7e]{0,63})?$/;

const message = (error: unknown): string => (error instanceof Error ? error.message || error.name : String(error));
/** The connection string without its password, for messages. */
const redact = (connectionString: string): string => connectionString.replace(/\/\/[^@/]*@/, '//***@');

/** Anything EventStoreDB or the network throws, as one of the port's typed errors. */
const toStoreError = (kurrent: Kurrent, error: unknown, what: string): Error => {
  if (error instanceof EventStoreError) return error;
  if (error instanceof kurrent.MaxAppendSizeExceededError) return new InvalidAppend(`${what}: larger than the server's maximum append size (${message(error)})`);
  return new StoreUnavailable(`EventStoreDB ${what} failed: ${message(error)}`, error);
};

const toStreamState = (expected: ExpectedRevision): AppendStreamState => (typeof expected === 'number' ? BigInt(expected) : expected);

const toEventData = (kurrent: Kurrent, event: SerializedEvent, recordedAt: string | undefined): EventData => {
  const { id, type, data, metadata } = toEventStoreDbEvent(event, recordedAt);
  return kurrent.jsonEvent({ id, type, data: data as JSONType, metadata });
};

interface LogRecord {
  record: EventStoreDbRecord;
  position: LogPosition;
}

/**
 * The EventStore port on EventStoreDB / KurrentDB (@kurrent/kurrentdb-client).
 *
 * Streams are EventStoreDB streams: EventStoreDB checks the expected revision of each
 * append itself, so concurrent writers (API replicas) are safe. The ledger's positions are
 * gap-free ordinals (1, 2, 3, …) that the projections, the relay and the audit chain rely
 * on; EventStoreDB's $all positions (commit, prepare) are byte offsets with gaps. The
 * ordinal of an event is its rank among the ledger's events in $all (see OrdinalIndex):
 * deterministic, so every replica numbers the log alike and checkpoints taken on one are
 * valid on another. Event ids are checked against the index before an append, which gives
 * the port's idempotency (repeat → first answer; partial repeat → IdempotencyConflict)
 * whatever the expected revision, where EventStoreDB's own dedupe is best effort.
 */
export class EventStoreDbEventStore implements EventStore {
  private readonly index = new OrdinalIndex();
  private readonly recent = new Map<string, StoredEvent>();
  private readonly subscriptions = new Set<LiveSubscription>();
  private readonly streamQueues = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly filter: Filter;
  private readonly prefixes: readonly string[];
  private readonly pollIntervalMs: number;
  private catchingUp: Promise<void> | undefined;
  private queuedCatchUp: Promise<void> | undefined;
  private live: AllStreamSubscription | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly kurrent: Kurrent,
    private readonly client: KurrentDBClient,
    private readonly namespace: string,
    streamPrefixes: readonly string[],
    pollIntervalMs: number,
    private readonly clock: (() => Date) | undefined,
  ) {
    this.prefixes = namespace === '' ? streamPrefixes : [namespace];
    this.filter = kurrent.streamNameFilter({ prefixes: [...this.prefixes] });
    this.pollIntervalMs = pollIntervalMs;
  }

  /**
   * Connects (kurrentdb://, esdb:// or their +discover forms) and counts the ledger's
   * events in $all once. Throws StoreUnavailable when the server cannot be reached.
   */
  static async open(connectionString: string, options: EventStoreDbEventStoreOptions = {}): Promise<EventStoreDbEventStore> {
    const namespace = options.namespace ?? '';
    if (!NAMESPACE.test(namespace)) throw new RangeError(`namespace is invalid: ${JSON.stringify(namespace)}`);
    const streamPrefixes = options.streamPrefixes ?? [];
    if (namespace === '' && (streamPrefixes.length === 0 || streamPrefixes.some((prefix) => prefix.length === 0))) {
      throw new RangeError('without a namespace, streamPrefixes must name the stream prefixes the ledger writes');
    }
    const kurrent = loadKurrent();
    let client: KurrentDBClient;
    try {
      client = kurrent.KurrentDBClient.connectionString(connectionString);
    } catch (error) {
      throw new StoreUnavailable(`EventStoreDB connection string is invalid: ${message(error)}`, error);
    }
    const store = new EventStoreDbEventStore(kurrent, client, namespace, streamPrefixes, options.pollIntervalMs ?? 500, options.clock);
    try {
      await store.catchUp();
    } catch (error) {
      await client.dispose().catch(() => undefined);
      if (error instanceof EventStoreError && !(error instanceof StoreUnavailable)) throw error;
      throw new StoreUnavailable(`cannot read EventStoreDB at ${redact(connectionString)}: ${message(error)}`, error);
    }
    return store;
  }

  append(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult> {
    let request: AppendRequest;
    try {
      this.assertOpen();
      request = toAppendRequest(streamId, events, options?.expectedRevision);
      if (!this.isLedgerStream(this.namespace + request.streamId)) {
        throw new InvalidAppend(`stream ${request.streamId} does not start with one of ${this.prefixes.join(', ')}`);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    // Appends to one stream run in call order, each after the one before (the port's promise).
    const run = () => this.appendNow(request);
    const previous = this.streamQueues.get(streamId) ?? Promise.resolve();
    const result = previous.then(run, run);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.streamQueues.set(streamId, settled);
    this.inFlight.add(settled);
    void settled.then(() => {
      this.inFlight.delete(settled);
      if (this.streamQueues.get(streamId) === settled) this.streamQueues.delete(streamId);
    });
    return result;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    this.assertOpen();
    const from = nonNegative('fromRevision', options.fromRevision);
    const maxCount = options.maxCount === undefined ? Number.MAX_SAFE_INTEGER : pageSize(options.maxCount);
    const records: EventStoreDbRecord[] = [];
    try {
      const reading = this.client.readStream(this.namespace + streamId, {
        fromRevision: BigInt(from),
        maxCount,
        direction: 'forwards',
        requiresLeader: true,
      });
      for await (const resolved of reading) if (resolved.event !== undefined) records.push(resolved.event as EventStoreDbRecord);
    } catch (error) {
      if (error instanceof this.kurrent.StreamNotFoundError) return [];
      throw toStoreError(this.kurrent, error, `read of stream ${streamId}`);
    }
    await this.countUntilIndexed(records.map((record) => record.id));
    return records.map((record) => {
      const ordinal = this.index.ordinalOf(record.id);
      if (ordinal === undefined) throw new StoreUnavailable(`event ${record.id} of stream ${streamId} is not in $all yet`);
      return fromEventStoreDbRecord(record, this.namespace, ordinal);
    });
  }

  /** Whole events whatever `metadata` says (a StoredEvent is a ProjectedEvent): the server sends both anyway. */
  async readAll<M extends boolean = true>(options: ReadAllOptions & MetadataOption<M> = {}): Promise<EventsWith<M>[]> {
    this.assertOpen();
    const after = nonNegative('after', options.after);
    const maxCount = pageSize(options.maxCount);
    await this.catchUpNow();
    return (await this.readLog(after, maxCount)) as EventsWith<M>[];
  }

  async getEvent(eventId: string): Promise<StoredEvent | undefined> {
    this.assertOpen();
    await this.catchUpNow();
    if (this.index.ordinalOf(eventId) === undefined) return undefined;
    const [event] = await this.storedEvents([eventId]);
    return event;
  }

  async headPosition(): Promise<number> {
    this.assertOpen();
    await this.catchUpNow();
    return this.index.head;
  }

  subscribeToAll<M extends boolean = true>(handler: AllHandler<EventsWith<M>>, options: SubscribeOptions & MetadataOption<M>): Subscription {
    this.assertOpen();
    const subscription = new CatchUpSubscription<EventsWith<M>>(
      async (after, maxCount) => {
        await this.catchUpNow();
        return (await this.readLog(after, maxCount)) as EventsWith<M>[];
      },
      handler,
      { ...options, pollIntervalMs: this.pollIntervalMs, onEnd: (ended) => this.subscriptions.delete(ended) },
    );
    this.subscriptions.add(subscription);
    this.listenLive();
    return subscription;
  }

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      // Appends made before close are stored and answered; later ones are refused (assertOpen).
      await Promise.allSettled([...this.inFlight]);
      await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
      const live = this.live;
      this.live = undefined;
      await live?.unsubscribe().catch(() => undefined);
      await this.client.dispose().catch(() => undefined);
    })();
    return this.closing;
  }

  private async appendNow({ streamId, events, expectedRevision }: AppendRequest): Promise<AppendResult> {
    await this.catchUpNow();
    const repeated = await this.earlierAppend(streamId, events);
    if (repeated !== undefined) return repeated;
    const recordedAt = this.clock?.().toISOString();
    try {
      await this.client.appendToStream(this.namespace + streamId, events.map((event) => toEventData(this.kurrent, event, recordedAt)), {
        streamState: toStreamState(expectedRevision),
      });
    } catch (error) {
      if (!(error instanceof this.kurrent.WrongExpectedVersionError)) throw toStoreError(this.kurrent, error, `append to ${streamId}`);
      // Another writer may have stored these very ids in the meantime: that is a repeat, not a conflict.
      await this.catchUpNow();
      const raced = await this.earlierAppend(streamId, events);
      if (raced !== undefined) return raced;
      throw new WrongExpectedRevision(streamId, expectedRevision, await this.lastRevision(streamId));
    }
    await this.countUntilIndexed(events.map((event) => event.id));
    const stored = await this.storedEvents(events.map((event) => event.id));
    return { streamId, nextExpectedRevision: stored[stored.length - 1]!.revision, events: stored, duplicate: false };
  }

  /** The first answer when the append repeats an earlier one; undefined when its ids are new; IdempotencyConflict otherwise. */
  private async earlierAppend(streamId: string, events: readonly SerializedEvent[]): Promise<AppendResult | undefined> {
    const known = events.filter((event) => this.index.ordinalOf(event.id) !== undefined);
    if (known.length === 0) return undefined;
    if (this.index.ordinalOf(events[0]!.id) === undefined) {
      throw new IdempotencyConflict(streamId, known[0]!.id, 'is stored but the first id of the append is new');
    }
    const stored = new Map((await this.storedEvents(known.map((event) => event.id))).map((event) => [event.id, event]));
    const earlier = matchEarlierAppend(streamId, events, (id) => stored.get(id));
    return { streamId, nextExpectedRevision: earlier[earlier.length - 1]!.revision, events: earlier, duplicate: true };
  }

  /** The stored events of indexed ids, in the order given: from the recent cache, else read from $all. */
  private async storedEvents(eventIds: readonly string[]): Promise<StoredEvent[]> {
    const ordinals = eventIds.map((id) => {
      const ordinal = this.index.ordinalOf(id);
      if (ordinal === undefined) throw new StoreUnavailable(`event ${id} was stored but is not in $all yet`);
      return ordinal;
    });
    const missing = eventIds.filter((id) => !this.recent.has(id));
    const fetched = new Map<number, StoredEvent>();
    if (missing.length > 0) {
      const low = Math.min(...ordinals);
      const high = Math.max(...ordinals);
      // The ids of one append are contiguous in $all: one read; otherwise one read per event.
      const ranges: Array<[number, number]> = high - low < eventIds.length ? [[low, high]] : ordinals.map((o): [number, number] => [o, o]);
      for (const [from, to] of ranges) for (const event of await this.readLog(from - 1, to - from + 1)) fetched.set(event.position, event);
    }
    return eventIds.map((id, index) => {
      const event = this.recent.get(id) ?? fetched.get(ordinals[index]!);
      if (event === undefined || event.id !== id) throw new StoreUnavailable(`event ${id} could not be read back from $all`);
      return structuredClone(event);
    });
  }

  /** Events after ordinal `after` (at most maxCount, up to the counted head), read from the nearest mark of $all. */
  private async readLog(after: number, maxCount: number): Promise<StoredEvent[]> {
    const wanted = Math.min(maxCount, this.index.head - after);
    const events: StoredEvent[] = [];
    if (wanted <= 0) return events;
    let from: SeekPoint = this.index.seek(after + 1);
    while (events.length < wanted) {
      // Enough to reach the last wanted ordinal whether the read includes its start or not.
      const page = await this.readRaw(from.position, Math.max(1, after + wanted - from.ordinal + 1));
      const numbered = numberFrom(from, page);
      for (const { ordinal, event } of numbered) {
        if (ordinal === after + events.length + 1 && events.length < wanted) {
          events.push(fromEventStoreDbRecord(event.record, this.namespace, ordinal));
        }
      }
      const last = numbered[numbered.length - 1];
      if (last === undefined || last.ordinal <= from.ordinal) throw new StoreUnavailable(`$all ended before position ${after + wanted}`);
      from = { ordinal: last.ordinal, position: last.event.position };
    }
    return events;
  }

  /** A forward read of $all, filtered to the ledger's streams on the server and checked again here. */
  private async readRaw(from: ReadPosition, maxCount: number): Promise<LogRecord[]> {
    const records: LogRecord[] = [];
    try {
      const reading = this.client.readAll({ fromPosition: from, maxCount, direction: 'forwards', filter: this.filter, requiresLeader: true });
      for await (const resolved of reading) {
        const record = resolved.event;
        if (record === undefined || !this.isLedgerStream(record.streamId)) continue;
        // Servers before 22.6 give no per-event $all position: the numbering cannot work on them.
        if (record.position === undefined) throw new StoreUnavailable('EventStoreDB gave an event of $all without its position: the server is older than 22.6');
        records.push({ record: record as EventStoreDbRecord, position: record.position });
      }
    } catch (error) {
      throw toStoreError(this.kurrent, error, 'read of $all');
    }
    return records;
  }

  /**
   * Catches up until every id is counted: a pass ends on a short page, and a server-side
   * filtered read may hand back a short page before the end of $all, so a few passes are allowed.
   */
  private async countUntilIndexed(eventIds: readonly string[]): Promise<void> {
    for (let pass = 0; pass < 5 && eventIds.some((id) => this.index.ordinalOf(id) === undefined); pass++) await this.catchUpNow();
  }

  /** Counts what $all holds past the index; a caller gets a pass that started after its call. */
  private catchUpNow(): Promise<void> {
    if (this.catchingUp === undefined) {
      this.catchingUp = this.catchUp().finally(() => (this.catchingUp = undefined));
      return this.catchingUp;
    }
    this.queuedCatchUp ??= this.catchingUp
      .catch(() => undefined)
      .then(() => {
        this.queuedCatchUp = undefined;
        return this.catchUpNow();
      });
    return this.queuedCatchUp;
  }

  private async catchUp(): Promise<void> {
    for (;;) {
      const page = await this.readRaw(this.index.tail ?? 'start', CATCH_UP_PAGE);
      for (const { record, position } of page) {
        const ordinal = this.index.add(record.id, position);
        if (ordinal !== undefined) this.remember(record, ordinal);
      }
      if (page.length < CATCH_UP_PAGE) return;
    }
  }

  private remember(record: EventStoreDbRecord, ordinal: number): void {
    let event: StoredEvent;
    try {
      event = fromEventStoreDbRecord(record, this.namespace, ordinal);
    } catch {
      return; // counted all the same (every reader counts it); reading it answers ForeignEvent
    }
    this.recent.set(event.id, event);
    trimLeastRecentlyUsed(this.recent, RECENT_EVENTS);
  }

  private async lastRevision(streamId: string): Promise<number | 'no_stream'> {
    try {
      for await (const resolved of this.client.readStream(this.namespace + streamId, { direction: 'backwards', fromRevision: 'end', maxCount: 1, requiresLeader: true })) {
        if (resolved.event !== undefined) return Number(resolved.event.revision);
      }
      return 'no_stream';
    } catch (error) {
      if (error instanceof this.kurrent.StreamNotFoundError) return 'no_stream';
      throw toStoreError(this.kurrent, error, `read of stream ${streamId}`);
    }
  }

  /** One live subscription per store wakes the catch-up subscriptions as soon as a ledger event is committed. */
  private listenLive(): void {
    if (this.live !== undefined || this.closed) return;
    try {
      const live = this.client.subscribeToAll({ fromPosition: 'end', filter: this.filter });
      live.on('data', () => {
        for (const subscription of this.subscriptions) subscription.notify();
      });
      // Without it the subscriptions still poll; the next subscribeToAll tries again.
      live.on('error', () => {
        if (this.live === live) this.live = undefined;
      });
      this.live = live;
    } catch {
      this.live = undefined;
    }
  }

  /** True for an EventStoreDB stream name (namespace included) that the $all filter reads back. */
  private isLedgerStream(eventStoreDbStream: string): boolean {
    return this.prefixes.some((prefix) => eventStoreDbStream.startsWith(prefix));
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailable('the event store is closed');
  }
}
