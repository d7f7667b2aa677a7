import { deviceStreamId, fold, initialState, upcast, type DeviceState } from '@devid/domain';
import type { EventStore } from '@devid/event-store';
import { streamAsOf } from './stream-as-of';

export interface DeviceAsOf {
  /** The device as folded from its events recorded at or before `at` (upcast to the current versions). */
  state: DeviceState;
  /** Revision of the last event folded (-1: the device did not exist yet). */
  revision: number;
  /** Global position of the last event folded (0: none). */
  position: number;
  /** recordedAt of the last event folded. */
  recordedAt?: string;
}

/** Point-in-time replay of one device: its stream as recorded at or before `at` (streamAsOf), folded. */
export const deviceAsOf = async (store: EventStore, deviceId: string, at: Date): Promise<DeviceAsOf> => {
  const known = await streamAsOf(store, deviceStreamId(deviceId), at);
  const last = known[known.length - 1];
  return {
    state: known.length > 0 ? fold(known.map(upcast)) : initialState,
    revision: last?.revision ?? -1,
    position: last?.position ?? 0,
    ...(last ? { recordedAt: last.recordedAt } : {}),
  };
};
