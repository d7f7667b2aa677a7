import { Inject, Logger, Module, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationBootstrap } from '@nestjs/common';
import { LIFECYCLE_TOPIC, type MessageBus } from '@devid/messaging';
import { DetectorsModule } from '../detectors/detectors.module';
import { DeviceRepository } from '../devices/device-repository';
import { LifecycleRelay } from './lifecycle-relay';
import { MESSAGE_BUS, messageBusProvider } from './message-bus.provider';
import { loadMessagingConfig, MESSAGING_CONFIG, type MessagingConfig } from './messaging-config';
import { RevokeCommands } from './revoke-commands';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The ledger on a message bus: Kafka when KAFKA_BROKERS is set, else in-process. Starts the
 * lifecycle relay and the revoke-command consumer with the app. Neither blocks the start:
 * with the broker away, the API serves and both keep retrying.
 */
@Module({})
export class MessagingModule implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('messaging');
  private stopping = false;
  private starting: Promise<void> | undefined;

  /** Reads and validates the messaging environment now: a bad value fails the start. */
  static register(env: NodeJS.ProcessEnv = process.env): DynamicModule {
    return {
      module: MessagingModule,
      imports: [DetectorsModule],
      providers: [{ provide: MESSAGING_CONFIG, useValue: loadMessagingConfig(env) }, messageBusProvider, DeviceRepository, LifecycleRelay, RevokeCommands],
      exports: [MESSAGE_BUS, LifecycleRelay, RevokeCommands],
    };
  }

  constructor(
    @Inject(MESSAGING_CONFIG) private readonly config: MessagingConfig,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly relay: LifecycleRelay,
    private readonly revokeCommands: RevokeCommands,
  ) {}

  onApplicationBootstrap(): void {
    const where = this.config.KAFKA_BROKERS ? `Kafka at ${this.config.KAFKA_BROKERS.join(',')}` : 'the in-process bus';
    this.logger.log(`relay ${this.config.RELAY_ENABLED ? 'on' : 'off'}, revoke commands ${this.config.REVOKE_CONSUMER_ENABLED ? 'on' : 'off'}, over ${where}`);
    if (this.config.RELAY_ENABLED) this.relay.start();
    if (this.config.REVOKE_CONSUMER_ENABLED) this.starting = this.startConsumer();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.starting;
    await Promise.all([this.revokeCommands.consumer.stop(), this.relay.stop()]);
    await this.bus.close();
  }

  /** Creates the topics and joins the consumer group, retrying while the broker is away. */
  private async startConsumer(): Promise<void> {
    const { topics } = this.revokeCommands;
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        await this.bus.ensureTopics([`${this.config.KAFKA_TOPIC_PREFIX}${LIFECYCLE_TOPIC}`, topics.revoke, topics.results, topics.dlq]);
        await this.revokeCommands.consumer.start();
        this.logger.log(`consuming ${topics.revoke}`);
        return;
      } catch (error) {
        this.logger.warn(`cannot consume ${topics.revoke} yet (attempt ${attempt}): ${error instanceof Error ? error.message : String(error)}`);
        await sleep(Math.min(10_000, 500 * attempt));
      }
    }
  }
}
