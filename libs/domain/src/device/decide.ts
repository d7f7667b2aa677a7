import { DeviceAlreadyExists, DeviceNotFound, IllegalTransition, InvalidCommand } from '../errors';
import type { DeviceCommand } from './device-commands';
import type { CertificateIssued, CertificateRevoked, DeviceEvent } from './device-events';
import { liveCertificates, type CertificateProfile, type IssuedCertificate } from './certificates';
import type { RevocationReason } from './revocation-reason';
import type { DeviceState, KnownDeviceState } from './device-state';
import { DEVICE_REVOCATION_REASONS } from './revocation-reason';

/** Identifiers and names: printable, no control characters, bounded. */
const text = (value: unknown, field: string, max = 256): string => {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new InvalidCommand(`${field} must be a non-empty string`, field);
  }
  if (value.length > max) throw new InvalidCommand(`${field} is longer than ${max} characters`, field);
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new InvalidCommand(`${field} contains control characters`, field);
  return value;
};

const existing = (state: DeviceState, deviceId: string): KnownDeviceState => {
  if (state.status === 'unknown') throw new DeviceNotFound(deviceId);
  return state;
};

const requireStatus = (state: KnownDeviceState, command: DeviceCommand, ...allowed: KnownDeviceState['status'][]) => {
  if (!allowed.includes(state.status)) throw new IllegalTransition(state.status, command.type);
};

const issued = (
  state: DeviceState,
  deviceId: string,
  certificate: IssuedCertificate | undefined,
  profile: CertificateProfile,
  now: string,
): CertificateIssued => {
  if (!certificate) throw new InvalidCommand(`a ${profile} certificate is required`, 'certificate');
  if (certificate.profile !== profile) throw new InvalidCommand(`expected a ${profile} certificate`, 'certificate');
  if (state.status !== 'unknown' && state.certificates.some((c) => c.serialNumber === certificate.serialNumber)) {
    throw new InvalidCommand(`certificate ${certificate.serialNumber} is already recorded`, 'certificate');
  }
  return { type: 'CertificateIssued', version: 1, data: { ...certificate, deviceId, issuedAt: now } };
};

/** Revokes every live certificate of the device (of one profile, or all). */
const revokeLive = (
  state: KnownDeviceState,
  reason: RevocationReason,
  now: string,
  profile?: CertificateProfile,
): CertificateRevoked[] =>
  liveCertificates(state.certificates, profile).map((c) => ({
    type: 'CertificateRevoked',
    version: 1,
    data: {
      serialNumber: c.serialNumber,
      caId: c.caId,
      reason,
      revokedAt: now,
      spkiSha256: c.spkiSha256,
      keyBlocked: reason === 'keyCompromise',
    },
  }));

/**
 * The device decider: which events a command produces in a given state.
 * Pure: no clock, no ids, no I/O; a refused command throws a DomainError and emits nothing.
 */
export const decide = (command: DeviceCommand, state: DeviceState): DeviceEvent[] => {
  switch (command.type) {
    case 'ManufactureDevice': {
      if (state.status !== 'unknown') throw new DeviceAlreadyExists(command.deviceId);
      return [
        {
          type: 'DeviceManufactured',
          version: 1,
          data: {
            deviceId: text(command.deviceId, 'deviceId', 64),
            serialNumber: text(command.data.serialNumber, 'serialNumber', 64),
            model: text(command.data.model, 'model', 128),
            factoryId: text(command.data.factoryId, 'factoryId', 64),
            manufacturedAt: command.now,
          },
        },
        ...(command.data.idevid ? [issued(state, command.deviceId, command.data.idevid, 'IDevID', command.now)] : []),
      ];
    }
    case 'ShipDevice': {
      const device = existing(state, command.deviceId);
      requireStatus(device, command, 'manufactured');
      return [{ type: 'DeviceShipped', version: 1, data: { owner: text(command.data.owner, 'owner'), shippedAt: command.now } }];
    }
    case 'EnrollDevice': {
      const device = existing(state, command.deviceId);
      requireStatus(device, command, 'shipped');
      return [
        { type: 'DeviceEnrolled', version: 1, data: { owner: device.owner ?? '', enrolledAt: command.now } },
        ...(command.data.certificate ? [issued(device, command.deviceId, command.data.certificate, 'LDevID', command.now)] : []),
      ];
    }
    case 'ReenrollDevice': {
      const device = existing(state, command.deviceId);
      requireStatus(device, command, 'enrolled');
      const next = issued(device, command.deviceId, command.data.certificate, 'LDevID', command.now);
      const previous: DeviceEvent[] = command.data.revokePrevious
        ? revokeLive(device, 'superseded', command.now, 'LDevID')
        : liveCertificates(device.certificates, 'LDevID').map((c) => ({
            type: 'CertificateSuperseded',
            version: 1,
            data: { serialNumber: c.serialNumber, caId: c.caId, supersededBy: next.data.serialNumber, supersededAt: command.now },
          }));
      return [...previous, next];
    }
    case 'TransferDevice': {
      const device = existing(state, command.deviceId);
      // A device changes hands once its owner has it (enrolled), or while still in transit (shipped).
      requireStatus(device, command, 'enrolled', 'shipped');
      const newOwner = text(command.data.newOwner, 'newOwner');
      if (newOwner === device.owner) throw new InvalidCommand('newOwner is already the owner', 'newOwner');
      return [
        {
          type: 'DeviceTransferred',
          version: 1,
          data: { previousOwner: device.owner ?? '', newOwner, transferredAt: command.now },
        },
        ...revokeLive(device, 'affiliationChanged', command.now, 'LDevID'),
      ];
    }
    case 'RevokeDevice': {
      const device = existing(state, command.deviceId);
      requireStatus(device, command, 'enrolled');
      if (!DEVICE_REVOCATION_REASONS.includes(command.data.reason)) {
        throw new InvalidCommand(`reason must be one of ${DEVICE_REVOCATION_REASONS.join(', ')}`, 'reason');
      }
      const comment = command.data.comment === undefined ? {} : { comment: text(command.data.comment, 'comment', 1024) };
      return [
        { type: 'DeviceRevoked', version: 2, data: { reason: command.data.reason, ...comment, revokedAt: command.now } },
        ...revokeLive(device, command.data.reason, command.now, 'LDevID'),
      ];
    }
    case 'ReinstateDevice': {
      const device = existing(state, command.deviceId);
      requireStatus(device, command, 'revoked');
      const comment = command.data.comment === undefined ? {} : { comment: text(command.data.comment, 'comment', 1024) };
      return [
        { type: 'DeviceReinstated', version: 1, data: { reinstatedAt: command.now, ...comment } },
        ...(command.data.certificate ? [issued(device, command.deviceId, command.data.certificate, 'LDevID', command.now)] : []),
      ];
    }
    case 'DecommissionDevice': {
      const device = existing(state, command.deviceId);
      requireStatus(device, command, 'manufactured', 'shipped', 'enrolled', 'revoked');
      return [
        {
          type: 'DeviceDecommissioned',
          version: 1,
          data: { reason: text(command.data.reason, 'reason', 1024), previousStatus: device.status, decommissionedAt: command.now },
        },
        // Decommission (and scrapping) ends every certificate, the IDevID included.
        ...revokeLive(device, 'cessationOfOperation', command.now),
      ];
    }
  }
};
