import { toAppendRequest, type AppendRequest } from '../append-request';
import { CatchUpSubscription, type LiveSubscription } from '../catch-up-subscription';
import { IdempotencyConflict, StoreUnavailable } from '../errors';
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
  SubscribeOptions,
  Subscription,
} from '../event-store';
import { assertExpectedRevision, NO_STREAM } from '../expected-revision';
import { matchEarlierAppend } from '../idempotency';
import { nonNegative, pageSize } from '../read-limits';

export interface MemoryEventStoreOptions {
  /** Source of recordedAt; the wall clock by default. */
  clock?: () => Date;
}

/**
 * The EventStore in a process's memory: for unit tests and tools. Events go through the
 * same JSON round trip as in the durable adapters, so what a test reads back is what
 * production would read back. Callers get copies; the log cannot be mutated from outside.
 */
export class MemoryEventStore implements EventStore {
  private readonly log: StoredEvent[] = [];
  private readonly byId = new Map<string, StoredEvent>();
  private readonly streams = new Map<string, StoredEvent[]>();
  private readonly subscriptions = new Set<LiveSubscription>();
  private readonly clock: () => Date;
  private closed = false;

  constructor(options: MemoryEventStoreOptions = {}) {
    this.clock = options.clock ?? (() => new Date());
  }

  async append(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult> {
    this.assertOpen();
    const result = this.apply(toAppendRequest(streamId, events, options?.expectedRevision));
    if (!result.duplicate) for (const subscription of this.subscriptions) subscription.notify();
    return structuredClone(result);
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    this.assertOpen();
    const from = nonNegative('fromRevision', options.fromRevision);
    const stream = this.streams.get(streamId) ?? [];
    const end = options.maxCount === undefined ? stream.length : from + pageSize(options.maxCount);
    return structuredClone(stream.slice(from, end));
  }

  /** Whole events whatever `metadata` says (a StoredEvent is a ProjectedEvent): nothing to save here. */
  async readAll<M extends boolean = true>(options: ReadAllOptions & MetadataOption<M> = {}): Promise<EventsWith<M>[]> {
    this.assertOpen();
    const after = nonNegative('after', options.after);
    // Positions are 1-based and gap-free, so position p sits at index p - 1.
    return structuredClone(this.log.slice(after, after + pageSize(options.maxCount))) as EventsWith<M>[];
  }

  async getEvent(eventId: string): Promise<StoredEvent | undefined> {
    this.assertOpen();
    const event = this.byId.get(eventId);
    return event === undefined ? undefined : structuredClone(event);
  }

  async headPosition(): Promise<number> {
    this.assertOpen();
    return this.log.length;
  }

  async streamRevision(streamId: string): Promise<number> {
    this.assertOpen();
    return (this.streams.get(streamId)?.length ?? 0) - 1;
  }

  subscribeToAll<M extends boolean = true>(handler: AllHandler<EventsWith<M>>, options: SubscribeOptions & MetadataOption<M>): Subscription {
    this.assertOpen();
    const subscription = new CatchUpSubscription<EventsWith<M>>((after, maxCount) => this.readAll<M>({ after, maxCount }), handler, {
      ...options,
      pollIntervalMs: 1000,
      onEnd: (ended) => this.subscriptions.delete(ended),
    });
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
  }

  private apply({ streamId, events, expectedRevision }: AppendRequest): AppendResult {
    if (this.byId.has(events[0]!.id)) {
      const earlier = matchEarlierAppend(streamId, events, (id) => this.byId.get(id));
      return { streamId, nextExpectedRevision: earlier[earlier.length - 1]!.revision, events: earlier, duplicate: true };
    }
    const clash = events.find((event) => this.byId.has(event.id));
    if (clash !== undefined) throw new IdempotencyConflict(streamId, clash.id, 'is stored but the first id of the append is new');

    const stream = this.streams.get(streamId) ?? [];
    assertExpectedRevision(streamId, expectedRevision, stream.length === 0 ? NO_STREAM : stream.length - 1);
    const recordedAt = this.clock().toISOString();
    const stored = events.map(
      (event, index): StoredEvent => ({
        id: event.id,
        type: event.type,
        version: event.version,
        occurredAt: event.occurredAt,
        data: JSON.parse(event.dataJson) as unknown,
        metadata: JSON.parse(event.metadataJson) as EventMetadata,
        streamId,
        revision: stream.length + index,
        position: this.log.length + index + 1,
        recordedAt,
      }),
    );
    for (const event of stored) {
      this.log.push(event);
      this.byId.set(event.id, event);
      stream.push(event);
    }
    this.streams.set(streamId, stream);
    return { streamId, nextExpectedRevision: stream.length - 1, events: stored, duplicate: false };
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailable('the event store is closed');
  }
}
