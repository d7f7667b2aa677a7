// The files a data dir cannot lose, as processes meet them: several ledgers started at once on
// a new data dir (docker compose --scale, or a restart racing a CLI command) must agree on one
// generated CA key passphrase and one admin key, and never write one key over another. Each
// process here is a real node process running the built ledger code, released at the same
// instant; afterwards every key any of them made must open.
import { execFile, execFileSync } from 'node:child_process';
import { createPublicKey, randomUUID, verify } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AuditPublicKey } from '@devid/audit';
import { SqliteEventStore } from '@devid/event-store';
import { loadConfig } from '../../apps/ledger/src/config/config';
import { AdminKey } from '../../apps/ledger/src/http/admin-key';
import { KeyStore } from '../../apps/ledger/src/pki/key-store';
import { Pkcs11Token } from '@devid/pki';
import { hsmEnv } from '../support/hsm';
import { ensureBuilt, ROOT } from '../support/ledger-process';

jest.setTimeout(60_000);
const run = promisify(execFile);
const PROCESSES = 6;

let dataDir: string;
beforeAll(() => ensureBuilt());
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'devid-key-files-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

/**
 * Runs `body` (CommonJS) in PROCESSES node processes that start it at the same instant, after
 * `setup` (the ledger's modules loaded: `dist` is its build); their stdout, in order.
 */
const together = async (setup: string, body: (i: number) => string, { processes = PROCESSES, leadMs = 2_500 } = {}): Promise<string[]> => {
  const at = Date.now() + leadMs; // every process is up and loaded by then, then spins to the instant
  return Promise.all(
    Array.from({ length: processes }, async (_, i) => {
      const script = `const dist = ${JSON.stringify(join(ROOT, 'apps', 'ledger', 'dist'))}; ${setup}
        (async () => { while (Date.now() < ${at}); ${body(i)} })().catch((e) => { console.log('error: ' + e.message); });`;
      // A process that does not end by itself (something left open) is killed, and the test fails on it.
      const { stdout } = await run(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir }, timeout: 40_000 });
      return stdout.trim();
    }),
  );
};

it('gives processes started together one CA key passphrase: every key each of them made opens afterwards', async () => {
  const out = await together(
    `const { KeyStore } = require(dist + '/pki/key-store'); const { loadConfig } = require(dist + '/config/config');`,
    (i) => `const keys = new KeyStore(loadConfig({ DATA_DIR: process.env.DATA_DIR }));
      await keys.generate('signer-${i}', 'ECDSA-P256');
      console.log('made signer-${i}');`,
  );
  expect(out).toEqual(Array.from({ length: PROCESSES }, (_, i) => expect.stringContaining(`made signer-${i}`)));

  const keys = new KeyStore(loadConfig({ DATA_DIR: dataDir }));
  const opened = await Promise.allSettled(Array.from({ length: PROCESSES }, (_, i) => keys.get(`file:signer-${i}`)));
  expect(opened.map((o) => (o.status === 'fulfilled' ? 'opens' : String(o.reason)))).toEqual(Array(PROCESSES).fill('opens'));
  expect(readdirSync(join(dataDir, 'ca-keys')).sort()).toEqual(['.passphrase', ...Array.from({ length: PROCESSES }, (_, i) => `signer-${i}.p8.pem`)].sort());
});

it('never writes a key over another of the same name: one process makes it, the others are refused, and the file holds the key that one made', async () => {
  const out = await together(
    `const { KeyStore } = require(dist + '/pki/key-store'); const { loadConfig } = require(dist + '/config/config');`,
    () => `const keys = new KeyStore(loadConfig({ DATA_DIR: process.env.DATA_DIR, CA_KEY_PASSPHRASE: 'key-files-passphrase-0123' }));
      const { key } = await keys.generate('issuing', 'ECDSA-P256');
      console.log('made ' + Buffer.from(key.subjectPublicKeyInfo).toString('base64'));`,
  );
  const made = out.filter((line) => line.startsWith('made '));
  expect(made).toHaveLength(1);
  expect(out.filter((line) => !line.startsWith('made '))).toEqual(Array(PROCESSES - 1).fill('error: a key named issuing already exists'));

  const key = await new KeyStore(loadConfig({ DATA_DIR: dataDir, CA_KEY_PASSPHRASE: 'key-files-passphrase-0123' })).get('file:issuing');
  expect(`made ${Buffer.from(key.subjectPublicKeyInfo).toString('base64')}`).toBe(made[0]);
});

