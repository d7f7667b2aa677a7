// Factory batch figures (issue 7), each beside the raw machine limit measured in the same run:
//  1. devices/s of `issueBatch` (what `devid factory issue` runs on the gateway) with the
//     ledger's own factory CA key: device-CSR mode (read CSR, checkCsr: PoP verify, sign the
//     IDevID, journal + fsync per chunk) and gateway-keygen mode (P-256 keygen, encrypted
//     PKCS#8 + certificate files per device, sign, journal). CSRs are made beforehand, untimed.
//  2. devices/s of an import: POST /factory/batches to a ledger started in this process
//     (signature + chain, every record checked, DeviceManufactured + CertificateIssued per device
//     through the device command handler, on a real SQLite file), and a second import (replay).
// Beside them: raw P-256 sign/s, verify/s and keygen/s of node:crypto on one thread.
// BENCH_FACTORY_DEVICES (default 5,000) devices per mode. Fresh temp files; removed at the end.
import { generateKeyPairSync, randomBytes, sign, verify, webcrypto } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { printFigures } from './lib/table.mjs';

const require = createRequire(import.meta.url);
require('reflect-metadata');
const factory = require('../../libs/factory/dist/index.js');
const { loadConfig } = require('../../apps/ledger/dist/config/config.js');
const { startLedger } = require('../../apps/ledger/dist/ledger.js');
const { Name, Pkcs10CertificateRequestGenerator } = require('@peculiar/x509');

