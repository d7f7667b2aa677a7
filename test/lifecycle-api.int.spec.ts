// The lifecycle REST API in-process, over real HTTP, on a real SQLite file.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceStreamId } from '@devid/domain';
import { SqliteEventStore } from '@devid/event-store';
import { request } from './support/http';
import { loadConfig } from '../apps/ledger/src/config/config';
import { startLedger, type RunningLedger } from '../apps/ledger/src/ledger';

const KEY = 'test-admin-key-0123456789';
let ledger: RunningLedger;
let dir: string;
let seq = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'devid-api-'));
  ledger = await startLedger(loadConfig({ DATA_DIR: dir, PORT: '0', ADMIN_API_KEY: KEY, LOG_LEVEL: 'silent' }), false);
});
afterAll(async () => {
  await ledger.app.close();
  rmSync(dir, { recursive: true, force: true });
});

const api = (method: string, path: string, options: Parameters<typeof request>[3] = {}) =>
  request(ledger.url, method, path, { key: KEY, ...options });
const manufacture = async () => {
  const res = await api('POST', '/devices', { body: { serialNumber: `SN-${++seq}-${Date.now()}`, model: 'gw-100', factoryId: 'fab-1' } });
  expect(res.status).toBe(201);
  return res.body as { deviceId: string; revision: number };
};
const eventsOf = async (id: string) => (await api('GET', `/devices/${id}/events`)).body.events as Array<{ type: string; revision: number; position: number }>;

