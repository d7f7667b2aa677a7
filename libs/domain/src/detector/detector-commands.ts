import type { CommandContext } from '../device/device-commands';

interface Command<T extends string, D> extends CommandContext {
  type: T;
  detectorId: string;
  data: D;
}

/** `publicKey` and `scope` arrive unchecked: the decider parses them. */
export type RegisterDetector = Command<'RegisterDetector', { name?: string; publicKey: unknown; scope: unknown; enabled?: boolean }>;
export type DisableDetector = Command<'DisableDetector', { reason?: string }>;
export type EnableDetector = Command<'EnableDetector', Record<string, never>>;
export type RotateDetectorKey = Command<'RotateDetectorKey', { publicKey: unknown }>;

export type DetectorCommand = RegisterDetector | DisableDetector | EnableDetector | RotateDetectorKey;
