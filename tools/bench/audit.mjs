// Audit: verify, export and verify-bundle over a 100,000- and a 1,000,000-event log. The log is
// written first (in this process); then each of the three runs in a fresh child process (this
// file with `child <op> <dir>`, the same library calls as `devid audit ...`) that prints its own
// time and peak RSS (process.resourceUsage().maxRSS), so the RSS figures are the operation's
// alone and the reader sees whether they grow with the log. Beside verify: the same verify with
// every hash on the main thread (offThread: false; by default the stored chain's links are hashed
// on a worker, see ChainLinksOffThread), the raw SQLite read, the raw read + JSON.parse of the
// stored JSON, and the raw SHA-256(prev ‖ canonical bytes) rate, measured in the same run over the
// same rows. Temp files removed at the end.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, hash, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { inCanonicalOrder, SqliteEventStore } = require('../../libs/event-store/dist/index.js');
const audit = require('../../libs/audit/dist/index.js');

const SIZES = (process.env.BENCH_AUDIT_EVENTS ?? '100000,1000000').split(',').map(Number);
const CHECKPOINT_EVERY = 10_000;
const fmt = (v) => Math.round(v).toLocaleString('en-US');
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const seconds = (started) => (performance.now() - started) / 1000;

const deviceEvent = (n) => ({
  id: randomUUID(),
  type: n % 3 === 0 ? 'DeviceShipped' : 'DeviceEnrolled',
  version: 1,
  streamId: `device-${n % 50_000}`,
  revision: Math.floor(n / 50_000),
  occurredAt: '2025-03-03T10:00:00.000Z',
  data: n % 3 === 0 ? { owner: `owner-${n % 97}`, shippedAt: '2025-03-03T10:00:00.000Z' } : { owner: `owner-${n % 97}`, enrolledAt: '2025-03-03T10:00:00.000Z' },
  metadata: { commandId: randomUUID(), causationId: randomUUID(), correlationId: randomUUID(), actor: 'operator:bench' },
});

