import { deviceStreamId, fold, initialState, upcast, type DeviceState } from '@devid/domain';
import type { EventStore, StoredEvent } from '@devid/event-store';
import { recordedBy } from './point-in-time';

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

/**
 * Point-in-time replay of one device: the prefix of its stream recorded at or before `at`.
 * A prefix, not a filter: a stream is recorded in order, so the first event recorded after
 * `at` ends the fold even if a later one carries an earlier clock reading.
 */
export const deviceAsOf = async (store: EventStore, deviceId: string, at: Date): Promise<DeviceAsOf> => {
  const streamId = deviceStreamId(deviceId);
  const known: StoredEvent[] = [];
  let ended = false;
  for (let from = 0; !ended; ) {
    const page = await store.readStream(streamId, { fromRevision: from, maxCount: 1000 });
    for (const event of page) {
      if (!recordedBy(event.recordedAt, at)) {
        ended = true;
        break;
      }
      known.push(event);
    }
    if (page.length < 1000) break;
    from = page[page.length - 1]!.revision + 1;
  }
  const last = known[known.length - 1];
  return {
    state: known.length > 0 ? fold(known.map(upcast)) : initialState,
    revision: last?.revision ?? -1,
    position: last?.position ?? 0,
    ...(last ? { recordedAt: last.recordedAt } : {}),
  };
};
