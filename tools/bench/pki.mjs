// PKI figures (issue 4), each beside the raw machine limit measured in the same run:
//  1. LDevIDs issued/s end to end: the path of POST /devices/{id}/enroll minus HTTP — the
//     ledger's own ExecuteDeviceCommandHandler + CertificateIssuer + Authorities over the CA
//     directory read model (CA lookup per enrollment; only the key store is a stand-in) (idempotency check, load
//     stream, decide, checkCsrAsync + issueCertificate (PoP check and CA sign on a worker thread), decide, append DeviceEnrolled +
//     CertificateIssued) on a real SqliteEventStore file, BENCH_IN_FLIGHT (64) requests in
//     flight (group commit). CSRs (P-256 device keys) are made beforehand, untimed. Beside it:
//     raw node:crypto verify+sign/s, the crypto alone on two threads at once (this machine's
//     ceiling for the crypto of an enrollment, every core busy with nothing else) and the store's
//     own durable append/s; CPU per enrollment per thread (main / crypto worker / the rest, from
//     /proc/self/task on Linux; process.threadCpuUsage for the main thread) beside the raw crypto
//     CPU, and the rate the process's CPU per enrollment allows on this machine's cores; a
//     breakdown per step.
//  2. Full CRL build time (buildCrl) for 100k and 1M revoked entries, peak RSS / heap growth,
//     the raw sign time of the same TBS bytes, and the DER size.
//  3. OCSP responses/s through the ledger's OcspService (DER request in, DER response out),
//     pre-signed (no nonce) and fresh-signed (nonce), beside raw sign/s.
//  4. Over HTTP, a ledger started as `npm start` runs it (demo CAs, embedded SQLite, read models,
//     audit chain, in-process bus): BENCH_HTTP_DEVICES devices manufactured and shipped through
//     the API (untimed), then enrolled with POST /devices/{id}/enroll, then POST /ocsp, each from
//     64 keep-alive clients in this process (which shares the machine's cores with the ledger),
//     beside the CPU the ledger used per request (and its main thread's, for enrollments).
// Env: BENCH_SECONDS (3), BENCH_IN_FLIGHT (64), BENCH_DEVICES (sized to ~BENCH_SECONDS), BENCH_CRL_SIZES
// (100000,1000000), BENCH_OTHER_CA (ECDSA-P384,Ed25519), BENCH_HTTP_DEVICES (sized to ~BENCH_SECONDS at
// 1,500/s). Fresh temp files; removed at the end.
import http from 'node:http';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, sign, verify, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { cpuSharesSince, cpuTicks, formatHandoff, formatShares, handoffRoundTrip } from './lib/machine.mjs';
import { startLedger } from './lib/ledger.mjs';
import { printFigures } from './lib/table.mjs';

const require = createRequire(import.meta.url);
require('reflect-metadata');
const { SqliteEventStore } = require('../../libs/event-store/dist/index.js');
const pki = require('../../libs/pki/dist/index.js');
const { CertificateInventory, openReadModelDb, ProjectionRunner } = require('../../libs/projections/dist/index.js');
const { ExecuteDeviceCommand, ExecuteDeviceCommandHandler } = require('../../apps/ledger/dist/devices/execute-device-command.js');
const { DeviceRepository } = require('../../apps/ledger/dist/devices/device-repository.js');
const { CertificateIssuer } = require('../../apps/ledger/dist/pki/certificate-issuer.js');
const { Authorities, describeCertificate } = require('../../apps/ledger/dist/pki/authorities.js');
const { PublicUrl } = require('../../apps/ledger/dist/pki/public-url.js');
const { OcspService } = require('../../apps/ledger/dist/ocsp/ocsp.service.js');
const { ReadModels } = require('../../apps/ledger/dist/store/read-models.js');
const { AsnConvert, OctetString } = require('@peculiar/asn1-schema');
const { AlgorithmIdentifier, Extension, SubjectPublicKeyInfo } = require('@peculiar/asn1-x509');
const { CertificationRequest, CertificationRequestInfo } = require('@peculiar/asn1-csr');
const { OCSPRequest, TBSRequest, Request, CertID, OCSPResponse, BasicOCSPResponse, id_pkix_ocsp_nonce } = require('@peculiar/asn1-ocsp');

// A full GC between measurements, for the CRL's heap figures.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 64);
const CRL_SIZES = (process.env.BENCH_CRL_SIZES ?? '100000,1000000').split(',').map(Number);
const BASE_URL = 'http://127.0.0.1:3000';
const ECDSA_SHA256 = '1.2.840.10045.4.3.2';

const now = () => performance.now();
const fmt = (value) => Math.round(value).toLocaleString('en-US');
const sec = (msValue) => `${(msValue / 1000).toFixed(2)} s`;
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const progress = (message) => process.stderr.write(`… ${message}\n`);

/** Runs `op(i)` for i = 0..count-1 with `inFlight` of them pending at a time; returns ops/s. */
const pool = async (count, inFlight, op) => {
  let next = 0;
  const started = now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (next < count) await op(next++);
    }),
  );
  return count / ((now() - started) / 1000);
};

/** Runs `op` (sync or async) in `inFlight` loops for `seconds`; returns ops/s. */
const forSeconds = async (seconds, inFlight, op) => {
  let done = 0;
  const started = now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (now() < deadline) {
        await op(done);
        done++;
      }
    }),
  );
  return done / ((now() - started) / 1000);
};

const syncForSeconds = (seconds, op) => {
  let done = 0;
  const started = now();
  const deadline = started + seconds * 1000;
  while (now() < deadline) op(done++);
  return done / ((now() - started) / 1000);
};