/** DATA_DIR with events.db, audit.db (the stored chain) and audit-key.pub.pem, as the ledger leaves it. */
const writeLog = async (dir, events) => {
  const eventsFile = join(dir, 'events.db');
  (await SqliteEventStore.open(eventsFile)).close();
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(join(dir, 'audit-key.pub.pem'), publicKey.export({ format: 'pem', type: 'spki' }));
  const key = { subjectPublicKeyInfo: publicKey.export({ format: 'der', type: 'spki' }), sign: async (d) => sign(null, d, privateKey) };
  const db = new DatabaseSync(eventsFile);
  const chainDb = audit.openAuditDb(join(dir, 'audit.db'));
  const insert = db.prepare('INSERT INTO events (position, id, stream_id, revision, type, version, occurred_at, recorded_at, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const insertHash = chainDb.prepare('INSERT INTO audit_chain (position, hash) VALUES (?, ?)');
  db.exec('BEGIN');
  chainDb.exec('BEGIN');
  let previous = audit.GENESIS_HASH;
  const revisions = new Map();
  let checkpointRevision = 0;
  let sealedUpTo = 0;
  for (let position = 1; position <= events; position++) {
    let event;
    if (position % (CHECKPOINT_EVERY + 1) === 0) {
      const data = await audit.signCheckpoint(key, { position: position - 1, hash: previous }, new Date('2025-03-03T10:00:00.000Z'));
      event = { ...audit.checkpointEvent(data, 'system:audit'), streamId: audit.AUDIT_CHECKPOINT_STREAM, revision: checkpointRevision++ };
      sealedUpTo = position - 1;
    } else {
      event = deviceEvent(position);
      const r = (revisions.get(event.streamId) ?? -1) + 1;
      revisions.set(event.streamId, r);
      event.revision = r;
    }
    const stored = { ...event, position, recordedAt: '2025-03-03T10:00:00.000Z' };
    // The JSON text as SqliteEventStore.append writes it (members in RFC 8785 order).
    insert.run(position, stored.id, stored.streamId, stored.revision, stored.type, stored.version, stored.occurredAt, stored.recordedAt, JSON.stringify(inCanonicalOrder(stored.data)), JSON.stringify(inCanonicalOrder(stored.metadata)));
    previous = audit.chainHash(previous, stored);
    insertHash.run(position, previous);
  }
  db.exec('COMMIT');
  chainDb.exec('COMMIT');
  db.close();
  chainDb.close();
  // Opening the store once indexes the rows written around it, as a running ledger would have.
  await (await SqliteEventStore.open(eventsFile)).close();
  return { eventsFile, sealedUpTo, checkpoints: checkpointRevision };
};

/** Raw limits over the same rows and bytes (this process). */
const rawLimits = async (eventsFile) => {
  const raw = new DatabaseSync(eventsFile, { readOnly: true });
  const select = raw.prepare('SELECT position, id, stream_id, revision, type, version, occurred_at, recorded_at, data, metadata FROM events ORDER BY position', { returnArrays: true });
  let started = performance.now();
  let rows = 0;
  for (const _row of select.iterate()) rows++;
  const read = rows / seconds(started);
  started = performance.now();
  rows = 0;
  for (const row of select.iterate()) {
    JSON.parse(row[8]);
    JSON.parse(row[9]);
    rows++;
  }
  const readParse = rows / seconds(started);
  raw.close();
  const store = await SqliteEventStore.open(eventsFile);
  const sample = [...store.readAllIterator({ after: 0, maxCount: 1000 })].slice(0, 1000).map((e) => Buffer.concat([audit.GENESIS_HASH, Buffer.from(audit.canonicalEvent(e))]));
  await store.close();
  const ROUNDS = 300_000;
  started = performance.now();
  let h = audit.GENESIS_HASH;
  for (let i = 0; i < ROUNDS; i++) {
    const input = sample[i % sample.length];
    h.copy(input, 0);
    h = hash('sha256', input, 'buffer');
  }
  return { read, readParse, sha: ROUNDS / seconds(started) };
};

/**
 * One operation in a fresh process: { events, seconds (the operation, after opening the files),
 * maxRss (bytes), ... }. With `retained`, an untimed run that forces a GC every 65,536 events
 * and reports the largest heap still in use after one (what the operation holds, as opposed
 * to how far V8 let the heap grow before collecting).
 */
const inChild = (op, dir, args = [], retained = false) =>
  JSON.parse(
    execFileSync(process.execPath, [...(retained ? ['--expose-gc'] : []), fileURLToPath(import.meta.url), 'child', op, dir, ...args], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
      env: { ...process.env, BENCH_AUDIT_RETAINED: retained ? '1' : '' },
    })
      .trim()
      .split('\n')
      .pop(),
  );

/** The child side: the same library calls `devid audit verify|export|verify-bundle` make. */
const child = async (op, dir, ...args) => {
  const trustedKey = audit.AuditPublicKey.parse(readFileSync(join(dir, 'audit-key.pub.pem'), 'utf8'));
  const bundle = join(dir, 'log.bundle');
  let result;
  let retained = 0;
  let nextProbe = 0;
  // Untimed runs only: a full GC every 65,536 events, then the heap still in use.
  const onProgress = process.env.BENCH_AUDIT_RETAINED
    ? (at) => {
        if (at < nextProbe) return;
        nextProbe = at + 65_536;
        globalThis.gc();
        retained = Math.max(retained, process.memoryUsage().heapUsed);
      }
    : undefined;
  let started = performance.now();
  if (op === 'idle') {
    const store = await SqliteEventStore.open(join(dir, 'events.db'));
    result = { events: 0, head: await store.headPosition() };
    await store.close();
  } else if (op === 'verify' || op === 'verify-one-thread') {
    const store = await SqliteEventStore.open(join(dir, 'events.db'));
    const chainDb = audit.openAuditDb(join(dir, 'audit.db'));
    started = performance.now();
    const [main, all] = [process.threadCpuUsage(), process.cpuUsage()];
    const report = await audit.verifyLog(store, { chainDb, trustedKey, onProgress, ...(op === 'verify-one-thread' ? { offThread: false } : {}) });
    if (!report.ok) throw new Error(`verify failed: ${JSON.stringify(report.failure)}`);
    const cpu = (used) => (used.user + used.system) / 1e6;
    result = { events: report.events, checkpoints: report.checkpoints, cpuMain: cpu(process.threadCpuUsage(main)), cpuAll: cpu(process.cpuUsage(all)) };
    chainDb.close();
    await store.close();
  } else if (op === 'export') {
    const store = await SqliteEventStore.open(join(dir, 'events.db'));
    started = performance.now();
    const summary = await audit.exportBundle(store, { from: { position: 1 }, to: { position: Number(args[0]) }, out: bundle, onProgress });
    result = { events: summary.events, bytes: statSync(bundle).size };
    await store.close();
  } else if (op === 'verify-bundle') {
    const report = await audit.verifyBundle(bundle, { trustedKey, onProgress: onProgress && ((line) => onProgress(line)) });
    if (!report.ok) throw new Error(`verify-bundle failed: ${JSON.stringify(report.failure)}`);
    result = { events: report.events };
  } else throw new Error(`unknown child op ${op}`);
  console.log(JSON.stringify({ ...result, seconds: seconds(started), maxRss: process.resourceUsage().maxRSS * 1024, retained }));
};

