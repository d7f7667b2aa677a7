import type { KnownDeviceState } from '@devid/domain';

/** The device as the API shows it. */
export interface DeviceView {
  deviceId: string;
  status: KnownDeviceState['status'];
  owner: string | null;
  model: string;
  serialNumber: string;
  factoryId: string;
  manufacturedAt: string;
  updatedAt: string;
  transfers: number;
  revocation?: KnownDeviceState['revocation'];
  decommission?: KnownDeviceState['decommission'];
  /** Every certificate issued to the device (IDevID, LDevIDs) and its status. */
  certificates: KnownDeviceState['certificates'];
  /** Revision of the device stream (use it in If-Match). */
  revision: number;
  /** Global log position of the device's last event. */
  position: number;
}

export const toView = (state: KnownDeviceState, revision: number, position: number): DeviceView => ({
  deviceId: state.deviceId,
  status: state.status,
  owner: state.owner ?? null,
  model: state.model,
  serialNumber: state.serialNumber,
  factoryId: state.factoryId,
  manufacturedAt: state.manufacturedAt,
  updatedAt: state.updatedAt,
  transfers: state.transfers,
  certificates: state.certificates,
  ...(state.revocation ? { revocation: state.revocation } : {}),
  ...(state.decommission ? { decommission: state.decommission } : {}),
  revision,
  position,
});
