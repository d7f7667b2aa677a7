// A factory batch from the offline gateway to the ledger, all through the `devid` CLI and HTTP:
// 10,000 devices (half with device CSRs, half with gateway-generated keys) issued with the
// ledger's factory CA key, imported, imported again (nothing new), and a batch with one
// flipped byte refused whole. FACTORY_E2E_DEVICES overrides the size (default 10,000).
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BatchJournal, batchRecordSchema, loadFactoryCa, type BatchRecord } from '@devid/factory';
import { SoftwareKeyProvider } from '@devid/pki';
import { testFactoryCa, writeDeviceCsrs } from '../../libs/factory/src/testing/factory-fixtures';
import { request } from '../support/http';
import { NO_AUDIT_CHECKPOINTS, ensureBuilt, ROOT, startLedgerProcess, stopLedgerProcess, type LedgerProcess } from '../support/ledger-process';

const run = promisify(execFile);
const DEVICES = Number(process.env.FACTORY_E2E_DEVICES ?? 10_000);
const KEY = 'factory-e2e-admin-key-0123456789';
const CA_PASSPHRASE = 'factory-e2e-ca-passphrase';
const DEVICE_PASSPHRASE = 'factory-e2e-device-passphrase';
const FACTORY_CA = 'devid-factory-1';

