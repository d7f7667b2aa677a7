import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaCertificate } from '@devid/domain';
import { createRootCaCertificate, newSerialNumber, normalizeSerialNumber, SoftwareKeyProvider, type CertificateAuthority } from '@devid/pki';
import { demoTlsMaterial, type ServerCertificateRecord } from './tls-server-certificate';

/** The ledger's record of server certificates, in memory: what was recorded, in order. */
const ledgerRecord = (failing: false | 'before-storing' | 'after-storing' = false) => {
  const recorded: CaCertificate[] = [];
  const revoked = new Set<string>();
  const record: ServerCertificateRecord = {
    has: (serialNumber) => recorded.some((certificate) => certificate.serialNumber === serialNumber),
    revoked: (serialNumber) => revoked.has(serialNumber),
    record: async (certificate) => {
      if (failing === 'before-storing') throw new Error('the event store is closed');
      recorded.push(certificate);
      // Stored, but the caller never learns it (the process stopped while the answer was on its way).
      if (failing === 'after-storing') throw new Error('the ledger is shutting down');
    },
  };
  return { recorded, revoked, record };
};

describe('the EST TLS server certificate', () => {
  const now = new Date('2026-11-29T12:00:00.000Z');
  const hostnames = ['localhost', '127.0.0.1'];
  let ca: CertificateAuthority;
  let dataDir: string;

  beforeAll(async () => {
    const key = await SoftwareKeyProvider.generate('ECDSA-P256');
    ca = { caId: 'issuing-1', key, certificateDer: await createRootCaCertificate({ subject: [{ type: 'CN', value: 'EST test CA' }], key, serialNumber: newSerialNumber(), now: new Date(now.getTime() - 86_400_000) }) };
  });
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'devid-est-tls-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  const servedSerial = (pem: string) => normalizeSerialNumber(new X509Certificate(pem).serialNumber);

  it('is recorded in the ledger before its files are written, and recorded once when it is used again', async () => {
    const ledger = ledgerRecord();
    const first = await demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, ledger.record, now);

    expect(ledger.recorded.map((c) => c.serialNumber)).toEqual([servedSerial(first.cert)]);
    expect(ledger.recorded[0]).toMatchObject({ der: Buffer.from(new X509Certificate(first.cert).raw).toString('base64'), subject: expect.stringMatching(/CN=localhost/) });
    const again = await demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, ledger.record, now);
    expect(again).toEqual(first);
    expect(ledger.recorded).toHaveLength(1);
  });

  it('records a certificate found on disk that the ledger does not hold yet (written by an older version) before serving it', async () => {
    const older = await demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, ledgerRecord().record, now);
    const ledger = ledgerRecord();

    const served = await demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, ledger.record, now);

    expect(served).toEqual(older);
    expect(ledger.recorded.map((c) => c.serialNumber)).toEqual([servedSerial(older.cert)]);
  });

  const pendingFile = () => join(dataDir, 'est', 'tls.pending.pem');
  const pendingSerial = () => servedSerial(readFileSync(pendingFile(), 'utf8').slice(readFileSync(pendingFile(), 'utf8').indexOf('-----BEGIN CERTIFICATE-----')));

  it('serves nothing and writes no served files when the ledger cannot record it; the next call records and serves that same certificate, not a new one', async () => {
    await expect(demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, ledgerRecord('before-storing').record, now)).rejects.toThrow('the event store is closed');
    expect(existsSync(join(dataDir, 'est', 'tls.crt.pem'))).toBe(false);
    expect(existsSync(join(dataDir, 'est', 'tls.key.pem'))).toBe(false);
    // Its key and chain wait in the pending file, readable by the ledger's user only.
    expect(statSync(pendingFile()).mode & 0o777).toBe(0o600);
    const waiting = pendingSerial();

    const ledger = ledgerRecord();
    const served = await demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, ledger.record, now);

    expect(servedSerial(served.cert)).toBe(waiting);
    expect(ledger.recorded.map((c) => c.serialNumber)).toEqual([waiting]);
    expect(readFileSync(join(dataDir, 'est', 'tls.crt.pem'), 'utf8')).toBe(served.cert);
    expect(readFileSync(join(dataDir, 'est', 'tls.key.pem'), 'utf8')).toBe(served.key);
    expect(existsSync(pendingFile())).toBe(false);
  });

  it('serves the certificate the ledger recorded when the process stopped before writing its files, and records it once: no second certificate, no lost key', async () => {
    const ledger = ledgerRecord('after-storing');
    await expect(demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, ledger.record, now)).rejects.toThrow('the ledger is shutting down');
    expect(ledger.recorded).toHaveLength(1);
    expect(existsSync(join(dataDir, 'est', 'tls.crt.pem'))).toBe(false);

    const restarted = ledgerRecord();
    restarted.recorded.push(...ledger.recorded);
    const served = await demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, restarted.record, now);

    expect(servedSerial(served.cert)).toBe(ledger.recorded[0]!.serialNumber);
    expect(restarted.recorded).toHaveLength(1);
    // The key served is the one the recorded certificate certifies.
    expect(new X509Certificate(served.cert).checkPrivateKey(createPrivateKey(served.key))).toBe(true);
    expect(existsSync(pendingFile())).toBe(false);
  });

  it('drops a pending certificate the ledger revoked meanwhile, and serves a new one', async () => {
    await expect(demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, ledgerRecord('after-storing').record, now)).rejects.toThrow();
    const waiting = pendingSerial();
    const ledger = ledgerRecord();
    ledger.revoked.add(waiting);

    const served = await demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, ledger.record, now);

    expect(servedSerial(served.cert)).not.toBe(waiting);
    expect(ledger.recorded.map((c) => c.serialNumber)).toEqual([servedSerial(served.cert)]);
    expect(existsSync(pendingFile())).toBe(false);
  });

  it('is issued anew, and recorded, when the one on disk was issued by another CA', async () => {
    const ledger = ledgerRecord();
    const first = await demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, ledger.record, now);
    const key = await SoftwareKeyProvider.generate('ECDSA-P256');
    const other = { caId: 'issuing-2', key, certificateDer: await createRootCaCertificate({ subject: [{ type: 'CN', value: 'EST test CA 2' }], key, serialNumber: newSerialNumber(), now }) };

    const second = await demoTlsMaterial(dataDir, other, 'http://127.0.0.1:3000', hostnames, ledger.record, now);

    expect(servedSerial(second.cert)).not.toBe(servedSerial(first.cert));
    expect(ledger.recorded.map((c) => c.serialNumber)).toEqual([servedSerial(first.cert), servedSerial(second.cert)]);
    expect(readFileSync(join(dataDir, 'est', 'tls.crt.pem'), 'utf8')).toBe(second.cert);
  });

  it('is issued anew, and recorded, when the ledger revoked the one on disk, and the revoked one is never served again', async () => {
    const ledger = ledgerRecord();
    const first = await demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, ledger.record, now);
    ledger.revoked.add(servedSerial(first.cert));

    const second = await demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, ledger.record, now);
    const third = await demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, ledger.record, now);

    expect(servedSerial(second.cert)).not.toBe(servedSerial(first.cert));
    expect(second.key).not.toBe(first.key);
    expect(third).toEqual(second);
    expect(ledger.recorded.map((c) => c.serialNumber)).toEqual([servedSerial(first.cert), servedSerial(second.cert)]);
  });

  it('is issued once when several ledgers on one data dir ask at the same moment: each serves the same certificate, the only one recorded', async () => {
    const ledger = ledgerRecord();
    // Each caller sees the others' record only once it is stored, as separate processes would.
    const slowRecord: ServerCertificateRecord = { ...ledger.record, record: async (certificate) => { await new Promise((resolve) => setTimeout(resolve, 20)); await ledger.record.record(certificate); } };
    const served = await Promise.all(Array.from({ length: 4 }, () => demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, slowRecord, now)));

    expect(new Set(served.map((material) => servedSerial(material.cert))).size).toBe(1);
    expect(new Set(ledger.recorded.map((c) => c.serialNumber))).toEqual(new Set([servedSerial(served[0]!.cert)]));
    for (const material of served) expect(new X509Certificate(material.cert).checkPrivateKey(createPrivateKey(material.key))).toBe(true);
    expect(readFileSync(join(dataDir, 'est', 'tls.crt.pem'), 'utf8')).toBe(served[0]!.cert);
    expect(existsSync(pendingFile())).toBe(false);
  });

  it('never serves a key with another certificate (a pair read while another process replaced it): a new one is issued', async () => {
    const ledger = ledgerRecord();
    const first = await demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, ledger.record, now);
    writeFileSync(join(dataDir, 'est', 'tls.key.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));

    const second = await demoTlsMaterial(dataDir, ca, 'http://127.0.0.1:3000', hostnames, ledger.record, now);

    expect(servedSerial(second.cert)).not.toBe(servedSerial(first.cert));
    expect(new X509Certificate(second.cert).checkPrivateKey(createPrivateKey(second.key))).toBe(true);
    expect(ledger.recorded.map((c) => c.serialNumber)).toEqual([servedSerial(first.cert), servedSerial(second.cert)]);
  });
});
