// Kafka figures on the real broker (KAFKA_BROKERS, default 127.0.0.1:9092):
//  1. relay events/s: a SQLite store pre-filled with BENCH_RELAY_EVENTS events (200k), the
//     relay timed until the broker acknowledged the last one; beside it, the raw kafkajs
//     idempotent producer sending the same CloudEvents bytes in the same batches, same run.
//  2. revoke latency: a signed command produced to Kafka → OCSP answers `revoked`, p50/p99
//     over BENCH_REVOKES (200) commands, one at a time, through a built ledger child process.
// Fresh topics (random prefix) and temp dirs; removed at the end (topics stay on the broker).
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLedger } from './lib/ledger.mjs';

const require = createRequire(import.meta.url);
require('reflect-metadata'); // @peculiar/x509 (tsyringe) needs it before it loads
const { SqliteEventStore } = require('../../libs/event-store/dist/index.js');
const { KafkaMessageBus, Relay, RelayCheckpoint, toLifecycleMessage } = require('../../libs/messaging/dist/index.js');
const { openReadModelDb } = require('../../libs/projections/dist/index.js');
const { Kafka, Partitioners, logLevel } = require('kafkajs');
const { CompactSign } = require('jose');
const { AsnConvert, OctetString } = require('@peculiar/asn1-schema');
const { Certificate, AlgorithmIdentifier } = require('@peculiar/asn1-x509');
const { OCSPRequest, TBSRequest, Request, CertID, OCSPResponse, BasicOCSPResponse } = require('@peculiar/asn1-ocsp');
const x509 = require('@peculiar/x509');
const { createHash, webcrypto } = require('node:crypto');

x509.cryptoProvider.set(webcrypto);
const sha1 = (bytes) => new Uint8Array(createHash("sha1").update(new Uint8Array(bytes)).digest());

/** A DER OCSP request (SHA-1 CertID, as openssl sends it) for one serial of the issuing CA. */
const ocspRequestFor = (issuerPem, serialHex) => {
  const issuer = AsnConvert.parse(Buffer.from(issuerPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'), Certificate);
  const serial = Buffer.from(serialHex.length % 2 ? `0${serialHex}` : serialHex, 'hex');
  const certId = new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: '1.3.14.3.2.26', parameters: null }),
    issuerNameHash: new OctetString(sha1(AsnConvert.serialize(issuer.tbsCertificate.subject))),
    issuerKeyHash: new OctetString(sha1(issuer.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey)),
    // A copy: a small Buffer's .buffer is Node's shared pool, not the serial's bytes.
    serialNumber: Uint8Array.from(serial[0] & 0x80 ? Buffer.concat([Buffer.of(0), serial]) : serial).buffer,
  });
  return Buffer.from(AsnConvert.serialize(new OCSPRequest({ tbsRequest: new TBSRequest({ requestList: [new Request({ reqCert: certId })] }) })));
};

