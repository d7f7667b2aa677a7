// Test-only: a realistic device log with signed checkpoints (not exported from the library index).
import { generateKeyPairSync, sign as signBytes, type KeyObject } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { decide, evolve, initialState, type DeviceCommand, type DeviceEvent, type DeviceState, type IssuedCertificate } from '@devid/domain';
import { deriveEventId, SqliteEventStore, type EventStore, type NewEvent } from '@devid/event-store';
import { ProjectionRunner } from '@devid/projections';
import type { CheckpointSigningKey } from '../checkpoint/audit-checkpoint';
import { CheckpointScheduler } from '../checkpoint/checkpoint-scheduler';
import { openAuditDb } from '../chain/audit-db';
import { HashChain } from '../chain/hash-chain';

export interface TestAuditKey extends CheckpointSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export const testAuditKey = (algorithm: 'Ed25519' | 'ECDSA-P256' = 'Ed25519'): TestAuditKey => {
  const { privateKey, publicKey } =
    algorithm === 'Ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey,
    publicKey,
    subjectPublicKeyInfo: publicKey.export({ format: 'der', type: 'spki' }),
    sign: async (data) => signBytes(algorithm === 'Ed25519' ? null : 'sha256', data, privateKey),
  };
};

/** A clock that moves one second per reading, from a fixed start: recordedAt is distinct per commit. */
export const steppingClock = (start = Date.parse('2025-03-03T10:00:00.000Z'), stepMs = 1000) => {
  let now = start - stepMs;
  return () => new Date((now += stepMs));
};

/** mulberry32: a seeded PRNG, so every run builds the same log. */
export const seeded = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const certificate = (deviceId: string, profile: 'IDevID' | 'LDevID', n: number): IssuedCertificate => ({
  serialNumber: (0x1000 + n).toString(16),
  caId: profile === 'IDevID' ? 'factory-ca' : 'issuing-ca',
  profile,
  der: Buffer.from(`certificate ${n} of ${deviceId}`).toString('base64'),
  subject: `CN=${deviceId},O=Acme Devices`,
  notBefore: '2025-01-01T00:00:00.000Z',
  notAfter: '2035-01-01T00:00:00.000Z',
  spkiSha256: `${n}`.padStart(64, '0'),
  fingerprintSha256: `${n}`.padStart(64, 'f'),
});

/** One device's state after each of its appends, with the recordedAt of that append. */
export interface DeviceTimeline {
  deviceId: string;
  states: { recordedAt: string; position: number; state: DeviceState }[];
}

export interface BuiltLog {
  /** Every device's timeline, built from the decider's output (not read back from the store). */
  timelines: Map<string, DeviceTimeline>;
  /** Device events appended (checkpoints not counted). */
  deviceEvents: number;
}

const nextCommand = (deviceId: string, state: DeviceState, random: () => number, n: number, ctx: { commandId: string; now: string; actor: string }): DeviceCommand | undefined => {
  const pick = <T>(options: T[]) => options[Math.floor(random() * options.length)]!;
  switch (state.status) {
    case 'unknown':
      return { type: 'ManufactureDevice', deviceId, data: { serialNumber: `SN-${n}`, model: pick(['gw-7', 'sensor-3', 'plc-2']), factoryId: 'F1', idevid: certificate(deviceId, 'IDevID', n) }, ...ctx };
    case 'manufactured':
      return random() < 0.9 ? { type: 'ShipDevice', deviceId, data: { owner: pick(['acme', 'globex', 'initech']) }, ...ctx } : { type: 'DecommissionDevice', deviceId, data: { reason: 'scrapped' }, ...ctx };
    case 'shipped':
      return { type: 'EnrollDevice', deviceId, data: { certificate: certificate(deviceId, 'LDevID', n) }, ...ctx };
    case 'enrolled':
      return pick<DeviceCommand>([
        { type: 'ReenrollDevice', deviceId, data: { certificate: certificate(deviceId, 'LDevID', n), revokePrevious: random() < 0.3 }, ...ctx },
        { type: 'TransferDevice', deviceId, data: { newOwner: pick(['acme', 'globex', 'initech', 'umbrella']) }, ...ctx },
        { type: 'RevokeDevice', deviceId, data: { reason: pick(['keyCompromise', 'privilegeWithdrawn'] as const) }, ...ctx },
      ]);
    case 'revoked':
      return random() < 0.6
        ? { type: 'ReinstateDevice', deviceId, data: { certificate: certificate(deviceId, 'LDevID', n) }, ...ctx }
        : { type: 'DecommissionDevice', deviceId, data: { reason: 'end of life' }, ...ctx };
    case 'decommissioned':
      return undefined;
  }
};

/**
 * A DeviceRevoked written as it was in version 1 (free-text reason): the replay must
 * upcast it to the same state the current version gives.
 */
const asStored = (event: DeviceEvent, index: number, commandId: string, actor: string, now: string, random: () => number): NewEvent => {
  const old = event.type === 'DeviceRevoked' && random() < 0.5;
  return {
    id: deriveEventId(commandId, index),
    type: event.type,
    version: old ? 1 : event.version,
    occurredAt: now,
    data: event.data,
    metadata: { commandId, causationId: commandId, correlationId: commandId, actor },
  };
};

