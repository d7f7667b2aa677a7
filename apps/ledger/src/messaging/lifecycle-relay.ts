import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { EventStore } from '@devid/event-store';
import { LIFECYCLE_TOPIC, Relay, RelayCheckpoint, relayLagGauge, type MessageBus } from '@devid/messaging';
import { openReadModelDb } from '@devid/projections';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/config';
import { LedgerMetrics } from '../metrics/metrics';
import { EVENT_STORE } from '../store/tokens';
import { MESSAGE_BUS } from './message-bus.provider';
import { MESSAGING_CONFIG, type MessagingConfig } from './messaging-config';

/** The relay of the store's log to devid.lifecycle.v1, with its checkpoint in DATA_DIR/messaging.db. */
@Injectable()
export class LifecycleRelay {
  private readonly logger = new Logger('relay');
  private readonly db: DatabaseSync;
  readonly relay: Relay;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(MESSAGE_BUS) bus: MessageBus,
    @Inject(LEDGER_CONFIG) ledger: LedgerConfig,
    @Inject(MESSAGING_CONFIG) config: MessagingConfig,
    @Optional() @Inject(LedgerMetrics) metrics?: LedgerMetrics,
  ) {
    // Not in read-models.db: rebuilding the read models must not make the relay publish everything again.
    this.db = openReadModelDb(join(ledger.DATA_DIR, 'messaging.db'));
    const topic = `${config.KAFKA_TOPIC_PREFIX}${LIFECYCLE_TOPIC}`;
    // One checkpoint per bus kind: moving from the in-process bus to Kafka starts Kafka from the beginning.
    const checkpoint = new RelayCheckpoint(this.db, `${config.KAFKA_BROKERS ? 'kafka' : 'in-process'}:${topic}`);
    this.relay = new Relay(store, bus, checkpoint, {
      topic,
      source: config.RELAY_SOURCE,
      batchSize: config.RELAY_BATCH_SIZE,
      onError: (error, attempt) =>
        this.logger.warn(`publish failed (attempt ${attempt}), retrying from position ${checkpoint.position()}: ${error instanceof Error ? error.message : String(error)}`),
    });
    if (metrics) relayLagGauge(metrics.registry, this.relay);
  }

  start(): void {
    this.relay.start();
  }

  async stop(): Promise<void> {
    await this.relay.stop();
    this.db.close();
  }
}