/** The ledger's OCSP answer for the request: 'good', 'revoked', 'unknown' or the response status. */
const ocspStatus = async (url, requestDer) => {
  const res = await fetch(`${url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: requestDer });
  const response = AsnConvert.parse(Buffer.from(await res.arrayBuffer()), OCSPResponse);
  if (!response.responseBytes) return `responseStatus ${response.responseStatus}`;
  const basic = AsnConvert.parse(response.responseBytes.response.buffer, BasicOCSPResponse);
  const { certStatus } = basic.tbsResponseData.responses[0];
  return certStatus.good !== undefined ? 'good' : certStatus.revoked !== undefined ? 'revoked' : 'unknown';
};

/** A P-256 key and a CSR naming the device (CN = deviceId), made in process. */
const csrFor = async (deviceId) => {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${deviceId}`, keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
  return csr.toString('pem');
};

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const RELAY_EVENTS = Number(process.env.BENCH_RELAY_EVENTS ?? 200_000);
const REVOKES = Number(process.env.BENCH_REVOKES ?? 200);
const BATCH = 1000;
const fmt = (value) => Math.round(value).toLocaleString('en-US');
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const now = () => performance.now();

const event = (n) => ({
  id: randomUUID(),
  type: n % 3 === 0 ? 'DeviceManufactured' : n % 3 === 1 ? 'DeviceShipped' : 'DeviceEnrolled',
  version: 1,
  occurredAt: '2026-03-03T10:00:00.000Z',
  data: n % 3 === 0 ? { deviceId: `dev-${Math.floor(n / 3)}`, serialNumber: `SN${1e9 + n}`, model: 'gw-7', factoryId: 'fab-1', manufacturedAt: '2026-03-03T10:00:00.000Z' } : { owner: 'acme', at: '2026-03-03T10:00:00.000Z' },
  metadata: { commandId: randomUUID(), causationId: randomUUID(), correlationId: randomUUID(), actor: 'bench' },
});

const relayBench = async (prefix) => {
  const dir = mkdtempSync(join(tmpdir(), 'devid-bench-kafka-'));
  try {
    const store = await SqliteEventStore.open(join(dir, 'events.db'));
    process.stdout.write(`pre-filling ${fmt(RELAY_EVENTS)} events (3 per device stream)… `);
    const writes = [];
    for (let n = 0; n < RELAY_EVENTS; n += 3) {
      const batch = [event(n), event(n + 1), event(n + 2)].slice(0, Math.min(3, RELAY_EVENTS - n));
      writes.push(store.append(`device-dev-${n / 3}`, batch, { expectedRevision: 'no_stream' }));
      if (writes.length >= 500) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    console.log('done');

    // Raw kafkajs: the same message bytes, the same batch size, the same producer settings.
    // Page by page: readAll returns at most 10,000 events a call.
    const messages = [];
    for (let page = await store.readAll({ after: 0, maxCount: 10_000 }); page.length > 0; page = await store.readAll({ after: page[page.length - 1].position, maxCount: 10_000 })) {
      for (const e of page) messages.push(toLifecycleMessage(e));
    }
    if (messages.length !== RELAY_EVENTS) throw new Error(`read ${messages.length} events back, expected ${RELAY_EVENTS}`);
    const bytes = messages.reduce((sum, m) => sum + Buffer.byteLength(m.value), 0);
    // Both topics created alike (ensureTopics: the ledger's partition count) before either run.
    const bus = new KafkaMessageBus({ brokers: BROKERS, clientId: 'bench-relay' });
    const topic = `${prefix}devid.lifecycle.v1`;
    const rawTopic = `${prefix}raw`;
    await bus.ensureTopics([topic, rawTopic]);
    const kafka = new Kafka({ clientId: 'bench-raw', brokers: BROKERS, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: rawTopic, acks: -1, messages: messages.slice(0, 10) }); // topic created, metadata warm
    let started = now();
    for (let i = 0; i < messages.length; i += BATCH) await producer.send({ topic: rawTopic, acks: -1, messages: messages.slice(i, i + BATCH) });
    const rawSeconds = (now() - started) / 1000;
    await producer.disconnect();

    await bus.publish(topic, [{ key: 'warm-up', value: '{}' }]);
    // Opened as the ledger opens DATA_DIR/messaging.db (WAL, synchronous=NORMAL): a checkpoint lost
    // to a power cut costs duplicates, never a gap, so it needs no fsync of its own.
    const db = openReadModelDb(join(dir, 'messaging.db'));
    const relay = new Relay(store, bus, new RelayCheckpoint(db, 'bench'), { topic, batchSize: BATCH });
    started = now();
    relay.start();
    await relay.waitFor(await store.headPosition());
    const relaySeconds = (now() - started) / 1000;
    await relay.stop();
    await bus.close();
    await store.close();
    db.close();

    console.log(`\nrelay → ${topic} (${fmt(RELAY_EVENTS)} events, avg ${fmt(bytes / messages.length)} B CloudEvents JSON, batches of ${BATCH}, idempotent, acks=all; both topics made by ensureTopics, 3 partitions)`);
    console.log(`  relay (read SQLite log → CloudEvents → publish → checkpoint)  ${fmt(RELAY_EVENTS / relaySeconds)} events/s   (${relaySeconds.toFixed(2)} s)   target ≥ 20,000`);
    console.log(`  raw kafkajs producer, same messages and batches            ${fmt(RELAY_EVENTS / rawSeconds)} events/s   (${rawSeconds.toFixed(2)} s)`);
    console.log(`  relay / raw                                                 ${((rawSeconds / relaySeconds) * 100).toFixed(0)} %`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};


const revokeBench = async (prefix) => {
  const dir = mkdtempSync(join(tmpdir(), 'devid-bench-ledger-'));
  const key = 'bench-admin-key-0123456789';
  const ledger = await startLedger({ READ_MODEL_WAIT_MS: '0', DATA_DIR: dir, ADMIN_API_KEY: key, KAFKA_BROKERS: BROKERS.join(','), KAFKA_TOPIC_PREFIX: prefix, RELAY_ENABLED: 'false' });
  const api = async (method, path, body) => {
    const res = await fetch(`${ledger.url}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
    const json = await res.json();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  try {
    const pair = generateKeyPairSync('ed25519');
    await api('POST', '/detectors', { detectorId: 'bench', publicKey: pair.publicKey.export({ format: 'jwk' }), scope: { all: true } });
    process.stdout.write(`\nenrolling ${REVOKES} devices… `);
    const devices = [];
    const issuerPem = await fetch(`${ledger.url}/cas/devid-issuing/certificate`).then((r) => r.text());
    for (let i = 0; i < REVOKES; i++) {
      const { deviceId } = await api('POST', '/devices', { serialNumber: `B-${i}-${randomBytes(3).toString('hex')}`, model: 'gw-7', factoryId: 'fab-1' });
      await api('POST', `/devices/${deviceId}/ship`, { owner: 'acme' });
      const enrolled = await api('POST', `/devices/${deviceId}/enroll`, { csr: await csrFor(deviceId) });
      const ocspRequest = ocspRequestFor(issuerPem, enrolled.certificate.serialNumber);
      const before = await ocspStatus(ledger.url, ocspRequest);
      if (before !== 'good') throw new Error(`OCSP answers ${before} before the command, not good`);
      devices.push({ deviceId, ocspRequest });
    }
    console.log('done');
    const bus = new KafkaMessageBus({ brokers: BROKERS, clientId: 'bench-detector' });
    const topic = `${prefix}devid.commands.revoke`;
    await bus.ensureTopics([topic]);
    const latencies = [];
    for (const { deviceId, ocspRequest } of devices) {
      const payload = { commandId: randomUUID(), deviceId, reason: 'keyCompromise', evidence: 'bench', detectorId: 'bench', issuedAt: new Date().toISOString() };
      const jws = await new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg: 'EdDSA' }).sign(pair.privateKey);
      const started = now();
      await bus.publish(topic, [{ key: deviceId, value: jws }]);
      while ((await ocspStatus(ledger.url, ocspRequest)) !== 'revoked') {
        if (now() - started > 30_000) throw new Error(`OCSP did not answer revoked for ${deviceId} within 30 s of the command`);
        await new Promise((r) => setTimeout(r, 2));
      }
      latencies.push(now() - started);
    }
    await bus.close();
    latencies.sort((a, b) => a - b);
    console.log(`\nrevoke command produced to Kafka → the ledger's OCSP responder answers "revoked" (POST /ocsp, polled every 2 ms), ${REVOKES} commands one at a time`);
    console.log(`  p50 ${percentile(latencies, 50).toFixed(1)} ms   p99 ${percentile(latencies, 99).toFixed(1)} ms   max ${latencies[latencies.length - 1].toFixed(1)} ms   target p99 < 1000 ms`);
  } finally {
    ledger.child.kill('SIGTERM');
    await new Promise((r) => ledger.child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
};

export const run = async () => {
  const prefix = `bench${randomBytes(4).toString('hex')}.`;
  console.log(`Kafka bench against ${BROKERS.join(',')} (topic prefix ${prefix})`);
  await relayBench(prefix);
  await revokeBench(prefix);
};