/** CPU time used from now on: the main thread's own (process.threadCpuUsage) and the whole process's. */
const cpuMeter = () => {
  const main = process.threadCpuUsage();
  const all = process.cpuUsage();
  const micros = (usage) => usage.user + usage.system;
  return { mainMicros: () => micros(process.threadCpuUsage(main)), processMicros: () => micros(process.cpuUsage(all)) };
};

/** CPU µs used so far by each of this process's threads, summed by thread name (Linux /proc; undefined elsewhere). */
const threadCpuByName = () => {
  if (!existsSync('/proc/self/task')) return undefined;
  const ticksPerSecond = 100; // USER_HZ: the unit of utime/stime in /proc/<pid>/task/<tid>/stat on Linux
  const byName = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    let stat;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const micros = ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticksPerSecond;
    byName.set(name, (byName.get(name) ?? 0) + micros);
  }
  return byName;
};

/** CPU µs per thread name used between two threadCpuByName() readings. */
const threadCpuSince = (before) => {
  const after = threadCpuByName();
  if (!before || !after) return undefined;
  return new Map([...after].map(([name, micros]) => [name, micros - (before.get(name) ?? 0)]));
};

/**
 * The crypto of one enrollment (import the CSR key, verify its proof of possession, sign a TBS)
 * in a loop on `threads` threads at once, each as the crypto worker runs it: the machine's
 * ceiling for that crypto alone. Returns operations/s (all threads together) and CPU µs per operation.
 */
const rawCryptoOnThreads = async (threads, seconds, inputs, tbs) => {
  const source = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPrivateKey, createPublicKey, sign, verify } = require('node:crypto');
Error.stackTraceLimit = 0; // as in the crypto worker
const { inputs, tbs, caPkcs8 } = workerData;
const caKey = createPrivateKey({ key: Buffer.from(caPkcs8), format: 'der', type: 'pkcs8' });
const spkis = inputs.map((v) => Buffer.from(v.spki));
parentPort.once('message', (deadline) => {
  let done = 0;
  const cpu = process.threadCpuUsage();
  while (Date.now() < deadline) {
    const v = inputs[done % inputs.length];
    const spki = spkis[done % spkis.length];
    if (!verify('sha256', v.data, createPublicKey({ key: spki.latin1Slice(0, spki.length), format: 'der', type: 'spki', encoding: 'latin1' }), v.signature)) throw new Error('raw verify failed');
    sign('sha256', tbs, caKey);
    done++;
  }
  const used = process.threadCpuUsage(cpu);
  parentPort.postMessage({ done, micros: used.user + used.system });
});`;
  const caPkcs8 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'der' });
  const workerData = { inputs: inputs.map((v) => ({ data: v.data, spki: v.spki, signature: v.signature })), tbs, caPkcs8 };
  const workers = Array.from({ length: threads }, () => new Worker(source, { eval: true, workerData }));
  await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('online', resolve))));
  const started = Date.now();
  const deadline = started + seconds * 1000;
  const results = await Promise.all(workers.map((worker) => new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.postMessage(deadline);
  })));
  await Promise.all(workers.map((worker) => worker.terminate()));
  const done = results.reduce((sum, result) => sum + result.done, 0);
  return { perSecond: done / ((Date.now() - started) / 1000), cpuMicros: results.reduce((sum, result) => sum + result.micros, 0) / done };
};

const signAsync = (digest, data, key) => new Promise((resolve, reject) => sign(digest, data, key, (error, signature) => (error ? reject(error) : resolve(signature))));

/** A root and an issuing CA (issuing key `algorithm`), and a P-256 OCSP signer for the issuing CA. */
const hierarchy = async (algorithm) => {
  const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 86_400_000);
  const rootKey = await pki.SoftwareKeyProvider.generate('ECDSA-P384');
  const root = { caId: 'root', key: rootKey, certificateDer: await pki.createRootCaCertificate({ subject: [{ type: 'CN', value: 'Bench Root' }], key: rootKey, serialNumber: pki.newSerialNumber(), now: at }) };
  const key = await pki.SoftwareKeyProvider.generate(algorithm);
  const certificateDer = await pki.createSubordinateCaCertificate({
    role: 'issuing',
    subject: [{ type: 'O', value: 'DevID Bench' }, { type: 'CN', value: `Bench issuing CA ${algorithm}` }],
    subjectPublicKeyInfo: key.subjectPublicKeyInfo,
    parent: root,
    serialNumber: pki.newSerialNumber(),
    now: at,
    baseUrl: BASE_URL,
  });
  const issuing = { caId: 'issuing-1', key, certificateDer };
  const signerKey = await pki.SoftwareKeyProvider.generate('ECDSA-P256');
  const signerDer = await pki.createOcspSignerCertificate({
    subject: [{ type: 'CN', value: 'Bench OCSP signer' }],
    subjectPublicKeyInfo: signerKey.subjectPublicKeyInfo,
    ca: issuing,
    serialNumber: pki.newSerialNumber(),
    now: at,
  });
  return { root, issuing, ocspSigner: { caId: 'issuing-1', key: signerKey, certificateDer: signerDer } };
};

/** A PEM PKCS#10 request naming the device (CN = deviceId), signed by a fresh P-256 key. */
const csrFor = (deviceId) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const info = new CertificationRequestInfo({
    version: 0,
    subject: pki.buildName([{ type: 'CN', value: deviceId }]),
    subjectPKInfo: AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo),
  });
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(info)), privateKey);
  const csr = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_SHA256 }),
    signature: new Uint8Array(signature).buffer,
  });
  const base64 = Buffer.from(AsnConvert.serialize(csr)).toString('base64');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${base64.replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE REQUEST-----\n`;
};

