// The CA directory's list(), which the OCSP responder and every issuance ask for, is kept parsed
// between calls: on a real SQLite file shared by two connections (two processes of the ledger),
// what one applies shows in the other's list from the next task of the event loop on (a request
// reaches a process in a task of its own), and in its own list at once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { ProjectedEvent } from '@devid/event-store';
import { openReadModelDb } from '../read-model-db';
import { CaDirectory } from './ca-directory';

const certificate = (serialNumber: string) => ({
  der: 'MAA=',
  serialNumber,
  subject: `CN=${serialNumber}`,
  notBefore: '2026-11-01T00:00:00.000Z',
  notAfter: '2036-11-01T00:00:00.000Z',
  spkiSha256: 'a'.repeat(64),
  fingerprintSha256: 'b'.repeat(64),
});
const keyRef = 'software:k';
/** Resolves in a later task of the event loop (after the microtasks queued now). */
const nextTask = () => new Promise<void>((resolve) => setImmediate(resolve));

let position = 0;
const event = (caId: string, type: string, data: unknown): ProjectedEvent => ({
  id: `00000000-0000-4000-8000-${String(++position).padStart(12, '0')}`,
  type,
  version: 1,
  streamId: `ca-${caId}`,
  revision: position,
  position,
  occurredAt: '2026-11-30T00:00:00.000Z',
  recordedAt: '2026-11-30T00:00:00.000Z',
  data,
});
const created = (caId: string, role: string, parentId: string | null) =>
  event(caId, 'CertificateAuthorityCreated', { caId, role, parentId, algorithm: 'ECDSA-P256', certificate: certificate(`${caId}-1`), keyRef, createdAt: '2026-11-30T00:00:00.000Z' });

