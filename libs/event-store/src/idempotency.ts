import { IdempotencyConflict } from './errors';
import type { StoredEvent } from './event-store';
import type { SerializedEvent } from './append-request';

/**
 * Decides whether an append whose first id is already stored repeats an earlier append:
 * every id must be stored in the same stream, at consecutive revisions, with the same
 * types. Returns the stored events (the first answer); anything else is a conflict.
 */
export const matchEarlierAppend = (
  streamId: string,
  events: readonly SerializedEvent[],
  lookup: (eventId: string) => StoredEvent | undefined,
): StoredEvent[] => {
  const stored: StoredEvent[] = [];
  for (const [index, event] of events.entries()) {
    const earlier = lookup(event.id);
    if (earlier === undefined) throw new IdempotencyConflict(streamId, event.id, 'is new but earlier ids of the append are stored');
    if (earlier.streamId !== streamId) throw new IdempotencyConflict(streamId, event.id, `is stored in stream ${earlier.streamId}`);
    if (earlier.type !== event.type) throw new IdempotencyConflict(streamId, event.id, `is stored with type ${earlier.type}`);
    if (index > 0 && earlier.revision !== stored[0]!.revision + index) {
      throw new IdempotencyConflict(streamId, event.id, 'is stored but not right after the previous event of the append');
    }
    stored.push(earlier);
  }
  return stored;
};
