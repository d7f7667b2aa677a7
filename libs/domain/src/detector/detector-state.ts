import type { DetectorPublicKey } from './detector-key';
import type { DetectorScope } from './detector-scope';

export type DetectorState =
  | { status: 'unknown' }
  | {
      status: 'enabled' | 'disabled';
      detectorId: string;
      name: string;
      publicKey: DetectorPublicKey;
      /** 1 at registration, +1 per rotation: commands verify with the current key only. */
      keyVersion: number;
      scope: DetectorScope;
      registeredAt: string;
      updatedAt: string;
    };

export type KnownDetectorState = Exclude<DetectorState, { status: 'unknown' }>;

export const initialDetectorState: DetectorState = { status: 'unknown' };

export const DETECTOR_STREAM_PREFIX = 'detector-';
export const detectorStreamId = (detectorId: string): string => `${DETECTOR_STREAM_PREFIX}${detectorId}`;
export const detectorIdOfStream = (streamId: string): string | undefined =>
  streamId.startsWith(DETECTOR_STREAM_PREFIX) ? streamId.slice(DETECTOR_STREAM_PREFIX.length) : undefined;
