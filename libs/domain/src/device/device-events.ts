import type { RevocationReason } from './revocation-reason';
import type { DeviceStatus } from './device-state';
import type { IssuedCertificate } from './certificates';

/** Current version of each device event type; older versions are upcast on read. */
export const DEVICE_EVENT_VERSIONS = {
  DeviceManufactured: 1,
  DeviceShipped: 1,
  DeviceEnrolled: 1,
  DeviceTransferred: 1,
  DeviceRevoked: 2,
  DeviceReinstated: 1,
  DeviceDecommissioned: 1,
  CertificateIssued: 1,
  CertificateRevoked: 1,
  CertificateSuperseded: 1,
} as const;

export type DeviceEventType = keyof typeof DEVICE_EVENT_VERSIONS;

interface Event<T extends DeviceEventType, D> {
  type: T;
  version: (typeof DEVICE_EVENT_VERSIONS)[T];
  data: D;
}

export type DeviceManufactured = Event<
  'DeviceManufactured',
  { deviceId: string; serialNumber: string; model: string; factoryId: string; manufacturedAt: string }
>;
export type DeviceShipped = Event<'DeviceShipped', { owner: string; shippedAt: string }>;
export type DeviceEnrolled = Event<'DeviceEnrolled', { owner: string; enrolledAt: string }>;
export type DeviceTransferred = Event<
  'DeviceTransferred',
  { previousOwner: string; newOwner: string; transferredAt: string }
>;
/** v2: `reason` is an RFC 5280 reason name; v1 carried free text (see upcasters). */
export type DeviceRevoked = Event<
  'DeviceRevoked',
  { reason: RevocationReason; comment?: string; revokedAt: string }
>;
export type DeviceReinstated = Event<'DeviceReinstated', { reinstatedAt: string; comment?: string }>;
export type DeviceDecommissioned = Event<
  'DeviceDecommissioned',
  { reason: string; previousStatus: DeviceStatus; decommissionedAt: string }
>;

export type CertificateIssued = Event<'CertificateIssued', IssuedCertificate & { deviceId: string; issuedAt: string }>;
/** `keyBlocked`: the key was revoked as compromised and may never be certified again. */
export type CertificateRevoked = Event<
  'CertificateRevoked',
  { serialNumber: string; caId: string; reason: RevocationReason; revokedAt: string; spkiSha256: string; keyBlocked: boolean }
>;
/** Replaced by a re-enrollment before expiry: no longer current, but not revoked. */
export type CertificateSuperseded = Event<
  'CertificateSuperseded',
  { serialNumber: string; caId: string; supersededBy: string; supersededAt: string }
>;

export type DeviceEvent =
  | DeviceManufactured
  | DeviceShipped
  | DeviceEnrolled
  | DeviceTransferred
  | DeviceRevoked
  | DeviceReinstated
  | DeviceDecommissioned
  | CertificateIssued
  | CertificateRevoked
  | CertificateSuperseded;

export const isDeviceEventType = (type: string): type is DeviceEventType =>
  Object.prototype.hasOwnProperty.call(DEVICE_EVENT_VERSIONS, type);