/** The ledger's enroll path minus HTTP, on its own store file; `readModels` as `npm start` runs them. */
const ledgerFor = async (path, ca, { readModels }) => {
  const store = await SqliteEventStore.open(path);
  // Opened as `npm start` opens read-models.db (WAL): a rollback-journal file locks and re-reads its header on every query.
  const db = openReadModelDb(`${path}.read.sqlite`);
  const models = new ReadModels(store, db);
  // The CA as the ledger records it (ca-<id> stream), in the CA directory the issuer reads per enrollment.
  const createdAt = new Date().toISOString();
  await store.append(`ca-${ca.caId}`, [{
    id: randomUUID(), type: 'CertificateAuthorityCreated', version: 1, occurredAt: createdAt,
    data: { caId: ca.caId, role: 'issuing', parentId: 'root', algorithm: ca.key.algorithm, certificate: describeCertificate(ca.certificateDer), keyRef: `bench:${ca.caId}`, createdAt },
    metadata: { actor: 'bench', causationId: randomUUID(), commandId: randomUUID(), correlationId: randomUUID() },
  }], { expectedRevision: 'no_stream' });
  if (readModels) models.start();
  else models.cas.apply(await store.readAll({ metadata: false }));
  const config = { READ_MODEL_WAIT_MS: readModels ? 2000 : 0, LDEVID_VALIDITY_DAYS: 365 };
  const handler = new ExecuteDeviceCommandHandler(store, new DeviceRepository(store), models, config);
  // The ledger's Authorities over that CA directory (caFor and authority per enrollment); the key store holds the one key.
  const keyStore = { get: (keyRef) => (keyRef === `bench:${ca.caId}` ? Promise.resolve(ca.key) : Promise.reject(new Error(`no key ${keyRef}`))) };
  const authorities = new Authorities(store, models.cas, keyStore, undefined, new PublicUrl(BASE_URL), config, models.inventory);
  const issuer = new CertificateIssuer(authorities, models.inventory, config);
  const command = (type, deviceId, data) => ({ type, deviceId, data, commandId: randomUUID(), now: new Date().toISOString(), actor: 'bench' });
  const options = (body) => ({ fingerprint: createHash('sha256').update(body).digest('base64url'), correlationId: randomUUID() });
  return {
    store,
    models,
    /** Manufactured and shipped, as enroll requires (untimed set-up, through the same handler). */
    /** Returns ShipDevice commands/s and main-thread CPU µs per command: the handler's own (load, decide, append) without PKI. */
    prepare: async (deviceIds) => {
      await pool(deviceIds.length, IN_FLIGHT, (i) =>
        handler.execute(new ExecuteDeviceCommand(command('ManufactureDevice', deviceIds[i], { serialNumber: `SN-${i}`, model: 'gw-7', factoryId: 'fab-1' }), options(deviceIds[i]))),
      );
      const cpu = cpuMeter();
      const perSecond = await pool(deviceIds.length, IN_FLIGHT, (i) => handler.execute(new ExecuteDeviceCommand(command('ShipDevice', deviceIds[i], { owner: 'acme' }), options(deviceIds[i]))));
      return { perSecond, mainMicros: cpu.mainMicros() / deviceIds.length };
    },
    enroll: (deviceId, csr) =>
      handler.execute(new ExecuteDeviceCommand(command('EnrollDevice', deviceId, {}), { ...options(csr), prepare: issuer.withCertificate(csr) })),
    issuer,
    close: async () => {
      await models.stop();
      await store.close();
      db.close();
    },
  };
};

/**
 * Enrolls every device, IN_FLIGHT at a time; checks that each answer carries a certificate and
 * that three of them (first, middle, last) are LDevIDs the CA signed. Like a server that answers
 * and forgets, it keeps no answer beyond those three and the first `keepSerials` serial numbers
 * (for the OCSP figures): holding every answer would make the heap grow by ~1 KB per enrollment,
 * old-generation GC work that the ledger itself does not cause.
 */
const enrollAll = async (ledger, devices, ca, keepSerials = 0) => {
  const checked = new Map([0, devices.length >> 1, devices.length - 1].map((i) => [i, undefined]));
  const serialNumbers = [];
  let missing = 0;
  const perSecond = await pool(devices.length, IN_FLIGHT, async (i) => {
    const outcome = await ledger.enroll(devices[i].deviceId, devices[i].csr);
    const certificate = outcome.events.find((e) => e.type === 'CertificateIssued')?.data;
    if (certificate === undefined) missing++;
    else {
      if (checked.has(i)) checked.set(i, certificate);
      if (i < keepSerials) serialNumbers[i] = certificate.serialNumber;
    }
  });
  if (missing > 0) throw new Error(`${missing} enrollments issued no certificate`);
  const caKey = createPublicKey({ key: Buffer.from(ca.key.subjectPublicKeyInfo), format: 'der', type: 'spki' });
  for (const [i, issued] of checked) {
    const certificate = new X509Certificate(Buffer.from(issued.der, 'base64'));
    if (!certificate.verify(caKey) || certificate.subject !== `CN=${devices[i].deviceId}`) throw new Error(`enrollment ${i} did not issue a valid LDevID`);
  }
  return { perSecond, serialNumbers };
};

const makeDevices = (count) => Array.from({ length: count }, () => {
  const deviceId = randomUUID();
  return { deviceId, csr: csrFor(deviceId) };
});

/** Payloads of the size the enroll events have, for the store's own append rate. */
const enrollEvents = (sample) => [
  { type: 'DeviceEnrolled', version: 1, data: { owner: 'acme', enrolledAt: new Date().toISOString() } },
  { type: 'CertificateIssued', version: 1, data: { ...sample, serialNumber: randomBytes(16).toString('hex') } },
].map((e) => ({ id: randomUUID(), ...e, occurredAt: new Date().toISOString(), metadata: { commandId: randomUUID(), causationId: randomUUID(), correlationId: randomUUID(), actor: 'bench', requestFingerprint: randomBytes(32).toString('base64url') } }));

