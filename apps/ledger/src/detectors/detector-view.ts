import type { DetectorPublicKey, DetectorScope, KnownDetectorState } from '@devid/domain';

/** A detector as the API shows it. */
export interface DetectorView {
  detectorId: string;
  name: string;
  status: 'enabled' | 'disabled';
  publicKey: DetectorPublicKey;
  keyVersion: number;
  scope: DetectorScope;
  registeredAt: string;
  updatedAt: string;
  /** Revision of the detector stream. */
  revision: number;
}

export const toDetectorView = (state: KnownDetectorState, revision: number): DetectorView => ({
  detectorId: state.detectorId,
  name: state.name,
  status: state.status,
  publicKey: state.publicKey,
  keyVersion: state.keyVersion,
  scope: state.scope,
  registeredAt: state.registeredAt,
  updatedAt: state.updatedAt,
  revision,
});
