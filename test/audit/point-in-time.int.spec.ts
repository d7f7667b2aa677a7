// Point in time over HTTP on a real SQLite file: the asOf answers equal the state folded from
// the events recorded up to then (property, 50 random times), and the ledger chains and signs the log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { AuditPublicKey, canonicalEvent, checkSignature, HashChain, MerkleAccumulator, merkleLeafHash, openAuditDb, verifyInclusion, verifyLog } from '@devid/audit';
import type { DeviceState } from '@devid/domain';
import { SqliteEventStore } from '@devid/event-store';
import { buildAuditLog, steppingClock, testAuditKey, type BuiltLog } from '../../libs/audit/src/testing/audit-log';
import { loadConfig } from '../../apps/ledger/src/config/config';
import { startLedger, type RunningLedger } from '../../apps/ledger/src/ledger';
import { request } from '../support/http';

jest.setTimeout(120_000);

const START = Date.parse('2025-03-03T10:00:00.000Z');
let dir: string;
let ledger: RunningLedger;
let built: BuiltLog;
let lastRecorded: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'audit-asof-'));
  // History written before the ledger starts, with a clock we control (one commit every 997 ms).
  const store = await SqliteEventStore.open(join(dir, 'events.db'), { clock: steppingClock(START, 997) });
  const auditDb = openAuditDb(join(dir, 'audit.db'));
  built = await buildAuditLog(store, new HashChain(auditDb), testAuditKey(), { deviceEvents: 600, devices: 25, checkpointEvery: 1_000_000, signHead: false });
  lastRecorded = Date.parse((await store.readAll({ after: (await store.headPosition()) - 1 }))[0]!.recordedAt);
  await store.close();
  auditDb.close();
  process.env.AUDIT_CHECKPOINT_EVERY = '50';
  ledger = await startLedger(loadConfig({ DATA_DIR: dir, PORT: '0', ADMIN_API_KEY: 'test-admin-key-0123456789', LOG_LEVEL: 'silent', DEMO_CA: 'false' }), false);
});
afterAll(async () => {
  delete process.env.AUDIT_CHECKPOINT_EVERY;
  await ledger?.app.close();
  rmSync(dir, { recursive: true, force: true });
});

const expectedAt = (deviceId: string, at: number): { state: DeviceState; position: number } | undefined =>
  built.timelines
    .get(deviceId)!
    .states.filter((s) => Date.parse(s.recordedAt) <= at)
    .at(-1);