/** RevokedEntry generator as the ledger's CRL service streams them from the inventory. */
function* revokedEntries(count) {
  const prefix = randomBytes(12).toString('hex');
  const start = Date.UTC(2026, 0, 1);
  const reasons = ['keyCompromise', 'superseded', 'cessationOfOperation', 'affiliationChanged'];
  for (let i = 0; i < count; i++) {
    yield { serialNumber: `4${prefix}${i.toString(16).padStart(7, '0')}`, revokedAt: new Date(start + i * 7_000), ...(i % 5 === 0 ? {} : { reason: reasons[i % 4] }) };
  }
}

/** A DER OCSP request (SHA-1 CertID, as openssl sends it), with a 16-byte nonce when asked. */
const ocspRequest = (issuing, serialHex, withNonce) => {
  const details = pki.authorityDetails(issuing.certificateDer);
  const keyBits = AsnConvert.parse(details.subjectPublicKeyInfo, SubjectPublicKeyInfo).subjectPublicKey;
  const serial = Buffer.from(serialHex.length % 2 ? `0${serialHex}` : serialHex, 'hex');
  const certId = new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: '1.3.14.3.2.26', parameters: null }),
    issuerNameHash: new OctetString(createHash('sha1').update(details.nameDer).digest()),
    issuerKeyHash: new OctetString(createHash('sha1').update(new Uint8Array(keyBits)).digest()),
    serialNumber: new Uint8Array(serial[0] & 0x80 ? Buffer.concat([Buffer.of(0), serial]) : serial).buffer,
  });
  const nonce = withNonce ? [new Extension({ extnID: id_pkix_ocsp_nonce, critical: false, extnValue: new OctetString(Buffer.concat([Buffer.of(0x04, 16), randomBytes(16)])) })] : undefined;
  return new Uint8Array(AsnConvert.serialize(new OCSPRequest({ tbsRequest: new TBSRequest({ requestList: [new Request({ reqCert: certId })], ...(nonce ? { requestExtensions: nonce } : {}) }) })));
};

/** The TBS and signature of a signed DER structure (certificate, CRL): SEQUENCE { tbs, algorithm, BIT STRING }. */
const splitSigned = (der) => {
  const tlv = (at) => {
    const first = der[at + 1];
    if (first < 0x80) return { start: at, content: at + 2, end: at + 2 + first };
    let length = 0;
    for (let k = 0; k < (first & 0x7f); k++) length = length * 256 + der[at + 2 + k];
    return { start: at, content: at + 2 + (first & 0x7f), end: at + 2 + (first & 0x7f) + length };
  };
  const outer = tlv(0);
  const tbs = tlv(outer.content);
  const algorithm = tlv(tbs.end);
  const bits = tlv(algorithm.end);
  return { tbs: der.subarray(tbs.start, tbs.end), signature: der.subarray(bits.content + 1, bits.end) };
};

/** POSTs `body` with a keep-alive agent; resolves with the status and the body. */
const httpRequest = (agent, url, { method = 'POST', headers = {}, body } = {}) =>
  new Promise((resolve, reject) => {
    const request = http.request(url, { method, agent, headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) } }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode, body: Buffer.concat(chunks) }));
    });
    request.on('error', reject);
    request.end(body);
  });

/** CPU µs a process has used so far (Linux /proc/<pid>/stat; undefined elsewhere). */
const processCpuMicros = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return undefined;
  }
};

const ocspStatusOf = (der) => {
  const response = AsnConvert.parse(der, OCSPResponse);
  if (!response.responseBytes) return `status ${response.responseStatus}`;
  const status = AsnConvert.parse(response.responseBytes.response.buffer, BasicOCSPResponse).tbsResponseData.responses[0].certStatus;
  return status.good !== undefined ? 'good' : status.revoked !== undefined ? 'revoked' : 'unknown';
};

