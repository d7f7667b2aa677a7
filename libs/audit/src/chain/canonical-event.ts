import type { StoredEvent } from '@devid/event-store';
import { canonicalize } from '../canonical/jcs';

/**
 * The bytes of an event that the hash chain commits to: the UTF-8 of the RFC 8785 form of
 * exactly these ten stored fields, as the store gives them back (original version, data
 * and metadata not upcast). Any other member an adapter might add is not part of it.
 */
export const canonicalEvent = (event: StoredEvent): string =>
  canonicalize({
    id: event.id,
    type: event.type,
    version: event.version,
    streamId: event.streamId,
    revision: event.revision,
    position: event.position,
    occurredAt: event.occurredAt,
    recordedAt: event.recordedAt,
    data: event.data,
    metadata: event.metadata,
  });