jest.setTimeout(15 * 60_000);

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}
const devid = (args: string[], env: Record<string, string> = {}): Promise<CliRun> =>
  run(process.execPath, [join(ROOT, 'apps', 'cli', 'bin', 'devid.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('offline factory batch → ledger', () => {
  let ledger: LedgerProcess;
  let dataDir: string;
  let work: string;
  const api = (method: string, path: string, options: Parameters<typeof request>[3] = {}) => request(ledger.url, method, path, { key: KEY, ...options });
  const head = async () => ((await api('GET', '/health')).body as { store: { headPosition: number } }).store.headPosition;
  /** Every page of a list endpoint. */
  const all = async <T>(path: string, field: string): Promise<T[]> => {
    const items: T[] = [];
    for (let cursor: string | null = null; ; ) {
      const res = await api('GET', `${path}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.status).toBe(200);
      items.push(...(res.body[field] as T[]));
      cursor = res.body.nextCursor as string | null;
      if (!cursor) return items;
    }
  };
  const importBatch = (file: string) => devid(['factory', 'import', file, '--url', ledger.url], { ADMIN_API_KEY: KEY });

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'devid-factory-data-'));
    work = mkdtempSync(join(tmpdir(), 'devid-factory-work-'));
    // "Nothing written" is read off the store head: keep the audit scheduler's own signed
    // checkpoints (every 1,000 events or 60 s) from landing in the middle of a comparison.
    ledger = await startLedgerProcess({ DATA_DIR: dataDir, ADMIN_API_KEY: KEY, CA_KEY_PASSPHRASE: CA_PASSPHRASE, EST_PORT: '0', ...NO_AUDIT_CHECKPOINTS });
    const chain = await Promise.all([FACTORY_CA, 'devid-root'].map(async (caId) => (await fetch(`${ledger.url}/cas/${caId}/certificate`)).text()));
    writeFileSync(join(work, 'factory-chain.pem'), chain.join(''));
    const serials = Array.from({ length: DEVICES }, (_, i) => `FX-${String(i).padStart(6, '0')}`);
    await writeDeviceCsrs(work, serials.filter((_, i) => i % 2 === 0), 64);
    writeFileSync(join(work, 'devices.csv'), ['serialNumber,model,csr', ...serials.map((s, i) => `${s},ecu-9,${i % 2 === 0 ? `${s}.csr` : ''}`)].join('\n') + '\n');
  });
  afterAll(async () => {
    if (ledger) await stopLedgerProcess(ledger);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('documents devid factory issue and import with --help', async () => {
    for (const command of [['factory'], ['factory', 'issue'], ['factory', 'import']]) {
      const res = await devid([...command, '--help']);
      expect([command.join(' '), res.code]).toEqual([command.join(' '), 0]);
      expect(res.stdout).toMatch(new RegExp(`Usage: devid ${command.join(' ')}`));
    }
  });

  it(`issues ${DEVICES} IDevIDs offline, imports them once, and refuses a batch with one flipped byte`, async () => {
    const issued = await devid(
      ['factory', 'issue', '--ca', join(dataDir, 'ca-keys', `${FACTORY_CA}.p8.pem`), '--ca-cert', join(work, 'factory-chain.pem'), '--manifest', join(work, 'devices.csv'), '--out', join(work, 'batch.devid'), '--key-out', join(work, 'keys'), '--no-progress'],
      { CA_KEY_PASSPHRASE: CA_PASSPHRASE, DEVICE_KEY_PASSPHRASE: DEVICE_PASSPHRASE },
    );
    expect(issued.stderr).toBe('');
    expect(JSON.parse(issued.stdout)).toMatchObject({ total: DEVICES, issued: DEVICES, resumed: 0 });
    const batch = readFileSync(join(work, 'batch.devid'));

    // One flipped byte inside a certificate: refused whole, nothing written.
    const flipped = Buffer.from(batch);
    const at = batch.indexOf('"certificate":"', batch.indexOf('\n')) + 60;
    flipped[at] = flipped[at] === 0x41 ? 0x42 : 0x41;
    writeFileSync(join(work, 'flipped.devid'), flipped);
    const before = await head();
    const refused = await importBatch(join(work, 'flipped.devid'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^devid: batch refused \(422 batch-signature-invalid\): /);
    expect(await head()).toBe(before);

    const first = await importBatch(join(work, 'batch.devid'));
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ imported: DEVICES, alreadyPresent: 0, rejected: [] });

    const devices = await all<{ deviceId: string; serialNumber: string; status: string }>(`/devices?status=manufactured&factoryId=${FACTORY_CA}`, 'devices');
    expect(devices).toHaveLength(DEVICES);
    expect(new Set(devices.map((d) => d.serialNumber)).size).toBe(DEVICES);
    const idevids = await all<{ deviceId: string; profile: string; status: string }>(`/certificates?caId=${FACTORY_CA}&profile=IDevID&status=good`, 'certificates');
    expect(new Set(idevids.map((c) => c.deviceId))).toEqual(new Set(devices.map((d) => d.deviceId)));

    // A device's IDevID is the one in the batch, and a gateway-generated key is there for injection.
    const record = batchRecordSchema.parse(JSON.parse(batch.toString('utf8').split('\n')[2]!));
    expect(record.keyOrigin).toBe('gateway');
    const shown = await api('GET', `/devices/${record.deviceId}`);
    expect(shown.body).toMatchObject({ status: 'manufactured', serialNumber: record.serialNumber, factoryId: FACTORY_CA });
    const pem = readFileSync(join(work, 'keys', `${record.serialNumber}.crt.pem`), 'utf8');
    expect(new X509Certificate(pem).raw.toString('base64')).toBe(record.certificate);

    const afterFirst = await head();
    const second = await importBatch(join(work, 'batch.devid'));
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ imported: 0, alreadyPresent: DEVICES, rejected: [] });
    expect(await head()).toBe(afterFirst);
    expect(await all(`/devices?factoryId=${FACTORY_CA}`, 'devices')).toHaveLength(DEVICES);
  });

  it('imports the good records of a batch with one bad record and reports the bad one', async () => {
    const ca = await loadFactoryCa({ key: join(dataDir, 'ca-keys', `${FACTORY_CA}.p8.pem`), certificatePem: readFileSync(join(work, 'factory-chain.pem'), 'utf8'), secret: CA_PASSPHRASE });
    const csv = ['serialNumber,model', 'BAD-1,ecu-9', 'BAD-2,ecu-9', 'BAD-3,ecu-9'].join('\n') + '\n';
    writeFileSync(join(work, 'three.csv'), csv);
    const issued = await devid(
      ['factory', 'issue', '--ca', join(dataDir, 'ca-keys', `${FACTORY_CA}.p8.pem`), '--ca-cert', join(work, 'factory-chain.pem'), '--manifest', join(work, 'three.csv'), '--out', join(work, 'three.devid'), '--key-out', join(work, 'keys3'), '--no-progress'],
      { CA_KEY_PASSPHRASE: CA_PASSPHRASE, DEVICE_KEY_PASSPHRASE: DEVICE_PASSPHRASE },
    );
    expect(issued.code).toBe(0);
    // The factory re-signs a batch in which record 2 carries record 1's certificate.
    const [headerLine, ...rest] = readFileSync(join(work, 'three.devid'), 'utf8').split('\n');
    const records = rest.slice(0, 3).map((l) => batchRecordSchema.parse(JSON.parse(l)));
    const tampered: BatchRecord[] = [records[0]!, { ...records[1]!, certificate: records[0]!.certificate }, records[2]!];
    const header = { ...JSON.parse(headerLine!), batchId: '6b1e3c0e-7f0a-4a51-9d35-2f1f3f9a1b01' };
    const journal = await BatchJournal.open(join(work, 'tampered.devid'), header);
    await journal.append(tampered);
    await journal.finalize(ca.authority.key);

    const res = await importBatch(join(work, 'tampered.devid'));
    expect(res.code).toBe(3);
    expect(JSON.parse(res.stdout)).toMatchObject({ imported: 2, alreadyPresent: 0, rejected: [{ serialNumber: 'BAD-2', record: 2, code: 'record-serial-mismatch' }] });
    expect(res.stderr).toMatch(/1 device record\(s\) refused/);
    const listed = await all<{ serialNumber: string }>(`/devices?model=ecu-9&status=manufactured&factoryId=${FACTORY_CA}`, 'devices');
    expect(listed.filter((d) => d.serialNumber.startsWith('BAD-')).map((d) => d.serialNumber).sort()).toEqual(['BAD-1', 'BAD-3']);
  });

  it('refuses, with a typed reason and writing nothing, a batch of an unknown CA, a malformed body and an unauthenticated upload', async () => {
    const foreign = await testFactoryCa('factory-elsewhere');
    writeFileSync(join(work, 'one.csv'), 'serialNumber,model\nFOREIGN-1,ecu-9\n');
    writeFileSync(join(work, 'foreign-chain.pem'), foreign.chain.map((d) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(d).toString('base64')}\n-----END CERTIFICATE-----\n`).join(''));
    const key = foreign.authority.key;
    if (!(key instanceof SoftwareKeyProvider)) throw new Error('the test factory CA has a software key');
    writeFileSync(join(work, 'foreign.p8.pem'), key.toEncryptedPkcs8Pem(CA_PASSPHRASE));
    const issued = await devid(
      ['factory', 'issue', '--ca', join(work, 'foreign.p8.pem'), '--ca-id', 'factory-elsewhere', '--ca-cert', join(work, 'foreign-chain.pem'), '--manifest', join(work, 'one.csv'), '--out', join(work, 'foreign.devid'), '--key-out', join(work, 'keys4'), '--no-progress'],
      { CA_KEY_PASSPHRASE: CA_PASSPHRASE, DEVICE_KEY_PASSPHRASE: DEVICE_PASSPHRASE },
    );
    expect(issued.code).toBe(0);
    const before = await head();
    const body = readFileSync(join(work, 'foreign.devid'));
    const post = (raw: Buffer | string, headers: Record<string, string>) => fetch(`${ledger.url}/factory/batches`, { method: 'POST', headers, body: typeof raw === 'string' ? raw : new Uint8Array(raw) });
    const unknown = await post(body, { authorization: `Bearer ${KEY}`, 'content-type': 'application/vnd.devid.batch+jsonl' });
    expect(unknown.status).toBe(422);
    expect(unknown.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await unknown.json()).toMatchObject({ code: 'batch-ca-unknown', type: '/problems/batch-ca-unknown' });
    const malformed = await post('{"hello":1}\n', { authorization: `Bearer ${KEY}`, 'content-type': 'application/vnd.devid.batch+jsonl' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ code: 'batch-malformed' });
    expect((await post(body, { 'content-type': 'application/vnd.devid.batch+jsonl' })).status).toBe(401);
    expect((await post(body, { authorization: `Bearer ${KEY}`, 'content-type': 'text/plain' })).status).toBe(415);
    expect(await head()).toBe(before);

    // Once the factory CA is revoked, its batches are refused whole, even one imported before.
    expect((await api('POST', `/cas/${FACTORY_CA}/revoke`, { body: { reason: 'keyCompromise' } })).status).toBe(200);
    const afterRevocation = await head();
    const revoked = await importBatch(join(work, 'three.devid'));
    expect(revoked.stderr).toMatch(/^devid: batch refused \(422 batch-ca-not-active\): /);
    expect(await head()).toBe(afterRevocation);
  });
});
