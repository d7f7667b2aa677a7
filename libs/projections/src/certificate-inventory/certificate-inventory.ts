import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { caIdOfStream, deviceIdOfStream, readCaEvent, upcast, type CertificateProfile, type CertificateStatus, type RevocationReason } from '@devid/domain';
import { BOUND_LIMIT, type ProjectedEvent } from '@devid/event-store';
import { SqliteProjection } from '../runner/sqlite-projection';

export interface CertificateRow {
  serialNumber: string;
  caId: string;
  deviceId: string;
  profile: CertificateProfile;
  status: CertificateStatus;
  subject: string;
  notBefore: string;
  notAfter: string;
  spkiSha256: string;
  fingerprintSha256: string;
  /** DER, base64. */
  der: string;
  issuedAt: string;
  revokedAt: string | null;
  reason: RevocationReason | null;
  /** Global position of the revocation event (delta CRLs list revocations after a base position). */
  revokedPosition: number | null;
}

export interface CertificateQuery {
  deviceId?: string;
  caId?: string;
  status?: CertificateStatus;
  profile?: CertificateProfile;
  /** ISO time: only certificates whose notAfter is before it. */
  expiringBefore?: string;
  limit: number;
  cursor?: string;
}

export interface CertificateChange {
  caId: string;
  serialNumber: string;
  status: CertificateStatus;
  position: number;
}

export interface RevokedEntry {
  serialNumber: string;
  revokedAt: string;
  reason: RevocationReason;
  revokedPosition: number;
}

interface SqlRow {
  seq: number;
  serial: string;
  ca_id: string;
  device_id: string;
  profile: CertificateProfile;
  status: CertificateStatus;
  subject: string;
  not_before: string;
  not_after: string;
  spki_sha256: string;
  fingerprint: string;
  der: string;
  issued_at: string;
  revoked_at: string | null;
  reason: RevocationReason | null;
  revoked_position: number | null;
}

const toRow = (r: SqlRow): CertificateRow => ({
  serialNumber: r.serial,
  caId: r.ca_id,
  deviceId: r.device_id,
  profile: r.profile,
  status: r.status,
  subject: r.subject,
  notBefore: r.not_before,
  notAfter: r.not_after,
  spkiSha256: r.spki_sha256,
  fingerprintSha256: r.fingerprint,
  der: r.der,
  issuedAt: r.issued_at,
  revokedAt: r.revoked_at,
  reason: r.reason,
  revokedPosition: r.revoked_position,
});

type RevokedSqlRow = Pick<SqlRow, 'serial' | 'revoked_at' | 'reason' | 'revoked_position'>;

const toRevokedEntry = (r: RevokedSqlRow): RevokedEntry => ({
  serialNumber: r.serial,
  revokedAt: r.revoked_at!,
  reason: r.reason!,
  revokedPosition: r.revoked_position!,
});

/**
 * Certificate inventory and revocation index: every certificate issued (per CA, serial →
 * status), and the keys blocked after a keyCompromise. Feeds GET /certificates, CRLs, OCSP
 * and the CSR key blocklist.
 */
export class CertificateInventory extends SqliteProjection {
  private readonly insert: StatementSync;
  private readonly revoke: StatementSync;
  private readonly supersede: StatementSync;
  private readonly block: StatementSync;
  private readonly bySerial: StatementSync;
  private readonly blocked: StatementSync;
  private readonly revokedOf: StatementSync;
  private readonly revokedSince: StatementSync;
  private readonly revokeIssued: StatementSync;
  private readonly issuedRevocationOf: StatementSync;
  private readonly issuedRevokedOf: StatementSync;
  private readonly issuedRevokedSince: StatementSync;
  private readonly insertAuthority: StatementSync;
  private readonly authorityById: StatementSync;
  private readonly authorityBySerial: StatementSync;

