import type { IssuedCertificate } from './certificates';
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

/** `idevid`: the birth certificate, when the factory CA issued one with the registration. */
export type ManufactureDevice = Command<
  'ManufactureDevice',
  { serialNumber: string; model: string; factoryId: string; idevid?: IssuedCertificate }
>;
export type ShipDevice = Command<'ShipDevice', { owner: string }>;
/** `certificate`: the operational LDevID issued for the device's CSR. */
export type EnrollDevice = Command<'EnrollDevice', { certificate?: IssuedCertificate }>;
/** A new LDevID for an enrolled device; the current ones are superseded, or revoked if asked. */
export type ReenrollDevice = Command<'ReenrollDevice', { certificate: IssuedCertificate; revokePrevious?: boolean }>;
export type TransferDevice = Command<'TransferDevice', { newOwner: string }>;
export type RevokeDevice = Command<'RevokeDevice', { reason: RevocationReason; comment?: string }>;
export type ReinstateDevice = Command<'ReinstateDevice', { comment?: string; certificate?: IssuedCertificate }>;
export type DecommissionDevice = Command<'DecommissionDevice', { reason: string }>;

export type DeviceCommand =
  | ManufactureDevice
  | ShipDevice
  | EnrollDevice
  | ReenrollDevice
  | TransferDevice
  | RevokeDevice
  | ReinstateDevice
  | DecommissionDevice;

export type DeviceCommandType = DeviceCommand['type'];
