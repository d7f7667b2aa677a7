import type { DeviceEvent } from './device-events';
import type { DeviceState } from './device-state';

/** Applies one (current-version) event. Never throws: stored facts are facts. */
export const evolve = (state: DeviceState, event: DeviceEvent): DeviceState => {
  if (event.type === 'DeviceManufactured') {
    const { deviceId, serialNumber, model, factoryId, manufacturedAt } = event.data;
    return {
      status: 'manufactured',
      deviceId,
      serialNumber,
      model,
      factoryId,
      manufacturedAt,
      updatedAt: manufacturedAt,
      transfers: 0,
      certificates: [],
    };
  }
  if (state.status === 'unknown') return state;
  switch (event.type) {
    case 'DeviceShipped':
      return { ...state, status: 'shipped', owner: event.data.owner, updatedAt: event.data.shippedAt };
    case 'DeviceEnrolled':
      return { ...state, status: 'enrolled', updatedAt: event.data.enrolledAt };
    case 'DeviceTransferred':
      return {
        ...state,
        status: 'shipped',
        owner: event.data.newOwner,
        transfers: state.transfers + 1,
        updatedAt: event.data.transferredAt,
      };
    case 'DeviceRevoked':
      return { ...state, status: 'revoked', revocation: { ...event.data }, updatedAt: event.data.revokedAt };
    case 'DeviceReinstated':
      return { ...state, status: 'enrolled', updatedAt: event.data.reinstatedAt };
    case 'DeviceDecommissioned':
      return {
        ...state,
        status: 'decommissioned',
        decommission: { reason: event.data.reason, decommissionedAt: event.data.decommissionedAt },
        updatedAt: event.data.decommissionedAt,
      };
    case 'CertificateIssued': {
      const { serialNumber, caId, profile, notAfter, spkiSha256 } = event.data;
      return { ...state, certificates: [...state.certificates, { serialNumber, caId, profile, notAfter, spkiSha256, status: 'good' }] };
    }
    case 'CertificateRevoked':
      return {
        ...state,
        certificates: state.certificates.map((c) =>
          c.serialNumber === event.data.serialNumber
            ? { ...c, status: 'revoked', revocation: { reason: event.data.reason, revokedAt: event.data.revokedAt } }
            : c,
        ),
      };
    case 'CertificateSuperseded':
      return {
        ...state,
        certificates: state.certificates.map((c) => (c.serialNumber === event.data.serialNumber ? { ...c, status: 'superseded' } : c)),
      };
  }
};

export const fold = (events: readonly DeviceEvent[], from: DeviceState = { status: 'unknown' }): DeviceState =>
  events.reduce(evolve, from);