export const run = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'devid-bench-pki-'));
  const rows = [];
  const row = (figure, devid, raw, rawSetup) => rows.push([figure, devid, raw, rawSetup]);
  const started = now();
  try {
    console.log(`node ${process.version}, OpenSSL ${process.versions.openssl}, ${availableParallelism()} cpus, ${IN_FLIGHT} requests in flight, files in ${dir}`);
    const ca = await hierarchy('ECDSA-P256');
    const caPublic = createPublicKey({ key: Buffer.from(ca.issuing.key.subjectPublicKeyInfo), format: 'der', type: 'spki' });

    // ---- 1. issuance: breakdown first (it sizes the end-to-end run) ----
    progress('making 2,000 CSRs for the breakdown');
    const sample = makeDevices(2000);
    const checkOptions = (deviceId) => ({ expectedDeviceId: deviceId, blockedKeys: () => false, maxBytes: 8192 });
    const checked = sample.map((d) => pki.checkCsr(d.csr, checkOptions(d.deviceId)));
    const checkPerSecond = syncForSeconds(SECONDS / 2, (i) => pki.checkCsr(sample[i % sample.length].csr, checkOptions(sample[i % sample.length].deviceId)));
    // What the issuer runs: the same checks with the proof-of-possession verify on the libuv pool.
    const checkAsyncCpu = cpuMeter();
    const checkAsyncPerSecond = await forSeconds(SECONDS / 2, IN_FLIGHT, (i) => pki.checkCsrAsync(sample[i % sample.length].csr, checkOptions(sample[i % sample.length].deviceId)));
    const checkAsyncMainUs = checkAsyncCpu.mainMicros() / (checkAsyncPerSecond * (SECONDS / 2));
    const profile = pki.ldevidProfile({ validityDays: 365 });
    const issue = (authority, i) =>
      pki.issueCertificate({
        authority,
        profile,
        device: { deviceId: sample[i % sample.length].deviceId },
        subjectPublicKeyInfo: checked[i % sample.length].subjectPublicKeyInfo,
        subjectPublicKeyInfoSha256: checked[i % sample.length].subjectPublicKeyInfoSha256,
        serialNumber: pki.newSerialNumber(),
        now: new Date(),
        baseUrl: BASE_URL,
      });
    const issuePerSecond = await forSeconds(SECONDS / 2, IN_FLIGHT, (i) => issue(ca.issuing, i));
    const sampleDer = (await issue(ca.issuing, 0)).der;

    // Raw: one verify (the CSR's proof of possession) + one sign (the certificate) per op, same algorithms and sizes.
    const verifyInputs = sample.slice(0, 256).map((d) => {
      const csr = AsnConvert.parse(pki.checkCsr(d.csr, checkOptions(d.deviceId)).der, CertificationRequest);
      const spki = Buffer.from(AsnConvert.serialize(csr.certificationRequestInfo.subjectPKInfo));
      return { data: Buffer.from(csr.certificationRequestInfoRaw), spki, key: createPublicKey({ key: spki, format: 'der', type: 'spki' }), signature: Buffer.from(csr.signature) };
    });
    const tbsSized = Buffer.from(splitSigned(sampleDer).tbs);
    const caPrivate = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const rawVerify = (i) => {
      const v = verifyInputs[i % verifyInputs.length];
      if (!verify('sha256', v.data, v.key, v.signature)) throw new Error('raw verify failed');
    };
    const rawSyncCpu = cpuMeter();
    const rawSyncPerSecond = syncForSeconds(SECONDS / 2, (i) => {
      rawVerify(i);
      sign('sha256', tbsSized, caPrivate);
    });
    const rawSyncUs = rawSyncCpu.mainMicros() / (rawSyncPerSecond * (SECONDS / 2));
    const rawPoolPerSecond = await forSeconds(SECONDS / 2, IN_FLIGHT, async (i) => {
      rawVerify(i);
      await signAsync('sha256', tbsSized, caPrivate);
    });
    // Each enrollment brings a key never seen before: its import is part of the raw cost too.
    const rawFreshPerSecond = syncForSeconds(SECONDS / 2, (i) => {
      const v = verifyInputs[i % verifyInputs.length];
      if (!verify('sha256', v.data, createPublicKey({ key: v.spki, format: 'der', type: 'spki' }), v.signature)) throw new Error('raw verify failed');
      sign('sha256', tbsSized, caPrivate);
    });
    const cores = availableParallelism();
    const { perSecond: rawCryptoAllCores, cpuMicros: rawCryptoUs } = await rawCryptoOnThreads(cores, SECONDS / 2, verifyInputs, tbsSized);
    const rawVerifyPerSecond = syncForSeconds(SECONDS / 4, rawVerify);
    const rawSignPerSecond = syncForSeconds(SECONDS / 4, () => sign('sha256', tbsSized, caPrivate));

    // Raw durable append: the store's own rate for 2-event appends of the enroll events' size, same concurrency.
    progress('store: 2-event appends, no PKI');
    const rawStore = await SqliteEventStore.open(join(dir, 'raw-append.sqlite'));
    const sampleIssued = { serialNumber: '', caId: 'issuing-1', profile: 'LDevID', der: Buffer.from(sampleDer).toString('base64'), subject: `CN=${sample[0].deviceId}`, notBefore: new Date().toISOString(), notAfter: new Date().toISOString(), spkiSha256: 'a'.repeat(64), fingerprintSha256: 'b'.repeat(64) };
    const appendPerSecond = await forSeconds(SECONDS / 2, IN_FLIGHT, () => rawStore.append(`device-${randomUUID()}`, enrollEvents(sampleIssued), { expectedRevision: 'no_stream' }));
    await rawStore.close();

    // ---- end to end ----
    // Sized to run about SECONDS: one device's main-thread steps one after another (ship ≈ the handler's own share).
    const shipProbe = await ledgerFor(join(dir, 'probe.sqlite'), ca.issuing, { readModels: false });
    const { perSecond: shipPerSecond, mainMicros: shipMainUs } = await shipProbe.prepare(Array.from({ length: 4000 }, () => randomUUID()));
    await shipProbe.close();
    const estimate = 1 / (1 / checkAsyncPerSecond + 1 / issuePerSecond + 1 / shipPerSecond);
    const count = Number(process.env.BENCH_DEVICES ?? Math.max(2000, Math.ceil((estimate * (SECONDS + 0.5)) / 1000) * 1000));
    progress(`making ${fmt(count)} CSRs (P-256 device keys), untimed`);
    const devices = makeDevices(count);
    const core = await ledgerFor(join(dir, 'enroll.sqlite'), ca.issuing, { readModels: false });
    progress(`manufacture + ship ${fmt(count)} devices, untimed`);
    await core.prepare(devices.map((d) => d.deviceId));
    progress(`enroll ${fmt(count)} devices, timed`);
    const e2eStarted = now();
    const e2eCpu = cpuMeter();
    const threadsBefore = threadCpuByName();
    const machineBefore = cpuTicks();
    const e2e = await enrollAll(core, devices, ca.issuing, 4096);
    const e2eMachine = cpuSharesSince(machineBefore);
    const e2eSeconds = (now() - e2eStarted) / 1000;
    const e2eMainUs = e2eCpu.mainMicros() / count;
    const e2eProcessUs = e2eCpu.processMicros() / count;
    const e2eThreads = threadCpuSince(threadsBefore);
    const stats = core.store.stats();
    await core.close();

    // The same with the read models projected as `npm start` runs them, and the handler's read-your-writes wait.
    const withModelsCount = Math.min(count, Number(process.env.BENCH_DEVICES_WITH_READ_MODELS ?? Math.ceil(count / 2)));
    const withModelsDevices = makeDevices(withModelsCount);
    const full = await ledgerFor(join(dir, 'enroll-read-models.sqlite'), ca.issuing, { readModels: true });
    progress(`with read models: manufacture + ship + enroll ${fmt(withModelsCount)} devices`);
    await full.prepare(withModelsDevices.map((d) => d.deviceId));
    const withModels = await enrollAll(full, withModelsDevices, ca.issuing);
    await full.close();

    row(`LDevIDs issued/s end to end (${fmt(count)} enrollments in ${e2eSeconds.toFixed(1)} s; CA P-256)`, fmt(e2e.perSecond), fmt(rawPoolPerSecond), `verify + sign P-256, ${IN_FLIGHT} in flight (sign on libuv pool)`);
    row('', '', fmt(rawSyncPerSecond), 'verify + sign P-256, one thread, sync');
    row('', '', fmt(rawFreshPerSecond), 'import CSR key + verify + sign P-256, one thread, sync');
    row('', '', fmt(rawCryptoAllCores), `import CSR key + verify + sign P-256, ${cores} threads at once (as the crypto worker runs it)`);
    row(`  same, read models projected + read-your-writes wait (${fmt(withModelsCount)})`, fmt(withModels.perSecond), fmt(appendPerSecond), `store append/s, 2 events (enroll size), ${IN_FLIGHT} writers`);
    row('  enroll appends per commit (group size, mean)', (stats.appends / stats.commits).toFixed(1), '', '');
    row('  CPU µs per enrollment: main thread / whole process (all threads)', `${fmt(e2eMainUs)} / ${fmt(e2eProcessUs)}`, fmt(rawSyncUs), 'CPU µs per verify + sign P-256, one thread');
    if (e2eThreads) {
      // The crypto worker is the thread named devid-crypto (crypto-worker.ts); every other thread but the main one is "the rest".
      const crypto = e2eThreads.get('devid-crypto') ?? 0;
      const rest = [...e2eThreads].filter(([name]) => name !== 'MainThread' && name !== 'devid-crypto').reduce((sum, [, micros]) => sum + micros, 0);
      row(
        '  CPU µs per enrollment by thread: main / crypto worker / the rest (GC helpers, store threads…)',
        `${fmt((e2eThreads.get('MainThread') ?? 0) / count)} / ${fmt(crypto / count)} / ${fmt(rest / count)}`,
        fmt(rawCryptoUs),
        'CPU µs per import CSR key + verify + sign P-256, as the crypto worker runs it',
      );
      const others = [...e2eThreads].filter(([name, micros]) => name !== 'MainThread' && name !== 'devid-crypto' && micros / count >= 1);
      row('  the rest by thread name, CPU µs per enrollment', others.map(([name, micros]) => `${name} ${fmt(micros / count)}`).join(' · ') || '0', '', '');
      row('  busy share of the wall clock: main thread / crypto worker', `${fmt((100 * (e2eThreads.get('MainThread') ?? 0)) / (e2eSeconds * 1e6))}% / ${fmt((100 * crypto) / (e2eSeconds * 1e6))}%`, '', '');
    }
    row('  the machine during the timed run (/proc/stat, both cores)', formatShares(e2eMachine), '', 'CPU time the hypervisor gave other guests, and time no thread ran');
    row(
      '  thread hand-off: postMessage to a worker and back, p50 / p90',
      '',
      formatHandoff(await handoffRoundTrip()),
      'each enrollment crosses to the crypto worker and the store\'s writer thread and back; an idle vCPU here halts and wakes slowly',
    );
    row(`  enrollments/s the process's CPU per enrollment allows on ${cores} cores (${cores} × 10⁶ / process µs)`, fmt((cores * 1e6) / e2eProcessUs), fmt(rawCryptoAllCores), `the crypto alone on ${cores} threads (row above)`);
    row('  breakdown: checkCsr/s (PEM parse + PoP verify + key/subject policy), sync', fmt(checkPerSecond), fmt(rawVerifyPerSecond), 'verify P-256, one thread');
    row(`  breakdown: checkCsrAsync/s (as the issuer runs it: key import + verify on a worker thread, ${IN_FLIGHT} in flight)`, fmt(checkAsyncPerSecond), '', '');
    row('  breakdown: checkCsrAsync main-thread CPU µs per CSR', fmt(checkAsyncMainUs), '', '');
    row(`  breakdown: issueCertificate/s (CA P-256, sign batched on a worker thread, ${IN_FLIGHT} in flight)`, fmt(issuePerSecond), fmt(rawSignPerSecond), `sign P-256 ${tbsSized.length}-byte TBS, one thread`);
    row(`  breakdown: the same handler without PKI (ShipDevice commands/s, ${IN_FLIGHT} in flight)`, fmt(shipPerSecond), '', '');
    row('  breakdown: the same handler without PKI, main-thread CPU µs per command (load, decide, append, commit)', fmt(shipMainUs), '', '');

    for (const algorithm of (process.env.BENCH_OTHER_CA ?? 'ECDSA-P384,Ed25519').split(',').filter(Boolean)) {
      const other = await hierarchy(algorithm);
      const perSecond = await forSeconds(SECONDS / 3, IN_FLIGHT, (i) => issue(other.issuing, i));
      const privateKey = generateKeyPairSync(algorithm === 'Ed25519' ? 'ed25519' : 'ec', algorithm === 'Ed25519' ? {} : { namedCurve: 'P-384' }).privateKey;
      const digest = algorithm === 'Ed25519' ? null : 'sha384';
      const raw = await forSeconds(SECONDS / 3, IN_FLIGHT, () => signAsync(digest, tbsSized, privateKey));
      row(`  breakdown: issueCertificate/s (CA ${algorithm}, ${IN_FLIGHT} in flight)`, fmt(perSecond), fmt(raw), `sign ${algorithm}, ${IN_FLIGHT} in flight`);
    }

    // ---- 2. CRL ----
    for (const size of CRL_SIZES) {
      progress(`CRL of ${fmt(size)} entries`);
      gc();
      const before = process.memoryUsage();
      const maxRssBefore = process.resourceUsage().maxRSS * 1024;
      const thisUpdate = new Date(Math.floor(Date.now() / 1000) * 1000);
      const crlStarted = now();
      const crl = await pki.buildCrl({ authority: ca.issuing, crlNumber: size, thisUpdate, nextUpdate: new Date(thisUpdate.getTime() + 86_400_000), entries: revokedEntries(size), baseUrl: BASE_URL });
      const crlMs = now() - crlStarted;
      const peakRss = Math.max(process.resourceUsage().maxRSS * 1024, process.memoryUsage().rss);
      gc();
      const heapRetained = process.memoryUsage().heapUsed - before.heapUsed;
      // Checked and timed on what was signed: the TBS inside the DER, verified against the CA key.
      const { tbs, signature } = splitSigned(crl.der);
      if (!verify('sha256', tbs, caPublic, signature)) throw new Error(`the ${size}-entry CRL signature does not verify`);
      const signStarted = now();
      sign('sha256', tbs, caPrivate);
      const signMs = now() - signStarted;
      row(`full CRL build, ${fmt(size)} revoked (DER ${mib(crl.der.length)})`, sec(crlMs), `${signMs.toFixed(1)} ms`, 'node:crypto sign (P-256) of the same TBS bytes');
      row(
        `  memory: peak RSS growth (from ${mib(Math.max(before.rss, maxRssBefore))}) / JS heap retained after GC`,
        `${mib(Math.max(0, peakRss - Math.max(before.rss, maxRssBefore)))} / ${mib(Math.max(0, heapRetained))}`,
        mib(crl.der.length),
        'the DER itself (one Buffer)',
      );
    }

    // ---- 3. OCSP through the ledger's OcspService ----
    progress('OCSP');
    const ocspStore = await SqliteEventStore.open(join(dir, 'enroll.sqlite'));
    const ocspDb = openReadModelDb(join(dir, 'ocsp-read.sqlite'));
    const inventory = new CertificateInventory(ocspDb);
    const runner = new ProjectionRunner(ocspStore, inventory);
    runner.start();
    await runner.waitFor(await ocspStore.headPosition());
    await runner.stop();
    const benchCa = {
      caId: ca.issuing.caId,
      parentId: null,
      status: 'active',
      certificate: { der: Buffer.from(ca.issuing.certificateDer).toString('base64') },
      ocspSigner: { certificate: { serialNumber: 'bench' } },
    };
    const cas = { list: () => [benchCa], get: (caId) => (caId === benchCa.caId ? benchCa : undefined), chain: (caId) => (caId === benchCa.caId ? [benchCa] : []), serverCertificate: () => undefined };
    // The responder reads the CA's certificate from the directory and loads only its signer's key.
    const authorities = { ocspSigner: () => Promise.resolve(ca.ocspSigner) };
    const ocsp = new OcspService(authorities, cas, inventory, { OCSP_VALIDITY_SECONDS: 3600 });
    const serials = e2e.serialNumbers;
    const plain = serials.map((s) => ocspRequest(ca.issuing, s, false));
    const withNonce = serials.map((s) => ocspRequest(ca.issuing, s, true));
    if (ocspStatusOf(await ocsp.respond(plain[0])) !== 'good') throw new Error('OCSP did not answer good for an issued certificate');
    const presignStarted = now();
    await pool(plain.length, IN_FLIGHT, (i) => ocsp.respond(plain[i]));
    const presignPerSecond = plain.length / ((now() - presignStarted) / 1000);
    const cachedPerSecond = await forSeconds(SECONDS / 2, IN_FLIGHT, (i) => ocsp.respond(plain[i % plain.length]));
    const noncePerSecond = await forSeconds(SECONDS / 2, IN_FLIGHT, (i) => ocsp.respond(withNonce[i % withNonce.length]));
    const unknown = ocspRequest(ca.issuing, 'deadbeef', false);
    if (ocspStatusOf(await ocsp.respond(unknown)) !== 'unknown') throw new Error('OCSP did not answer unknown for an unknown serial');
    const signerPrivate = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const tbsOcsp = randomBytes(200);
    const rawOcspSign = await forSeconds(SECONDS / 3, IN_FLIGHT, () => signAsync('sha256', tbsOcsp, signerPrivate));
    const rawOcspSignSync = syncForSeconds(SECONDS / 3, () => sign('sha256', tbsOcsp, signerPrivate));
    await ocspStore.close();
    ocspDb.close();
    row(`OCSP responses/s, pre-signed (no nonce; ${fmt(plain.length)} certificates, cache warm)`, fmt(cachedPerSecond), fmt(rawOcspSign), `sign P-256, ${IN_FLIGHT} in flight`);
    row('OCSP responses/s, first answer per certificate (lookup + sign + cache)', fmt(presignPerSecond), fmt(rawOcspSignSync), 'sign P-256, one thread');
    row('OCSP responses/s, fresh-signed (16-byte nonce)', fmt(noncePerSecond), '', '');

    // ---- 4. OCSP over HTTP ----
    progress('OCSP over HTTP: starting a ledger as npm start does');
    const adminKey = randomBytes(24).toString('base64url');
    const ledger = await startLedger({ DATA_DIR: join(dir, 'http-ledger'), ADMIN_API_KEY: adminKey });
    const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
    try {
      const api = async (path, body) => {
        const response = await httpRequest(agent, `${ledger.url}${path}`, { headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        if (response.status >= 300) throw new Error(`${path}: ${response.status} ${response.body}`);
        return JSON.parse(response.body.toString());
      };
      // Enrollment over HTTP, as a device's owner drives it: manufactured and shipped through the API beforehand (untimed).
      const httpCount = Number(process.env.BENCH_HTTP_DEVICES ?? Math.max(1000, Math.round((1500 * SECONDS) / 1000) * 1000));
      progress(`enroll over HTTP: manufacture + ship ${fmt(httpCount)} devices through the API, untimed`);
      const httpDevices = [];
      await pool(httpCount, IN_FLIGHT, async (i) => {
        const { deviceId: id } = await api('/devices', { serialNumber: `SN-HTTP-${i}`, model: 'gw-7', factoryId: 'devid-factory-1' });
        await api(`/devices/${id}/ship`, { owner: 'acme' });
        httpDevices[i] = { deviceId: id, csr: csrFor(id) };
      });
      progress(`enroll ${fmt(httpCount)} devices over HTTP, timed`);
      const [enrollCpu0, enrollMain0, enrollMachine0] = [processCpuMicros(ledger.child.pid), processCpuMicros(`${ledger.child.pid}/task/${ledger.child.pid}`), cpuTicks()];
      let enrolled;
      const enrollOverHttp = await pool(httpCount, IN_FLIGHT, async (i) => {
        const answer = await api(`/devices/${httpDevices[i].deviceId}/enroll`, { csr: httpDevices[i].csr });
        if (answer.certificate?.serialNumber === undefined) throw new Error('enroll over HTTP answered no certificate');
        enrolled ??= answer;
      });
      const enrollMachine = cpuSharesSince(enrollMachine0);
      const [enrollCpu1, enrollMain1] = [processCpuMicros(ledger.child.pid), processCpuMicros(`${ledger.child.pid}/task/${ledger.child.pid}`)];
      const issuingPem = (await httpRequest(agent, `${ledger.url}/cas/devid-issuing/certificate`, { method: 'GET' })).body.toString();
      const issuing = { certificateDer: new Uint8Array(new X509Certificate(issuingPem).raw) };
      const serial = enrolled.certificate.serialNumber;
      const plainHttp = Buffer.from(ocspRequest(issuing, serial, false));
      // Each nonced request different, made beforehand (the client's own ASN.1 work is not timed).
      const noncedHttp = Array.from({ length: 4096 }, () => Buffer.from(ocspRequest(issuing, serial, true)));
      const post = (body) => httpRequest(agent, `${ledger.url}/ocsp`, { headers: { 'content-type': 'application/ocsp-request' }, body });
      const first = await post(plainHttp);
      if (first.status !== 200 || ocspStatusOf(first.body) !== 'good') throw new Error(`OCSP over HTTP did not answer good: ${first.status}`);
      await forSeconds(SECONDS / 3, IN_FLIGHT, () => post(plainHttp)); // warm-up
      const measure = async (body) => {
        const [cpu0, machine0, answers0] = [processCpuMicros(ledger.child.pid), cpuTicks(), { n: 0 }];
        const perSecond = await forSeconds(SECONDS / 2, IN_FLIGHT, async (i) => {
          const answer = await post(body(i));
          if (answer.status !== 200 || answer.body[0] !== 0x30) throw new Error(`OCSP over HTTP: status ${answer.status}`);
          answers0.n++;
        });
        const cpu = processCpuMicros(ledger.child.pid);
        return { perSecond, ledgerMicros: cpu === undefined || cpu0 === undefined ? undefined : (cpu - cpu0) / answers0.n, machine: cpuSharesSince(machine0) };
      };
      const plainOverHttp = await measure(() => plainHttp);
      const noncedOverHttp = await measure((i) => noncedHttp[i % noncedHttp.length]);
      const cpuNote = (m) => (m.ledgerMicros === undefined ? '' : `; the ledger used ${fmt(m.ledgerMicros)} µs CPU per answer`);
      row(
        `LDevIDs issued/s over HTTP: POST /devices/{id}/enroll (${fmt(httpCount)}), ${IN_FLIGHT} keep-alive clients in this process`,
        fmt(enrollOverHttp),
        fmt(e2e.perSecond),
        `the same path minus HTTP, read models and relay (first row); the ledger used ${fmt((enrollCpu1 - enrollCpu0) / httpCount)} µs CPU per enrollment, its main thread ${fmt((enrollMain1 - enrollMain0) / httpCount)} µs (busy ${fmt((100 * (enrollMain1 - enrollMain0) * enrollOverHttp) / httpCount / 1e6)}%); ${formatShares(enrollMachine)}`,
      );
      row(`OCSP over HTTP POST, pre-signed, ${IN_FLIGHT} keep-alive clients in this process`, fmt(plainOverHttp.perSecond), fmt(cachedPerSecond), `the same through OcspService alone${cpuNote(plainOverHttp)}; ${formatShares(plainOverHttp.machine)}`);
      row(`OCSP over HTTP POST, fresh-signed (nonce), ${IN_FLIGHT} keep-alive clients in this process`, fmt(noncedOverHttp.perSecond), fmt(noncePerSecond), `the same through OcspService alone${cpuNote(noncedOverHttp)}; ${formatShares(noncedOverHttp.machine)}`);
    } finally {
      agent.destroy();
      const exited = new Promise((resolve) => ledger.child.once('exit', resolve));
      ledger.child.kill('SIGTERM');
      await exited;
    }

    printFigures(['figure', 'DevID', 'raw', 'raw setup'], rows);
    console.log(`\n(rates per second of wall clock; bench took ${((now() - started) / 1000).toFixed(0)} s)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
