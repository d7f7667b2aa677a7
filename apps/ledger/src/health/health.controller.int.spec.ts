import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Response } from 'express';
import { SqliteEventStore } from '@devid/event-store';
import { openReadModelDb } from '@devid/projections';
import { ReadModels } from '../store/read-models';
import { HealthController } from './health.controller';

// The event store's test fault hooks, loaded by its writer thread (a file path, not an import).
const FAULTS = join(__dirname, '../../../../libs/event-store/src/sqlite/testing/fault-hooks.cjs');
const newEvent = () => ({
  id: randomUUID(),
  type: 'DeviceShipped',
  version: 1,
  occurredAt: '2025-03-03T10:00:00.000Z',
  data: { owner: 'acme' },
  metadata: { actor: 'admin', causationId: 'c', commandId: 'c', correlationId: 'c' },
});

describe('GET /health', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'devid-health-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('answers 503 once the store has lost its writer thread, although it still reads', async () => {
    const path = join(dir, 'events.db');
    const store = await SqliteEventStore.open(path, { faultModule: FAULTS });
    const controller = new HealthController(store, { checkpoints: () => ({ registry: 1 }), stopped: () => [] } as unknown as ReadModels);
    const response = { statusCode: 200, status(code: number) { this.statusCode = code; return this; } };
    try {
      await store.append('device-1', [newEvent()], { expectedRevision: 'no_stream' });
      expect(await controller.health(response as unknown as Response)).toEqual({
        status: 'ok',
        store: { headPosition: 1, index: { unindexedEvents: 1, indexerRestarts: 0 } },
        projections: { registry: { checkpoint: 1, lag: 0 } },
      });
      expect(response.statusCode).toBe(200);

      writeFileSync(`${path}.exit-in-commit`, '');
      await expect(store.append('device-1', [newEvent()], { expectedRevision: 0 })).rejects.toThrow(/outcome of this append is unknown/);

      expect(await controller.health(response as unknown as Response)).toEqual({ status: 'unavailable', error: expect.stringMatching(/^the event store cannot write: the writer thread exited/) });
      expect(response.statusCode).toBe(503);
      expect(await store.headPosition()).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('answers 503 naming the read model that stopped on an event it cannot apply (one of a newer release), and rejects waiting for it', async () => {
    const store = await SqliteEventStore.open(join(dir, 'events.db'));
    const db = openReadModelDb(join(dir, 'read-models.db'));
    const readModels = new ReadModels(store, db);
    const controller = new HealthController(store, readModels);
    const response = { statusCode: 200, status(code: number) { this.statusCode = code; return this; } };
    try {
      readModels.start();
      await store.append('note-1', [newEvent()], { expectedRevision: 'any' });
      await readModels.waitFor(1);
      expect(await controller.health(response as unknown as Response)).toMatchObject({ status: 'ok' });

      const future = await store.append('device-00000000-0000-4000-8000-000000000001', [{ ...newEvent(), type: 'DeviceManufactured', version: 99 }], { expectedRevision: 'any' });
      await expect(readModels.waitFor(future.events[0]!.position)).rejects.toThrow(/^projection device-registry stopped: /);
      expect(await controller.health(response as unknown as Response)).toEqual({ status: 'unavailable', error: expect.stringMatching(/^projection device-registry stopped: .+/) });
      expect(response.statusCode).toBe(503);
    } finally {
      await readModels.stop();
      db.close();
      await store.close();
    }
  });

  it('stays 200 when the index thread dies: a new one takes over and the next flush indexes what waited', async () => {
    const path = join(dir, 'events.db');
    const store = await SqliteEventStore.open(path, { faultModule: FAULTS, indexFlushIntervalMs: 0 });
    const controller = new HealthController(store, { checkpoints: () => ({}), stopped: () => [] } as unknown as ReadModels);
    const response = { statusCode: 200, status(code: number) { this.statusCode = code; return this; } };
    try {
      await store.append('device-1', [newEvent(), newEvent()], { expectedRevision: 'no_stream' });
      writeFileSync(`${path}.exit-in-index`, '');
      expect(await store.flushIndex()).toBe(false);

      expect(await controller.health(response as unknown as Response)).toEqual({ status: 'ok', store: { headPosition: 2, index: { unindexedEvents: 2, indexerRestarts: 1 } }, projections: {} });
      expect(response.statusCode).toBe(200);
      expect(await store.flushIndex()).toBe(true);
      expect(await controller.health(response as unknown as Response)).toMatchObject({ store: { index: { unindexedEvents: 0, indexerRestarts: 1 } } });
      await expect(store.append('device-1', [newEvent()], { expectedRevision: 1 })).resolves.toMatchObject({ nextExpectedRevision: 2 });
    } finally {
      await store.close();
    }
  });
});
