// Audit: verify events/s over a 1,000,000-event log beside the raw SHA-256 rate over the same
// canonical bytes and the raw SQLite read rate, measured in the same run; then export and
// verify-bundle of the whole log with peak RSS (bounded memory). Temp files removed at the end.
import { hash, generateKeyPairSync, sign, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

const require = createRequire(import.meta.url);
const { SqliteEventStore } = require('../../libs/event-store/dist/index.js');
const audit = require('../../libs/audit/dist/index.js');

const EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000);
const CHECKPOINT_EVERY = 10_000;
const fmt = (v) => Math.round(v).toLocaleString('en-US');
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const peakRss = () => process.resourceUsage().maxRSS * 1024;

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

export const run = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-audit-'));
  try {
    const eventsFile = join(dir, 'events.db');
    (await SqliteEventStore.open(eventsFile)).close();
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const key = { subjectPublicKeyInfo: publicKey.export({ format: 'der', type: 'spki' }), sign: async (d) => sign(null, d, privateKey) };
    // The log, its chain and signed checkpoints written straight into the files (as the ledger would have).
    let started = performance.now();
    const db = new DatabaseSync(eventsFile);
    const chainDb = audit.openAuditDb(join(dir, 'audit.db'));
    const insert = db.prepare('INSERT INTO events (position, id, stream_id, revision, type, version, occurred_at, recorded_at, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const insertHash = chainDb.prepare('INSERT INTO audit_chain (position, hash) VALUES (?, ?)');
    db.exec('BEGIN');
    chainDb.exec('BEGIN');
    let previous = audit.GENESIS_HASH;
    const revisions = new Map();
    let checkpointRevision = 0;
    for (let position = 1; position <= EVENTS; position++) {
      let event;
      if (position % (CHECKPOINT_EVERY + 1) === 0) {
        const data = await audit.signCheckpoint(key, { position: position - 1, hash: previous }, new Date('2025-03-03T10:00:00.000Z'));
        event = { ...audit.checkpointEvent(data, 'system:audit'), streamId: audit.AUDIT_CHECKPOINT_STREAM, revision: checkpointRevision++ };
      } else {
        event = deviceEvent(position);
        const r = (revisions.get(event.streamId) ?? -1) + 1;
        revisions.set(event.streamId, r);
        event.revision = r;
      }
      const stored = { ...event, position, recordedAt: '2025-03-03T10:00:00.000Z' };
      insert.run(position, stored.id, stored.streamId, stored.revision, stored.type, stored.version, stored.occurredAt, stored.recordedAt, JSON.stringify(stored.data), JSON.stringify(stored.metadata));
      previous = audit.chainHash(previous, stored);
      insertHash.run(position, previous);
    }
    db.exec('COMMIT');
    chainDb.exec('COMMIT');
    db.close();
    chainDb.close();
    console.log(`log: ${fmt(EVENTS)} events (${fmt(Math.floor(EVENTS / (CHECKPOINT_EVERY + 1)))} checkpoints), ${mib(statSync(eventsFile).size)}, written in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const store = await SqliteEventStore.open(eventsFile);
    const trustedKey = audit.AuditPublicKey.fromSpki(key.subjectPublicKeyInfo);
    // Raw limits over the same rows and bytes.
    const raw = new DatabaseSync(eventsFile, { readOnly: true });
    started = performance.now();
    let rows = 0;
    for (const _row of raw.prepare('SELECT position, id, stream_id, revision, type, version, occurred_at, recorded_at, data, metadata FROM events ORDER BY position').iterate()) rows++;
    const rawReadRate = rows / ((performance.now() - started) / 1000);
    raw.close();
    const sample = [...store.readAllIterator({ after: 0, maxCount: 1000 })].slice(0, 1000).map((e) => Buffer.from(audit.canonicalEvent(e)));
    started = performance.now();
    let h = audit.GENESIS_HASH;
    for (let i = 0; i < 200_000; i++) h = hash('sha256', Buffer.concat([h, sample[i % sample.length]]), 'buffer');
    const rawShaRate = 200_000 / ((performance.now() - started) / 1000);

    const verifyDb = audit.openAuditDb(join(dir, 'audit.db'));
    started = performance.now();
    const report = await audit.verifyLog(store, { chainDb: verifyDb, trustedKey });
    const verifySeconds = (performance.now() - started) / 1000;
    verifyDb.close();
    if (!report.ok) throw new Error(`verify failed: ${JSON.stringify(report.failure)}`);
    const rssAfterVerify = peakRss();

    const bundle = join(dir, 'log.bundle');
    started = performance.now();
    const summary = await audit.exportBundle(store, { from: { position: 1 }, to: { position: report.sealedUpTo }, out: bundle });
    const exportSeconds = (performance.now() - started) / 1000;
    const rssAfterExport = peakRss();
    started = performance.now();
    const checked = await audit.verifyBundle(bundle, { trustedKey });
    const bundleSeconds = (performance.now() - started) / 1000;
    if (!checked.ok) throw new Error(`verify-bundle failed: ${JSON.stringify(checked.failure)}`);
    await store.close();

    console.table([
      { figure: 'verify (chain + stored chain + checkpoints)', 'events/s': fmt(report.events / verifySeconds), seconds: verifySeconds.toFixed(1), 'peak RSS': mib(rssAfterVerify) },
      { figure: '  raw SQLite read of the same rows', 'events/s': fmt(rawReadRate), seconds: '', 'peak RSS': '' },
      { figure: '  raw SHA-256(prev ‖ canonical bytes)', 'events/s': fmt(rawShaRate), seconds: '', 'peak RSS': '' },
      { figure: `export (${fmt(summary.events)} events, ${mib(statSync(bundle).size)})`, 'events/s': fmt(summary.events / exportSeconds), seconds: exportSeconds.toFixed(1), 'peak RSS': mib(rssAfterExport) },
      { figure: 'verify-bundle', 'events/s': fmt(checked.events / bundleSeconds), seconds: bundleSeconds.toFixed(1), 'peak RSS': mib(peakRss()) },
    ]);
    console.log('target: verify ≥ 200,000 events/s; peak RSS is the process maximum so far (it includes writing the log).');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
