// Kill -9 the ledger while clients append concurrently: every acknowledged write survives,
// and the device registry (resumed from its checkpoint) equals a rebuild from position 0.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { SqliteEventStore } from '@devid/event-store';
import { DeviceRegistry, openReadModelDb, ProjectionRunner } from '@devid/projections';
import { request } from './support/http';
import { ensureBuilt, startLedgerProcess, stopLedgerProcess } from './support/ledger-process';

jest.setTimeout(120_000);
const KEY = 'crash-test-admin-key-0123456789';
const WRITERS = 32;

interface Ack {
  deviceId: string;
  revision: number;
  status: string;
}

beforeAll(() => ensureBuilt());

it('keeps every acknowledged append across SIGKILL, and the registry equals a rebuild', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'devid-crash-'));
  const env = { DATA_DIR: dir, ADMIN_API_KEY: KEY };
  try {
    const ledger = await startLedgerProcess(env);
    const acks: Ack[] = [];
    let failures = 0;
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const made = await request(ledger.url, 'POST', '/devices', { key: KEY, body: { serialNumber: `W${w}-${i}`, model: 'crash', factoryId: 'f' } });
          if (made.status !== 201) continue;
          acks.push({ deviceId: made.body.deviceId as string, revision: made.body.revision as number, status: 'manufactured' });
          const shipped = await request(ledger.url, 'POST', `/devices/${made.body.deviceId}/ship`, { key: KEY, body: { owner: `o${w}` } });
          if (shipped.status === 200) acks.push({ deviceId: made.body.deviceId as string, revision: shipped.body.revision as number, status: 'shipped' });
        } catch {
          failures++; // the connection died with the ledger: not acknowledged, so no promise made
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    // Kill once a good number of writes have been acknowledged, with requests still in flight.
    while (acks.length < 1500) await new Promise((r) => setTimeout(r, 20));
    ledger.child.kill('SIGKILL');
    await stopLedgerProcess(ledger);
    stop = true;
    await Promise.all(writers);
    console.log(`crash test: ${acks.length} acknowledged writes before SIGKILL, ${failures} requests cut off`);
    expect(failures).toBeGreaterThan(0);

    const restarted = await startLedgerProcess(env);
    try {
      for (const ack of acks) {
        const device = await request(restarted.url, 'GET', `/devices/${ack.deviceId}`);
        expect(device.status).toBe(200);
        expect(device.body.revision as number).toBeGreaterThanOrEqual(ack.revision);
        const events = (await request(restarted.url, 'GET', `/devices/${ack.deviceId}/events`)).body.events as Array<{ revision: number; type: string }>;
        expect(events[ack.revision]).toMatchObject({ revision: ack.revision, type: ack.status === 'manufactured' ? 'DeviceManufactured' : 'DeviceShipped' });
      }
      // Let the registry catch up on what was stored after its last checkpoint.
      for (let lag = 1; lag > 0; ) {
        const health = await request(restarted.url, 'GET', '/health');
        lag = ((health.body.projections as Record<string, { lag: number }>)['device-registry']).lag;
        if (lag > 0) await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await stopLedgerProcess(restarted);
    }

    const live = new DeviceRegistry(new DatabaseSync(join(dir, 'read-models.db'))).all();
    const rebuiltDb = openReadModelDb(join(dir, 'rebuilt.db'));
    const store = await SqliteEventStore.open(join(dir, 'events.db'));
    const runner = new ProjectionRunner(store, new DeviceRegistry(rebuiltDb));
    await runner.rebuild();
    await runner.stop();
    const rebuilt = (runner.projection as DeviceRegistry).all();
    await store.close();
    expect(live.length).toBeGreaterThanOrEqual(new Set(acks.map((a) => a.deviceId)).size);
    expect(live).toEqual(rebuilt);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
