import { Inject, Injectable } from '@nestjs/common';
import { deviceStreamId, fold, initialState, upcast, type DeviceState } from '@devid/domain';
import { trimLeastRecentlyUsed, type EventStore, type StoredEvent } from '@devid/event-store';
import { EVENT_STORE } from '../store/tokens';

export interface LoadedDevice {
  state: DeviceState;
  /** Revision of the last event, -1 when the stream does not exist. */
  revision: number;
  position: number;
  events: StoredEvent[];
}

export interface CurrentDevice {
  state: DeviceState;
  /** Revision of the last event, -1 when the stream does not exist. */
  revision: number;
}

/**
 * How many devices' folded states a repository keeps (least recently used out first); up to a
 * sixteenth more between two evictions, which drop that sixteenth at once.
 */
export const DEVICE_STATE_CACHE_SIZE = 10_000;

/**
 * Loads a device by folding its stream (upcasting old events on the way). For commands it also
 * keeps the folded state of the devices it loaded or saw written last: a state is used again
 * only while the store says the stream is still at the revision it folds up to (appends by
 * other processes and other code paths included), and is read and folded afresh otherwise.
 * Only with a store that can tell a stream's revision without reading it (streamRevision).
 */
@Injectable()
export class DeviceRepository {
  private readonly states = new Map<string, CurrentDevice>();

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  /** The device's state and revision now, for deciding a command. */
  async current(deviceId: string): Promise<CurrentDevice> {
    const kept = this.states.get(deviceId);
    if (kept !== undefined && this.store.streamRevision !== undefined) {
      if ((await this.store.streamRevision(deviceStreamId(deviceId))) === kept.revision) {
        // Now the most recently used, unless a later state replaced it meanwhile.
        if (this.states.get(deviceId) === kept) {
          this.states.delete(deviceId);
          this.states.set(deviceId, kept);
        }
        return kept;
      }
    }
    const { state, revision } = await this.load(deviceId);
    this.remember(deviceId, state, revision);
    return { state, revision };
  }

  /** The state a command's events, appended at `revision`, left the device in. */
  remember(deviceId: string, state: DeviceState, revision: number): void {
    if (this.store.streamRevision === undefined || revision < 0) return;
    const kept = this.states.get(deviceId);
    if (kept !== undefined && kept.revision > revision) return; // a later write is already known
    this.states.delete(deviceId);
    this.states.set(deviceId, { state, revision });
    trimLeastRecentlyUsed(this.states, DEVICE_STATE_CACHE_SIZE);
  }

  async load(deviceId: string, untilRevision = Number.MAX_SAFE_INTEGER): Promise<LoadedDevice> {
    const events: StoredEvent[] = [];
    const streamId = deviceStreamId(deviceId);
    // Page through long streams; devices live for decades.
    for (let from = 0; ; ) {
      const page = await this.store.readStream(streamId, { fromRevision: from, maxCount: 1000 });
      for (const e of page) if (e.revision <= untilRevision) events.push(e);
      if (page.length < 1000 || page[page.length - 1].revision >= untilRevision) break;
      from = page[page.length - 1].revision + 1;
    }
    const last = events[events.length - 1];
    return {
      state: events.length ? fold(events.map(upcast)) : initialState,
      revision: last ? last.revision : -1,
      position: last ? last.position : 0,
      events,
    };
  }
}
