import fc from 'fast-check';
import { idKey, IndexTail } from './index-tail';

/** What the tail must answer, kept the plain way: a list of events, the oldest `sealedCount` sealed. */
interface ModelEvent {
  streamId: string;
  revision: number;
  id: string;
  position: number;
}

type Op =
  | { kind: 'add'; stream: number; id: string }
  | { kind: 'removeLast' }
  | { kind: 'seal'; back: number }
  | { kind: 'release' }
  | { kind: 'unseal' };

// Ids from few key prefixes: idKey reads hex digits 1–8, 10–13 and 16, so ids that differ only
// elsewhere share their key, and the tail must tell them apart by the id itself.
const hex = (digits: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${digits}}$`));
const keyPrefix = fc.constantFrom('0000000a-0000-4000', '0000000a-0000-4001', 'ffffffff-ffff-4fff', '12345678-9abc-4def');
const id = fc.tuple(keyPrefix, hex(3), hex(12)).map(([prefix, middle, last]) => `${prefix}-8${middle}-${last}`);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('add' as const), stream: fc.integer({ min: 0, max: 4 }), id }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'removeLast' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('seal' as const), back: fc.integer({ min: 0, max: 6 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'release' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'unseal' as const }) },
);

describe('IndexTail', () => {
  it('answers as the plain list of its events, through adds, take-backs, seals, releases and unseals', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const tail = new IndexTail();
        let events: ModelEvent[] = [];
        let sealedCount: number | undefined;
        let head = 0;
        for (const step of ops) {
          if (step.kind === 'add') {
            if (events.some((event) => event.id === step.id)) continue; // the store never adds a stored id
            const streamId = `stream-${step.stream}`;
            const revision = Math.max(-1, ...events.filter((event) => event.streamId === streamId).map((event) => event.revision)) + 1;
            const event = { streamId, revision, id: step.id, position: ++head };
            events.push(event);
            if (step.stream % 2 === 0) tail.add(streamId, revision, step.id, event.position);
            else tail.add(streamId, revision, step.id, event.position, idKey(step.id));
          } else if (step.kind === 'removeLast') {
            const last = events.pop();
            if (last === undefined) continue;
            head--;
            if (sealedCount !== undefined && sealedCount > events.length) sealedCount = events.length;
            tail.removeLast(last.id);
          } else if (step.kind === 'seal') {
            if (sealedCount !== undefined) {
              expect(() => tail.seal(head)).toThrow('a flush is already under way');
              continue;
            }
            // As the store seals: up to its committed head, never below what is indexed already.
            const upTo = Math.max((events[0]?.position ?? head + 1) - 1, head - step.back);
            const rows = tail.seal(upTo);
            sealedCount = events.filter((event) => event.position <= upTo).length;
            const sealed = events.slice(0, sealedCount);
            expect(rows.streamRows).toEqual(sealed.flatMap((event) => [event.streamId, event.revision, event.position]));
            expect(rows.idRows).toEqual(sealed.flatMap((event) => [idKey(event.id), event.position]));
            expect(rows.upToId).toBe(sealed.find((event) => event.position === upTo)?.id);
          } else if (step.kind === 'release') {
            if (sealedCount === undefined) continue;
            events = events.slice(sealedCount);
            sealedCount = undefined;
            tail.release();
          } else {
            sealedCount = undefined;
            tail.unseal();
          }

          expect(tail.size).toBe(events.length);
          for (const event of events) expect(tail.positionOf(event.id)).toBe(event.position);
          expect(tail.positionOf('0000000a-0000-4000-8000-000000000000')).toBe(events.find((event) => event.id === '0000000a-0000-4000-8000-000000000000')?.position);
          for (let stream = 0; stream < 5; stream++) {
            const streamId = `stream-${stream}`;
            const mine = events.filter((event) => event.streamId === streamId);
            for (const from of [0, ...mine.map((event) => event.revision), (mine.at(-1)?.revision ?? 0) + 1]) {
              expect(tail.positionsFrom(streamId, from)).toEqual(mine.filter((event) => event.revision >= from).map((event) => event.position));
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('holds many events, with many ids sharing a key, and finds each', () => {
    const tail = new IndexTail();
    const ids = Array.from({ length: 5000 }, (_, n) => `0000000a-0000-4000-8${(n % 4096).toString(16).padStart(3, '0')}-${n.toString(16).padStart(12, '0')}`);
    ids.forEach((eventId, n) => tail.add(`stream-${n % 97}`, Math.floor(n / 97), eventId, n + 1));
    expect(new Set(ids.map(idKey)).size).toBe(1);
    expect(tail.size).toBe(5000);
    expect(ids.every((eventId, n) => tail.positionOf(eventId) === n + 1)).toBe(true);
    expect(tail.positionsFrom('stream-3', 50)).toEqual(Array.from({ length: 52 - 50 }, (_, k) => (50 + k) * 97 + 3 + 1).filter((position) => position <= 5000));
    for (let n = 4999; n >= 2500; n--) tail.removeLast(ids[n]!);
    expect(tail.size).toBe(2500);
    expect(tail.positionOf(ids[2500]!)).toBeUndefined();
    expect(tail.positionOf(ids[2499]!)).toBe(2500);
  });
});
