import { Inject, Injectable } from '@nestjs/common';
import { detectorStreamId, foldDetector, readDetectorEvent, type DetectorState } from '@devid/domain';
import type { EventStore, StoredEvent } from '@devid/event-store';
import { EVENT_STORE } from '../store/tokens';

export interface LoadedDetector {
  state: DetectorState;
  /** Revision of the last event, -1 when the stream does not exist. */
  revision: number;
  events: StoredEvent[];
}

/** Loads a detector by folding its stream: always current, unlike the registry read model. */
@Injectable()
export class DetectorRepository {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async load(detectorId: string): Promise<LoadedDetector> {
    // Detector streams stay short (a handful of rotations), so one read suffices.
    const events = await this.store.readStream(detectorStreamId(detectorId), { maxCount: 10_000 });
    return {
      state: foldDetector(events.map(readDetectorEvent)),
      revision: events.length ? events[events.length - 1]!.revision : -1,
      events,
    };
  }
}
