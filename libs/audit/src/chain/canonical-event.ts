import type { StoredEvent } from '@devid/event-store';
import { canonicalize, inCanonicalOrder, stringifiedOrUndefined, WALK } from '../canonical/jcs';

/**
 * The bytes of an event that the hash chain commits to: the UTF-8 of the RFC 8785 form of
 * exactly these ten stored fields, as the store gives them back (original version, data
 * and metadata not upcast). Any other member an adapter might add is not part of it.
 *
 * The outer object is written by hand, its members already in RFC 8785 order (UTF-16 code
 * units: data, id, metadata, occurredAt, position, recordedAt, revision, streamId, type,
 * version); canonical-event.spec.ts checks it equals canonicalize() of the same object.
 */
export const canonicalEvent = (event: StoredEvent): string => {
  const { data, id, metadata, occurredAt, position, recordedAt, revision, streamId, type, version } = event;
  // Fast path: one native JSON.stringify of the ten fields inserted in RFC 8785 order, with
  // data and metadata in key order (see inCanonicalOrder); else the walk.
  if (
    typeof id === 'string' &&
    typeof occurredAt === 'string' &&
    typeof recordedAt === 'string' &&
    typeof streamId === 'string' &&
    typeof type === 'string' &&
    Number.isFinite(position) &&
    Number.isFinite(revision) &&
    Number.isFinite(version)
  ) {
    const orderedData = inCanonicalOrder(data);
    const orderedMetadata = inCanonicalOrder(metadata);
    const out =
      orderedData === WALK || orderedMetadata === WALK
        ? undefined
        : stringifiedOrUndefined(
            orderedData === data && orderedMetadata === metadata
              ? { data, id, metadata, occurredAt, position, recordedAt, revision, streamId, type, version }
              : { data: orderedData, id, metadata: orderedMetadata, occurredAt, position, recordedAt, revision, streamId, type, version },
          );
    if (out !== undefined) return out;
  }
  return canonicalEventByWalking(event);
};

/** The same bytes, each member through canonicalize (the reference the fast path must equal). */
export const canonicalEventByWalking = (event: StoredEvent): string =>
  '{"data":' +
  canonicalize(event.data) +
  ',"id":' +
  canonicalize(event.id) +
  ',"metadata":' +
  canonicalize(event.metadata) +
  ',"occurredAt":' +
  canonicalize(event.occurredAt) +
  ',"position":' +
  canonicalize(event.position) +
  ',"recordedAt":' +
  canonicalize(event.recordedAt) +
  ',"revision":' +
  canonicalize(event.revision) +
  ',"streamId":' +
  canonicalize(event.streamId) +
  ',"type":' +
  canonicalize(event.type) +
  ',"version":' +
  canonicalize(event.version) +
  '}';