describe('GET /devices/{id}?asOf and GET /certificates/{serial}/status?asOf', () => {
  it('for 50 random times T, answer the state folded from the events recorded up to T', async () => {
    const devices = [...built.timelines.keys()];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...devices), fc.integer({ min: START - 60_000, max: lastRecorded + 60_000 }), fc.boolean(), async (deviceId, at, offset) => {
        // The same instant written in UTC or with an offset.
        const asOf = offset ? new Date(at + 2 * 3_600_000).toISOString().replace('Z', '+02:00') : new Date(at).toISOString();
        const res = await request(ledger.url, 'GET', `/devices/${deviceId}?asOf=${encodeURIComponent(asOf)}`);
        const expected = expectedAt(deviceId, at);
        if (!expected || expected.state.status === 'unknown') {
          expect([res.status, res.body.code]).toEqual([404, 'device-not-found']);
          return;
        }
        const state = expected.state;
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({
          deviceId,
          status: state.status,
          owner: state.owner ?? null,
          transfers: state.transfers,
          updatedAt: state.updatedAt,
          certificates: state.certificates,
          position: expected.position,
          asOf: new Date(at).toISOString(),
        });
        expect(res.body.revocation).toEqual(state.revocation);
        for (const certificate of state.certificates) {
          const status = await request(ledger.url, 'GET', `/certificates/${certificate.serialNumber}/status?caId=${certificate.caId}&asOf=${encodeURIComponent(asOf)}`);
          expect(status.body).toMatchObject({ serialNumber: certificate.serialNumber, deviceId, status: certificate.status });
          expect(status.body.revocation).toEqual(certificate.revocation);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('a certificate asked about before it was issued is 404, and without asOf its status is today’s', async () => {
    const [deviceId, timeline] = [...built.timelines].find(([, t]) => t.states.length > 2 && t.states[0]!.state.status !== 'unknown')!;
    const certificate = (timeline.states.at(-1)!.state as Extract<DeviceState, { certificates: unknown }>).certificates.at(-1)!;
    const before = new Date(START - 1000).toISOString();
    const early = await request(ledger.url, 'GET', `/certificates/${certificate.serialNumber}/status?caId=${certificate.caId}&asOf=${before}`);
    expect([early.status, early.body.code]).toEqual([404, 'certificate-not-issued-yet']);
    const now = await request(ledger.url, 'GET', `/certificates/${certificate.serialNumber}/status?caId=${certificate.caId}`);
    expect(now.body).toMatchObject({ deviceId, status: certificate.status });
  });

  it.each(['yesterday', '2025-02-30T10:00:00Z', '2025-03-03T10:00:00', '2025-03-03T25:00:00Z', '', '2025-03-03T10:00:00Z&asOf=2025-03-04T10:00:00Z'])(
    'refuses asOf=%j with 400 problem+json',
    async (asOf) => {
      const deviceId = [...built.timelines.keys()][0]!;
      for (const path of [`/devices/${deviceId}?asOf=${asOf}`, `/certificates/1001/status?asOf=${asOf}`]) {
        const res = await request(ledger.url, 'GET', path);
        expect([path, res.status, res.headers.get('content-type')]).toEqual([path, 400, expect.stringContaining('application/problem+json')]);
      }
    },
  );
});

describe('the running ledger chains the log and signs checkpoints with its audit key', () => {
  it('publishes its key; the log it signed verifies against that key', async () => {
    const key = await request(ledger.url, 'GET', '/audit/key');
    expect(key.body).toMatchObject({ algorithm: 'Ed25519', keyId: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const trustedKey = AuditPublicKey.fromJwk(key.body.jwk as Parameters<typeof AuditPublicKey.fromJwk>[0]);
    const store = await SqliteEventStore.open(join(dir, 'events.db'));
    const chainDb = openAuditDb(join(dir, 'audit.db'));
    try {
      let report = await verifyLog(store, { chainDb, trustedKey });
      for (let i = 0; i < 50 && report.checkpoints === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        report = await verifyLog(store, { chainDb, trustedKey });
      }
      expect(report).toMatchObject({ ok: true, keyId: trustedKey.keyId });
      expect(report.checkpoints).toBeGreaterThanOrEqual(1);
      expect(report.sealedUpTo).toBeGreaterThanOrEqual(built.deviceEvents);
    } finally {
      chainDb.close();
      await store.close();
    }
  });
});

describe('GET /audit/proof?eventId=', () => {
  it('proves an event in the RFC 6962 tree over the log up to the latest signed checkpoint; a changed leaf or path does not verify', async () => {
    const key = AuditPublicKey.fromJwk((await request(ledger.url, 'GET', '/audit/key')).body.jwk as Parameters<typeof AuditPublicKey.fromJwk>[0]);
    const store = await SqliteEventStore.open(join(dir, 'events.db'));
    try {
      const events = await store.readAll({ maxCount: 1000 });
      for (const event of [events[0]!, events[1]!, events[Math.floor(built.deviceEvents / 2)]!, events[built.deviceEvents - 1]!]) {
        let res = await request(ledger.url, 'GET', `/audit/proof?eventId=${event.id}`);
        // 409 until the ledger has signed a checkpoint past the event (it does within 50 events).
        for (let i = 0; i < 50 && res.status === 409; i++) {
          await new Promise((r) => setTimeout(r, 100));
          res = await request(ledger.url, 'GET', `/audit/proof?eventId=${event.id}`);
        }
        expect(res.status).toBe(200);
        const proof = res.body as { position: number; leafIndex: number; treeSize: number; leafHash: string; path: string[]; root: string; checkpoint: Parameters<typeof checkSignature>[0] };
        expect(proof).toMatchObject({ position: event.position, leafIndex: event.position - 1 });
        // The checkpoint is the ledger's, signed with its key, and the tree stops at what it covers.
        expect(checkSignature(proof.checkpoint, key)).toBeUndefined();
        expect(proof.treeSize).toBe(proof.checkpoint.position);
        // Recomputed from the store by the test: same leaf, same root.
        expect(proof.leafHash).toBe(merkleLeafHash(canonicalEvent(event)).toString('hex'));
        const tree = new MerkleAccumulator();
        for (const e of (await store.readAll({ maxCount: 1000 })).slice(0, proof.treeSize)) tree.add(merkleLeafHash(canonicalEvent(e)));
        expect(proof.root).toBe(tree.root().toString('hex'));
        const hex = (h: string) => Buffer.from(h, 'hex');
        const path = proof.path.map(hex);
        expect(verifyInclusion(hex(proof.leafHash), proof.leafIndex, proof.treeSize, path, hex(proof.root))).toBe(true);
        const flipped = (h: Buffer) => Buffer.from(h.map((b, i) => (i === 0 ? b ^ 0x80 : b)));
        expect(verifyInclusion(flipped(hex(proof.leafHash)), proof.leafIndex, proof.treeSize, path, hex(proof.root))).toBe(false);
        expect(verifyInclusion(hex(proof.leafHash), proof.leafIndex, proof.treeSize, [flipped(path[0]!), ...path.slice(1)], hex(proof.root))).toBe(false);
      }
    } finally {
      await store.close();
    }
  });

  it('answers 404 for an id no event has and 400 for what is not an event id', async () => {
    const missing = await request(ledger.url, 'GET', '/audit/proof?eventId=00000000-0000-4000-8000-000000000000');
    expect([missing.status, missing.body.code]).toEqual([404, 'audit-event-not-found']);
    for (const query of ['eventId=not-a-uuid', 'eventId=00000000-0000-4000-8000-00000000000A', '']) {
      const bad = await request(ledger.url, 'GET', `/audit/proof?${query}`);
      expect([query, bad.status, bad.body.code]).toEqual([query, 400, 'audit-invalid-event-id']);
    }
  });
});
