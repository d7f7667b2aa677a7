import { DatabaseSync } from 'node:sqlite';
import { deriveEventId, MemoryEventStore, type EventStore } from '@devid/event-store';
import { InProcessMessageBus } from '../in-process/in-process-message-bus';
import type { IncomingMessage, MessageBus, OutgoingMessage } from '../bus/message-bus';
import { cloudEventType, LIFECYCLE_TOPIC, type CloudEvent } from './cloud-event';
import { Relay } from './relay';
import { RelayCheckpoint } from './relay-checkpoint';

const meta = { commandId: 'c', causationId: 'c', correlationId: 'corr-1', actor: 'test' };
const append = async (store: EventStore, streamId: string, types: string[], commandId: string) => {
  const head = await store.readStream(streamId);
  return store.append(
    streamId,
    types.map((type, i) => ({ id: deriveEventId(commandId, i), type, version: 1, occurredAt: '2026-01-01T00:00:00.000Z', data: { n: i }, metadata: meta })),
    { expectedRevision: head.length === 0 ? 'no_stream' : head.length - 1 },
  );
};

/** A bus whose publish fails while `down` is set, like a broker that is away. */
class FlakyBus implements MessageBus {
  down = false;
  attempts = 0;
  constructor(readonly inner: InProcessMessageBus) {}
  async publish(topic: string, messages: readonly OutgoingMessage[]) {
    this.attempts++;
    if (this.down) throw new Error('broker away');
    return this.inner.publish(topic, messages);
  }
  subscribe: MessageBus['subscribe'] = (...args) => this.inner.subscribe(...args);
  ensureTopics = async () => undefined;
  close = () => this.inner.close();
}

const consumeAll = async (bus: MessageBus, count: number): Promise<CloudEvent[]> => {
  const seen: IncomingMessage[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const sub = await bus.subscribe(LIFECYCLE_TOPIC, `reader-${Math.random()}`, async (m) => {
    seen.push(m);
    if (seen.length >= count) done();
  });
  await all;
  await sub.stop();
  return seen.map((m) => JSON.parse(m.value!.toString()) as CloudEvent);
};

describe('cloudEventType', () => {
  it('names the thing, then what happened to it, then the schema version', () => {
    expect(cloudEventType('DeviceShipped', 1)).toBe('io.devid.device.shipped.v1');
    expect(cloudEventType('DeviceRevoked', 2)).toBe('io.devid.device.revoked.v2');
    expect(cloudEventType('CertificateAuthorityCreated', 1)).toBe('io.devid.certificate-authority.created.v1');
    expect(cloudEventType('DetectorKeyRotated', 1)).toBe('io.devid.detector-key.rotated.v1');
  });
});

describe('Relay', () => {
  let store: MemoryEventStore;
  let db: DatabaseSync;
  beforeEach(() => {
    store = new MemoryEventStore();
    db = new DatabaseSync(':memory:');
  });
  afterEach(async () => {
    await store.close();
    db.close();
  });

  it('publishes every stored event as a CloudEvents 1.0 document keyed by its subject, and moves the checkpoint', async () => {
    const bus = new InProcessMessageBus();
    await append(store, 'device-d1', ['DeviceManufactured', 'DeviceShipped'], 'a');
    await append(store, 'ca-root', ['CertificateAuthorityCreated'], 'b');
    const relay = new Relay(store, bus, new RelayCheckpoint(db, 'lifecycle'), { source: 'urn:devid:ledger:test' });
    relay.start();
    await relay.waitFor(3);
    const events = await consumeAll(bus, 3);
    await relay.stop();
    const stored = await store.readAll();
    expect(events.map((e) => e.id)).toEqual(stored.map((e) => e.id));
    expect(events[1]).toEqual({
      specversion: '1.0',
      id: stored[1]!.id,
      source: 'urn:devid:ledger:test',
      type: 'io.devid.device.shipped.v1',
      subject: 'd1',
      time: stored[1]!.recordedAt,
      datacontenttype: 'application/json',
      data: { n: 1 },
      streamid: 'device-d1',
      revision: '1',
      position: '2',
      correlationid: 'corr-1',
    });
    expect(events[2]).toMatchObject({ subject: 'root', type: 'io.devid.certificate-authority.created.v1' });
    expect(await relay.lag()).toBe(0);
  });

  it('keeps the checkpoint while the broker is away, then resumes from it without a gap', async () => {
    const bus = new FlakyBus(new InProcessMessageBus());
    const checkpoint = new RelayCheckpoint(db, 'lifecycle');
    const errors: unknown[] = [];
    const relay = new Relay(store, bus, checkpoint, { batchSize: 2, onError: (e) => errors.push(e) });
    await append(store, 'device-d1', ['DeviceManufactured'], 'a');
    relay.start();
    await relay.waitFor(1);
    bus.down = true;
    await append(store, 'device-d1', ['DeviceShipped', 'DeviceEnrolled', 'DeviceRevoked'], 'b');
    while (errors.length < 2) await new Promise((r) => setTimeout(r, 20));
    expect(checkpoint.position()).toBe(1);
    expect(await relay.lag()).toBe(3);
    bus.down = false;
    await relay.waitFor(4);
    await relay.stop();
    const types = (await consumeAll(bus, 4)).map((e) => e.type);
    expect(types).toEqual(['io.devid.device.manufactured.v1', 'io.devid.device.shipped.v1', 'io.devid.device.enrolled.v1', 'io.devid.device.revoked.v1']);
  });

  it('starts where the previous relay of the same name stopped (a ledger restart)', async () => {
    const bus = new InProcessMessageBus();
    await append(store, 'device-d1', ['DeviceManufactured'], 'a');
    const first = new Relay(store, bus, new RelayCheckpoint(db, 'lifecycle'));
    first.start();
    await first.waitFor(1);
    await first.stop();
    await append(store, 'device-d1', ['DeviceShipped'], 'b');
    const second = new Relay(store, bus, new RelayCheckpoint(db, 'lifecycle'));
    second.start();
    await second.waitFor(2);
    await second.stop();
    expect((await consumeAll(bus, 2)).map((e) => e.position)).toEqual(['1', '2']);
  });
});
