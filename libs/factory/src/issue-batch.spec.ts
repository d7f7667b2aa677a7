import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { BatchRejected, GatewayError, RecordRejected } from './errors';
import { checkRecord } from './check-record';
import { deviceIdFor } from './device-id';
import { issueBatch } from './issue-batch';
import { journalPathOf } from './batch-journal';
import { readManifest } from './manifest';
import { oneChunk, readBatch } from './read-batch';
import { testFactoryCa, TEST_BASE_URL, writeDeviceCsrs } from './testing/factory-fixtures';

jest.setTimeout(60_000);

describe('offline factory batch', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'devid-factory-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const manifest = async (count: number, withCsr: (i: number) => boolean) => {
    const serials = Array.from({ length: count }, (_, i) => `SN-${String(i).padStart(5, '0')}`);
    await writeDeviceCsrs(dir, serials.filter((_, i) => withCsr(i)), 4);
    const lines = ['serialNumber,model,csr', ...serials.map((s, i) => `${s},gw-7,${withCsr(i) ? `${s}.csr` : ''}`)];
    writeFileSync(join(dir, 'devices.csv'), lines.join('\n') + '\n');
    return readManifest(join(dir, 'devices.csv'));
  };

  it('issues IDevIDs for device CSRs and gateway keys and signs the batch as a whole', async () => {
    const ca = await testFactoryCa();
    const entries = await manifest(20, (i) => i % 2 === 0);
    const out = join(dir, 'batch.devid');
    const result = await issueBatch({ ca, entries, out, baseUrl: TEST_BASE_URL, csrDir: dir, keyOut: join(dir, 'keys'), keyPassphrase: 'inject-passphrase-1' });
    expect(result).toMatchObject({ total: 20, issued: 20, resumed: 0, alreadyComplete: false });
    expect(existsSync(journalPathOf(out))).toBe(false);

    const batch = await readBatch(oneChunk(readFileSync(out)));
    expect(batch.records).toHaveLength(20);
    expect(batch.header.caId).toBe('factory-test');
    const factory = batch.chain[0]!;
    for (const record of batch.records) {
      const certificate = checkRecord(record, factory, 'factory-test');
      expect(certificate.notAfter).toBe('9999-12-31T23:59:59.000Z');
      expect(record.deviceId).toBe(deviceIdFor('gw-7', record.serialNumber));
    }
    expect(batch.records.filter((r) => r.keyOrigin === 'gateway')).toHaveLength(10);
    // A gateway key decrypts with the injection passphrase and matches its certificate.
    const gatewayDevice = batch.records.find((r) => r.keyOrigin === 'gateway')!;
    const key = createPrivateKey({ key: readFileSync(join(dir, 'keys', `${gatewayDevice.serialNumber}.key.pem`), 'utf8'), passphrase: 'inject-passphrase-1' });
    const certificate = new X509Certificate(readFileSync(join(dir, 'keys', `${gatewayDevice.serialNumber}.crt.pem`)));
    expect(certificate.checkPrivateKey(key)).toBe(true);
  });

  it('refuses to issue under a factory CA whose certificate is not valid now, before it writes any output', async () => {
    const ca = await testFactoryCa('factory-test', new Date(Date.now() + 86_400_000));
    const entries = await manifest(2, () => false);
    const out = join(dir, 'batch.devid');
    await expect(issueBatch({ ca, entries, out, baseUrl: TEST_BASE_URL, csrDir: dir, keyOut: join(dir, 'keys'), keyPassphrase: 'inject-passphrase-1' })).rejects.toMatchObject({
      code: 'ca-certificate-not-yet-valid',
      caId: 'factory-test',
    });
    expect(existsSync(out)).toBe(false);
    expect(existsSync(journalPathOf(out))).toBe(false);
  });

  it('refuses a batch with one flipped byte, a foreign signer, or a truncated body', async () => {
    const ca = await testFactoryCa();
    const entries = await manifest(6, () => false);
    const out = join(dir, 'batch.devid');
    await issueBatch({ ca, entries, out, baseUrl: TEST_BASE_URL, csrDir: dir, keyOut: join(dir, 'keys'), keyPassphrase: 'inject-passphrase-1' });
    const bytes = readFileSync(out);
    const flipped = Buffer.from(bytes);
    const at = bytes.indexOf('"certificate":"') + 40;
    flipped[at] = flipped[at] === 0x41 ? 0x42 : 0x41;
    await expect(readBatch(oneChunk(flipped))).rejects.toMatchObject({ code: 'batch-signature-invalid' });

    const lines = bytes.toString('utf8').split('\n');
    const withoutOne = [lines[0], ...lines.slice(2)].join('\n');
    await expect(readBatch(oneChunk(Buffer.from(withoutOne)))).rejects.toMatchObject({ code: 'batch-signature-invalid' });

    // Re-signed digest by another CA: the trailer is consistent but the factory CA did not sign it.
    const other = await testFactoryCa();
    const header = JSON.parse(lines[0]!);
    header.chain = other.chain.map((d) => Buffer.from(d).toString('base64'));
    header.factoryCaSha256 = require('node:crypto').createHash('sha256').update(other.chain[0]).digest('hex');
    const swapped = [JSON.stringify(header), ...lines.slice(1)].join('\n');
    const error = await readBatch(oneChunk(Buffer.from(swapped))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchRejected);
    expect((error as BatchRejected).status).toBe(422);

    await expect(readBatch(oneChunk(Buffer.from('not a batch\n')))).rejects.toMatchObject({ code: 'batch-malformed', status: 400 });
    await expect(readBatch(oneChunk(bytes), { maxBytes: 100 })).rejects.toMatchObject({ code: 'batch-too-large', status: 413 });
  });

  it('resumes after a crash without issuing a device twice, and a re-run of a finished batch does nothing', async () => {
    const ca = await testFactoryCa();
    const entries = await manifest(30, (i) => i % 3 === 0);
    const out = join(dir, 'batch.devid');
    const options = { ca, out, baseUrl: TEST_BASE_URL, csrDir: dir, keyOut: join(dir, 'keys'), keyPassphrase: 'inject-passphrase-1', chunkSize: 8 };
    // The first run dies on an unreadable CSR after some chunks are synced.
    const broken = entries.map((e, i) => (i === 20 ? { ...e, csr: 'missing.csr' } : e));
    await expect(issueBatch({ ...options, entries: broken })).rejects.toBeInstanceOf(GatewayError);
    const journal = readFileSync(journalPathOf(out), 'utf8');
    const firstRun = journal.split('\n').length - 2;
    expect(firstRun).toBeGreaterThanOrEqual(16);
    // ... and a torn line is left at the end, as after a power cut mid-write.
    writeFileSync(journalPathOf(out), journal + '{"serialNumber":"SN-0');

    const resumed = await issueBatch({ ...options, entries });
    expect(resumed).toMatchObject({ resumed: firstRun, issued: 30 - firstRun });
    const batch = await readBatch(oneChunk(readFileSync(out)));
    expect(new Set(batch.records.map((r) => r.serialNumber)).size).toBe(30);
    expect(batch.records).toHaveLength(30);

    const finished = readFileSync(out);
    const again = await issueBatch({ ...options, entries });
    expect(again).toMatchObject({ alreadyComplete: true, issued: 0, batchId: batch.header.batchId });
    expect(readFileSync(out).equals(finished)).toBe(true);
    await expect(issueBatch({ ...options, entries: [...entries, { serialNumber: 'SN-NEW', model: 'gw-7' }] })).rejects.toMatchObject({ code: 'gateway-output-exists' });
  });

  it('refuses to resume a journal that is not a batch journal, with a typed error', async () => {
    const ca = await testFactoryCa();
    const entries = await manifest(2, () => false);
    const out = join(dir, 'batch.devid');
    writeFileSync(journalPathOf(out), 'this is not JSON\n');
    await expect(issueBatch({ ca, entries, out, baseUrl: TEST_BASE_URL, csrDir: dir, keyOut: join(dir, 'keys'), keyPassphrase: 'inject-passphrase-1' })).rejects.toMatchObject({
      code: 'gateway-journal-mismatch',
    });
    expect(existsSync(out)).toBe(false);
  });

  it('reports a record whose certificate was not issued by the batch CA, or names another serial', async () => {
    const ca = await testFactoryCa();
    const entries = await manifest(2, () => false);
    const out = join(dir, 'batch.devid');
    await issueBatch({ ca, entries, out, baseUrl: TEST_BASE_URL, csrDir: dir, keyOut: join(dir, 'keys'), keyPassphrase: 'inject-passphrase-1' });
    const batch = await readBatch(oneChunk(readFileSync(out)));
    const [a, b] = batch.records as [typeof batch.records[0], typeof batch.records[0]];
    const other = await testFactoryCa();
    expect(() => checkRecord(a, new X509Certificate(Buffer.from(other.chain[0]!)), 'x')).toThrow(expect.objectContaining({ code: 'record-not-issued-by-ca' }) as unknown as Error);
    expect(() => checkRecord({ ...a, serialNumber: b.serialNumber }, batch.chain[0]!, 'x')).toThrow(RecordRejected);
    expect(() => checkRecord({ ...a, model: 'other' }, batch.chain[0]!, 'x')).toThrow(expect.objectContaining({ code: 'record-device-id-mismatch' }) as unknown as Error);
  });

  it('refuses a manifest with a bad header, a bad serial number or a duplicate, naming the line', async () => {
    writeFileSync(join(dir, 'a.csv'), 'serial,model\nSN-1,gw\n');
    await expect(readManifest(join(dir, 'a.csv'))).rejects.toMatchObject({ code: 'manifest-header-invalid', line: 1 });
    writeFileSync(join(dir, 'b.csv'), 'serialNumber,model\nSN-1,gw\nSN/2,gw\n');
    await expect(readManifest(join(dir, 'b.csv'))).rejects.toMatchObject({ code: 'manifest-record-invalid', line: 3 });
    writeFileSync(join(dir, 'c.jsonl'), '{"serialNumber":"SN-1","model":"gw"}\n{"serialNumber":"SN-1","model":"gw"}\n');
    await expect(readManifest(join(dir, 'c.jsonl'))).rejects.toMatchObject({ code: 'manifest-duplicate-serial', line: 2 });
    writeFileSync(join(dir, 'd.csv'), 'model,serialNumber,csr\n"gw, rev ""B""",SN-1,\n');
    expect(await readManifest(join(dir, 'd.csv'))).toEqual([{ serialNumber: 'SN-1', model: 'gw, rev "B"' }]);
  });
});
