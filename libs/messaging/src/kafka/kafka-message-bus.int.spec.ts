import { describeWithKafka, kafkaBrokers, randomTopic } from '../testing/kafka-broker';
import { messageBusContract } from '../testing/message-bus-contract';
import { KafkaMessageBus } from './kafka-message-bus';

jest.setTimeout(60_000);

describeWithKafka('KafkaMessageBus against the real broker', () => {
  messageBusContract('kafka', { create: async () => new KafkaMessageBus({ brokers: kafkaBrokers(), clientId: 'contract-test' }), topic: randomTopic });

  it('fails a publish with a retriable PublishFailed when no broker answers', async () => {
    const bus = new KafkaMessageBus({ brokers: ['127.0.0.1:1'], connectionTimeoutMs: 200 });
    await expect(bus.publish('t', [{ key: null, value: 'x' }])).rejects.toMatchObject({ code: 'publish-failed', retriable: true });
    await bus.close();
  });
});
