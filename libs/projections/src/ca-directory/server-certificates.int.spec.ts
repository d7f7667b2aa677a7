// The ledger's services' certificates in the read models, on a real SQLite file: the CA
// directory lists them with their status (also in a file made before revocations existed), and
// the certificate inventory puts their revocations in the CA's revocation index beside the devices'.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { StoredEvent } from '@devid/event-store';
import { openReadModelDb } from '../read-model-db';
import { CertificateInventory } from '../certificate-inventory/certificate-inventory';
import { CaDirectory } from './ca-directory';

const certificate = (serialNumber: string) => ({
  der: 'MAA=',
  serialNumber,
  subject: 'CN=localhost, O=DevID Ledger EST',
  notBefore: '2026-11-01T00:00:00.000Z',
  notAfter: '2027-12-03T00:00:00.000Z',
  spkiSha256: 'a'.repeat(64),
  fingerprintSha256: 'b'.repeat(64),
});

let position = 0;
const stored = (streamId: string, type: string, data: unknown): StoredEvent => ({
  id: `00000000-0000-4000-8000-${String(++position).padStart(12, '0')}`,
  type,
  version: 1,
  streamId,
  revision: position,
  position,
  occurredAt: '2026-11-30T00:00:00.000Z',
  recordedAt: '2026-11-30T00:00:00.000Z',
  data,
  metadata: { actor: 'admin', causationId: 'c', commandId: 'c', correlationId: 'c' },
});
const issued = (serialNumber: string) =>
  stored('ca-issuing-1', 'ServerCertificateIssued', { caId: 'issuing-1', purpose: 'est-tls', hostnames: ['localhost'], certificate: certificate(serialNumber), issuedAt: '2026-11-30T00:00:00.000Z' });
const revoked = (serialNumber: string, reason: string) =>
  stored('ca-issuing-1', 'ServerCertificateRevoked', { caId: 'issuing-1', serialNumber, reason, revokedAt: '2026-11-30T01:00:00.000Z' });
const deviceRevocation = (serialNumber: string) => [
  stored('device-d1', 'CertificateIssued', {
    deviceId: 'd1', caId: 'issuing-1', profile: 'LDevID', serialNumber, der: 'MAA=', subject: 'CN=d1', notBefore: 't0', notAfter: 't1', spkiSha256: 'c'.repeat(64), fingerprintSha256: 'd'.repeat(64), issuedAt: 't0',
  }),
  stored('device-d1', 'CertificateRevoked', { deviceId: 'd1', caId: 'issuing-1', serialNumber, reason: 'affiliationChanged', revokedAt: '2026-11-30T00:30:00.000Z', keyBlocked: false, spkiSha256: 'c'.repeat(64) }),
];

describe("the ledger's services' certificates in the read models", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'devid-server-certs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lists them with their status, also from a read-model file made before revocations existed', () => {
    const path = join(dir, 'read-models.db');
    // The table as the previous version created it, with one certificate in it.
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE ca_server_certificates (seq INTEGER PRIMARY KEY, ca_id TEXT NOT NULL, serial TEXT NOT NULL, purpose TEXT NOT NULL,
      hostnames TEXT NOT NULL, certificate TEXT NOT NULL, issued_at TEXT NOT NULL, UNIQUE (ca_id, serial))`);
    old.prepare('INSERT INTO ca_server_certificates VALUES (1, ?, ?, ?, ?, ?, ?)').run('issuing-1', '7f01', 'est-tls', '["localhost"]', JSON.stringify(certificate('7f01')), '2026-11-29T00:00:00.000Z');
    old.close();

    const db = openReadModelDb(path);
    const directory = new CaDirectory(db);
    expect(directory.serverCertificate('issuing-1', '7f01')).toMatchObject({ status: 'good', revokedAt: null, reason: null });
    position = 1;
    directory.apply([issued('7f02'), revoked('7f01', 'keyCompromise')]);

    expect(directory.serverCertificates('issuing-1').map((c) => [c.certificate.serialNumber, c.status, c.reason, c.revokedAt])).toEqual([
      ['7f01', 'revoked', 'keyCompromise', '2026-11-30T01:00:00.000Z'],
      ['7f02', 'good', null, null],
    ]);
    db.close();
  });

  it("puts their revocations in the CA's revocation index with the devices', in log order, and rebuilds them the same", () => {
    const db = openReadModelDb(join(dir, 'read-models.db'));
    const inventory = new CertificateInventory(db);
    const changes: unknown[] = [];
    inventory.onChange((batch) => changes.push(...batch));
    position = 0;
    const log = [issued('7f01'), ...deviceRevocation('0a01'), revoked('7f01', 'superseded')];
    inventory.apply(log);

    const entries = [...inventory.revoked('issuing-1')];
    expect(entries.map((e) => [e.serialNumber, e.reason, e.revokedPosition])).toEqual([
      ['0a01', 'affiliationChanged', 3],
      ['7f01', 'superseded', 4],
    ]);
    expect(inventory.revokedAfter('issuing-1', 3).map((e) => e.serialNumber)).toEqual(['7f01']);
    expect(inventory.revokedAfter('issuing-1', 0).map((e) => e.serialNumber)).toEqual(['0a01', '7f01']);
    expect(inventory.serverCertificateRevocation('issuing-1', '7F01')).toMatchObject({ reason: 'superseded', revokedAt: '2026-11-30T01:00:00.000Z' });
    expect(inventory.serverCertificateRevocation('issuing-1', '7f02')).toBeUndefined();
    expect(inventory.serverCertificateRevocation('issuing-2', '7f01')).toBeUndefined();
    // OCSP and the CRL hear of it as of any revocation.
    expect(changes).toContainEqual({ caId: 'issuing-1', serialNumber: '7f01', status: 'revoked', position: 4 });

    inventory.reset();
    expect([...inventory.revoked('issuing-1')]).toEqual([]);
    inventory.apply(log);
    expect([...inventory.revoked('issuing-1')]).toEqual(entries);
    db.close();
  });
});