export const run = async () => {
  const rows = [];
  for (const events of SIZES) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-audit-'));
    try {
      let started = performance.now();
      const log = await writeLog(dir, events);
      console.log(`log: ${fmt(events)} events (${fmt(log.checkpoints)} checkpoints), ${mib(statSync(log.eventsFile).size)}, written in ${seconds(started).toFixed(1)} s`);
      const limits = await rawLimits(log.eventsFile);
      const idle = inChild('idle', dir);
      const verify = inChild('verify', dir);
      const oneThread = inChild('verify-one-thread', dir);
      const exported = inChild('export', dir, [String(log.sealedUpTo)]);
      const bundle = inChild('verify-bundle', dir);
      const held = {
        verify: inChild('verify', dir, [], true),
        export: inChild('export', dir, [String(log.sealedUpTo)], true),
        bundle: inChild('verify-bundle', dir, [], true),
      };
      const n = fmt(events);
      const row = (figure, rate, child = undefined, untimed = undefined) => ({
        log: n,
        figure,
        'events/s': fmt(rate),
        seconds: child ? child.seconds.toFixed(1) : '',
        'CPU s main / all threads': child?.cpuAll !== undefined ? `${child.cpuMain.toFixed(1)} / ${child.cpuAll.toFixed(1)}` : '',
        'peak RSS (child)': child ? mib(child.maxRss) : '',
        'heap held (max after GC)': untimed ? mib(untimed.retained) : '',
      });
      rows.push(
        row('verify (chain + stored chain + checkpoints)', verify.events / verify.seconds, verify, held.verify),
        row('  the same, every hash on the main thread', oneThread.events / oneThread.seconds, oneThread),
        row('  raw SQLite read of the same rows', limits.read),
        row('  raw read + JSON.parse(data, metadata)', limits.readParse),
        row('  raw SHA-256(prev ‖ canonical bytes)', limits.sha),
        row(`export (${fmt(exported.events)} events, ${mib(exported.bytes)})`, exported.events / exported.seconds, exported, held.export),
        row('verify-bundle', bundle.events / bundle.seconds, bundle, held.bundle),
        { log: n, figure: 'child that only opens the store (baseline)', 'events/s': '', seconds: '', 'CPU s main / all threads': '', 'peak RSS (child)': mib(idle.maxRss), 'heap held (max after GC)': '' },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.table(rows);
  console.log(`target: verify ≥ 200,000 events/s (${availableParallelism()} CPUs; verify hashes the stored chain's links on a second thread when there is one).`);
  console.log('CPU s: the verify child\'s CPU time on its main thread and on all its threads; all threads / seconds is how many CPUs it had on average (near 1 for the two-thread verify: the second CPU was busy with something else).');
  console.log('Each operation ran in its own fresh process; peak RSS is that process\'s maximum (resourceUsage().maxRSS); the log was written by the parent.');
  console.log('heap held: a second, untimed run of the same operation forcing a GC every 65,536 events; peak RSS above it is V8 growing the heap before it collects.');
};

// To profile one operation: `npx node tools/bench/audit.mjs write <dir> <events>`, then
// `npx node --cpu-prof tools/bench/audit.mjs child verify <dir>` (export takes the sealed position).
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'child') await child(...process.argv.slice(3));
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'write') console.log(JSON.stringify(await writeLog(process.argv[3], Number(process.argv[4]))));
