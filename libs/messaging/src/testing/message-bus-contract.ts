// Test-only: the MessageBus contract, written once and run against every adapter (STYLE.md §2).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, MessageBus } from '../bus/message-bus';

export interface BusFactory {
  create(): Promise<MessageBus>;
  topic(what: string): string;
}

const collect = () => {
  const received: IncomingMessage[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const push = (m: IncomingMessage) => {
    received.push(m);
    for (const w of [...waiters]) if (received.length >= w.count) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  };
  const until = (count: number, timeoutMs = 20_000) =>
    new Promise<void>((resolve, reject) => {
      if (received.length >= count) return resolve();
      const timer = setTimeout(() => reject(new Error(`received ${received.length} of ${count} messages`)), timeoutMs);
      waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
    });
  return { received, push, until };
};

const group = () => `group-${randomBytes(4).toString('hex')}`;

export const messageBusContract = (name: string, factory: BusFactory): void => {
  describe(`MessageBus contract: ${name}`, () => {
    let bus: MessageBus;
    beforeEach(async () => {
      bus = await factory.create();
    });
    afterEach(async () => {
      await bus.close();
    });

    it('delivers published messages with key, value and headers, in order per key', async () => {
      const topic = factory.topic('order');
      await bus.ensureTopics([topic]);
      const sink = collect();
      const sub = await bus.subscribe(topic, group(), async (m) => sink.push(m));
      const messages = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 3}`, value: JSON.stringify({ i }), headers: { seq: String(i) } }));
      await bus.publish(topic, messages);
      await sink.until(30);
      await sub.stop();
      for (const key of ['k0', 'k1', 'k2']) {
        const ours = sink.received.filter((m) => m.key?.toString() === key);
        expect(ours.map((m) => JSON.parse(m.value!.toString()).i)).toEqual(messages.filter((m) => m.key === key).map((_, j) => j * 3 + Number(key[1])));
        expect(ours.map((m) => m.headers.seq?.toString())).toEqual(ours.map((m) => String(JSON.parse(m.value!.toString()).i)));
      }
      expect(sink.received.every((m) => m.topic === topic)).toBe(true);
    });

    it('commits only after the handler: a new member of the group resumes after the last handled message', async () => {
      const topic = factory.topic('commit');
      const groupId = group();
      await bus.ensureTopics([topic]);
      await bus.publish(topic, Array.from({ length: 5 }, (_, i) => ({ key: 'same', value: String(i) })));
      const first = collect();
      const sub = await bus.subscribe(topic, groupId, async (m) => first.push(m));
      await first.until(5);
      await sub.stop();
      await bus.publish(topic, [{ key: 'same', value: '5' }]);
      const second = collect();
      const again = await bus.subscribe(topic, groupId, async (m) => second.push(m));
      await second.until(1);
      await again.stop();
      expect(second.received.map((m) => m.value!.toString())).toEqual(['5']);
    });

    it('redelivers a message whose handler failed, and the next ones only after it', async () => {
      const topic = factory.topic('retry');
      await bus.ensureTopics([topic]);
      const sink = collect();
      let failures = 0;
      const sub = await bus.subscribe(
        topic,
        group(),
        async (m) => {
          if (m.value!.toString() === 'flaky' && failures < 2) {
            failures++;
            throw new Error('transient');
          }
          sink.push(m);
        },
        { maxAttempts: 10 },
      );
      await bus.publish(topic, [
        { key: 'k', value: 'flaky' },
        { key: 'k', value: 'after' },
      ]);
      await sink.until(2);
      await sub.stop();
      expect(failures).toBe(2);
      expect(sink.received.map((m) => m.value!.toString())).toEqual(['flaky', 'after']);
    });

    it('hands a message that keeps failing to onExhausted and moves on: a poison message does not block its partition', async () => {
      const topic = factory.topic('poison');
      await bus.ensureTopics([topic]);
      const sink = collect();
      const exhausted: string[] = [];
      const sub = await bus.subscribe(
        topic,
        group(),
        async (m) => {
          if (m.value!.toString() === 'poison') throw new Error('always');
          sink.push(m);
        },
        { maxAttempts: 2, onExhausted: async (m, error) => void exhausted.push(`${m.value!.toString()}: ${(error as Error).message}`) },
      );
      await bus.publish(topic, [
        { key: 'k', value: 'poison' },
        { key: 'k', value: 'healthy' },
      ]);
      await sink.until(1);
      await sub.stop();
      expect(exhausted).toEqual(['poison: always']);
      expect(sink.received.map((m) => m.value!.toString())).toEqual(['healthy']);
    });

    it('refuses a topic name Kafka would refuse', async () => {
      await expect(bus.publish('no spaces', [{ key: null, value: 'x' }])).rejects.toMatchObject({ code: 'invalid-topic' });
    });
  });
};
