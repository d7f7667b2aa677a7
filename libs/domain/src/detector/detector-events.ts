import { InvalidCommand } from '../errors';
import type { DetectorPublicKey } from './detector-key';
import type { DetectorScope } from './detector-scope';

export const DETECTOR_EVENT_VERSIONS = {
  DetectorRegistered: 1,
  DetectorDisabled: 1,
  DetectorEnabled: 1,
  DetectorKeyRotated: 1,
} as const;

export type DetectorEvent =
  | {
      type: 'DetectorRegistered';
      version: 1;
      data: { detectorId: string; name: string; publicKey: DetectorPublicKey; keyVersion: 1; scope: DetectorScope; enabled: boolean; registeredAt: string };
    }
  | { type: 'DetectorDisabled'; version: 1; data: { reason?: string; disabledAt: string } }
  | { type: 'DetectorEnabled'; version: 1; data: { enabledAt: string } }
  | { type: 'DetectorKeyRotated'; version: 1; data: { publicKey: DetectorPublicKey; keyVersion: number; rotatedAt: string } };

export const isDetectorEventType = (type: string): type is DetectorEvent['type'] => Object.prototype.hasOwnProperty.call(DETECTOR_EVENT_VERSIONS, type);

/** Detector events have had one version so far; reading checks the type and version. */
export const readDetectorEvent = (raw: { type: string; version: number; data: unknown }): DetectorEvent => {
  if (!isDetectorEventType(raw.type) || raw.version !== DETECTOR_EVENT_VERSIONS[raw.type]) {
    throw new InvalidCommand(`cannot read detector event ${raw.type} v${raw.version}`);
  }
  return raw as DetectorEvent;
};
