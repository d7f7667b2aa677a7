import type { StoredEvent, StoredEventText } from '@devid/event-store';
import { canonicalize, inCanonicalOrder, stringifiedOrUndefined, WALK } from '../canonical/jcs';
import { isOneJsonValue } from '../canonical/one-json-value';

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

/**
 * The canonical bytes of an event read as stored text, without parsing data and metadata: the
 * store writes their members in RFC 8785 order (see @devid/event-store's append-request), so for
 * events it wrote the stored text is already their canonical form. Only a candidate: the caller
 * accepts it when its hash equals the chain's stored hash for that position (which was computed
 * by canonicalEvent over the parsed event), and otherwise takes the parsed path. undefined when a
 * column does not end with its own value (see isOneJsonValue: no bytes moved between columns).
 */
export const canonicalEventText = (event: StoredEventText): string | undefined => {
  const { dataJson, metadataJson } = event;
  if (!isOneJsonValue(dataJson) || !isOneJsonValue(metadataJson)) return undefined;
  return (
    '{"data":' +
    dataJson +
    ',"id":' +
    JSON.stringify(event.id) +
    ',"metadata":' +
    metadataJson +
    ',"occurredAt":' +
    JSON.stringify(event.occurredAt) +
    ',"position":' +
    event.position +
    ',"recordedAt":' +
    JSON.stringify(event.recordedAt) +
    ',"revision":' +
    event.revision +
    ',"streamId":' +
    JSON.stringify(event.streamId) +
    ',"type":' +
    JSON.stringify(event.type) +
    ',"version":' +
    event.version +
    '}'
  );
};
