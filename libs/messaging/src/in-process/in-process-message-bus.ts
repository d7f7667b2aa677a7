import { BusClosed, checkTopic } from '../bus/errors';
import { deliver } from '../bus/deliver';
import type { BusSubscription, IncomingMessage, MessageBus, MessageHandler, OutgoingMessage, SubscribeOptions } from '../bus/message-bus';

export interface InProcessMessageBusOptions {
  /** Messages kept per topic; older ones are dropped (the embedded bus is not an archive). */
  retention?: number;
}

interface TopicLog {
  /** Offset of messages[0]. */
  base: number;
  messages: IncomingMessage[];
  wake: Set<() => void>;
}

/**
 * The embedded bus of `npm start`: one partition per topic, committed offsets per group, in
 * memory. Same delivery rule as Kafka (commit after the handler), nothing survives a restart.
 */
export class InProcessMessageBus implements MessageBus {
  private readonly topics = new Map<string, TopicLog>();
  private readonly committed = new Map<string, number>();
  private readonly active = new Map<string, InProcessSubscription>();
  private closed = false;
  private readonly retention: number;

  constructor(options: InProcessMessageBusOptions = {}) {
    this.retention = options.retention ?? 100_000;
  }

  async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new BusClosed();
    const log = this.log(checkTopic(topic));
    const now = Date.now();
    for (const message of messages) {
      log.messages.push({
        topic,
        partition: 0,
        offset: String(log.base + log.messages.length),
        key: message.key === null ? null : Buffer.from(message.key),
        value: Buffer.from(message.value),
        headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, Buffer.from(v)])),
        timestamp: now,
      });
    }
    const excess = log.messages.length - this.retention;
    if (excess > 0) {
      log.messages.splice(0, excess);
      log.base += excess;
    }
    for (const wake of [...log.wake]) wake();
  }

  async subscribe(topic: string, groupId: string, handler: MessageHandler, options: SubscribeOptions = {}): Promise<BusSubscription> {
    if (this.closed) throw new BusClosed();
    const log = this.log(checkTopic(topic));
    const slot = `${groupId}\u0000${topic}`;
    if (this.active.has(slot)) throw new Error(`group ${groupId} already has a subscriber on ${topic}`);
    if (!this.committed.has(slot)) this.committed.set(slot, options.fromBeginning === false ? log.base + log.messages.length : log.base);
    const subscription = new InProcessSubscription(log, handler, options, {
      next: () => this.committed.get(slot)!,
      commit: (offset) => this.committed.set(slot, offset),
      onEnd: () => this.active.delete(slot),
    });
    this.active.set(slot, subscription);
    return subscription;
  }

  async ensureTopics(topics: readonly string[]): Promise<void> {
    for (const topic of topics) this.log(checkTopic(topic));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.active.values()].map((s) => s.stop()));
  }

  private log(topic: string): TopicLog {
    let log = this.topics.get(topic);
    if (!log) this.topics.set(topic, (log = { base: 0, messages: [], wake: new Set() }));
    return log;
  }
}

interface Offsets {
  next(): number;
  commit(offset: number): void;
  onEnd(): void;
}

class InProcessSubscription implements BusSubscription {
  private stopping = false;
  private wake: (() => void) | undefined;
  private readonly finished: Promise<void>;

  constructor(
    private readonly log: TopicLog,
    private readonly handler: MessageHandler,
    private readonly options: SubscribeOptions,
    private readonly offsets: Offsets,
  ) {
    this.finished = this.run();
  }

  stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    return this.finished;
  }

  private async run(): Promise<void> {
    // Deliver asynchronously, as Kafka does: subscribe() returns before the first message.
    await Promise.resolve();
    try {
      while (!this.stopping) {
        const next = Math.max(this.offsets.next(), this.log.base);
        const message = this.log.messages[next - this.log.base];
        if (!message) {
          await this.idle();
          continue;
        }
        const done = await deliver(message, this.handler, this.options, () => this.stopping);
        if (done) this.offsets.commit(next + 1);
      }
    } finally {
      this.offsets.onEnd();
    }
  }

  private idle(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.log.wake.delete(wake);
        this.wake = undefined;
        resolve();
      };
      this.wake = wake;
      this.log.wake.add(wake);
    });
  }
}