const hsm = hsmEnv();
const itHsm = hsm ? it : it.skip;
/** How many key objects (private and public) pkcs11-tool, an independent client, lists per label on `token`. */
const objectsByLabel = (token: string): Map<string, number> => {
  const listed = execFileSync('pkcs11-tool', ['--module', hsm!.PKCS11_MODULE!, '--token-label', token, '--login', '--pin', hsm!.HSM_PIN!, '--list-objects'], { encoding: 'utf8' });
  const counts = new Map<string, number>();
  for (const [, label] of listed.matchAll(/label:\s*(\S+)/g)) counts.set(label!, (counts.get(label!) ?? 0) + 1);
  return counts;
};

itHsm('gives a label on a PKCS#11 token to one key pair when processes make keys under it at the same instant: one of them is answered with it, the others are refused', async () => {
  const prefix = `race-${randomUUID().slice(0, 8)}`;
  const labels = 12;
  const out = await together(
    `const { KeyStore } = require(dist + '/pki/key-store'); const { loadConfig } = require(dist + '/config/config');`,
    () => `const keys = new KeyStore(loadConfig({ ...process.env, CA_KEY_BACKEND: 'pkcs11', CA_KEY_PASSPHRASE: 'key-files-passphrase-0123' }));
      const start = Date.now();
      for (let n = 0; n < ${labels}; n++) {
        while (Date.now() < start + n * 100);
        try {
          const { key } = await keys.generate('${prefix}-' + n, 'ECDSA-P256');
          console.log('made ' + n + ' ' + Buffer.from(key.subjectPublicKeyInfo).toString('base64'));
        } catch (e) { console.log('refused ' + n + ' ' + e.code); }
      }
      keys.close();`,
    { processes: 3 },
  );
  const lines = out.flatMap((text) => text.split('\n'));
  expect(lines.filter((line) => !/^(made \d+ \S+|refused \d+ key-name-taken)$/.test(line))).toEqual([]);
  const token = Pkcs11Token.open({ module: hsm!.PKCS11_MODULE!, tokenLabel: hsm!.HSM_TOKEN_LABEL!, pin: hsm!.HSM_PIN! });
  try {
    const objects = objectsByLabel(hsm!.HSM_TOKEN_LABEL!);
    for (let n = 0; n < labels; n++) {
      const made = lines.filter((line) => line.startsWith(`made ${n} `)).map((line) => line.split(' ')[2]!);
      // At most one process keeps a pair under the label (all may give theirs up), and the token holds just that pair.
      expect({ n, made: made.length, objects: objects.get(`${prefix}-${n}`) ?? 0 }).toEqual({ n, made: made.length, objects: 2 * made.length });
      expect(made.length).toBeLessThanOrEqual(1);
      if (made.length === 0) continue;
      const key = await token.findKey(`${prefix}-${n}`);
      expect(Buffer.from(key.subjectPublicKeyInfo).toString('base64')).toBe(made[0]);
      const data = Buffer.from(`signed under ${prefix}-${n}`);
      expect(verify('sha256', data, createPublicKey({ key: Buffer.from(made[0]!, 'base64'), format: 'der', type: 'spki' }), await key.sign(data))).toBe(true);
    }
  } finally {
    for (let n = 0; n < labels; n++) {
      const made = lines.find((line) => line.startsWith(`made ${n} `));
      if (made) await token.destroyKey(`${prefix}-${n}`, Buffer.from(made.split(' ')[2]!, 'base64'));
    }
    token.close();
  }
});

itHsm('gives ledgers started together on a new data dir and a new PKCS#11 token one demo CA hierarchy, each key one pair on the token, each CA signing with it', async () => {
  const tokenLabel = `devid-race-${randomUUID().slice(0, 8)}`;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', tokenLabel, '--pin', hsm!.HSM_PIN!, '--so-pin', '12345678'], { stdio: 'ignore' });
  try {
    const out = await together(
      `const { startLedger } = require(dist + '/ledger'); const { loadConfig } = require(dist + '/config/config');`,
      () => `const config = loadConfig({ ...process.env, HSM_TOKEN_LABEL: ${JSON.stringify(tokenLabel)}, CA_KEY_BACKEND: 'pkcs11', PORT: '0', EST_PORT: 'off', DEMO_CA: 'true', ADMIN_API_KEY: 'key-files-admin-key-0123456789', CA_KEY_PASSPHRASE: 'key-files-passphrase-0123' });
        const { app, url } = await startLedger(config, false);
        const cas = await (await fetch(url + '/cas')).json();
        // A CRL per CA: signed with the key each CA is recorded with, proved to be its certificate's (else 503 key-mismatch).
        const crls = await Promise.all(cas.cas.map(async (ca) => ca.caId + ' ' + (await fetch(url + '/crl/' + ca.caId + '.crl')).status));
        await app.close();
        console.log('up, ' + cas.cas.length + ' CAs; CRLs ' + crls.sort().join(', '));`,
      { processes: 3, leadMs: 6_000 },
    );
    expect(out).toEqual(Array(3).fill('up, 3 CAs; CRLs devid-factory-1 200, devid-issuing 200, devid-root 200'));
    const objects = objectsByLabel(tokenLabel);
    expect([...objects.values()]).toEqual(Array(objects.size).fill(2));
    expect([...objects.keys()].filter((label) => !label.includes('-ocsp')).sort()).toEqual(['devid-factory-1', 'devid-issuing', 'devid-root']);
  } finally {
    execFileSync('softhsm2-util', ['--delete-token', '--token', tokenLabel], { stdio: 'ignore' });
  }
});