/**
 * Appends device events made by the real decider until `deviceEvents` are stored (the last
 * append may overshoot by its size), over `devices` devices, with a HashChain following the
 * log and a CheckpointScheduler signing every `checkpointEvery` events; finally signs the head.
 */
export const buildAuditLog = async (
  store: EventStore,
  chain: HashChain,
  key: CheckpointSigningKey,
  options: { deviceEvents: number; devices?: number; checkpointEvery?: number; seed?: number; clock?: () => Date; signHead?: boolean },
): Promise<BuiltLog> => {
  const random = seeded(options.seed ?? 42);
  const clock = options.clock ?? steppingClock(Date.parse('2025-03-03T10:00:00.000Z'), 997);
  const runner = new ProjectionRunner(store, chain, { batchSize: 100 });
  const scheduler = new CheckpointScheduler(store, chain, key, { everyEvents: options.checkpointEvery ?? 100, intervalMs: 0, clock });
  runner.start();
  await scheduler.start();
  try {
    return await appendDeviceEvents(store, runner, scheduler, random, clock, options);
  } finally {
    await scheduler.stop();
    await runner.stop();
  }
};

const appendDeviceEvents = async (
  store: EventStore,
  runner: ProjectionRunner,
  scheduler: CheckpointScheduler,
  random: () => number,
  clock: () => Date,
  options: { deviceEvents: number; devices?: number; signHead?: boolean },
): Promise<BuiltLog> => {
  const devices = Array.from({ length: options.devices ?? 40 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
  const timelines = new Map<string, DeviceTimeline>(devices.map((deviceId) => [deviceId, { deviceId, states: [] }]));
  const states = new Map<string, { state: DeviceState; revision: number }>(devices.map((d) => [d, { state: initialState, revision: -1 }]));
  let written = 0;
  for (let n = 1; written < options.deviceEvents; n++) {
    const slot = Math.floor(random() * devices.length);
    if (states.get(devices[slot]!)!.state.status === 'decommissioned') {
      // A scrapped device makes room for a new one: the log never runs out of legal commands.
      const fresh = `00000000-0000-4000-8001-${String(n).padStart(12, '0')}`;
      devices[slot] = fresh;
      timelines.set(fresh, { deviceId: fresh, states: [] });
      states.set(fresh, { state: initialState, revision: -1 });
    }
    const deviceId = devices[slot]!;
    const current = states.get(deviceId)!;
    const ctx = { commandId: `cmd-${n}`, now: clock().toISOString(), actor: 'operator:test' };
    const command = nextCommand(deviceId, current.state, random, n, ctx);
    if (!command) continue;
    let events: DeviceEvent[];
    try {
      events = decide(command, current.state);
    } catch {
      continue; // e.g. a transfer to the current owner: the decider refuses, nothing is written
    }
    const stored = events.map((e, i) => asStored(e, i, ctx.commandId, ctx.actor, ctx.now, random));
    const result = await store.append(`device-${deviceId}`, stored, { expectedRevision: current.revision < 0 ? 'no_stream' : current.revision });
    // The decider's own (current-version) events: independent of how the store or replay read them back.
    const state = events.reduce(evolve, current.state);
    states.set(deviceId, { state, revision: result.nextExpectedRevision });
    const last = result.events[result.events.length - 1]!;
    timelines.get(deviceId)!.states.push({ recordedAt: last.recordedAt, position: last.position, state });
    written += result.events.length;
    // Let the chain and the scheduler keep up, as they do beside a live ledger.
    if (n % 20 === 0) await runner.waitFor(last.position);
  }
  await runner.waitFor(await store.headPosition());
  if (options.signHead ?? true) {
    await scheduler.signNow();
    await runner.waitFor(await store.headPosition());
  }
  return { timelines, deviceEvents: written };
};

/** A log file and the file of its stored chain. */
export interface AuditLogFiles {
  events: string;
  audit: string;
}

/**
 * buildAuditLog into `dir` as two closed files (events.db with a stepping clock, audit.db), for
 * tests that copy and tamper with them. Closing folds each WAL into its file.
 */
export const writeAuditLogFiles = async (
  dir: string,
  key: CheckpointSigningKey,
  options: Parameters<typeof buildAuditLog>[3],
): Promise<AuditLogFiles & { head: number }> => {
  const files = { events: join(dir, 'pristine-events.db'), audit: join(dir, 'pristine-audit.db') };
  const store = await SqliteEventStore.open(files.events, { clock: steppingClock() });
  const auditDb = openAuditDb(files.audit);
  try {
    await buildAuditLog(store, new HashChain(auditDb), key, options);
    return { ...files, head: await store.headPosition() };
  } finally {
    await store.close();
    auditDb.close();
  }
};

/** A fresh copy of both files beside them, named after `name`. */
export const copyAuditLogFiles = ({ events, audit }: AuditLogFiles, name: string): AuditLogFiles => {
  const copy = { events: join(dirname(events), `${name}-events.db`), audit: join(dirname(audit), `${name}-audit.db`) };
  copyFileSync(events, copy.events);
  copyFileSync(audit, copy.audit);
  return copy;
};