describe('device lifecycle API', () => {
  it('walks a device through its whole life and lists the events in order', async () => {
    const { deviceId } = await manufacture();
    const steps: Array<[string, unknown, string]> = [
      ['ship', { owner: 'acme' }, 'shipped'],
      ['enroll', {}, 'enrolled'],
      ['transfer', { newOwner: 'globex' }, 'shipped'],
      ['enroll', {}, 'enrolled'],
      ['revoke', { reason: 'keyCompromise' }, 'revoked'],
      ['reinstate', {}, 'enrolled'],
      ['decommission', { reason: 'end of life' }, 'decommissioned'],
    ];
    for (const [action, body, status] of steps) {
      const res = await api('POST', `/devices/${deviceId}/${action}`, { body });
      expect({ action, status: res.status, device: res.body.status }).toEqual({ action, status: 200, device: status });
    }
    const device = await api('GET', `/devices/${deviceId}`);
    expect(device.body).toMatchObject({ deviceId, status: 'decommissioned', owner: 'globex', revision: 7 });
    expect(device.headers.get('etag')).toBe('"7"');
    const events = await eventsOf(deviceId);
    expect(events.map((e) => e.type)).toEqual([
      'DeviceManufactured',
      'DeviceShipped',
      'DeviceEnrolled',
      'DeviceTransferred',
      'DeviceEnrolled',
      'DeviceRevoked',
      'DeviceReinstated',
      'DeviceDecommissioned',
    ]);
    expect(events.map((e) => e.revision)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const positions = events.map((e) => e.position);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('refuses an illegal transition with 409 problem+json and writes nothing', async () => {
    const { deviceId } = await manufacture();
    const before = await eventsOf(deviceId);
    const res = await api('POST', `/devices/${deviceId}/enroll`, { body: {} });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: '/problems/illegal-transition', status: 409, currentStatus: 'manufactured' });
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(await eventsOf(deviceId)).toEqual(before);
  });

  it('writes once for the same Idempotency-Key and answers the same', async () => {
    const { deviceId } = await manufacture();
    const headers = { 'idempotency-key': `ship-${deviceId}` };
    const first = await api('POST', `/devices/${deviceId}/ship`, { body: { owner: 'acme' }, headers });
    const second = await api('POST', `/devices/${deviceId}/ship`, { body: { owner: 'acme' }, headers });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect((await eventsOf(deviceId)).map((e) => e.type)).toEqual(['DeviceManufactured', 'DeviceShipped']);
    const reused = await api('POST', `/devices/${deviceId}/ship`, { body: { owner: 'other' }, headers });
    expect(reused.status).toBe(422);
    expect(reused.body.type).toBe('/problems/idempotency-key-reused');
  });

  it('makes POST /devices idempotent too: same key, same device, one event', async () => {
    const body = { serialNumber: `SN-idem-${Date.now()}`, model: 'gw-100', factoryId: 'fab-1' };
    const headers = { 'idempotency-key': body.serialNumber };
    const [a, b] = await Promise.all([api('POST', '/devices', { body, headers }), api('POST', '/devices', { body, headers })]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.deviceId).toBe(b.body.deviceId);
    expect(await eventsOf(a.body.deviceId as string)).toHaveLength(1);
    const again = await api('POST', '/devices', { body });
    expect(again.status).toBe(409);
    expect(again.body.type).toBe('/problems/device-exists');
  });

  it('answers 412 for a stale If-Match and writes nothing', async () => {
    const { deviceId, revision } = await manufacture();
    expect(revision).toBe(0);
    const stale = await api('POST', `/devices/${deviceId}/ship`, { body: { owner: 'acme' }, headers: { 'if-match': '"5"' } });
    expect(stale.status).toBe(412);
    expect(stale.body.type).toBe('/problems/precondition-failed');
    expect(await eventsOf(deviceId)).toHaveLength(1);
    const fresh = await api('POST', `/devices/${deviceId}/ship`, { body: { owner: 'acme' }, headers: { 'if-match': '"0"' } });
    expect(fresh.status).toBe(200);
  });

  it('needs the admin key for writes (401), not for reads', async () => {
    const { deviceId } = await manufacture();
    const none = await request(ledger.url, 'POST', `/devices/${deviceId}/ship`, { body: { owner: 'x' } });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await request(ledger.url, 'POST', `/devices/${deviceId}/ship`, { body: { owner: 'x' }, key: 'nope-nope-nope-nope' });
    expect(wrong.status).toBe(401);
    expect((await request(ledger.url, 'GET', `/devices/${deviceId}`)).status).toBe(200);
    expect(await eventsOf(deviceId)).toHaveLength(1);
  });

  it.each([
    ['unknown field', { serialNumber: 'a', model: 'b', factoryId: 'c', extra: 1 }, 400, 'validation-failed'],
    ['missing field', { serialNumber: 'a', model: 'b' }, 400, 'validation-failed'],
    ['wrong type', { serialNumber: 1, model: 'b', factoryId: 'c' }, 400, 'validation-failed'],
    ['control characters', { serialNumber: 'a\u0007', model: 'b', factoryId: 'c' }, 400, 'validation-failed'],
  ])('refuses a body with %s (%s %s)', async (_name, body, status, code) => {
    const res = await api('POST', '/devices', { body });
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ type: `/problems/${code}`, status });
  });

  it('answers 400 for malformed JSON, 415 for another media type, 413 past 64 KiB', async () => {
    const malformed = await api('POST', '/devices', { raw: '{"serialNumber":', headers: { 'content-type': 'application/json' } });
    expect([malformed.status, malformed.body.type]).toEqual([400, '/problems/malformed-json']);
    const xml = await api('POST', '/devices', { raw: '<device/>', headers: { 'content-type': 'application/xml' } });
    expect([xml.status, xml.body.type]).toEqual([415, '/problems/unsupported-media-type']);
    const big = await api('POST', '/devices', { body: { serialNumber: 'x'.repeat(70 * 1024), model: 'm', factoryId: 'f' } });
    expect([big.status, big.body.type]).toEqual([413, '/problems/body-too-large']);
  });

  it('answers 404 problem for an unknown device and an unknown route', async () => {
    const missing = await api('GET', '/devices/does-not-exist');
    expect([missing.status, missing.body.type]).toEqual([404, '/problems/device-not-found']);
    const action = await api('POST', '/devices/does-not-exist/ship', { body: { owner: 'a' } });
    expect(action.status).toBe(404);
    const route = await api('GET', '/nope');
    expect([route.status, route.body.type]).toEqual([404, '/problems/not-found']);
  });

  it('lists devices by status and owner with a cursor', async () => {
    const owner = `owner-${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { deviceId } = await manufacture();
      await api('POST', `/devices/${deviceId}/ship`, { body: { owner } });
      ids.push(deviceId);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof api>> = await api('GET', `/devices?status=shipped&owner=${owner}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      const devices = page.body.devices as Array<{ deviceId: string; status: string; owner: string }>;
      expect(devices.length).toBeLessThanOrEqual(2);
      for (const d of devices) expect([d.status, d.owner]).toEqual(['shipped', owner]);
      seen.push(...devices.map((d) => d.deviceId));
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    expect(seen).toEqual(ids);
    expect((await api('GET', '/devices?status=flying')).status).toBe(400);
    expect((await api('GET', '/devices?cursor=garbage')).status).toBe(400);
  });

  it('serves the OpenAPI document, the docs UI, health and Prometheus metrics', async () => {
    const openapi = await api('GET', '/openapi.json');
    expect(openapi.status).toBe(200);
    expect(Object.keys(openapi.body.paths as object)).toEqual(expect.arrayContaining(['/devices', '/devices/{id}/ship', '/devices/{id}/events']));
    const docs = await fetch(`${ledger.url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
    const health = await api('GET', '/health');
    expect(health.body).toMatchObject({ status: 'ok', store: { index: { unindexedEvents: expect.any(Number), indexerRestarts: 0 } } });
    const metrics = await fetch(`${ledger.url}/metrics`);
    const text = await metrics.text();
    expect(text).toMatch(/^devid_http_requests_total\{/m);
    expect(text).toMatch(/^devid_event_store_head_position \d+/m);
    expect(text).toMatch(/^devid_event_store_group_commit\{counter="events"\} [1-9]\d*$/m);
    expect(text).toMatch(/^devid_event_store_index\{counter="unindexed_events"\} \d+/m);
    expect(text).toMatch(/^devid_event_store_index\{counter="indexer_restarts"\} 0$/m);
  });
});

describe('device state between commands', () => {
  it('decides on what another writer of the same file appended since the last command, not on the state this ledger saw last', async () => {
    const { deviceId } = await manufacture();
    // Another process (here a second store on the ledger's file) ships the device behind the ledger's back.
    const other = await SqliteEventStore.open(join(dir, 'events.db'));
    try {
      const shipped = await other.append(
        deviceStreamId(deviceId),
        [{ id: randomUUID(), type: 'DeviceShipped', version: 1, occurredAt: new Date().toISOString(), data: { owner: 'initech', shippedAt: new Date().toISOString() }, metadata: { actor: 'other-process', commandId: randomUUID(), causationId: randomUUID(), correlationId: randomUUID() } }],
        { expectedRevision: 0 },
      );
      expect(shipped.nextExpectedRevision).toBe(1);
    } finally {
      await other.close();
    }

    // Legal only for a shipped device: decided on the manufactured state the ledger itself wrote last, it would be a 409.
    const enrolled = await api('POST', `/devices/${deviceId}/enroll`, { body: {} });
    expect({ status: enrolled.status, device: enrolled.body.status, owner: enrolled.body.owner, revision: enrolled.body.revision }).toEqual({
      status: 200,
      device: 'enrolled',
      owner: 'initech',
      revision: 2,
    });
    expect((await eventsOf(deviceId)).map((e) => e.type)).toEqual(['DeviceManufactured', 'DeviceShipped', 'DeviceEnrolled']);
  });
});

