import type { StoredEvent } from '@devid/event-store';
import { canonicalize } from '../canonical/jcs';
import { NotCanonicalizable } from '../errors';
import { canonicalEvent, canonicalEventByWalking } from './canonical-event';

const base: StoredEvent = {
  id: '00000000-0000-4000-8000-000000000001',
  type: 'DeviceEnrolled',
  version: 1,
  streamId: 'device-d1',
  revision: 0,
  position: 1,
  occurredAt: '2025-03-03T10:00:00.000Z',
  recordedAt: '2025-03-03T10:00:00.123Z',
  data: { owner: 'acme', enrolledAt: '2025-03-03T10:00:00.000Z' },
  metadata: { commandId: 'c', causationId: 'c', correlationId: 'c', actor: 'admin' },
};

const outcome = (f: () => string) => {
  try {
    return f();
  } catch (error) {
    return error instanceof NotCanonicalizable ? 'refused' : `threw ${String(error)}`;
  }
};

// Metadata is typed; the chain hashes whatever the store gives back, so the cases go beyond the type.
const cases: [string, Record<string, unknown>][] = [
    ['members out of order (as the ledger writes them)', {}],
    ['members in order', { data: { enrolledAt: 'x', owner: 'acme' }, metadata: { actor: 'a', commandId: 'c' } }],
    ['nested objects and arrays out of order', { data: { z: [{ b: 1, a: [2, { d: null, c: true }] }], a: 'é\u20ac\ud83d\ude00' } }],
    ['integer-like keys', { data: { '10': 'ten', '9': 'nine', a: 1 } }],
    ['a __proto__ member', { data: JSON.parse('{"__proto__":{"x":1},"a":2}') as unknown }],
    ['a string that looks like an escaped surrogate', { data: { note: '\\ud800' } }],
    ['non-ASCII keys', { metadata: { '\ufb33': 1, '\u20ac': 2, '\r': 3, actor: 'a' } }],
    ['null data', { data: null }],
    ['a lone surrogate (refused)', { data: { note: 'x\ud800' } }],
    ['a lone surrogate in the stream id (refused)', { streamId: 'device-\udc00' }],
    ['undefined data (refused)', { data: undefined }],
    ['a non-finite number (refused)', { data: { n: Infinity } }],
    ['a Date (refused)', { data: { at: new Date(0) } }],
];

describe('canonicalEvent', () => {
  it.each(cases)('writes the same bytes as the member-by-member walk: %s', (_name, change) => {
    const event = { ...base, ...change } as StoredEvent;
    const { id, type, version, streamId, revision, position, occurredAt, recordedAt, data, metadata } = event;
    const expected = outcome(() => canonicalEventByWalking(event));
    expect(outcome(() => canonicalEvent(event))).toBe(expected);
    if (expected !== 'refused') expect(expected).toBe(canonicalize({ id, type, version, streamId, revision, position, occurredAt, recordedAt, data, metadata }));
  });

  it('leaves out any member beyond the ten stored fields', () => {
    expect(canonicalEvent({ ...base, extra: 1 } as StoredEvent)).toBe(canonicalEvent(base));
  });
});
