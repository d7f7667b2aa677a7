import { inCanonicalOrder, WALK } from './canonical-order';
import { InvalidAppend } from './errors';
import { isCanonicalUuid } from './event-id';
import type { EventMetadata, ExpectedRevision, NewEvent } from './event-store';

/** An event checked and serialised at append time, so later caller mutations cannot leak in. */
export interface SerializedEvent {
  id: string;
  type: string;
  version: number;
  occurredAt: string;
  dataJson: string;
  metadataJson: string;
  /** JSON.parse(dataJson), made without parsing when data is a flat object (see jsonCopy); else undefined. */
  dataCopy?: unknown;
  metadataCopy?: EventMetadata;
}

export interface AppendRequest {
  streamId: string;
  events: SerializedEvent[];
  expectedRevision: ExpectedRevision;
}

/** Printable ASCII without spaces, starting alphanumeric ('$' streams are system streams elsewhere). */
const STREAM_ID = /^[A-Za-z0-9][\x21-\x7e]{0,255}$/;
const MAX_EVENTS_PER_APPEND = 10_000;

/**
 * JSON text of data or metadata, members in RFC 8785 order when the value allows it (plain
 * objects, finite numbers…): the stored bytes are then the canonical bytes the audit chain
 * hashes. Anything else (a Date, a digit-led key) is stored as JSON.stringify writes it.
 * With it, what JSON.parse of the text gives when that is cheap to make without parsing.
 */
const toJson = (what: string, value: unknown): { json: string; copy: unknown } => {
  let json: string | undefined;
  let ordered: unknown;
  try {
    ordered = inCanonicalOrder(value);
    json = JSON.stringify(ordered === WALK ? value : ordered);
  } catch (error) {
    throw new InvalidAppend(`${what} is not JSON-serialisable: ${(error as Error).message}`);
  }
  if (json === undefined) throw new InvalidAppend(`${what} is not JSON-serialisable`);
  return { json, copy: jsonCopy(ordered, value) };
};

/**
 * A copy equal to JSON.parse(JSON.stringify(ordered)), or undefined: for a plain object
 * (inCanonicalOrder's output) whose members are strings, booleans, null or finite numbers
 * other than -0, which JSON carries exactly. An answer to an append then needs no parse.
 */
const jsonCopy = (ordered: unknown, original: unknown): Record<string, unknown> | undefined => {
  if (typeof ordered !== 'object' || ordered === null || Array.isArray(ordered)) return undefined;
  const record = ordered as Record<string, unknown>;
  for (const key in record) {
    const member = record[key];
    if (typeof member === 'string' || typeof member === 'boolean' || member === null) continue;
    if (typeof member !== 'number' || Object.is(member, -0)) return undefined;
  }
  // inCanonicalOrder made a copy of members only primitives: it is already the caller's no more.
  return ordered === original ? { ...record } : record;
};

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const checkExpectedRevision = (expected: unknown): ExpectedRevision => {
  if (expected === 'no_stream' || expected === 'stream_exists' || expected === 'any') return expected;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) return expected;
  throw new InvalidAppend(`expectedRevision is invalid: ${String(expected)}`);
};

const serialize = (event: NewEvent, index: number): SerializedEvent => {
  const at = `events[${index}]`;
  if (!isPlainObject(event)) throw new InvalidAppend(`${at} is not an object`);
  if (typeof event.id !== 'string' || !isCanonicalUuid(event.id)) throw new InvalidAppend(`${at}.id is not a lowercase UUID`);
  if (typeof event.type !== 'string' || event.type.length === 0 || event.type.length > 256) {
    throw new InvalidAppend(`${at}.type must be a non-empty string`);
  }
  if (!Number.isSafeInteger(event.version) || event.version < 1) throw new InvalidAppend(`${at}.version must be a positive integer`);
  if (typeof event.occurredAt !== 'string' || Number.isNaN(Date.parse(event.occurredAt))) {
    throw new InvalidAppend(`${at}.occurredAt is not a timestamp`);
  }
  if (!isPlainObject(event.metadata)) throw new InvalidAppend(`${at}.metadata is not an object`);
  const data = toJson(`${at}.data`, event.data);
  const metadata = toJson(`${at}.metadata`, event.metadata);
  return {
    id: event.id,
    type: event.type,
    version: event.version,
    occurredAt: event.occurredAt,
    dataJson: data.json,
    metadataJson: metadata.json,
    dataCopy: data.copy,
    metadataCopy: metadata.copy as EventMetadata | undefined,
  };
};

/** Checks everything that does not depend on stored state; throws InvalidAppend. */
export const toAppendRequest = (streamId: unknown, events: unknown, expectedRevision: unknown): AppendRequest => {
  if (typeof streamId !== 'string' || !STREAM_ID.test(streamId)) throw new InvalidAppend(`stream id is invalid: ${String(streamId)}`);
  if (!Array.isArray(events) || events.length === 0) throw new InvalidAppend(`stream ${streamId}: an append needs at least one event`);
  if (events.length > MAX_EVENTS_PER_APPEND) throw new InvalidAppend(`stream ${streamId}: more than ${MAX_EVENTS_PER_APPEND} events`);
  const serialized = (events as NewEvent[]).map(serialize);
  const ids = new Set(serialized.map((event) => event.id));
  if (ids.size !== serialized.length) throw new InvalidAppend(`stream ${streamId}: an event id occurs twice in one append`);
  return { streamId, events: serialized, expectedRevision: checkExpectedRevision(expectedRevision) };
};
