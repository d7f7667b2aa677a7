import type { RevocationReason } from './revocation-reason';

/** What every command carries besides its payload: time and ids come in, never made here. */
export interface CommandContext {
  /** Unique per intent; event ids are derived from it (idempotency). */
  commandId: string;
  /** RFC 3339 time the command was accepted. */
  now: string;
  /** Who asked: `admin`, `operator:<name>`, `detector:<id>`, ... */
  actor: string;
}

interface Command<T extends string, D> extends CommandContext {
  type: T;
  deviceId: string;
  data: D;
}

export type ManufactureDevice = Command<'ManufactureDevice', { serialNumber: string; model: string; factoryId: string }>;
export type ShipDevice = Command<'ShipDevice', { owner: string }>;
export type EnrollDevice = Command<'EnrollDevice', Record<string, never>>;
export type TransferDevice = Command<'TransferDevice', { newOwner: string }>;
export type RevokeDevice = Command<'RevokeDevice', { reason: RevocationReason; comment?: string }>;
export type ReinstateDevice = Command<'ReinstateDevice', { comment?: string }>;
export type DecommissionDevice = Command<'DecommissionDevice', { reason: string }>;

export type DeviceCommand =
  | ManufactureDevice
  | ShipDevice
  | EnrollDevice
  | TransferDevice
  | RevokeDevice
  | ReinstateDevice
  | DecommissionDevice;

export type DeviceCommandType = DeviceCommand['type'];