describe('CaDirectory.list(), get() and chain() on a file two connections share', () => {
  let dir: string;
  let dbs: DatabaseSync[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'devid-ca-directory-'));
    position = 0;
  });
  afterEach(() => {
    for (const db of dbs) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows from the next task what the other connection applied: a new CA, a new OCSP signer, a revocation', async () => {
    dbs = [openReadModelDb(join(dir, 'read-models.db')), openReadModelDb(join(dir, 'read-models.db'))];
    const [writer, reader] = dbs.map((db) => new CaDirectory(db)) as [CaDirectory, CaDirectory];
    const view = () => reader.list().map((ca) => [ca.caId, ca.status, ca.ocspSigner?.certificate.serialNumber ?? null]);
    // As another process would: it applies, and what it did reaches this one in a later task.
    const applyElsewhere = async (apply: () => void) => {
      apply();
      await nextTask();
    };

    await applyElsewhere(() => writer.apply([created('root', 'root', null)]));
    expect(view()).toEqual([['root', 'active', null]]);
    // A connection's own apply shows in its own list at once, even in a task that listed before.
    expect(writer.list().map((ca) => ca.caId)).toEqual(['root']);
    writer.apply([created('issuing-1', 'issuing', 'root')]);
    expect(writer.list().map((ca) => ca.caId)).toEqual(['root', 'issuing-1']);
    await nextTask();
    expect(view()).toEqual([
      ['root', 'active', null],
      ['issuing-1', 'active', null],
    ]);
    await applyElsewhere(() => writer.apply([event('issuing-1', 'OcspSignerIssued', { caId: 'issuing-1', certificate: certificate('signer-2'), keyRef, issuedAt: '2026-11-30T00:00:00.000Z' })]));
    expect(view()).toEqual([
      ['root', 'active', null],
      ['issuing-1', 'active', 'signer-2'],
    ]);
    expect(reader.get('issuing-1')?.ocspSigner?.certificate.serialNumber).toBe('signer-2');
    expect(reader.chain('issuing-1').map((ca) => ca.caId)).toEqual(['issuing-1', 'root']);
    await applyElsewhere(() => writer.apply([event('issuing-1', 'CertificateAuthorityRevoked', { caId: 'issuing-1', reason: 'cessationOfOperation', revokedAt: '2026-11-30T02:00:00.000Z' })]));
    expect(view()).toEqual([
      ['root', 'active', null],
      ['issuing-1', 'revoked', 'signer-2'],
    ]);
    expect(reader.get('issuing-1')).toMatchObject({ status: 'revoked', revokedAt: '2026-11-30T02:00:00.000Z', parentId: 'root' });
    expect(reader.get('issuing-2')).toBeUndefined();
    expect(reader.chain('issuing-1').map((ca) => [ca.caId, ca.status])).toEqual([
      ['issuing-1', 'revoked'],
      ['root', 'active'],
    ]);
    // In one task: once the reader has read the checkpoint the other connection moved (as a
    // read-your-writes wait does), its list shows the change too.
    const listedBefore = view();
    writer.apply([created('factory-1', 'factory', 'root')]);
    expect(reader.checkpoint()).toBe(position);
    expect([listedBefore.length, view().map(([caId]) => caId)]).toEqual([2, ['root', 'issuing-1', 'factory-1']]);
    await nextTask();
    // And emptied for a rebuild in the other connection, it empties the list the reader gives.
    await applyElsewhere(() => writer.reset());
    expect(view()).toEqual([]);
    expect(reader.get('root')).toBeUndefined();
  });

  it('parses the rows again when a CA changed, not for each event of the log (device events under write load)', async () => {
    dbs = [openReadModelDb(join(dir, 'read-models.db')), openReadModelDb(join(dir, 'read-models.db'))];
    const [writer, reader] = dbs.map((db) => new CaDirectory(db)) as [CaDirectory, CaDirectory];
    writer.apply([created('root', 'root', null)]);
    await nextTask();
    const [root] = reader.list();
    // Enrollments move the checkpoint with every commit; the CAs stay what they were.
    const deviceEvent = (): ProjectedEvent => ({ ...event('unused', 'DeviceManufactured', { serialNumber: 'SN-1' }), streamId: `device-${position}` });
    for (let k = 0; k < 3; k++) {
      writer.apply([deviceEvent(), deviceEvent()]);
      await nextTask();
      expect(reader.list()[0]).toBe(root);
      expect(reader.checkpoint()).toBe(position);
    }
    expect(reader.get('root')).toBe(root);
    // A CA event among device events: parsed again, in the next task.
    writer.apply([deviceEvent(), event('root', 'OcspSignerIssued', { caId: 'root', certificate: certificate('signer-1'), keyRef, issuedAt: '2026-11-30T00:00:00.000Z' }), deviceEvent()]);
    await nextTask();
    const [again] = reader.list();
    expect(again).not.toBe(root);
    expect(again?.ocspSigner?.certificate.serialNumber).toBe('signer-1');
  });

  it('keeps the checkpoint where the process ahead left it when one behind applies an older batch', () => {
    dbs = [openReadModelDb(join(dir, 'read-models.db')), openReadModelDb(join(dir, 'read-models.db'))];
    const [ahead, behind] = dbs.map((db) => new CaDirectory(db)) as [CaDirectory, CaDirectory];
    const events = [created('root', 'root', null), created('issuing-1', 'issuing', 'root'), created('factory-1', 'factory', 'root')];
    ahead.apply(events);
    expect(behind.checkpoint()).toBe(3);
    // The other process's subscription was still at its first batch.
    behind.apply(events.slice(0, 2));
    expect([ahead.checkpoint(), behind.checkpoint()]).toEqual([3, 3]);
    expect(behind.list().map((ca) => ca.caId)).toEqual(['root', 'issuing-1', 'factory-1']);
  });

  it('hands out rows nobody can change (they are shared between callers)', () => {
    dbs = [openReadModelDb(join(dir, 'read-models.db'))];
    const directory = new CaDirectory(dbs[0]!);
    directory.apply([created('root', 'root', null)]);
    const [root] = directory.list();
    expect(() => Object.assign(root!, { status: 'revoked' })).toThrow(TypeError);
    expect(() => Object.assign(root!.certificate, { serialNumber: '00' })).toThrow(TypeError);
    expect(directory.list()[0]).toMatchObject({ status: 'active', certificate: { serialNumber: 'root-1' } });
  });
  it("keeps a revoked CA's reason, and rebuilds a file of version 1 (made before reasons were kept) to have it", () => {
    const path = join(dir, 'read-models.db');
    dbs = [openReadModelDb(path)];
    const history = [created('root', 'root', null), event('root', 'CertificateAuthorityRevoked', { caId: 'root', reason: 'keyCompromise', revokedAt: '2026-11-30T03:00:00.000Z' })];
    const directory = new CaDirectory(dbs[0]!);
    directory.apply(history);
    expect(directory.get('root')).toMatchObject({ status: 'revoked', revokedAt: '2026-11-30T03:00:00.000Z', revocationReason: 'keyCompromise' });
    dbs[0]!.close();
    // The file as version 1 left it: no revocation_reason column, the version recorded as 1.
    const old = openReadModelDb(path);
    old.exec(`ALTER TABLE certificate_authorities DROP COLUMN revocation_reason; UPDATE projection_versions SET version = 1 WHERE name = 'ca-directory'`);
    old.close();
    dbs = [openReadModelDb(path)];
    const upgraded = new CaDirectory(dbs[0]!);
    expect([upgraded.checkpoint(), upgraded.list()]).toEqual([0, []]);
    upgraded.apply(history);
    expect(upgraded.get('root')).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
  });
});
