// Acceptance: the broker is killed (-9) and restarted in the middle of a stream of lifecycle
// events; the relay resumes from its checkpoint and no event is missing from the topic.
import { rmSync } from 'node:fs';
import { ensureBuilt, stopLedgerProcess } from '../support/ledger-process';
import { lifecycleCloudEvent } from './support/cloud-event-schema';
import { describeWithKafka, readTopicUntil, startLedgerOnKafka, type LedgerOnKafka } from './support/kafka';
import { ownBroker, type OwnBroker } from './support/second-broker';

jest.setTimeout(150_000);

describeWithKafka('relay across a broker crash', () => {
  let broker: OwnBroker;
  let ledger: LedgerOnKafka;

  beforeAll(async () => {
    ensureBuilt();
    broker = await ownBroker();
    await broker.start();
    ledger = await startLedgerOnKafka({ KAFKA_BROKERS: broker.brokers, REVOKE_CONSUMER_ENABLED: 'false' });
  });
  afterAll(async () => {
    if (ledger) await stopLedgerProcess(ledger);
    if (ledger) rmSync(ledger.dataDir, { recursive: true, force: true });
    await broker?.remove();
  });

  let serial = 0;
  const writeDevices = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const made = await ledger.api('POST', '/devices', { serialNumber: `SN-${++serial}`, model: 'gw-100', factoryId: 'fab-1' });
      expect(made.status).toBe(201);
      expect((await ledger.api('POST', `/devices/${made.body.deviceId as string}/ship`, { owner: 'acme' })).status).toBe(200);
    }
  };
  const head = async () => ((await ledger.api('GET', '/health')).body.store as { headPosition: number }).headPosition;

  it('publishes every event exactly by id after the broker comes back (duplicates allowed)', async () => {
    await writeDevices(20);
    const before = await head();
    await readTopicUntil(broker.brokers, 'devid.lifecycle.v1', (all) => all.length >= before);

    await broker.kill();
    await writeDevices(20); // stored while the broker is down: the API does not depend on it
    await broker.start();
    await writeDevices(20);
    const total = await head();

    const messages = await readTopicUntil(broker.brokers, 'devid.lifecycle.v1', (all) => new Set(all.map((m) => JSON.parse(m.payload!).position)).size >= total);
    const events = messages.map((m) => lifecycleCloudEvent.parse(JSON.parse(m.payload!)));
    const positions = new Set(events.map((e) => Number(e.position)));
    expect([...Array(total).keys()].map((i) => i + 1).filter((p) => !positions.has(p))).toEqual([]);
    // A duplicate is the same event again: same position, same CloudEvents id.
    const idAt = new Map<string, string>();
    for (const e of events) expect(idAt.get(e.position) ?? idAt.set(e.position, e.id).get(e.position)).toBe(e.id);
    // Per device, still in stream order once duplicates are dropped.
    const byKey = new Map<string, number[]>();
    for (const m of messages.sort((a, b) => a.offset - b.offset)) {
      const revision = Number(JSON.parse(m.payload!).revision);
      const seen = byKey.get(m.key!) ?? [];
      if (!seen.includes(revision)) seen.push(revision);
      byKey.set(m.key!, seen);
    }
    for (const revisions of byKey.values()) expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
  });
});
