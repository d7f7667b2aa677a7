import { Kafka, logLevel, Partitioners, type Consumer, type IHeaders, type KafkaMessage, type LogEntry, type Producer } from 'kafkajs';
import { BusClosed, checkTopic, PublishFailed } from '../bus/errors';
import { deliver } from '../bus/deliver';
import type { BusSubscription, IncomingMessage, MessageBus, MessageHandler, OutgoingMessage, SubscribeOptions } from '../bus/message-bus';

export type BusLogLevel = 'error' | 'warn' | 'info' | 'debug';
export type BusLog = (level: BusLogLevel, message: string) => void;

export interface KafkaMessageBusOptions {
  /** host:port of one or more brokers. */
  brokers: readonly string[];
  clientId?: string;
  /** Where kafkajs's own log lines go (default: nowhere). */
  log?: BusLog;
  /** Partitions of topics created by ensureTopics (default 3). */
  numPartitions?: number;
  /** Per-request timeout (default 30 s, as kafkajs). */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
}

const LEVELS: Record<number, BusLogLevel> = { [logLevel.ERROR]: 'error', [logLevel.WARN]: 'warn', [logLevel.INFO]: 'info', [logLevel.DEBUG]: 'debug' };

const headersOf = (headers: IHeaders | undefined): Record<string, Buffer> => {
  const out: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = Buffer.isBuffer(first) ? first : Buffer.from(first);
  }
  return out;
};

const incoming = (topic: string, partition: number, message: KafkaMessage): IncomingMessage => ({
  topic,
  partition,
  offset: message.offset,
  key: message.key,
  value: message.value,
  headers: headersOf(message.headers),
  timestamp: Number(message.timestamp),
});

/**
 * The Kafka adapter (kafkajs, kept behind the port: it is unmaintained since 2023).
 * Producer: idempotent, acks=all, one request in flight (kafkajs keeps sequence numbers
 * ordered only then), bounded retries so an outage surfaces as PublishFailed instead of a
 * send that never returns. Consumers: autoCommit off, commit after the handler.
 */
export class KafkaMessageBus implements MessageBus {
  private readonly kafka: Kafka;
  private producer: Promise<Producer> | undefined;
  private readonly subscriptions = new Set<KafkaSubscription>();
  private closed = false;

  constructor(private readonly options: KafkaMessageBusOptions) {
    if (options.brokers.length === 0) throw new TypeError('KafkaMessageBus needs at least one broker');
    const log = options.log;
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'devid-ledger',
      brokers: [...options.brokers],
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 },
      logLevel: log ? logLevel.WARN : logLevel.NOTHING,
      logCreator: () => (entry: LogEntry) => {
        const { message, ...rest } = entry.log;
        log?.(LEVELS[entry.level] ?? 'info', `kafkajs ${entry.namespace}: ${message} ${JSON.stringify(rest)}`);
      },
    });
  }

  async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new BusClosed();
    checkTopic(topic);
    if (messages.length === 0) return;
    const producing = this.producer ?? (this.producer = this.connectProducer());
    try {
      const producer = await producing;
      await producer.send({
        topic,
        acks: -1,
        messages: messages.map((m) => ({ key: m.key, value: m.value, ...(m.headers ? { headers: m.headers } : {}) })),
      });
    } catch (error) {
      // A producer that gave up may hold stale sequence numbers: start the next publish afresh.
      if (this.producer === producing) this.producer = undefined;
      producing.then((p) => p.disconnect()).catch(() => undefined);
      throw new PublishFailed(topic, error);
    }
  }

  async subscribe(topic: string, groupId: string, handler: MessageHandler, options: SubscribeOptions = {}): Promise<BusSubscription> {
    if (this.closed) throw new BusClosed();
    checkTopic(topic);
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 500, heartbeatInterval: 1_000, sessionTimeout: 10_000 });
    const subscription = new KafkaSubscription(consumer, () => this.subscriptions.delete(subscription));
    this.subscriptions.add(subscription);
    try {
      await subscription.start(topic, handler, options);
    } catch (error) {
      await subscription.stop();
      throw error;
    }
    return subscription;
  }

  async ensureTopics(topics: readonly string[]): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = [...new Set(topics.map(checkTopic))].filter((t) => !existing.has(t));
      if (missing.length > 0) {
        await admin.createTopics({ waitForLeaders: true, topics: missing.map((topic) => ({ topic, numPartitions: this.options.numPartitions ?? 3 })) });
      }
    } finally {
      await admin.disconnect();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    const producer = this.producer;
    this.producer = undefined;
    await producer?.then((p) => p.disconnect()).catch(() => undefined);
  }

  private async connectProducer(): Promise<Producer> {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 },
    });
    await producer.connect();
    return producer;
  }
}

class KafkaSubscription implements BusSubscription {
  private stopping = false;
  private stopped: Promise<void> | undefined;
  /** The message being handled and committed; stop() lets it finish so its commit lands. */
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly consumer: Consumer,
    private readonly onEnd: () => void,
  ) {}

  async start(topic: string, handler: MessageHandler, options: SubscribeOptions): Promise<void> {
    const joined = new Promise<void>((resolve, reject) => {
      this.consumer.on(this.consumer.events.GROUP_JOIN, () => resolve());
      this.consumer.on(this.consumer.events.CRASH, (event) => {
        if (!event.payload.restart) reject(event.payload.error);
      });
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: ({ topic: from, partition, message, heartbeat }) => {
        const handling = (async () => {
          const done = await deliver(incoming(from, partition, message), handler, options, () => this.stopping, heartbeat);
          // Stopping mid-retry: leave it uncommitted; the group's next member gets it again.
          if (!done) return;
          await this.consumer.commitOffsets([{ topic: from, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
        })();
        this.inFlight = handling.catch(() => undefined);
        return handling;
      },
    });
    await joined;
  }

  stop(): Promise<void> {
    this.stopping = true;
    this.stopped ??= this.inFlight
      .then(() => this.consumer.disconnect())
      .catch(() => undefined)
      .finally(this.onEnd);
    return this.stopped;
  }
}
