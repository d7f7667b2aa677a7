import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { caIdOfStream, readCaEvent, type CaCertificate, type CaRole, type RevocationReason, type ServerCertificatePurpose, type ServerCertificateStatus } from '@devid/domain';
import type { ProjectedEvent } from '@devid/event-store';
import { SqliteProjection } from '../runner/sqlite-projection';

export interface CaRow {
  caId: string;
  role: CaRole;
  parentId: string | null;
  status: 'active' | 'revoked';
  algorithm: string;
  certificate: CaCertificate;
  keyRef: string;
  ocspSigner: { certificate: CaCertificate; keyRef: string } | null;
  createdAt: string;
  revokedAt: string | null;
  /** Why it was revoked (CertificateAuthorityRevoked); null while active. */
  revocationReason: RevocationReason | null;
}

/** A certificate a CA issued to one of the ledger's own services (ServerCertificateIssued). */
export interface ServerCertificateRow {
  caId: string;
  purpose: ServerCertificatePurpose;
  hostnames: string[];
  certificate: CaCertificate;
  issuedAt: string;
  status: ServerCertificateStatus;
  revokedAt: string | null;
  reason: RevocationReason | null;
}

interface ServerCertificateSqlRow {
  ca_id: string;
  purpose: ServerCertificatePurpose;
  hostnames: string;
  certificate: string;
  issued_at: string;
  revoked_at: string | null;
  reason: RevocationReason | null;
}

interface SqlRow {
  ca_id: string;
  role: CaRole;
  parent_id: string | null;
  status: 'active' | 'revoked';
  algorithm: string;
  certificate: string;
  key_ref: string;
  ocsp_signer: string | null;
  created_at: string;
  revoked_at: string | null;
  revocation_reason: RevocationReason | null;
}

const toRow = (r: SqlRow): CaRow => ({
  caId: r.ca_id,
  role: r.role,
  parentId: r.parent_id,
  status: r.status,
  algorithm: r.algorithm,
  certificate: JSON.parse(r.certificate) as CaCertificate,
  keyRef: r.key_ref,
  ocspSigner: r.ocsp_signer ? (JSON.parse(r.ocsp_signer) as CaRow['ocspSigner']) : null,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
  revocationReason: r.revocation_reason,
});

const toServerCertificateRow = (r: ServerCertificateSqlRow): ServerCertificateRow => ({
  caId: r.ca_id,
  purpose: r.purpose,
  hostnames: JSON.parse(r.hostnames) as string[],
  certificate: JSON.parse(r.certificate) as CaCertificate,
  issuedAt: r.issued_at,
  status: r.revoked_at === null ? 'good' : 'revoked',
  revokedAt: r.revoked_at,
  reason: r.reason,
});

