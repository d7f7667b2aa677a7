// Test-only builders for device commands (not exported from the library index).
import type { DeviceCommand } from './device-commands';

let seq = 0;
export const ctx = (now = '2026-01-01T00:00:00.000Z') => ({ commandId: `cmd-${++seq}`, now, actor: 'test' });
export const DEVICE = 'd-1';
export const manufacture = (): DeviceCommand => ({
  type: 'ManufactureDevice',
  deviceId: DEVICE,
  data: { serialNumber: 'SN-1', model: 'M1', factoryId: 'F1' },
  ...ctx(),
});
export const ship = (owner = 'acme'): DeviceCommand => ({ type: 'ShipDevice', deviceId: DEVICE, data: { owner }, ...ctx() });
export const enroll = (): DeviceCommand => ({ type: 'EnrollDevice', deviceId: DEVICE, data: {}, ...ctx() });
export const transfer = (newOwner = 'globex'): DeviceCommand => ({ type: 'TransferDevice', deviceId: DEVICE, data: { newOwner }, ...ctx() });
export const revoke = (reason: 'keyCompromise' | 'privilegeWithdrawn' = 'keyCompromise'): DeviceCommand => ({
  type: 'RevokeDevice',
  deviceId: DEVICE,
  data: { reason },
  ...ctx(),
});
export const reinstate = (): DeviceCommand => ({ type: 'ReinstateDevice', deviceId: DEVICE, data: {}, ...ctx() });
export const decommission = (reason = 'end of life'): DeviceCommand => ({
  type: 'DecommissionDevice',
  deviceId: DEVICE,
  data: { reason },
  ...ctx(),
});

let serial = 0;
export const cert = (profile: 'IDevID' | 'LDevID', serialNumber = `${profile}-${++serial}`) => ({
  serialNumber,
  caId: profile === 'IDevID' ? 'factory-ca' : 'issuing-ca',
  profile,
  der: 'MAA=',
  subject: `CN=${DEVICE}`,
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2027-01-01T00:00:00.000Z',
  spkiSha256: `spki-${serialNumber}`,
  fingerprintSha256: `fp-${serialNumber}`,
});
export const manufactureWithIdevid = (serialNumber = 'IDEV-1'): DeviceCommand => ({
  type: 'ManufactureDevice',
  deviceId: DEVICE,
  data: { serialNumber: 'SN-1', model: 'M1', factoryId: 'F1', idevid: cert('IDevID', serialNumber) },
  ...ctx(),
});
export const enrollWith = (serialNumber: string): DeviceCommand => ({
  type: 'EnrollDevice',
  deviceId: DEVICE,
  data: { certificate: cert('LDevID', serialNumber) },
  ...ctx(),
});
export const reenroll = (serialNumber: string, revokePrevious = false): DeviceCommand => ({
  type: 'ReenrollDevice',
  deviceId: DEVICE,
  data: { certificate: cert('LDevID', serialNumber), revokePrevious },
  ...ctx(),
});
