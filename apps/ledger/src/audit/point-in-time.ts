import { Inject, Injectable } from '@nestjs/common';
import { caChainRevocationAsOf, certificateStatusAsOf, deviceAsOf, parsePointInTime } from '@devid/audit';
import { DeviceNotFound, type KnownDeviceState } from '@devid/domain';
import type { EventStore } from '@devid/event-store';
import { CaDirectory, CertificateInventory } from '@devid/projections';
import { toView, type DeviceView } from '../devices/device-view';
import { HttpProblem } from '../http/problem';
import { chainRevocation } from '../pki/ca-revocation';
import { EVENT_STORE } from '../store/tokens';

/** Answers "as the ledger knew it at `asOf`" (by recordedAt), folded from the events, never from read models. */
@Injectable()
export class PointInTime {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly inventory: CertificateInventory,
    private readonly cas: CaDirectory,
  ) {}

  async device(deviceId: string, asOf: string): Promise<DeviceView & { asOf: string }> {
    const at = parsePointInTime(asOf);
    const known = await deviceAsOf(this.store, deviceId, at);
    if (known.state.status === 'unknown') throw new DeviceNotFound(deviceId);
    return { ...toView(known.state as KnownDeviceState, known.revision, known.position), asOf: at.toISOString() };
  }

  /**
   * A certificate's own status, and `caRevoked` when its CA or a CA above it was revoked (the
   * first such revocation): now from the read models, or with `asOf` as the ledger knew both
   * then, folded from the device's and the CAs' streams.
   */
  async certificateStatus(serial: string, caId: string | undefined, asOf: string | undefined) {
    const at = asOf === undefined ? undefined : parsePointInTime(asOf);
    const row = this.inventory.get(serial.toLowerCase(), caId);
    if (!row) throw new HttpProblem(404, 'certificate-not-found', `no certificate with serial ${serial}`);
    const base = { serialNumber: row.serialNumber, caId: row.caId, deviceId: row.deviceId, profile: row.profile };
    if (at === undefined) {
      const caRevoked = chainRevocation(this.cas, this.inventory, row.caId);
      return { ...base, status: row.status, ...(row.revokedAt ? { revocation: { reason: row.reason, revokedAt: row.revokedAt } } : {}), ...(caRevoked ? { caRevoked } : {}) };
    }
    const then = await certificateStatusAsOf(this.store, { deviceId: row.deviceId, serialNumber: row.serialNumber, caId: row.caId }, at);
    if (!then) throw new HttpProblem(404, 'certificate-not-issued-yet', `certificate ${serial} had not been issued at ${at.toISOString()}`);
    const caRevoked = await caChainRevocationAsOf(this.store, row.caId, at);
    return {
      ...base,
      status: then.certificate.status,
      ...(then.certificate.revocation ? { revocation: then.certificate.revocation } : {}),
      ...(caRevoked ? { caRevoked } : {}),
      asOf: at.toISOString(),
      position: then.position,
    };
  }
}
