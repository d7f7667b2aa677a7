import { Logger, type Provider } from '@nestjs/common';
import { InProcessMessageBus, KafkaMessageBus, type MessageBus } from '@devid/messaging';
import { MESSAGING_CONFIG, type MessagingConfig } from './messaging-config';

export const MESSAGE_BUS = Symbol('MESSAGE_BUS');

/** Kafka when KAFKA_BROKERS is set, else the in-process bus (the embedded default). */
export const messageBusProvider: Provider = {
  provide: MESSAGE_BUS,
  inject: [MESSAGING_CONFIG],
  useFactory: (config: MessagingConfig): MessageBus => {
    if (!config.KAFKA_BROKERS) return new InProcessMessageBus();
    const logger = new Logger('kafka');
    return new KafkaMessageBus({
      brokers: config.KAFKA_BROKERS,
      clientId: config.KAFKA_CLIENT_ID,
      log: (level, message) => (level === 'error' || level === 'warn' ? logger.warn(message) : logger.debug(message)),
    });
  },
};
