import type { EventStore, StoredEvent, Subscription } from '@devid/event-store';
import { backoffMs } from '../bus/backoff';
import type { MessageBus, OutgoingMessage } from '../bus/message-bus';
import { CLOUDEVENTS_CONTENT_TYPE, LIFECYCLE_TOPIC, subjectOf, toCloudEvent, type CloudEventOptions } from './cloud-event';
import type { RelayCheckpoint } from './relay-checkpoint';

export interface RelayOptions extends CloudEventOptions {
  topic?: string;
  /** Events per publish (default 1000). */
  batchSize?: number;
  /** Told about each failure before the relay retries from its checkpoint. */
  onError?: (error: unknown, attempt: number) => void;
}

export const toLifecycleMessage = (event: StoredEvent, options: CloudEventOptions = {}): OutgoingMessage => ({
  // The key keeps each device's events in one partition, so in order.
  key: subjectOf(event.streamId),
  value: JSON.stringify(toCloudEvent(event, options)),
  headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE },
});

/**
 * Publishes the store's global log to the lifecycle topic, at least once: a batch is read
 * after the checkpoint, published, and only once the broker acknowledged it the checkpoint
 * moves. On any failure the relay waits (capped backoff) and resubscribes from the
 * checkpoint, so a broker or ledger restart costs duplicates (same CloudEvents id), never a gap.
 */
export class Relay {
  private subscription: Subscription | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private running = false;
  private readonly waiters: Array<{ position: number; resolve: () => void }> = [];

  constructor(
    private readonly store: EventStore,
    private readonly bus: MessageBus,
    private readonly checkpoint: RelayCheckpoint,
    private readonly options: RelayOptions = {},
  ) {}

  get topic(): string {
    return this.options.topic ?? LIFECYCLE_TOPIC;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.subscribe();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retryTimer);
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.stop();
  }

  /** Position of the last event the broker acknowledged. */
  position(): number {
    return this.checkpoint.position();
  }

  /** Events stored but not yet acknowledged by the broker. */
  async lag(): Promise<number> {
    return Math.max(0, (await this.store.headPosition()) - this.position());
  }

  /** Resolves once every event up to `position` has been acknowledged. */
  waitFor(position: number): Promise<void> {
    if (this.position() >= position) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ position, resolve }));
  }

  private subscribe(): void {
    const subscription = this.store.subscribeToAll((events) => this.publish(events), {
      after: this.checkpoint.position(),
      batchSize: this.options.batchSize ?? 1000,
      onError: (error) => {
        if (this.subscription === subscription) this.subscription = undefined;
        this.retryLater(error);
      },
    });
    this.subscription = subscription;
  }

  private async publish(events: StoredEvent[]): Promise<void> {
    await this.bus.publish(
      this.topic,
      events.map((event) => toLifecycleMessage(event, this.options)),
    );
    const last = events[events.length - 1]!.position;
    this.checkpoint.save(last);
    this.failures = 0;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.position <= last) this.waiters.splice(i, 1)[0]!.resolve();
    }
  }

  private retryLater(error: unknown): void {
    this.failures++;
    this.options.onError?.(error, this.failures);
    if (!this.running) return;
    this.retryTimer = setTimeout(() => {
      if (this.running) this.subscribe();
    }, 250 + backoffMs(this.failures, 250, 5_000));
  }
}
