import type { CertificateSummary } from './certificates';
import type { RevocationReason } from './revocation-reason';

export const DEVICE_STATUSES = ['manufactured', 'shipped', 'enrolled', 'revoked', 'decommissioned'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export type DeviceState =
  | { status: 'unknown' }
  | {
      status: DeviceStatus;
      deviceId: string;
      serialNumber: string;
      model: string;
      factoryId: string;
      /** Absent until the device is first shipped. */
      owner?: string;
      manufacturedAt: string;
      updatedAt: string;
      /** Set while revoked, and kept as the last revocation afterwards. */
      revocation?: { reason: RevocationReason; comment?: string; revokedAt: string };
      decommission?: { reason: string; decommissionedAt: string };
      /** Number of owners the device has been transferred to. */
      transfers: number;
      /** Every certificate ever issued to the device, oldest first. */
      certificates: CertificateSummary[];
    };

export type KnownDeviceState = Exclude<DeviceState, { status: 'unknown' }>;

export const initialState: DeviceState = { status: 'unknown' };
