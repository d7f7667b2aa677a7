// Acceptance: kcat, an independent client, reads devid.lifecycle.v1 and sees every event of a
// scripted device life, in order for its key, each a valid CloudEvents 1.0 JSON document.
import { rmSync } from 'node:fs';
import { ensureBuilt, stopLedgerProcess } from '../support/ledger-process';
import { lifecycleCloudEvent } from './support/cloud-event-schema';
import { describeWithKafka, kafkaBrokers, readTopicUntil, startLedgerOnKafka, topicPrefix, type LedgerOnKafka } from './support/kafka';
import { DEVICE_LIFE } from '../support/device-life';

jest.setTimeout(90_000);

describeWithKafka('lifecycle events on Kafka', () => {
  const brokers = kafkaBrokers().join(',');
  const prefix = topicPrefix();
  let ledger: LedgerOnKafka;

  beforeAll(async () => {
    ensureBuilt();
    ledger = await startLedgerOnKafka({ KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: prefix, RELAY_SOURCE: 'urn:devid:ledger:e2e' });
  });
  afterAll(async () => {
    if (ledger) await stopLedgerProcess(ledger);
    if (ledger) rmSync(ledger.dataDir, { recursive: true, force: true });
  });

  it('publishes a whole device life, keyed by deviceId, in stream order, as CloudEvents', async () => {
    const made = await ledger.api('POST', '/devices', { serialNumber: `SN-${Date.now()}`, model: 'gw-100', factoryId: 'fab-1' });
    const deviceId = made.body.deviceId as string;
    for (const [action, body] of DEVICE_LIFE) {
      expect((await ledger.api('POST', `/devices/${deviceId}/${action}`, body)).status).toBe(200);
    }
    const stored = (await ledger.api('GET', `/devices/${deviceId}/events`)).body.events as Array<{ id: string; type: string; version: number; revision: number }>;

    const messages = await readTopicUntil(brokers, `${prefix}devid.lifecycle.v1`, (all) => all.filter((m) => m.key === deviceId).length >= stored.length);
    const ours = messages.filter((m) => m.key === deviceId).sort((a, b) => a.offset - b.offset);
    expect(new Set(ours.map((m) => m.partition)).size).toBe(1);
    const events = ours.map((m) => lifecycleCloudEvent.parse(JSON.parse(m.payload!)));
    expect(events.map((e) => e.id)).toEqual(stored.map((e) => e.id));
    expect(events.map((e) => e.revision)).toEqual(stored.map((e) => String(e.revision)));
    expect(events.map((e) => e.type)).toEqual([
      'io.devid.device.manufactured.v1',
      'io.devid.device.shipped.v1',
      'io.devid.device.enrolled.v1',
      'io.devid.device.transferred.v1',
      'io.devid.device.enrolled.v1',
      'io.devid.device.revoked.v2',
      'io.devid.device.reinstated.v1',
      'io.devid.device.decommissioned.v1',
    ]);
    expect(events.every((e) => e.subject === deviceId && e.source === 'urn:devid:ledger:e2e' && e.streamid === `device-${deviceId}`)).toBe(true);
    expect(events[1]!.data).toEqual({ owner: 'acme', shippedAt: expect.any(String) });

    const metrics = await fetch(`${ledger.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/devid_relay_lag_events\{topic="[^"]+devid\.lifecycle\.v1"\} \d+/);
  });
});
