import type { EventStore, StoredEvent } from '@devid/event-store';
import { recordedBy } from './point-in-time';

/**
 * The prefix of a stream recorded at or before `at`. A prefix, not a filter: a stream is
 * recorded in order, so the first event recorded after `at` ends it even if a later one carries
 * an earlier clock reading.
 */
export const streamAsOf = async (store: EventStore, streamId: string, at: Date): Promise<StoredEvent[]> => {
  const known: StoredEvent[] = [];
  for (let from = 0; ; ) {
    const page = await store.readStream(streamId, { fromRevision: from, maxCount: 1000 });
    for (const event of page) {
      if (!recordedBy(event.recordedAt, at)) return known;
      known.push(event);
    }
    if (page.length < 1000) return known;
    from = page[page.length - 1]!.revision + 1;
  }
};
