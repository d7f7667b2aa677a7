import { Inject, Injectable } from '@nestjs/common';
import { deviceStreamId, fold, initialState, upcast, type DeviceState } from '@devid/domain';
import type { EventStore, StoredEvent } from '@devid/event-store';
import { EVENT_STORE } from '../store/tokens';

export interface LoadedDevice {
  state: DeviceState;
  /** Revision of the last event, -1 when the stream does not exist. */
  revision: number;
  position: number;
  events: StoredEvent[];
}

/** Loads a device by folding its stream (upcasting old events on the way). */
@Injectable()
export class DeviceRepository {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

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
