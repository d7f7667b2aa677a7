/**
 * The MessageBus port. Adapters: Kafka (kafkajs) for production, in-process for the
 * embedded default. One contract suite (testing/message-bus-contract.ts) runs against both.
 */

export type Headers = Record<string, string>;

/** A message to publish. `key` picks the partition: equal keys keep their order. */
export interface OutgoingMessage {
  key: string | Buffer | null;
  value: string | Buffer;
  headers?: Headers;
}

/** A message as delivered to a subscriber. */
export interface IncomingMessage {
  topic: string;
  partition: number;
  /** Kafka offsets are int64: kept as a decimal string. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
  /** Broker (or bus) timestamp, ms since the epoch. */
  timestamp: number;
}

/**
 * Awaited per message. Resolving marks the message done: its offset is committed and the
 * next one is delivered. Throwing leaves it uncommitted and it is delivered again.
 */
export type MessageHandler = (message: IncomingMessage) => Promise<void>;

export interface SubscribeOptions {
  /** Where a group without a committed offset starts (default: the earliest message). */
  fromBeginning?: boolean;
  /** Attempts of the handler per message before `onExhausted` (default 5). */
  maxAttempts?: number;
  /**
   * Called once a message failed `maxAttempts` times; when it resolves the message counts as
   * done (committed), so one poison message cannot block its partition. When it throws, or is
   * absent, the bus keeps retrying with capped backoff: a message is never dropped silently.
   */
  onExhausted?: (message: IncomingMessage, error: unknown) => Promise<void>;
}

export interface BusSubscription {
  /** Resolves when no handler runs any more (the in-flight one is awaited). */
  stop(): Promise<void>;
}

export interface MessageBus {
  /** Resolves once the bus has made every message durable (Kafka: acks from all in-sync replicas). */
  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  /** Resolves once the subscription is live (Kafka: the group has been joined). */
  subscribe(topic: string, groupId: string, handler: MessageHandler, options?: SubscribeOptions): Promise<BusSubscription>;
  /** Creates topics that do not exist yet (no-op where topics need no creation). */
  ensureTopics(topics: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
