import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { detectorIdOfStream, readDetectorEvent, type DetectorPublicKey, type DetectorScope } from '@devid/domain';
import type { StoredEvent } from '@devid/event-store';
import { SqliteProjection } from '@devid/projections';

export interface DetectorRow {
  detectorId: string;
  name: string;
  status: 'enabled' | 'disabled';
  publicKey: DetectorPublicKey;
  keyVersion: number;
  scope: DetectorScope;
  registeredAt: string;
  updatedAt: string;
  /** Revision of the detector stream this row reflects. */
  revision: number;
}

interface SqlRow {
  detector_id: string;
  name: string;
  status: 'enabled' | 'disabled';
  public_key: string;
  key_version: number;
  scope: string;
  registered_at: string;
  updated_at: string;
  revision: number;
}

const toRow = (r: SqlRow): DetectorRow => ({
  detectorId: r.detector_id,
  name: r.name,
  status: r.status,
  publicKey: JSON.parse(r.public_key) as DetectorPublicKey,
  keyVersion: r.key_version,
  scope: JSON.parse(r.scope) as DetectorScope,
  registeredAt: r.registered_at,
  updatedAt: r.updated_at,
  revision: r.revision,
});

/** Detector registry read model: one row per detector, fed from the global log. */
export class DetectorRegistry extends SqliteProjection {
  private readonly insert: StatementSync;
  private readonly setStatus: StatementSync;
  private readonly setKey: StatementSync;
  private readonly byId: StatementSync;

  constructor(db: DatabaseSync) {
    super(
      'detector-registry',
      db,
      `CREATE TABLE IF NOT EXISTS detectors (
        detector_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        public_key TEXT NOT NULL,
        key_version INTEGER NOT NULL,
        scope TEXT NOT NULL,
        registered_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        revision INTEGER NOT NULL
      );`,
    );
    this.insert = db.prepare(
      `INSERT INTO detectors (detector_id, name, status, public_key, key_version, scope, registered_at, updated_at, revision)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(detector_id) DO NOTHING`,
    );
    this.setStatus = db.prepare('UPDATE detectors SET status = ?, updated_at = ?, revision = ? WHERE detector_id = ?');
    this.setKey = db.prepare('UPDATE detectors SET public_key = ?, key_version = ?, updated_at = ?, revision = ? WHERE detector_id = ?');
    this.byId = db.prepare('SELECT * FROM detectors WHERE detector_id = ?');
  }

  protected applyOne(stored: StoredEvent): void {
    const detectorId = detectorIdOfStream(stored.streamId);
    if (!detectorId) return;
    const event = readDetectorEvent(stored);
    switch (event.type) {
      case 'DetectorRegistered': {
        const d = event.data;
        this.insert.run(detectorId, d.name, d.enabled ? 'enabled' : 'disabled', JSON.stringify(d.publicKey), d.keyVersion, JSON.stringify(d.scope), d.registeredAt, d.registeredAt, stored.revision);
        return;
      }
      case 'DetectorDisabled':
        this.setStatus.run('disabled', event.data.disabledAt, stored.revision, detectorId);
        return;
      case 'DetectorEnabled':
        this.setStatus.run('enabled', event.data.enabledAt, stored.revision, detectorId);
        return;
      case 'DetectorKeyRotated':
        this.setKey.run(JSON.stringify(event.data.publicKey), event.data.keyVersion, event.data.rotatedAt, stored.revision, detectorId);
        return;
    }
  }

  protected tables(): string[] {
    return ['detectors'];
  }

  get(detectorId: string): DetectorRow | undefined {
    const row = this.byId.get(detectorId) as SqlRow | undefined;
    return row && toRow(row);
  }

  list(): DetectorRow[] {
    return (this.db.prepare('SELECT * FROM detectors ORDER BY detector_id').all() as unknown as SqlRow[]).map(toRow);
  }
}
