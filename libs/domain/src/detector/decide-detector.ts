import { IllegalTransition, InvalidCommand } from '../errors';
import type { DetectorCommand } from './detector-commands';
import { DetectorAlreadyExists, DetectorNotFound } from './detector-errors';
import type { DetectorEvent } from './detector-events';
import { parseDetectorPublicKey, sameKey } from './detector-key';
import { parseDetectorScope } from './detector-scope';
import type { DetectorState, KnownDetectorState } from './detector-state';

const DETECTOR_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

const optionalText = (value: unknown, field: string, max: number): string | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > max || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new InvalidCommand(`${field} must be a printable string of 1 to ${max} characters`, field);
  }
  return value;
};

const existing = (state: DetectorState, detectorId: string): KnownDetectorState => {
  if (state.status === 'unknown') throw new DetectorNotFound(detectorId);
  return state;
};

/** The detector decider: pure, like the device's; a refused command throws and emits nothing. */
export const decideDetector = (command: DetectorCommand, state: DetectorState): DetectorEvent[] => {
  switch (command.type) {
    case 'RegisterDetector': {
      if (state.status !== 'unknown') throw new DetectorAlreadyExists(command.detectorId);
      if (!DETECTOR_ID.test(command.detectorId)) throw new InvalidCommand('detectorId must be lowercase letters, digits and dashes (max 63)', 'detectorId');
      return [
        {
          type: 'DetectorRegistered',
          version: 1,
          data: {
            detectorId: command.detectorId,
            name: optionalText(command.data.name, 'name', 256) ?? command.detectorId,
            publicKey: parseDetectorPublicKey(command.data.publicKey),
            keyVersion: 1,
            scope: parseDetectorScope(command.data.scope),
            enabled: command.data.enabled ?? true,
            registeredAt: command.now,
          },
        },
      ];
    }
    case 'DisableDetector': {
      const detector = existing(state, command.detectorId);
      if (detector.status !== 'enabled') throw new IllegalTransition(detector.status, command.type, 'detector');
      const reason = optionalText(command.data.reason, 'reason', 1024);
      return [{ type: 'DetectorDisabled', version: 1, data: { ...(reason ? { reason } : {}), disabledAt: command.now } }];
    }
    case 'EnableDetector': {
      const detector = existing(state, command.detectorId);
      if (detector.status !== 'disabled') throw new IllegalTransition(detector.status, command.type, 'detector');
      return [{ type: 'DetectorEnabled', version: 1, data: { enabledAt: command.now } }];
    }
    case 'RotateDetectorKey': {
      const detector = existing(state, command.detectorId);
      const publicKey = parseDetectorPublicKey(command.data.publicKey);
      if (sameKey(publicKey, detector.publicKey)) throw new InvalidCommand('publicKey is already the current key', 'publicKey');
      return [{ type: 'DetectorKeyRotated', version: 1, data: { publicKey, keyVersion: detector.keyVersion + 1, rotatedAt: command.now } }];
    }
  }
};

export const evolveDetector = (state: DetectorState, event: DetectorEvent): DetectorState => {
  if (event.type === 'DetectorRegistered') {
    const { enabled, registeredAt, ...rest } = event.data;
    return { status: enabled ? 'enabled' : 'disabled', ...rest, registeredAt, updatedAt: registeredAt };
  }
  if (state.status === 'unknown') return state;
  switch (event.type) {
    case 'DetectorDisabled':
      return { ...state, status: 'disabled', updatedAt: event.data.disabledAt };
    case 'DetectorEnabled':
      return { ...state, status: 'enabled', updatedAt: event.data.enabledAt };
    case 'DetectorKeyRotated':
      return { ...state, publicKey: event.data.publicKey, keyVersion: event.data.keyVersion, updatedAt: event.data.rotatedAt };
  }
};

export const foldDetector = (events: readonly DetectorEvent[], state: DetectorState = { status: 'unknown' }): DetectorState =>
  events.reduce(evolveDetector, state);