it('gives processes started together one generated admin key: the one start that prints a key prints the key that works', async () => {
  const out = await together(
    `const { AdminKey } = require(dist + '/http/admin-key');`,
    () => `const admin = AdminKey.load(process.env.DATA_DIR);
      console.log(admin.generated ? 'generated ' + admin.generated : 'loaded');`,
  );
  const printed = out.filter((line) => line.startsWith('generated ')).map((line) => line.slice('generated '.length));
  expect(printed).toHaveLength(1);
  expect(out.filter((line) => line === 'loaded')).toHaveLength(PROCESSES - 1);
  expect(AdminKey.load(dataDir).matches(printed[0]!)).toBe(true);
});

it('gives processes started together one audit key: each signs checkpoints with the key whose public half is published', async () => {
  const out = await together(
    `const { KeyStore } = require(dist + '/pki/key-store'); const { loadConfig } = require(dist + '/config/config'); const { loadAuditKey } = require(dist + '/audit/audit-key');
      require('@nestjs/common').Logger.overrideLogger(false);`,
    () => `const keys = new KeyStore(loadConfig({ DATA_DIR: process.env.DATA_DIR, CA_KEY_PASSPHRASE: 'key-files-passphrase-0123' }));
      const { publicKey } = await loadAuditKey(keys, process.env.DATA_DIR);
      console.log('key ' + publicKey.keyId);`,
  );
  const published = AuditPublicKey.parse(readFileSync(join(dataDir, 'audit-key.pub.pem'), 'utf8'));
  expect(out).toEqual(Array(PROCESSES).fill(`key ${published.keyId}`));
});

it('gives ledgers started together on a new data dir one demo CA hierarchy and one EST certificate: each starts, each CA is made by one of them and recorded once, every EST port serves the one certificate recorded', async () => {
  const out = await together(
    `const { startLedger } = require(dist + '/ledger'); const { loadConfig } = require(dist + '/config/config'); const tls = require('node:tls');`,
    () => `const config = loadConfig({ DATA_DIR: process.env.DATA_DIR, PORT: '0', EST_PORT: '0', DEMO_CA: 'true', ADMIN_API_KEY: 'key-files-admin-key-0123456789', CA_KEY_PASSPHRASE: 'key-files-passphrase-0123' });
      const { app, url, demoCas, estUrl } = await startLedger(config, false);
      const cas = await (await fetch(url + '/cas')).json();
      // The certificate this process's EST port presents (none when EST starts later, after this start).
      const served = estUrl === undefined ? 'none' : await new Promise((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port: Number(new URL(estUrl).port), rejectUnauthorized: false }, () => { resolve(socket.getPeerCertificate().serialNumber.toLowerCase()); socket.end(); });
        socket.on('error', reject);
      });
      await app.close();
      console.log('up, ' + cas.cas.length + ' CAs; EST ' + served + '; made: ' + (demoCas ?? []).map((line) => line.split(' ')[0]).join(' '));`,
    { processes: 3, leadMs: 6_000 },
  );
  expect(out).toEqual(Array(3).fill(expect.stringMatching(/^up, 3 CAs; EST ([0-9a-f]+|none); made:/)));
  expect(out.flatMap((line) => line.split('made:')[1]!.trim().split(' ').filter(Boolean)).sort()).toEqual(['devid-factory-1', 'devid-issuing', 'devid-root']);

  const store = await SqliteEventStore.open(join(dataDir, 'events.db'));
  try {
    const events = await store.readAll({ maxCount: 1000 });
    const created = events.filter((event) => event.type === 'CertificateAuthorityCreated').map((event) => (event.data as { caId: string }).caId);
    expect(created.sort()).toEqual(['devid-factory-1', 'devid-issuing', 'devid-root']);
    const estCertificates = events.filter((event) => event.type === 'ServerCertificateIssued').map((event) => (event.data as { certificate: { serialNumber: string } }).certificate.serialNumber);
    expect(estCertificates).toHaveLength(1);
    const served = out.map((line) => /EST (\S+);/.exec(line)![1]).filter((serial) => serial !== 'none');
    expect(served.length).toBeGreaterThan(0);
    expect(served.map((serial) => serial.replace(/^0+/, ''))).toEqual(Array(served.length).fill(estCertificates[0]!.replace(/^0+/, '')));
  } finally {
    await store.close();
  }
});

