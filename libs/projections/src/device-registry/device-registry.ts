import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { deviceIdOfStream, upcast, type DeviceStatus, DEVICE_STATUSES } from '@devid/domain';
import { BOUND_LIMIT, type ProjectedEvent } from '@devid/event-store';
import { SqliteProjection } from '../runner/sqlite-projection';

export interface DeviceRow {
  deviceId: string;
  status: DeviceStatus;
  owner: string | null;
  model: string;
  serialNumber: string;
  factoryId: string;
  manufacturedAt: string;
  updatedAt: string;
  /** Revision of the device stream this row reflects. */
  revision: number;
  /** Global position of the last event applied to this row. */
  position: number;
}

export interface DeviceQuery {
  status?: DeviceStatus;
  owner?: string;
  model?: string;
  factoryId?: string;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface DevicePage {
  devices: DeviceRow[];
  nextCursor: string | null;
}

export class InvalidCursor extends Error {
  readonly code = 'invalid-cursor';
  readonly status = 400;
  readonly retriable = false;
  constructor() {
    super('cursor is not one this server issued');
  }
}

const NAME = 'device-registry';

interface SqlRow {
  seq: number;
  device_id: string;
  status: DeviceStatus;
  owner: string | null;
  model: string;
  serial_number: string;
  factory_id: string;
  manufactured_at: string;
  updated_at: string;
  revision: number;
  position: number;
}

const toRow = (r: SqlRow): DeviceRow => ({
  deviceId: r.device_id,
  status: r.status,
  owner: r.owner,
  model: r.model,
  serialNumber: r.serial_number,
  factoryId: r.factory_id,
  manufacturedAt: r.manufactured_at,
  updatedAt: r.updated_at,
  revision: r.revision,
  position: r.position,
});

const encodeCursor = (seq: number) => Buffer.from(`d:${seq}`).toString('base64url');
const decodeCursor = (cursor: string): number => {
  const m = /^d:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new InvalidCursor();
  return Number(m[1]);
};

/**
 * Device registry read model: one row per device, fed from the global log.
 * Rows and checkpoint are written in the same SQLite transaction.
 */
export class DeviceRegistry extends SqliteProjection {
  private readonly insert: StatementSync;
  private readonly update: StatementSync;
  private readonly byId: StatementSync;

  constructor(db: DatabaseSync) {
    super(
      NAME,
      db,
      `
      CREATE TABLE IF NOT EXISTS devices (
        seq INTEGER PRIMARY KEY,          -- position of DeviceManufactured: stable page order
        device_id TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        owner TEXT,
        model TEXT NOT NULL,
        serial_number TEXT NOT NULL,
        factory_id TEXT NOT NULL,
        manufactured_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        revision INTEGER NOT NULL,
        position INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS devices_status ON devices(status, seq);
      CREATE INDEX IF NOT EXISTS devices_owner ON devices(owner, seq);
      CREATE INDEX IF NOT EXISTS devices_factory ON devices(factory_id, seq);
    `,
    );
    this.insert = db.prepare(
      `INSERT INTO devices (seq, device_id, status, owner, model, serial_number, factory_id, manufactured_at, updated_at, revision, position)
       VALUES (?, ?, 'manufactured', NULL, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(device_id) DO NOTHING`,
    );
    this.update = db.prepare(
      `UPDATE devices SET status = ?, owner = ?, updated_at = ?, revision = ?, position = ? WHERE device_id = ? AND position < ?`,
    );
    this.byId = db.prepare(`SELECT * FROM devices WHERE device_id = ?`);
  }

  protected applyOne(stored: ProjectedEvent): void {
    const deviceId = deviceIdOfStream(stored.streamId);
    if (!deviceId) return;
    const event = upcast(stored);
    const at = stored.position;
    const current = this.byId.get(deviceId) as SqlRow | undefined;
    switch (event.type) {
      case 'DeviceManufactured': {
        const d = event.data;
        this.insert.run(at, deviceId, d.model, d.serialNumber, d.factoryId, d.manufacturedAt, d.manufacturedAt, stored.revision, at);
        return;
      }
      case 'DeviceShipped':
        return this.set(deviceId, 'shipped', event.data.owner, event.data.shippedAt, stored);
      case 'DeviceEnrolled':
        return this.set(deviceId, 'enrolled', current?.owner ?? null, event.data.enrolledAt, stored);
      case 'DeviceTransferred':
        return this.set(deviceId, 'shipped', event.data.newOwner, event.data.transferredAt, stored);
      case 'DeviceRevoked':
        return this.set(deviceId, 'revoked', current?.owner ?? null, event.data.revokedAt, stored);
      case 'DeviceReinstated':
        return this.set(deviceId, 'enrolled', current?.owner ?? null, event.data.reinstatedAt, stored);
      case 'DeviceDecommissioned':
        return this.set(deviceId, 'decommissioned', current?.owner ?? null, event.data.decommissionedAt, stored);
      default:
        // Certificate events change no registry column but do move the stream revision.
        if (current) this.set(deviceId, current.status, current.owner, current.updated_at, stored);
    }
  }

  private set(deviceId: string, status: DeviceStatus, owner: string | null, at: string, stored: ProjectedEvent) {
    this.update.run(status, owner, at, stored.revision, stored.position, deviceId, stored.position);
  }

  protected tables() {
    return ['devices'];
  }

  get(deviceId: string): DeviceRow | undefined {
    const row = this.byId.get(deviceId) as SqlRow | undefined;
    return row && toRow(row);
  }

  list(query: DeviceQuery): DevicePage {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (query.status) {
      if (!DEVICE_STATUSES.includes(query.status)) return { devices: [], nextCursor: null };
      where.push('status = ?');
      args.push(query.status);
    }
    if (query.owner !== undefined) (where.push('owner = ?'), args.push(query.owner));
    if (query.model !== undefined) (where.push('model = ?'), args.push(query.model));
    if (query.factoryId !== undefined) (where.push('factory_id = ?'), args.push(query.factoryId));
    if (query.cursor) (where.push('seq > ?'), args.push(decodeCursor(query.cursor)));
    const sql = `SELECT * FROM devices ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ${BOUND_LIMIT}`;
    const rows = this.db.prepare(sql).all(...args, query.limit + 1) as unknown as SqlRow[];
    const page = rows.slice(0, query.limit);
    const more = rows.length > query.limit;
    return { devices: page.map(toRow), nextCursor: more ? encodeCursor(page[page.length - 1].seq) : null };
  }

  /** Every row in a stable order (rebuild comparisons, exports). */
  all(): DeviceRow[] {
    return (this.db.prepare('SELECT * FROM devices ORDER BY seq').all() as unknown as SqlRow[]).map(toRow);
  }
}