/** Adds to `table` the TEXT columns it lacks (a file made by an older version). */
const addMissingColumns = (db: DatabaseSync, table: string, columns: readonly string[]): void => {
  const present = new Set((db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
  for (const column of columns) if (!present.has(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} TEXT`);
};

/** The rows list() hands out are shared between its callers: none may change them. */
const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
};

/** The certificate authorities (ca-<id> streams): chain building, CRL/OCSP signers. */
export class CaDirectory extends SqliteProjection {
  private readonly insert: StatementSync;
  private readonly setSigner: StatementSync;
  private readonly revoke: StatementSync;
  private readonly all: StatementSync;
  private readonly readGeneration: StatementSync;
  private readonly raiseGeneration: StatementSync;
  /**
   * Every CA as read at a generation of the rows, frozen: list() and get() are asked for per
   * OCSP request and per certificate issued. `checkpoint` is this read model's checkpoint when
   * the generation was last read (see checkpoint()).
   */
  private listed: { generation: number; checkpoint: number; rows: readonly CaRow[] } | undefined;
  /**
   * `listed` was checked against the generation in this task of the event loop: not checked
   * again until the microtasks queued before have run, unless apply() or reset() ran here or
   * checkpoint() found it moved. A change applied by another process is seen from the next task
   * on, or once this process has read the checkpoint it moved (as a read-your-writes wait does).
   */
  private checkedInTask = false;
  private readonly endTask = (): void => {
    this.checkedInTask = false;
  };
  private readonly insertServerCertificate: StatementSync;
  private readonly serverCertificatesOf: StatementSync;
  private readonly serverCertificateBySerial: StatementSync;
  private readonly revokeServerCertificate: StatementSync;

  constructor(db: DatabaseSync) {
    super(
      'ca-directory',
      db,
      `CREATE TABLE IF NOT EXISTS certificate_authorities (
        seq INTEGER PRIMARY KEY,
        ca_id TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        parent_id TEXT,
        status TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        certificate TEXT NOT NULL,
        key_ref TEXT NOT NULL,
        ocsp_signer TEXT,
        created_at TEXT NOT NULL,
        revoked_at TEXT,
        revocation_reason TEXT
      );
      -- Raised in the transaction that changes certificate_authorities (and by reset): list()
      -- parses the rows again only when it moved. The checkpoint moves with every event of the
      -- log, device events too, and would have them parsed again per request under write load.
      -- Never emptied: a generation is not used twice for different rows.
      CREATE TABLE IF NOT EXISTS ca_directory_generation (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        generation INTEGER NOT NULL
      );
      INSERT INTO ca_directory_generation (singleton, generation) VALUES (1, 0) ON CONFLICT DO NOTHING;
      CREATE TABLE IF NOT EXISTS ca_server_certificates (
        seq INTEGER PRIMARY KEY,        -- position of ServerCertificateIssued
        ca_id TEXT NOT NULL,
        serial TEXT NOT NULL,
        purpose TEXT NOT NULL,
        hostnames TEXT NOT NULL,
        certificate TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        revoked_at TEXT,
        reason TEXT,
        UNIQUE (ca_id, serial)
      );`,
      // 2: the reason a CA was revoked (a file of version 1 lacks it: emptied and rebuilt).
      2,
    );
    // Columns newer than the file: a file of version 1 is emptied above and rebuilt (revocation_reason);
    // one made before ServerCertificateRevoked existed holds no such event.
    addMissingColumns(db, 'certificate_authorities', ['revocation_reason']);
    addMissingColumns(db, 'ca_server_certificates', ['revoked_at', 'reason']);
    this.revokeServerCertificate = db.prepare(
      `UPDATE ca_server_certificates SET revoked_at = ?, reason = ? WHERE ca_id = ? AND lower(serial) = ? AND revoked_at IS NULL`,
    );
    this.insertServerCertificate = db.prepare(
      `INSERT INTO ca_server_certificates (seq, ca_id, serial, purpose, hostnames, certificate, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    this.serverCertificatesOf = db.prepare(`SELECT * FROM ca_server_certificates WHERE ca_id = ? ORDER BY seq`);
    this.serverCertificateBySerial = db.prepare(`SELECT * FROM ca_server_certificates WHERE ca_id = ? AND serial = ?`);
    this.insert = db.prepare(
      `INSERT INTO certificate_authorities (seq, ca_id, role, parent_id, status, algorithm, certificate, key_ref, created_at)
       VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    this.setSigner = db.prepare(`UPDATE certificate_authorities SET ocsp_signer = ? WHERE ca_id = ?`);
    this.revoke = db.prepare(`UPDATE certificate_authorities SET status = 'revoked', revoked_at = ?, revocation_reason = ? WHERE ca_id = ?`);
    this.all = db.prepare('SELECT * FROM certificate_authorities ORDER BY seq');
    this.readGeneration = db.prepare(
      `SELECT (SELECT generation FROM ca_directory_generation WHERE singleton = 1), (SELECT position FROM projection_checkpoints WHERE name = 'ca-directory')`,
      { returnArrays: true },
    );
    this.raiseGeneration = db.prepare('UPDATE ca_directory_generation SET generation = generation + 1 WHERE singleton = 1');
  }

  protected tables() {
    return ['certificate_authorities', 'ca_server_certificates'];
  }

  protected applyOne(stored: ProjectedEvent): void {
    if (!caIdOfStream(stored.streamId)) return;
    const event = readCaEvent(stored);
    switch (event.type) {
      case 'CertificateAuthorityCreated': {
        const d = event.data;
        this.insert.run(stored.position, d.caId, d.role, d.parentId, d.algorithm, JSON.stringify(d.certificate), d.keyRef, d.createdAt);
        this.raiseGeneration.run();
        return;
      }
      case 'OcspSignerIssued':
        this.setSigner.run(JSON.stringify({ certificate: event.data.certificate, keyRef: event.data.keyRef }), event.data.caId);
        this.raiseGeneration.run();
        return;
      case 'ServerCertificateIssued': {
        const d = event.data;
        this.insertServerCertificate.run(stored.position, d.caId, d.certificate.serialNumber, d.purpose, JSON.stringify(d.hostnames), JSON.stringify(d.certificate), d.issuedAt);
        return;
      }
      case 'ServerCertificateRevoked': {
        const d = event.data;
        this.revokeServerCertificate.run(d.revokedAt, d.reason, d.caId, d.serialNumber);
        return;
      }
      case 'CertificateAuthorityRevoked':
        this.revoke.run(event.data.revokedAt, event.data.reason, event.data.caId);
        this.raiseGeneration.run();
        return;
    }
  }

  /** The certificates this CA issued to the ledger's own services, oldest first. */
  serverCertificates(caId: string): ServerCertificateRow[] {
    return (this.serverCertificatesOf.all(caId) as unknown as ServerCertificateSqlRow[]).map(toServerCertificateRow);
  }

  serverCertificate(caId: string, serialNumber: string): ServerCertificateRow | undefined {
    const row = this.serverCertificateBySerial.get(caId, serialNumber) as ServerCertificateSqlRow | undefined;
    return row && toServerCertificateRow(row);
  }

  /** The CA, from list()'s rows (frozen). */
  get(caId: string): CaRow | undefined {
    return this.rows().find((ca) => ca.caId === caId);
  }

  /**
   * Every CA, oldest first. Read and parsed again only when the rows' generation has moved (it
   * moves in the transaction that changes them, in whichever process applies it): otherwise one
   * read of the generation, at most once per task (see checkedInTask), instead of every CA's
   * certificate parsed per call.
   */
  list(): CaRow[] {
    return [...this.rows()];
  }

  /** Read anew (a read-your-writes wait reads it): once it has moved past `listed`, rows() reads again, in this task too. */
  override checkpoint(): number {
    const checkpoint = super.checkpoint();
    if (checkpoint !== this.listed?.checkpoint) this.checkedInTask = false;
    return checkpoint;
  }

  override apply(events: readonly ProjectedEvent[]): void {
    try {
      super.apply(events);
    } finally {
      this.checkedInTask = false;
    }
  }

  override reset(): void {
    try {
      super.reset();
      // Emptied rows are a new generation (the table is not among those reset empties).
      this.raiseGeneration.run();
    } finally {
      this.checkedInTask = false;
    }
  }

  private rows(): readonly CaRow[] {
    if (this.checkedInTask && this.listed !== undefined) return this.listed.rows;
    // The generation before the rows: rows newer than their generation are read again next time, never the reverse.
    const [generation, checkpoint] = this.readGeneration.get() as unknown as [number, number | null];
    if (this.listed?.generation !== generation) {
      const rows = (this.all.all() as unknown as SqlRow[]).map((row) => deepFreeze(toRow(row)));
      this.listed = { generation, checkpoint: checkpoint ?? 0, rows };
    } else this.listed.checkpoint = checkpoint ?? 0;
    this.checkedInTask = true;
    queueMicrotask(this.endTask);
    return this.listed.rows;
  }

  /** The CA and its parents up to the root, nearest first. */
  chain(caId: string): CaRow[] {
    const rows = this.rows();
    const byId = (id: string) => rows.find((ca) => ca.caId === id);
    const chain: CaRow[] = [];
    for (let ca = byId(caId); ca && chain.length < 8; ca = ca.parentId ? byId(ca.parentId) : undefined) chain.push(ca);
    return chain;
  }
}
