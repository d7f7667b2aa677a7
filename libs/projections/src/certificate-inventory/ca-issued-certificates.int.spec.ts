// Certificates issued by CAs to other than devices, in the read models, on a real SQLite file:
// the CA directory lists the ledger's services' with their status (also in a file made before
// revocations existed), and the certificate inventory puts the revocations of those and of
// subordinate CAs in the issuing CA's revocation index beside the devices'.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { StoredEvent } from '@devid/event-store';
import { openReadModelDb } from '../read-model-db';
import { CertificateInventory } from './certificate-inventory';
import { CaDirectory } from '../ca-directory/ca-directory';

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

describe('certificates CAs issued to other than devices, in the read models', () => {
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
    expect(inventory.issuedRevocation('issuing-1', '7F01')).toMatchObject({ reason: 'superseded', revokedAt: '2026-11-30T01:00:00.000Z' });
    expect(inventory.issuedRevocation('issuing-1', '7f02')).toBeUndefined();
    expect(inventory.issuedRevocation('issuing-2', '7f01')).toBeUndefined();
    // OCSP and the CRL hear of it as of any revocation.
    expect(changes).toContainEqual({ caId: 'issuing-1', serialNumber: '7f01', status: 'revoked', position: 4 });

    inventory.reset();
    expect([...inventory.revoked('issuing-1')]).toEqual([]);
    inventory.apply(log);
    expect([...inventory.revoked('issuing-1')]).toEqual(entries);
    db.close();
  });

  const authority = (caId: string, parentId: string | null, serialNumber: string) =>
    stored(`ca-${caId}`, 'CertificateAuthorityCreated', { caId, role: parentId ? 'factory' : 'root', parentId, algorithm: 'ECDSA-P256', certificate: certificate(serialNumber), keyRef: `file:${caId}`, createdAt: '2026-11-01T00:00:00.000Z' });
  const authorityRevoked = (caId: string) => stored(`ca-${caId}`, 'CertificateAuthorityRevoked', { caId, reason: 'cACompromise', revokedAt: '2026-11-30T02:00:00.000Z' });

  it("lists a revoked subordinate CA's certificate on its parent's revocation index, and a revoked root on none", () => {
    const db = openReadModelDb(join(dir, 'read-models.db'));
    const inventory = new CertificateInventory(db);
    position = 0;
    inventory.apply([authority('root', null, '01aa'), authority('fab-7', 'root', '02BB'), authorityRevoked('fab-7'), authorityRevoked('root')]);

    expect([...inventory.revoked('root')].map((e) => [e.serialNumber, e.reason, e.revokedPosition])).toEqual([['02bb', 'cACompromise', 3]]);
    expect([...inventory.revoked('fab-7')]).toEqual([]);
    expect(inventory.issuedRevocation('root', '02bb')).toMatchObject({ reason: 'cACompromise', revokedAt: '2026-11-30T02:00:00.000Z' });
    expect(inventory.issuedRevocation('root', '01aa')).toBeUndefined();
    // What OCSP answers good for when not revoked: a certificate the CA gave a subordinate CA.
    expect(inventory.isAuthorityCertificate('root', '02BB')).toBe(true);
    expect(inventory.isAuthorityCertificate('root', '01aa')).toBe(false);
    expect(inventory.isAuthorityCertificate('fab-7', '02bb')).toBe(false);
    db.close();
  });

  it('empties and rebuilds a read-model file of the previous version, which lacks the CAs\' certificates', () => {
    const path = join(dir, 'read-models.db');
    let db = openReadModelDb(path);
    position = 0;
    const log = [authority('root', null, '01aa'), authority('fab-7', 'root', '02bb'), ...deviceRevocation('0a01')];
    new CertificateInventory(db).apply(log);
    // As version 1 left it: the checkpoint past the CAs' creation, none of them known.
    db.exec("DELETE FROM authority_certificates; UPDATE projection_versions SET version = 1 WHERE name = 'certificate-inventory'");
    db.close();

    db = openReadModelDb(path);
    const reopened = new CertificateInventory(db);
    expect(reopened.checkpoint()).toBe(0);
    expect(reopened.all()).toEqual([]);
    reopened.apply([...log, authorityRevoked('fab-7')]);
    expect([...reopened.revoked('root')].map((e) => e.serialNumber)).toEqual(['02bb']);
    expect([...reopened.revoked('issuing-1')].map((e) => e.serialNumber)).toEqual(['0a01']);
    db.close();

    // The same version again keeps what it has.
    db = openReadModelDb(path);
    expect(new CertificateInventory(db).checkpoint()).toBe(5);
    db.close();
  });
});
