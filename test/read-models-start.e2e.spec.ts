// The read models answer the API (the CA directory for every enrollment and OCSP request, the
// registry, the inventory). After read-models.db is deleted, or a read model's version changed,
// they are rebuilt from the log when the ledger starts: it listens only once they hold the log,
// and says so while they catch up.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '@devid/event-store';
import { ensureBuilt, NO_AUDIT_CHECKPOINTS, startLedgerProcess, stopLedgerProcess } from './support/ledger-process';

jest.setTimeout(120_000);

const EVENTS = 30_000;
let dataDir: string;
const env = () => ({ ...NO_AUDIT_CHECKPOINTS, DATA_DIR: dataDir, ADMIN_API_KEY: 'read-models-start-key-0123456789', CA_KEY_PASSPHRASE: 'test-passphrase-0123', EST_PORT: 'off' });

beforeAll(async () => {
  ensureBuilt();
  dataDir = mkdtempSync(join(tmpdir(), 'devid-read-models-start-'));
  // A first start makes the demo CAs; then many devices, written as another process would (a batch import).
  await stopLedgerProcess(await startLedgerProcess(env()));
  const store = await SqliteEventStore.open(join(dataDir, 'events.db'));
  try {
    for (let n = 0; n < EVENTS; n += 1_000) {
      await Promise.all(
        Array.from({ length: 1_000 }, (_, k) => {
          const deviceId = randomUUID();
          const at = new Date().toISOString();
          return store.append(
            `device-${deviceId}`,
            [{
              id: randomUUID(),
              type: 'DeviceManufactured',
              version: 1,
              occurredAt: at,
              data: { deviceId, serialNumber: `SN-START-${n + k}`, model: 'gw-7', factoryId: 'devid-factory-1', manufacturedAt: at },
              metadata: { actor: 'test', causationId: randomUUID(), commandId: randomUUID(), correlationId: randomUUID() },
            }],
            { expectedRevision: 'no_stream' },
          );
        }),
      );
    }
  } finally {
    await store.close();
  }
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

type Health = { status: string; store: { headPosition: number }; projections: Record<string, { checkpoint: number; lag: number }> };

it('rebuilds the deleted read models before it listens: the first requests see every CA and every device', async () => {
  for (const file of ['read-models.db', 'read-models.db-wal', 'read-models.db-shm']) rmSync(join(dataDir, file), { force: true });
  const ledger = await startLedgerProcess(env(), 90_000);
  try {
    const [health, ca, devices] = await Promise.all([
      fetch(`${ledger.url}/health`).then(async (res) => (await res.json()) as Health),
      fetch(`${ledger.url}/cas/devid-issuing`),
      fetch(`${ledger.url}/devices?limit=1&status=manufactured`).then(async (res) => (await res.json()) as { devices: unknown[] }),
    ]);
    expect(health.store.headPosition).toBeGreaterThan(EVENTS);
    expect(Object.keys(health.projections).sort()).toEqual(['ca-directory', 'certificate-inventory', 'device-registry']);
    for (const [name, { lag }] of Object.entries(health.projections)) expect([name, lag]).toEqual([name, 0]);
    expect(ca.status).toBe(200);
    expect(devices.devices).toHaveLength(1);
    expect(ledger.output()).toMatch(/read models: catching up \d+ events before the API listens/);
  } finally {
    await stopLedgerProcess(ledger);
  }
});
