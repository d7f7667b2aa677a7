import { randomTopic } from '../testing/kafka-broker';
import { messageBusContract } from '../testing/message-bus-contract';
import { InProcessMessageBus } from './in-process-message-bus';

messageBusContract('in-process', { create: async () => new InProcessMessageBus(), topic: randomTopic });

describe('InProcessMessageBus retention', () => {
  it('keeps only the newest messages of a topic', async () => {
    const bus = new InProcessMessageBus({ retention: 3 });
    await bus.publish('t', ['a', 'b', 'c', 'd', 'e'].map((value) => ({ key: null, value })));
    const seen: string[] = [];
    const sub = await bus.subscribe('t', 'g', async (m) => void seen.push(`${m.offset}:${m.value!.toString()}`));
    await new Promise((r) => setTimeout(r, 10));
    await sub.stop();
    await bus.close();
    expect(seen).toEqual(['2:c', '3:d', '4:e']);
  });
});
