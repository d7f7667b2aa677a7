import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryEventStore } from '@devid/event-store';
import { openAuditDb } from '../chain/audit-db';
import { HashChain } from '../chain/hash-chain';
import { AuditPublicKey } from '../checkpoint/audit-public-key';
import { InvalidExportRange, RangeNotSealed } from '../errors';
import { buildAuditLog, steppingClock, testAuditKey } from '../testing/audit-log';
import { verifyLog } from '../verify/verify-log';
import { exportBundle } from './export-bundle';
import { parseRangeBound } from './export-range';
import { verifyBundle } from './verify-bundle';

describe('audit bundle: export, then verify offline', () => {
  let dir: string;
  let store: MemoryEventStore;
  const key = testAuditKey();
  let built: Awaited<ReturnType<typeof buildAuditLog>>;

  beforeAll(async () => {
    store = new MemoryEventStore({ clock: steppingClock() });
    built = await buildAuditLog(store, new HashChain(openAuditDb(':memory:')), key, { deviceEvents: 300, devices: 12, checkpointEvery: 50 });
  });
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'bundle-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips the whole log: every event, as stored, under the checkpoints that seal it', async () => {
    const out = join(dir, 'all.bundle');
    const head = await store.headPosition();
    const log = await verifyLog(store, { trustedKey: AuditPublicKey.fromSpki(key.subjectPublicKeyInfo) });
    // Without the stored chain only checkpoints vouch, and the last checkpoint event itself is after what it covers.
    expect(log).toMatchObject({ ok: true, head, sealedUpTo: head - 1, unvouched: 1 });
    const summary = await exportBundle(store, { from: { position: 1 }, to: { position: log.sealedUpTo }, out });
    expect(summary).toMatchObject({ firstPosition: 1, lastPosition: log.sealedUpTo, events: log.sealedUpTo });
    const verified = await verifyBundle(out, { trustedKey: AuditPublicKey.fromSpki(key.subjectPublicKeyInfo) });
    expect(verified).toMatchObject({ ok: true, deviceId: null, runs: summary.runs, events: log.sealedUpTo, firstPosition: 1, lastPosition: log.sealedUpTo });
    // Back-to-back runs, each closed by the checkpoint that covers its last event.
    expect(verified.checkpoints).toBe(summary.checkpoints);
    expect(summary.runs).toBe(summary.checkpoints);
    // The lines carry the stored events themselves (original version, not upcast).
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { kind: string; event?: { position: number } });
    const stored = await store.readAll({ after: 0, maxCount: 1000 });
    const events = lines.filter((l) => l.kind === 'event').map((l) => l.event);
    expect(events).toEqual(stored.slice(0, log.sealedUpTo).map(({ id, type, version, streamId, revision, position, occurredAt, recordedAt, data, metadata }) => ({ id, type, version, streamId, revision, position, occurredAt, recordedAt, data, metadata })));
    expect(events.some((e) => (e as unknown as { type: string; version: number }).type === 'DeviceRevoked' && (e as unknown as { version: number }).version === 1)).toBe(true);
  });

  it('a device bundle holds every event of that device in the range, and verifies', async () => {
    const [deviceId, timeline] = [...built.timelines].find(([, t]) => t.states.length >= 3)!;
    const out = join(dir, 'device.bundle');
    const log = await verifyLog(store);
    const summary = await exportBundle(store, { from: { position: 1 }, to: { position: log.sealedUpTo }, deviceId, out });
    const verified = await verifyBundle(out);
    expect(verified.ok).toBe(true);
    const deviceEvents = (await store.readStream(`device-${deviceId}`)).filter((e) => e.position <= log.sealedUpTo);
    expect(verified.selectedEvents).toBe(deviceEvents.length);
    expect(summary.selected).toBe(deviceEvents.length);
    expect(timeline.deviceId).toBe(deviceId);
    expect(verified.events).toBeLessThan(log.sealedUpTo);
  });

  it('refuses a range past the last checkpoint, and one that selects nothing, writing no file', async () => {
    const head = await store.headPosition();
    await store.append('device-late', [{ id: crypto.randomUUID(), type: 'DeviceShipped', version: 1, occurredAt: '2025-03-03T10:00:00.000Z', data: {}, metadata: { commandId: 'c', causationId: 'c', correlationId: 'c', actor: 'a' } }], { expectedRevision: 'any' });
    const out = join(dir, 'late.bundle');
    await expect(exportBundle(store, { from: { position: head + 1 }, to: { position: head + 1 }, out })).rejects.toBeInstanceOf(RangeNotSealed);
    await expect(exportBundle(store, { from: { position: 5 }, to: { position: 4 }, out })).rejects.toBeInstanceOf(InvalidExportRange);
    await expect(exportBundle(store, { from: { position: 1 }, to: { position: 40 }, deviceId: 'no-such-device', out })).rejects.toBeInstanceOf(InvalidExportRange);
    expect(() => readFileSync(out)).toThrow();
    expect(() => readFileSync(`${out}.partial`)).toThrow();
  });

  it('is refused when checked against another audit key', async () => {
    const out = join(dir, 'all.bundle');
    await exportBundle(store, { from: { position: 1 }, to: { position: 100 }, out });
    const other = AuditPublicKey.fromSpki(testAuditKey().subjectPublicKeyInfo);
    expect(await verifyBundle(out, { trustedKey: other })).toMatchObject({ ok: false, failure: { code: 'checkpoint-key-mismatch' } });
  });

  it('reports a truncated or empty bundle', async () => {
    const out = join(dir, 'all.bundle');
    await exportBundle(store, { from: { position: 1 }, to: { position: 100 }, out });
    const text = readFileSync(out, 'utf8');
    writeFileSync(out, text.slice(0, text.lastIndexOf('{"kind":"end"')));
    expect(await verifyBundle(out)).toMatchObject({ ok: false, failure: { code: 'bundle-count-mismatch' } });
    writeFileSync(out, '');
    expect(await verifyBundle(out)).toMatchObject({ ok: false, failure: { code: 'bundle-malformed' } });
  });

  it('parses range bounds: a position or an RFC 3339 time, nothing else', () => {
    expect(parseRangeBound('12', 'from')).toEqual({ position: 12 });
    expect(parseRangeBound('2025-03-03T10:00:00Z', 'to')).toEqual({ time: new Date('2025-03-03T10:00:00Z') });
    expect(() => parseRangeBound('yesterday', 'from')).toThrow(InvalidExportRange);
    expect(() => parseRangeBound('2025-02-30T10:00:00Z', 'from')).toThrow(InvalidExportRange);
  });
});