it('ends a start that fails while the ledger is built (here: read-models.db cannot be opened) with its error, and leaves nothing open: the process ends by itself', async () => {
  mkdirSync(join(dataDir, 'read-models.db'));
  const out = await together(
    `const { startLedger } = require(dist + '/ledger'); const { loadConfig } = require(dist + '/config/config');`,
    () => `const config = loadConfig({ DATA_DIR: process.env.DATA_DIR, PORT: '0', EST_PORT: 'off', ADMIN_API_KEY: 'key-files-admin-key-0123456789', CA_KEY_PASSPHRASE: 'key-files-passphrase-0123' });
      await startLedger(config, false);
      console.log('started');`,
    { processes: 1, leadMs: 0 },
  );
  expect(out).toEqual(['error: unable to open database file']);
});

it('removes at start what a process killed between writing a key file and linking it left in the data dir, and nothing younger', async () => {
  mkdirSync(join(dataDir, 'ca-keys'), { recursive: true });
  const old = (Date.now() - 3_600_000) / 1000;
  for (const file of [join(dataDir, 'ca-keys', 'devid-root.p8.pem.4242.next'), join(dataDir, 'admin-api-key.sha256.17.next')]) {
    writeFileSync(file, 'written, never linked');
    utimesSync(file, old, old);
  }
  writeFileSync(join(dataDir, 'ca-keys', 'fab-9.p8.pem.18.next'), 'another process at work');
  const out = await together(
    `const { startLedger } = require(dist + '/ledger'); const { loadConfig } = require(dist + '/config/config');`,
    () => `const config = loadConfig({ DATA_DIR: process.env.DATA_DIR, PORT: '0', EST_PORT: 'off', DEMO_CA: 'false', ADMIN_API_KEY: 'key-files-admin-key-0123456789', CA_KEY_PASSPHRASE: 'key-files-passphrase-0123' });
      const { app } = await startLedger(config, false);
      await app.close();
      console.log('started');`,
    { processes: 1, leadMs: 0 },
  );
  expect(out).toEqual([expect.stringMatching(/removed from .*ca-keys what a process that died while writing left: devid-root\.p8\.pem\.4242\.next[\s\S]*started$/)]);
  expect(readdirSync(join(dataDir, 'ca-keys')).filter((name) => name.endsWith('.next'))).toEqual(['fab-9.p8.pem.18.next']);
  expect(readdirSync(dataDir).filter((name) => name.endsWith('.next'))).toEqual([]);
});

it('refuses a first start that finds a demo CA key an unfinished earlier start left, naming it, and records nothing', async () => {
  mkdirSync(join(dataDir, 'ca-keys'), { recursive: true });
  const left = join(dataDir, 'ca-keys', 'devid-root.p8.pem');
  writeFileSync(left, 'a key whose CA was never recorded');
  const old = (Date.now() - 3_600_000) / 1000;
  utimesSync(left, old, old);
  const out = await together(
    `const { startLedger } = require(dist + '/ledger'); const { loadConfig } = require(dist + '/config/config');`,
    () => `const config = loadConfig({ DATA_DIR: process.env.DATA_DIR, PORT: '0', EST_PORT: 'off', DEMO_CA: 'true', ADMIN_API_KEY: 'key-files-admin-key-0123456789', CA_KEY_PASSPHRASE: 'key-files-passphrase-0123' });
      await startLedger(config, false);
      console.log('started');`,
    { processes: 1, leadMs: 0 },
  );
  expect(out).toEqual(['error: a key named devid-root already exists, and no CA devid-root is recorded: an earlier start made it and did not finish; remove that key and start again']);
  const store = await SqliteEventStore.open(join(dataDir, 'events.db'));
  try {
    expect((await store.readAll({ maxCount: 1000 })).map((event) => event.type)).toEqual([]);
  } finally {
    await store.close();
  }
  expect(readFileSync(left, 'utf8')).toBe('a key whose CA was never recorded');
});