const DEVICES = Number(process.env.BENCH_FACTORY_DEVICES ?? 5_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const KEY = 'bench-factory-admin-key-0123456789';
const CA_PASSPHRASE = 'bench-factory-ca-passphrase';
const TARGET_PER_MINUTE = 10_000;

const now = () => performance.now();
const fmt = (value) => Math.round(value).toLocaleString('en-US');
const progress = (message) => process.stderr.write(`… ${message}\n`);

/** Runs `op` on one thread for `seconds`; returns ops/s. */
const syncForSeconds = (seconds, op) => {
  let count = 0;
  const started = now();
  const deadline = started + seconds * 1000;
  while (now() < deadline) op(count++);
  return count / ((now() - started) / 1000);
};

const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/** Device CSRs `/serialNumber=<serial>` as `<dir>/<serial>.csr`; 64 key pairs reused (keygen is timed separately). */
const writeCsrs = async (dir, serials) => {
  const pairs = await Promise.all(Array.from({ length: 64 }, () => webcrypto.subtle.generateKey(ecdsa, false, ['sign', 'verify'])));
  for (let i = 0; i < serials.length; i += 256) {
    await Promise.all(
      serials.slice(i, i + 256).map(async (serial, j) => {
        const csr = await Pkcs10CertificateRequestGenerator.create({ name: new Name([{ '2.5.4.5': [serial] }]), keys: pairs[(i + j) % pairs.length], signingAlgorithm: ecdsa });
        writeFileSync(join(dir, `${serial}.csr`), csr.toString('pem'));
      }),
    );
  }
};

export const run = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'devid-bench-factory-'));
  const rows = [];
  const row = (figure, devid, raw, rawSetup) => rows.push([figure, devid, raw, rawSetup]);
  const started = now();
  let ledger;
  try {
    console.log(`node ${process.version}, OpenSSL ${process.versions.openssl}, ${availableParallelism()} cpus, ${fmt(DEVICES)} devices per mode, files in ${dir}`);
    const dataDir = join(dir, 'data');
    ledger = await startLedger(loadConfig({ ...process.env, DATA_DIR: dataDir, PORT: '0', EST_PORT: 'off', ADMIN_API_KEY: KEY, LOG_LEVEL: 'silent', CA_KEY_PASSPHRASE: CA_PASSPHRASE }), false);
    const chain = await Promise.all(['devid-factory-1', 'devid-root'].map(async (caId) => (await fetch(`${ledger.url}/cas/${caId}/certificate`)).text()));
    const ca = await factory.loadFactoryCa({ key: join(dataDir, 'ca-keys', 'devid-factory-1.p8.pem'), certificatePem: chain.join(''), secret: CA_PASSPHRASE });

    // ---- raw limits, one thread ----
    const raw = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const tbs = randomBytes(420);
    const signature = sign('sha256', tbs, raw.privateKey);
    const rawSign = syncForSeconds(SECONDS, () => sign('sha256', tbs, raw.privateKey));
    const rawVerify = syncForSeconds(SECONDS, () => verify('sha256', tbs, raw.publicKey, signature));
    const rawKeygen = syncForSeconds(SECONDS, () => generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    const rawVerifySign = 1 / (1 / rawSign + 1 / rawVerify);
    const rawKeygenSign = 1 / (1 / rawSign + 1 / rawKeygen);

    // ---- 1. batch issue, both modes ----
    const modes = [
      ['device CSRs', 'csr', (i) => `CSR-${String(i).padStart(7, '0')}`],
      ['gateway-generated keys', 'gw', (i) => `GW-${String(i).padStart(7, '0')}`],
    ];
    const batches = [];
    for (const [label, mode, serialOf] of modes) {
      const work = join(dir, mode);
      mkdirSync(work);
      const serials = Array.from({ length: DEVICES }, (_, i) => serialOf(i));
      if (mode === 'csr') {
        progress(`making ${fmt(DEVICES)} device CSRs (untimed)`);
        await writeCsrs(work, serials);
      }
      writeFileSync(join(work, 'devices.csv'), ['serialNumber,model,csr', ...serials.map((s) => `${s},bench-ecu,${mode === 'csr' ? `${s}.csr` : ''}`)].join('\n') + '\n');
      const entries = await factory.readManifest(join(work, 'devices.csv'));
      progress(`issuing ${fmt(DEVICES)} IDevIDs (${label})`);
      const issueStarted = now();
      const result = await factory.issueBatch({
        ca,
        entries,
        out: join(work, 'batch.devid'),
        baseUrl: ledger.url,
        csrDir: work,
        keyOut: join(work, 'keys'),
        keyPassphrase: 'bench-device-key-passphrase',
      });
      const perSecond = result.issued / ((now() - issueStarted) / 1000);
      batches.push(join(work, 'batch.devid'));
      row(
        `batch issue, ${label}: devices/s (devices/min)`,
        `${fmt(perSecond)} (${fmt(perSecond * 60)}/min)`,
        mode === 'csr' ? fmt(rawVerifySign) : fmt(rawKeygenSign),
        mode === 'csr' ? 'verify + sign P-256, one thread' : 'keygen + sign P-256, one thread',
      );
    }

    // ---- 2. import through the ledger ----
    for (const [index, batch] of batches.entries()) {
      const body = readFileSync(batch);
      for (const attempt of ['first import', 'second import (nothing new)']) {
        progress(`importing batch ${index + 1} (${attempt})`);
        const importStarted = now();
        const res = await fetch(`${ledger.url}/factory/batches`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': factory.BATCH_MEDIA_TYPE }, body });
        const result = await res.json();
        const seconds = (now() - importStarted) / 1000;
        const expected = attempt === 'first import' ? result.imported : result.alreadyPresent;
        if (res.status !== 200 || expected !== DEVICES || result.rejected.length > 0) throw new Error(`import ${attempt} answered ${res.status}: ${JSON.stringify(result).slice(0, 300)}`);
        row(`import (${modes[index][0]} batch), ${attempt}: devices/s (devices/min)`, `${fmt(DEVICES / seconds)} (${fmt((DEVICES / seconds) * 60)}/min)`, fmt(rawVerify), 'verify P-256, one thread');
      }
    }
    row('raw sign/s (P-256, one thread)', '', fmt(rawSign), 'node:crypto sign');
    row('raw keygen/s (P-256, one thread)', '', fmt(rawKeygen), 'generateKeyPairSync');

    printFigures(['figure', 'DevID', 'raw', 'raw setup'], rows);
    console.log(`\n(target: ${fmt(TARGET_PER_MINUTE)} devices/min; rates per second of wall clock; bench took ${((now() - started) / 1000).toFixed(0)} s)`);
  } finally {
    if (ledger) await ledger.app.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
