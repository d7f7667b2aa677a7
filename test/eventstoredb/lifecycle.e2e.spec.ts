// The production shape end to end: an API replica (relay and consumer off) and a worker
// (relay and revoke consumer on), two ledger processes on one EventStoreDB and one Kafka —
// testcontainers KurrentDB + Kafka when a Docker engine answers, or EVENTSTORE_CONNECTION
// (with KAFKA_BROKERS). Elsewhere it prints why it did not run.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { kafkaBrokers } from '../../libs/messaging/src/testing/kafka-broker';
import { lifecycleCloudEvent } from '../kafka/support/cloud-event-schema';
import { readTopicUntil } from '../kafka/support/kafka';
import { request } from '../support/http';
import { ensureBuilt, startLedgerProcess, stopLedgerProcess, type LedgerProcess } from '../support/ledger-process';
import { eventStoreTarget, startKafka, startKurrentDb } from './eventstoredb-target';
import { DEVICE_LIFE } from '../support/device-life';

jest.setTimeout(300_000);

const target = eventStoreTarget();
const KEY = 'eventstoredb-e2e-admin-key-0123456789';

if (target.kind === 'none') {
  describe('ledger on EventStoreDB and Kafka', () => {
    beforeAll(() => console.log(`EventStoreDB lifecycle skipped: ${target.reason}`));

    it('runs only where EventStoreDB can be reached: the target check found none', () => {
      expect(eventStoreTarget()).toEqual(target);
    });
  });
} else {
  describe('ledger on EventStoreDB and Kafka', () => {
    const containers: StartedTestContainer[] = [];
    const dirs: string[] = [];
    const prefix = `t${randomBytes(5).toString('hex')}.`;
    let brokers: string;
    let api: LedgerProcess;
    let worker: LedgerProcess;

    const startReplica = (env: Record<string, string>, connection: string) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'devid-esdb-'));
      dirs.push(dataDir);
      return startLedgerProcess(
        {
          DATA_DIR: dataDir,
          ADMIN_API_KEY: KEY,
          CA_KEY_PASSPHRASE: 'eventstoredb-e2e-passphrase',
          EVENT_STORE: 'eventstoredb',
          EVENTSTORE_CONNECTION: connection,
          EVENTSTORE_NAMESPACE: prefix,
          KAFKA_BROKERS: brokers,
          KAFKA_TOPIC_PREFIX: prefix,
          EST_PORT: 'off',
          ...env,
        },
        120_000,
      );
    };
    const call = (ledger: LedgerProcess, method: string, path: string, body?: unknown) =>
      request(ledger.url, method, path, { key: KEY, ...(body === undefined ? {} : { body }) });

    beforeAll(async () => {
      ensureBuilt();
      let connection: string;
      if (target.kind === 'docker') {
        const kurrent = await startKurrentDb();
        const kafka = await startKafka();
        containers.push(kurrent.container, kafka.container);
        connection = kurrent.connection;
        brokers = kafka.broker;
      } else {
        connection = target.connection;
        brokers = kafkaBrokers().join(',');
      }
      api = await startReplica({ RELAY_ENABLED: 'false', REVOKE_CONSUMER_ENABLED: 'false' }, connection);
      worker = await startReplica({ RELAY_ENABLED: 'true', REVOKE_CONSUMER_ENABLED: 'true', DEMO_CA: 'false' }, connection);
    }, 300_000);
    afterAll(async () => {
      for (const ledger of [api, worker]) if (ledger) await stopLedgerProcess(ledger);
      for (const container of containers) await container.stop();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    it('walks a device through its life on the API replica; the worker reads the same log and relays it to Kafka', async () => {
      const made = await call(api, 'POST', '/devices', { serialNumber: `SN-${Date.now()}`, model: 'gw-100', factoryId: 'fab-1' });
      expect(made.status).toBe(201);
      const deviceId = made.body['deviceId'] as string;
      for (const [action, body] of DEVICE_LIFE) {
        expect({ action, status: (await call(api, 'POST', `/devices/${deviceId}/${action}`, body)).status }).toEqual({ action, status: 200 });
      }
      const stored = (await call(api, 'GET', `/devices/${deviceId}/events`)).body['events'] as Array<{ id: string; revision: number; position: number }>;

      expect(stored.map((event) => event.revision)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(stored.map((event) => event.position)).toEqual([...stored.map((event) => event.position)].sort((a, b) => a - b));
      // The worker's own read model, fed from the same EventStoreDB log with its own checkpoint.
      let seen: Record<string, unknown> = {};
      for (let attempt = 0; attempt < 100 && seen['status'] !== 'decommissioned'; attempt++) {
        seen = (await call(worker, 'GET', `/devices/${deviceId}`)).body;
        if (seen['status'] !== 'decommissioned') await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(seen).toMatchObject({ deviceId, status: 'decommissioned', owner: 'globex', revision: 7 });
      expect((await call(worker, 'GET', `/devices/${deviceId}/events`)).body['events']).toEqual(stored);

      const messages = await readTopicUntil(brokers, `${prefix}devid.lifecycle.v1`, (all) => all.filter((m) => m.key === deviceId).length >= stored.length);
      const relayed = messages
        .filter((m) => m.key === deviceId)
        .sort((a, b) => a.offset - b.offset)
        .map((m) => lifecycleCloudEvent.parse(JSON.parse(m.payload!)));
      expect(relayed.map((event) => [event.id, event.position])).toEqual(stored.map((event) => [event.id, String(event.position)]));
    });

    it('answers a retried command once, whichever replica it reaches', async () => {
      const made = await call(api, 'POST', '/devices', { serialNumber: `SN-${Date.now()}-r`, model: 'gw-100', factoryId: 'fab-1' });
      const deviceId = made.body['deviceId'] as string;
      const headers = { 'idempotency-key': `ship-${deviceId}` };

      const first = await request(api.url, 'POST', `/devices/${deviceId}/ship`, { key: KEY, body: { owner: 'acme' }, headers });
      const again = await request(worker.url, 'POST', `/devices/${deviceId}/ship`, { key: KEY, body: { owner: 'acme' }, headers });

      expect(first.status).toBe(200);
      expect(again.status).toBe(200);
      expect(again.body['revision']).toBe(first.body['revision']);
      expect(((await call(api, 'GET', `/devices/${deviceId}/events`)).body['events'] as unknown[]).length).toBe(2);
    });
  });
}
