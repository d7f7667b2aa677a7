import type { CertificateSummary } from '@devid/domain';
import type { EventStore } from '@devid/event-store';
import { deviceAsOf } from './device-as-of';

export interface CertificateStatusAsOf {
  certificate: CertificateSummary;
  deviceId: string;
  /** Global position of the device's last event recorded by then. */
  position: number;
}

/**
 * The status a device certificate had at `at`: folded from its device's stream up to then.
 * Undefined when the certificate had not been issued yet (or is not the device's).
 */
export const certificateStatusAsOf = async (
  store: EventStore,
  certificate: { deviceId: string; serialNumber: string; caId: string },
  at: Date,
): Promise<CertificateStatusAsOf | undefined> => {
  const device = await deviceAsOf(store, certificate.deviceId, at);
  if (device.state.status === 'unknown') return undefined;
  const serial = certificate.serialNumber.toLowerCase();
  const found = device.state.certificates.find((c) => c.serialNumber.toLowerCase() === serial && c.caId === certificate.caId);
  return found && { certificate: found, deviceId: certificate.deviceId, position: device.position };
};