  constructor(db: DatabaseSync) {
    super(
      'certificate-inventory',
      db,
      `
      CREATE TABLE IF NOT EXISTS certificates (
        seq INTEGER PRIMARY KEY,        -- position of CertificateIssued
        serial TEXT NOT NULL,
        ca_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        profile TEXT NOT NULL,
        status TEXT NOT NULL,
        subject TEXT NOT NULL,
        not_before TEXT NOT NULL,
        not_after TEXT NOT NULL,
        spki_sha256 TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        der TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        revoked_at TEXT,
        reason TEXT,
        revoked_position INTEGER,
        UNIQUE (ca_id, serial)
      );
      CREATE INDEX IF NOT EXISTS certificates_serial ON certificates(serial);
      CREATE INDEX IF NOT EXISTS certificates_device ON certificates(device_id, seq);
      CREATE INDEX IF NOT EXISTS certificates_revoked ON certificates(ca_id, revoked_position) WHERE revoked_position IS NOT NULL;
      CREATE INDEX IF NOT EXISTS certificates_expiry ON certificates(not_after);
      -- Revocations recorded on CA streams, listed by the CA that issued the certificate: its
      -- subordinate CAs' (CertificateAuthorityRevoked) and the ledger's services'
      -- (ServerCertificateRevoked). On that CA's CRL and answered revoked by its OCSP responder,
      -- cut at this projection's checkpoint like the devices'.
      CREATE TABLE IF NOT EXISTS issued_revocations (
        ca_id TEXT NOT NULL,            -- the issuer
        serial TEXT NOT NULL,
        kind TEXT NOT NULL,             -- 'ca' | 'service'
        revoked_at TEXT NOT NULL,
        reason TEXT NOT NULL,
        revoked_position INTEGER NOT NULL,
        PRIMARY KEY (ca_id, serial)
      );
      CREATE INDEX IF NOT EXISTS issued_revocations_position ON issued_revocations(ca_id, revoked_position);
      -- Each CA's own certificate and issuer (CertificateAuthorityCreated), to list it on its parent's CRL when it is revoked.
      CREATE TABLE IF NOT EXISTS authority_certificates (
        ca_id TEXT PRIMARY KEY,
        parent_id TEXT,
        serial TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS blocked_keys (
        spki_sha256 TEXT PRIMARY KEY,
        serial TEXT NOT NULL,
        ca_id TEXT NOT NULL,
        blocked_at TEXT NOT NULL
      );
    `,
      // 2: revocations recorded on CA streams (a file of version 1 lacks the CAs' certificates: rebuilt).
      2,
    );
    this.insert = db.prepare(
      `INSERT INTO certificates (seq, serial, ca_id, device_id, profile, status, subject, not_before, not_after, spki_sha256, fingerprint, der, issued_at)
       VALUES (?, ?, ?, ?, ?, 'good', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    this.revoke = db.prepare(
      `UPDATE certificates SET status = 'revoked', revoked_at = ?, reason = ?, revoked_position = ? WHERE ca_id = ? AND serial = ? AND status != 'revoked'`,
    );
    this.supersede = db.prepare(`UPDATE certificates SET status = 'superseded' WHERE ca_id = ? AND serial = ? AND status = 'good'`);
    this.block = db.prepare(
      `INSERT INTO blocked_keys (spki_sha256, serial, ca_id, blocked_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    this.bySerial = db.prepare(`SELECT * FROM certificates WHERE serial = ? ORDER BY seq`);
    this.blocked = db.prepare(`SELECT 1 FROM blocked_keys WHERE spki_sha256 = ?`);
    this.revokedOf = db.prepare(
      `SELECT serial, revoked_at, reason, revoked_position FROM certificates WHERE ca_id = ? AND revoked_position IS NOT NULL ORDER BY revoked_position`,
    );
    this.revokedSince = db.prepare(
      `SELECT serial, revoked_at, reason, revoked_position FROM certificates WHERE ca_id = ? AND revoked_position > ? ORDER BY revoked_position`,
    );
    this.revokeIssued = db.prepare(
      `INSERT INTO issued_revocations (ca_id, serial, kind, revoked_at, reason, revoked_position) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    this.issuedRevocationOf = db.prepare(`SELECT serial, revoked_at, reason, revoked_position FROM issued_revocations WHERE ca_id = ? AND serial = ?`);
    this.issuedRevokedOf = db.prepare(`SELECT serial, revoked_at, reason, revoked_position FROM issued_revocations WHERE ca_id = ? ORDER BY revoked_position`);
    this.issuedRevokedSince = db.prepare(
      `SELECT serial, revoked_at, reason, revoked_position FROM issued_revocations WHERE ca_id = ? AND revoked_position > ? ORDER BY revoked_position`,
    );
    this.insertAuthority = db.prepare(`INSERT INTO authority_certificates (ca_id, parent_id, serial) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`);
    this.authorityById = db.prepare(`SELECT parent_id, serial FROM authority_certificates WHERE ca_id = ?`);
    this.authorityBySerial = db.prepare(`SELECT 1 FROM authority_certificates WHERE parent_id = ? AND serial = ?`);
  }

  private readonly listeners: Array<(changes: CertificateChange[]) => void> = [];
  private pending: CertificateChange[] = [];

  /** Called after each committed batch with the certificates whose status changed. */
  onChange(listener: (changes: CertificateChange[]) => void): void {
    this.listeners.push(listener);
  }

  override apply(events: readonly ProjectedEvent[]): void {
    this.pending = [];
    super.apply(events);
    const changes = this.pending;
    this.pending = [];
    if (changes.length > 0) for (const listener of this.listeners) listener(changes);
  }

  protected tables() {
    return ['certificates', 'blocked_keys', 'issued_revocations', 'authority_certificates'];
  }

  protected applyOne(stored: ProjectedEvent): void {
    if (caIdOfStream(stored.streamId)) return this.applyCaEvent(stored);
    if (!deviceIdOfStream(stored.streamId)) return;
    const event = upcast(stored);
    switch (event.type) {
      case 'CertificateIssued': {
        const d = event.data;
        this.insert.run(
          stored.position, d.serialNumber, d.caId, d.deviceId, d.profile, d.subject, d.notBefore, d.notAfter,
          d.spkiSha256, d.fingerprintSha256, d.der, d.issuedAt,
        );
        return;
      }
      case 'CertificateRevoked': {
        const d = event.data;
        this.revoke.run(d.revokedAt, d.reason, stored.position, d.caId, d.serialNumber);
        this.pending.push({ caId: d.caId, serialNumber: d.serialNumber, status: 'revoked', position: stored.position });
        if (d.keyBlocked) this.block.run(d.spkiSha256, d.serialNumber, d.caId, d.revokedAt);
        return;
      }
      case 'CertificateSuperseded':
        this.supersede.run(event.data.caId, event.data.serialNumber);
        this.pending.push({ caId: event.data.caId, serialNumber: event.data.serialNumber, status: 'superseded', position: stored.position });
        return;
    }
  }

  /** From a CA's stream: its certificate, and the revocations of certificates CAs issued (a subordinate CA's, a service's). */
  private applyCaEvent(stored: ProjectedEvent): void {
    const event = readCaEvent(stored);
    switch (event.type) {
      case 'CertificateAuthorityCreated':
        this.insertAuthority.run(event.data.caId, event.data.parentId, event.data.certificate.serialNumber.toLowerCase());
        return;
      case 'ServerCertificateRevoked': {
        const d = event.data;
        return this.revokeIssuedCertificate(d.caId, d.serialNumber, 'service', d.revokedAt, d.reason, stored.position);
      }
      case 'CertificateAuthorityRevoked': {
        const d = event.data;
        const authority = this.authorityById.get(d.caId) as { parent_id: string | null; serial: string } | undefined;
        // A root has no issuer to list it: relying parties drop it from their trust store.
        if (authority?.parent_id) this.revokeIssuedCertificate(authority.parent_id, authority.serial, 'ca', d.revokedAt, d.reason, stored.position);
        return;
      }
    }
  }

  private revokeIssuedCertificate(caId: string, serialNumber: string, kind: 'ca' | 'service', revokedAt: string, reason: RevocationReason, position: number): void {
    this.revokeIssued.run(caId, serialNumber, kind, revokedAt, reason, position);
    this.pending.push({ caId, serialNumber, status: 'revoked', position });
  }

  /**
   * The revocation of a certificate a CA issued that is not a device's (a subordinate CA's, a
   * ledger service's), if it was revoked.
   */
  issuedRevocation(caId: string, serialNumber: string): RevokedEntry | undefined {
    const row = this.issuedRevocationOf.get(caId, serialNumber.toLowerCase()) as RevokedSqlRow | undefined;
    return row && toRevokedEntry(row);
  }

  /** True when this serial is the certificate of a CA that `caId` certified (a subordinate CA). */
  isAuthorityCertificate(caId: string, serialNumber: string): boolean {
    return this.authorityBySerial.get(caId, serialNumber.toLowerCase()) !== undefined;
  }

  /** A serial is unique per CA; across CAs the newest issued wins, or pass caId. */
  get(serialNumber: string, caId?: string): CertificateRow | undefined {
    const rows = this.bySerial.all(serialNumber.toLowerCase()) as unknown as SqlRow[];
    const row = caId ? rows.find((r) => r.ca_id === caId) : rows[rows.length - 1];
    return row && toRow(row);
  }

  isKeyBlocked(spkiSha256: string): boolean {
    return this.blocked.get(spkiSha256) !== undefined;
  }

  /**
   * Every revoked certificate of a CA, streamed (CRLs of millions): the devices' in revocation
   * order, then its subordinate CAs' and the ledger's services' in theirs.
   */
  *revoked(caId: string): Generator<RevokedEntry> {
    for (const r of this.revokedOf.iterate(caId) as Iterable<RevokedSqlRow>) yield toRevokedEntry(r);
    for (const r of this.issuedRevokedOf.iterate(caId) as Iterable<RevokedSqlRow>) yield toRevokedEntry(r);
  }

  /** Revocations of a CA after a global position (delta CRL over a base CRL), in revocation order. */
  revokedAfter(caId: string, position: number): RevokedEntry[] {
    const devices = (this.revokedSince.all(caId, position) as unknown as RevokedSqlRow[]).map(toRevokedEntry);
    const others = (this.issuedRevokedSince.all(caId, position) as unknown as RevokedSqlRow[]).map(toRevokedEntry);
    return others.length === 0 ? devices : [...devices, ...others].sort((a, b) => a.revokedPosition - b.revokedPosition);
  }

  list(query: CertificateQuery): { certificates: CertificateRow[]; nextCursor: string | null } {
    const where: string[] = [];
    const args: Array<string | number> = [];
    const add = (sql: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(sql);
      args.push(value);
    };
    add('device_id = ?', query.deviceId);
    add('ca_id = ?', query.caId);
    add('status = ?', query.status);
    add('profile = ?', query.profile);
    add('not_after < ?', query.expiringBefore);
    if (query.cursor) {
      const m = /^c:(\d{1,15})$/.exec(Buffer.from(query.cursor, 'base64url').toString('utf8'));
      if (!m) throw new InvalidCertificateCursor();
      add('seq > ?', Number(m[1]));
    }
    const sql = `SELECT * FROM certificates ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ${BOUND_LIMIT}`;
    const rows = this.db.prepare(sql).all(...args, query.limit + 1) as unknown as SqlRow[];
    const page = rows.slice(0, query.limit);
    return {
      certificates: page.map(toRow),
      nextCursor: rows.length > query.limit ? Buffer.from(`c:${page[page.length - 1].seq}`).toString('base64url') : null,
    };
  }

  /** Every row in a stable order (rebuild comparisons). */
  all(): CertificateRow[] {
    return (this.db.prepare('SELECT * FROM certificates ORDER BY seq').all() as unknown as SqlRow[]).map(toRow);
  }
}

export class InvalidCertificateCursor extends Error {
  readonly code = 'invalid-cursor';
  readonly status = 400;
  readonly retriable = false;
  constructor() {
    super('cursor is not one this server issued');
  }
}
