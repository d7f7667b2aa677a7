/**
 * The EventStore port. Adapters: sqlite (embedded default), memory (unit tests),
 * eventstoredb (scale-out). One contract suite (testing/event-store-contract.ts) runs against each.
 */

export interface EventMetadata {
  commandId: string;
  causationId: string;
  correlationId: string;
  actor: string;
  /** Anything else an adapter must carry verbatim (e.g. request fingerprint). */
  [key: string]: unknown;
}

/** An event as a command handler hands it to the store. */
export interface NewEvent {
  /** Deterministic: derived from the command id, so a retried command writes once. */
  id: string;
  type: string;
  version: number;
  occurredAt: string;
  data: unknown;
  metadata: EventMetadata;
}

/** An event as the store gives it back. */
export interface StoredEvent extends NewEvent {
  streamId: string;
  /** 0-based revision inside its stream. */
  revision: number;
  /** 1-based position in the global log; strictly increasing, gap-free per adapter. */
  position: number;
  /** When the store made it durable (RFC 3339, ms). */
  recordedAt: string;
}

/**
 * A stored event without its metadata: what a projection folds. Metadata (actor, command,
 * correlation) is for audit and tracing; a reader that asks for events without it (`metadata:
 * false`) lets the store skip reading and parsing it. Adapters may still hand over the whole
 * StoredEvent (it is one); code typed with ProjectedEvent cannot read its metadata.
 */
export type ProjectedEvent = Omit<StoredEvent, 'metadata'>;

/** What a read or subscription gives: ProjectedEvent with `metadata: false`, else StoredEvent. */
export type EventsWith<M extends boolean> = M extends false ? ProjectedEvent : StoredEvent;

export interface MetadataOption<M extends boolean> {
  /** false: events without metadata (ProjectedEvent), for projections. Default true. */
  metadata?: M;
}

/**
 * A stored event with data and metadata as the JSON text the store holds (members in RFC 8785
 * order when the writer's value allowed it; see append-request.ts), not parsed: for readers
 * that hash or forward the bytes, such as the audit verifier.
 */
export interface StoredEventText extends Omit<StoredEvent, 'data' | 'metadata'> {
  dataJson: string;
  metadataJson: string;
}

/** Expected revision of the stream before the append (its last revision), or a state. */
export type ExpectedRevision = number | 'no_stream' | 'stream_exists' | 'any';

export interface AppendOptions {
  expectedRevision: ExpectedRevision;
}

export interface AppendResult {
  streamId: string;
  /** Revision of the last event of the stream after the append. */
  nextExpectedRevision: number;
  /** The stored events of this append (on a duplicate: those first written). */
  events: StoredEvent[];
  /** true when every event id was already stored: nothing was written this time. */
  duplicate: boolean;
}

export interface ReadStreamOptions {
  fromRevision?: number;
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Read events whose position is strictly greater than this (0 = from the start). */
  after?: number;
  maxCount?: number;
}

export interface Subscription {
  /** Resolves when the subscription has stopped and its handler will not be called again. */
  stop(): Promise<void>;
}

export type AllHandler<E extends ProjectedEvent = StoredEvent> = (events: E[]) => Promise<void> | void;

export interface SubscribeOptions {
  /** Deliver events whose position is strictly greater than this. */
  after: number;
  /** Max events per handler call. */
  batchSize?: number;
  /**
   * Called once when the handler throws (or the store fails); the subscription has then
   * stopped. Without it the error is reported as a process warning, never swallowed.
   */
  onError?: (error: unknown) => void;
}

export interface EventStore {
  append(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;
  readAll<M extends boolean = true>(options?: ReadAllOptions & MetadataOption<M>): Promise<EventsWith<M>[]>;
  /** Looks an event up by id (idempotency checks); undefined when absent. */
  getEvent(eventId: string): Promise<StoredEvent | undefined>;
  /** Position of the last stored event (0 when empty). */
  headPosition(): Promise<number>;
  /**
   * The revision an append to this stream is checked against now: its last event's (-1 when
   * the stream does not exist), appends by other processes included. Optional: an adapter
   * that can answer without reading the stream (from state it keeps) offers it, so that a
   * caller holding the stream's folded state at a revision can tell whether it is still current.
   */
  streamRevision?(streamId: string): Promise<number>;
  /**
   * Why appends are refused until the store is opened again, or undefined while it can write
   * (an adapter whose writer can be lost, e.g. the SQLite writer thread; reads may still work).
   */
  writeFailure?(): string | undefined;
  /**
   * Catch-up subscription to the global log: delivers stored events in order, then new
   * ones as they are committed. The handler is awaited before the next batch.
   */
  subscribeToAll<M extends boolean = true>(handler: AllHandler<EventsWith<M>>, options: SubscribeOptions & MetadataOption<M>): Subscription;
  close(): Promise<void>;
}
