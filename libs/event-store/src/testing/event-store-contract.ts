import { randomUUID } from 'node:crypto';
import * as fc from 'fast-check';
import { IdempotencyConflict, InvalidAppend, StoreUnavailable, WrongExpectedRevision } from '../errors';
import type { AppendResult, EventStore, ExpectedRevision, NewEvent, ProjectedEvent, StoredEvent } from '../event-store';

export interface EventStoreUnderTest {
  store: EventStore;
  /** Opens the same storage again (after the test closed `store`); omitted for volatile adapters. */
  reopen?: () => Promise<EventStore>;
  /** Closes whatever is still open and removes the storage. */
  cleanup: () => Promise<void>;
}

export type EventStoreFactory = () => Promise<EventStoreUnderTest>;

export const newEvent = (overrides: Partial<NewEvent> = {}): NewEvent => ({
  id: randomUUID(),
  type: 'DeviceRegistered',
  version: 1,
  occurredAt: '2025-03-03T10:00:00.000Z',
  data: { serial: `SN-${Math.floor(Math.random() * 1e9)}`, model: 'gw-7', tags: ['a', 'b'], nested: { ok: true, n: 1.5 } },
  metadata: { commandId: randomUUID(), causationId: randomUUID(), correlationId: randomUUID(), actor: 'factory-1' },
  ...overrides,
});

const events = (count: number): NewEvent[] => Array.from({ length: count }, () => newEvent());

/** Waits (without asserting on time) until `condition` holds; fails the test after ~5 s. */
export const eventually = async (condition: () => boolean): Promise<void> => {
  for (let attempt = 0; attempt < 500 && !condition(); attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
};

const withoutStoreFields = ({ id, type, version, occurredAt, data, metadata }: StoredEvent): NewEvent => ({
  id,
  type,
  version,
  occurredAt,
  data,
  metadata,
});

/**
 * The behaviour every EventStore adapter must show (STYLE.md §2). An adapter is done when
 * this suite passes against it.
 */
export const describeEventStoreContract = (name: string, factory: EventStoreFactory): void => {
  describe(`EventStore contract: ${name}`, () => {
    let subject: EventStoreUnderTest;
    let store: EventStore;

    beforeEach(async () => {
      subject = await factory();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    describe('append and read', () => {
      it('stores the events of an append in order and reads them back as stored', async () => {
        const appended = events(3);
        const result = await store.append('device-1', appended, { expectedRevision: 'no_stream' });

        expect(result.duplicate).toBe(false);
        expect(result.streamId).toBe('device-1');
        expect(result.nextExpectedRevision).toBe(2);
        expect(result.events.map((event) => [event.revision, event.position])).toEqual([
          [0, 1],
          [1, 2],
          [2, 3],
        ]);
        expect(result.events.map(withoutStoreFields)).toEqual(appended);
        expect(Date.parse(result.events[0]!.recordedAt)).not.toBeNaN();
        expect(await store.readStream('device-1')).toEqual(result.events);
        expect(await store.headPosition()).toBe(3);
      });

      it('stores data as JSON: what comes back is the JSON round trip of what went in', async () => {
        const event = newEvent({ data: { at: new Date('2025-01-02T03:04:05.000Z'), skipped: undefined, list: [1, 'x', null] } });
        await store.append('device-1', [event], { expectedRevision: 'any' });

        const [stored] = await store.readStream('device-1');
        expect(stored!.data).toEqual({ at: '2025-01-02T03:04:05.000Z', list: [1, 'x', null] });
      });

      it('answers an append with the data and metadata a read gives back, for flat and nested values alike', async () => {
        const values: unknown[] = [
          { z: -0, a: 1e21, tiny: 5e-324, s: 'é\ud83d\ude00', lone: 'x\ud800', t: true, n: null },
          { sorted: 1, zz: 'already in order' },
          { nested: { b: [1, { d: -0 }], a: 'x' } },
          ['list', -0, 0.1],
          'text',
          -0,
        ];
        const results = [];
        for (const [index, data] of values.entries()) {
          results.push(await store.append(`device-${index}`, [newEvent({ data, metadata: { zeta: -0, actor: 'a', commandId: 'c', causationId: 'c', correlationId: 'c' } })], { expectedRevision: 'no_stream' }));
        }

        for (const [index, result] of results.entries()) {
          const [read] = await store.readStream(`device-${index}`);
          expect(result.events[0]).toEqual(read);
          expect(Object.is(result.events[0]!.metadata['zeta'], 0)).toBe(true);
        }
      });

      it('does not let a caller change stored events through the objects it passed or got back', async () => {
        const event = newEvent({ data: { owner: 'acme' } });
        const result = await store.append('device-1', [event], { expectedRevision: 'any' });
        (event.data as { owner: string }).owner = 'mallory';
        (result.events[0]!.data as { owner: string }).owner = 'mallory';

        const [stored] = await store.readStream('device-1');
        expect(stored!.data).toEqual({ owner: 'acme' });
      });

      it('reads a stream from a revision and at most maxCount events', async () => {
        await store.append('device-1', events(5), { expectedRevision: 'no_stream' });

        const page = await store.readStream('device-1', { fromRevision: 1, maxCount: 2 });
        expect(page.map((event) => event.revision)).toEqual([1, 2]);
        expect(await store.readStream('device-1', { fromRevision: 5 })).toEqual([]);
      });

      it('reads an absent stream as empty', async () => {
        expect(await store.readStream('device-absent')).toEqual([]);
        expect(await store.headPosition()).toBe(0);
        expect(await store.readAll()).toEqual([]);
      });

      it('keeps streams apart', async () => {
        await store.append('device-1', events(2), { expectedRevision: 'no_stream' });
        await store.append('device-2', events(1), { expectedRevision: 'no_stream' });

        expect((await store.readStream('device-1')).map((event) => event.streamId)).toEqual(['device-1', 'device-1']);
        expect((await store.readStream('device-2')).map((event) => [event.revision, event.position])).toEqual([[0, 3]]);
      });
    });

    describe('expected revision', () => {
      const attempt = (streamId: string, expectedRevision: ExpectedRevision): Promise<AppendResult> =>
        store.append(streamId, [newEvent()], { expectedRevision });

      it('no_stream: accepted for a new stream, refused once the stream exists', async () => {
        await attempt('device-1', 'no_stream');

        const refusal = attempt('device-1', 'no_stream');
        await expect(refusal).rejects.toBeInstanceOf(WrongExpectedRevision);
        await expect(refusal).rejects.toMatchObject({ streamId: 'device-1', expected: 'no_stream', actual: 0, code: 'wrong-expected-revision' });
      });

      it('stream_exists: refused for a new stream, accepted once it exists', async () => {
        await expect(attempt('device-1', 'stream_exists')).rejects.toMatchObject({ actual: 'no_stream' });
        await attempt('device-1', 'no_stream');
        await expect(attempt('device-1', 'stream_exists')).resolves.toMatchObject({ nextExpectedRevision: 1 });
      });

      it('a revision: accepted only when it is the revision of the last event', async () => {
        await store.append('device-1', events(2), { expectedRevision: 'no_stream' });

        await expect(attempt('device-1', 0)).rejects.toMatchObject({ expected: 0, actual: 1 });
        await expect(attempt('device-1', 2)).rejects.toBeInstanceOf(WrongExpectedRevision);
        await expect(attempt('device-absent', 0)).rejects.toMatchObject({ actual: 'no_stream' });
        await expect(attempt('device-1', 1)).resolves.toMatchObject({ nextExpectedRevision: 2 });
      });

      it('any: accepted whatever the stream holds', async () => {
        await expect(attempt('device-1', 'any')).resolves.toMatchObject({ nextExpectedRevision: 0 });
        await expect(attempt('device-1', 'any')).resolves.toMatchObject({ nextExpectedRevision: 1 });
      });

      it('a refused append writes nothing', async () => {
        await attempt('device-1', 'no_stream');
        await expect(store.append('device-1', events(3), { expectedRevision: 5 })).rejects.toBeInstanceOf(WrongExpectedRevision);

        expect(await store.headPosition()).toBe(1);
        expect(await store.readStream('device-1')).toHaveLength(1);
      });

      it('of concurrent appends with the same expected revision exactly one wins', async () => {
        await attempt('device-1', 'no_stream');

        const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => attempt('device-1', 0)));

        expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(WrongExpectedRevision);
        }
        expect(await store.readStream('device-1')).toHaveLength(2);
      });

      it('streamRevision (optional): -1 for an absent stream, then the revision of its last event; a refused append moves nothing', async () => {
        // Optional in the port: an adapter that cannot tell a revision without reading the stream leaves it out.
        if (store.streamRevision === undefined) return;
        expect(await store.streamRevision('device-1')).toBe(-1);
        await store.append('device-1', events(3), { expectedRevision: 'no_stream' });
        await store.append('device-2', events(1), { expectedRevision: 'no_stream' });
        expect(await store.streamRevision('device-1')).toBe(2);
        await expect(attempt('device-1', 0)).rejects.toBeInstanceOf(WrongExpectedRevision);
        expect(await store.streamRevision('device-1')).toBe(2);
        expect(await store.streamRevision('device-2')).toBe(0);
        expect(await store.streamRevision('device-3')).toBe(-1);
      });

      it('appends to the same stream in call order, each seeing the one before', async () => {
        const [first, second] = await Promise.all([attempt('device-1', 'no_stream'), attempt('device-1', 0)]);

        expect(first.nextExpectedRevision).toBe(0);
        expect(second.nextExpectedRevision).toBe(1);
      });
    });

    describe('global log', () => {
      it('numbers events 1, 2, 3, … across streams in the order they were appended', async () => {
        const order: string[] = [];
        for (const streamId of ['a-1', 'b-1', 'a-1', 'c-1', 'b-1']) {
          const result = await store.append(streamId, events(2), { expectedRevision: 'any' });
          order.push(...result.events.map((event) => event.id));
        }

        const all = await store.readAll();
        expect(all.map((event) => event.position)).toEqual(Array.from({ length: 10 }, (_, index) => index + 1));
        expect(all.map((event) => event.id)).toEqual(order);
      });

      it('pages through the log with after (exclusive) and maxCount', async () => {
        for (let index = 0; index < 5; index++) await store.append(`device-${index}`, events(5), { expectedRevision: 'no_stream' });

        const pages: StoredEvent[][] = [];
        for (let after = 0; ; ) {
          const page = await store.readAll({ after, maxCount: 7 });
          if (page.length === 0) break;
          pages.push(page);
          after = page[page.length - 1]!.position;
        }

        expect(pages.map((page) => page.length)).toEqual([7, 7, 7, 4]);
        expect(pages.flat()).toEqual(await store.readAll());
        expect((await store.readAll({ after: 24 })).map((event) => event.position)).toEqual([25]);
        expect(await store.readAll({ after: 25 })).toEqual([]);
      });

      it('reads the same events without metadata when asked (metadata: false), for projections', async () => {
        for (let index = 0; index < 3; index++) await store.append(`device-${index}`, events(3), { expectedRevision: 'no_stream' });
        const withoutMetadata = ({ metadata: _metadata, ...rest }: StoredEvent): ProjectedEvent => rest;

        const full = await store.readAll({ after: 2, maxCount: 5 });
        const projected = await store.readAll({ after: 2, maxCount: 5, metadata: false });
        // An adapter may hand over whole events; what a projection can see must be the same.
        expect(projected.map((event) => withoutMetadata(event as StoredEvent))).toEqual(full.map(withoutMetadata));
        expect(projected.map((event) => event.position)).toEqual([3, 4, 5, 6, 7]);

        const delivered: ProjectedEvent[] = [];
        const subscription = store.subscribeToAll((batch) => void delivered.push(...batch), { after: 0, batchSize: 4, metadata: false });
        await eventually(() => delivered.length === 9);
        await subscription.stop();
        expect(delivered.map((event) => withoutMetadata(event as StoredEvent))).toEqual((await store.readAll()).map(withoutMetadata));
      });

      it('returns 1000 events per page by default and never more than 10000', async () => {
        await store.append('bulk-1', events(6000), { expectedRevision: 'no_stream' });
        await store.append('bulk-2', events(6000), { expectedRevision: 'no_stream' });

        expect(await store.readAll()).toHaveLength(1000);
        expect(await store.readAll({ maxCount: 50_000 })).toHaveLength(10_000);
      });

      it('stores 200 concurrent appends to 50 streams, gap-free and with contiguous revisions', async () => {
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, index) => store.append(`device-${index % 50}`, [newEvent()], { expectedRevision: 'any' })),
        );

        expect(new Set(results.map((result) => result.events[0]!.position)).size).toBe(200);
        const all = await store.readAll();
        expect(all.map((event) => event.position)).toEqual(Array.from({ length: 200 }, (_, index) => index + 1));
        for (let stream = 0; stream < 50; stream++) {
          const revisions = (await store.readStream(`device-${stream}`)).map((event) => event.revision);
          expect(revisions).toEqual([0, 1, 2, 3]);
        }
      });
    });

    describe('idempotency', () => {
      it('answers a repeated append as the first time and stores one copy', async () => {
        const appended = events(2);
        const first = await store.append('device-1', appended, { expectedRevision: 'no_stream' });
        await store.append('device-2', events(1), { expectedRevision: 'no_stream' });

        // The retry carries a stale expected revision: a duplicate is answered regardless.
        const again = await store.append('device-1', appended, { expectedRevision: 'no_stream' });
        const againWithAny = await store.append('device-1', appended, { expectedRevision: 'any' });

        expect(again).toEqual({ ...first, duplicate: true });
        expect(againWithAny).toEqual({ ...first, duplicate: true });
        expect(await store.headPosition()).toBe(3);
        expect(await store.readStream('device-1')).toEqual(first.events);
      });

      it('answers the first copy when the same append is made twice at once', async () => {
        const appended = events(2);
        const [one, two] = await Promise.all([
          store.append('device-1', appended, { expectedRevision: 'no_stream' }),
          store.append('device-1', appended, { expectedRevision: 'no_stream' }),
        ]);

        expect([one.duplicate, two.duplicate].sort()).toEqual([false, true]);
        expect(two.events).toEqual(one.events);
        expect(await store.headPosition()).toBe(2);
      });

      it('refuses an append that repeats only some of the ids of an earlier one, and writes nothing', async () => {
        const [a, b] = events(2) as [NewEvent, NewEvent];
        await store.append('device-1', [a, b], { expectedRevision: 'no_stream' });

        const refusals = [
          store.append('device-1', [a, newEvent()], { expectedRevision: 'any' }),
          store.append('device-1', [newEvent(), b], { expectedRevision: 'any' }),
          store.append('device-2', [a], { expectedRevision: 'any' }),
          store.append('device-1', [b, a], { expectedRevision: 'any' }),
          store.append('device-1', [{ ...a, type: 'DeviceShipped' }], { expectedRevision: 'any' }),
        ];

        for (const refusal of refusals) await expect(refusal).rejects.toBeInstanceOf(IdempotencyConflict);
        expect(await store.headPosition()).toBe(2);
        expect(await store.readStream('device-2')).toEqual([]);
      });

      it('a refused append does not disturb the appends made with it', async () => {
        const stored = newEvent();
        await store.append('device-1', [stored], { expectedRevision: 'no_stream' });

        const outcomes = await Promise.allSettled([
          store.append('device-2', [newEvent()], { expectedRevision: 'no_stream' }),
          store.append('device-3', [newEvent(), stored], { expectedRevision: 'no_stream' }),
          store.append('device-1', [newEvent()], { expectedRevision: 7 }),
          store.append('device-4', [newEvent()], { expectedRevision: 'no_stream' }),
        ]);

        expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
        expect((await store.readAll()).map((event) => [event.streamId, event.position])).toEqual([
          ['device-1', 1],
          ['device-2', 2],
          ['device-4', 3],
        ]);
      });
    });

    describe('getEvent', () => {
      it('finds a stored event by id and answers undefined for an unknown id', async () => {
        const result = await store.append('device-1', events(2), { expectedRevision: 'no_stream' });

        expect(await store.getEvent(result.events[1]!.id)).toEqual(result.events[1]);
        expect(await store.getEvent(randomUUID())).toBeUndefined();
      });
    });

    describe('bad input', () => {
      it('refuses an append without events, with a bad stream id or a bad expected revision', async () => {
        const invalid = [
          store.append('device-1', [], { expectedRevision: 'any' }),
          store.append('', [newEvent()], { expectedRevision: 'any' }),
          store.append(' device-1', [newEvent()], { expectedRevision: 'any' }),
          store.append('$all', [newEvent()], { expectedRevision: 'any' }),
          store.append('device 1', [newEvent()], { expectedRevision: 'any' }),
          store.append('device-1', [newEvent()], { expectedRevision: -1 }),
          store.append('device-1', [newEvent()], { expectedRevision: 1.5 }),
        ];

        for (const refusal of invalid) await expect(refusal).rejects.toBeInstanceOf(InvalidAppend);
        expect(await store.headPosition()).toBe(0);
      });

      it('refuses events that are malformed or whose data is not JSON, writing nothing of the append', async () => {
        const circular: Record<string, unknown> = {};
        circular['self'] = circular;
        const shared = newEvent();

        const invalid = [
          [newEvent(), newEvent({ data: { big: 10n } })],
          [newEvent({ data: circular })],
          [newEvent({ data: undefined })],
          [newEvent({ id: 'not-a-uuid' })],
          [newEvent({ type: '' })],
          [newEvent({ version: 0 })],
          [newEvent({ occurredAt: 'yesterday' })],
          [shared, shared],
        ];

        for (const batch of invalid) {
          await expect(store.append('device-1', batch, { expectedRevision: 'any' })).rejects.toBeInstanceOf(InvalidAppend);
        }
        expect(await store.headPosition()).toBe(0);
      });
    });

    describe('subscribeToAll', () => {
      it('catches up from a position, then delivers new events in order until stopped', async () => {
        await store.append('device-1', events(5), { expectedRevision: 'no_stream' });
        const delivered: StoredEvent[] = [];
        const batchSizes: number[] = [];

        const subscription = store.subscribeToAll(
          (batch) => {
            batchSizes.push(batch.length);
            delivered.push(...batch);
          },
          { after: 2, batchSize: 2 },
        );
        await eventually(() => delivered.length === 3);
        await store.append('device-2', events(3), { expectedRevision: 'no_stream' });
        await eventually(() => delivered.length === 6);
        await subscription.stop();
        await store.append('device-3', events(1), { expectedRevision: 'no_stream' });
        await new Promise((resolve) => setTimeout(resolve, 300));

        expect(delivered.map((event) => event.position)).toEqual([3, 4, 5, 6, 7, 8]);
        expect(Math.max(...batchSizes)).toBeLessThanOrEqual(2);
      });

      it('awaits the handler before delivering the next batch', async () => {
        await store.append('device-1', events(4), { expectedRevision: 'no_stream' });
        let running = 0;
        let overlapped = false;
        const delivered: number[] = [];

        const subscription = store.subscribeToAll(
          async (batch) => {
            running++;
            overlapped ||= running > 1;
            await new Promise((resolve) => setTimeout(resolve, 5));
            delivered.push(...batch.map((event) => event.position));
            running--;
          },
          { after: 0, batchSize: 1 },
        );
        await eventually(() => delivered.length === 4);
        await subscription.stop();

        expect(overlapped).toBe(false);
        expect(delivered).toEqual([1, 2, 3, 4]);
      });

      it('stops and reports through onError when the handler throws', async () => {
        await store.append('device-1', events(3), { expectedRevision: 'no_stream' });
        const failure = new Error('projection broke');
        const errors: unknown[] = [];
        let calls = 0;

        const subscription = store.subscribeToAll(
          () => {
            calls++;
            throw failure;
          },
          { after: 0, batchSize: 1, onError: (error) => errors.push(error) },
        );
        await eventually(() => errors.length === 1);
        await store.append('device-1', events(1), { expectedRevision: 2 });
        await subscription.stop();

        expect(errors).toEqual([failure]);
        expect(calls).toBe(1);
      });
    });

    describe('close', () => {
      it('stores appends made before close and refuses appends after', async () => {
        const pending = store.append('device-1', events(2), { expectedRevision: 'no_stream' });
        await store.close();

        await expect(pending).resolves.toMatchObject({ nextExpectedRevision: 1 });
        await expect(store.append('device-1', events(1), { expectedRevision: 1 })).rejects.toBeInstanceOf(StoreUnavailable);
      });

      it('stops its subscriptions', async () => {
        const delivered: StoredEvent[] = [];
        const subscription = store.subscribeToAll((batch) => void delivered.push(...batch), { after: 0 });
        await store.close();

        await expect(subscription.stop()).resolves.toBeUndefined();
      });
    });

    it('survives a reopen: every event, revision and idempotency answer is still there', async () => {
      if (subject.reopen === undefined) return; // a volatile adapter has nothing to keep
      const first = await store.append('device-1', events(2), { expectedRevision: 'no_stream' });
      await store.append('device-2', events(3), { expectedRevision: 'no_stream' });
      const before = await store.readAll();
      await store.close();

      const reopened = await subject.reopen();
      try {
        expect(await reopened.readAll()).toEqual(before);
        expect(await reopened.headPosition()).toBe(5);
        expect(await reopened.append('device-1', first.events.map(withoutStoreFields), { expectedRevision: 'any' })).toEqual({
          ...first,
          duplicate: true,
        });
        await expect(reopened.append('device-1', events(1), { expectedRevision: 0 })).rejects.toBeInstanceOf(WrongExpectedRevision);
        await expect(reopened.append('device-1', events(1), { expectedRevision: 1 })).resolves.toMatchObject({
          nextExpectedRevision: 2,
          events: [expect.objectContaining({ position: 6 })],
        });
      } finally {
        await reopened.close();
      }
    });

    it('behaves like a list of streams for any sequence of appends (property)', async () => {
      const command = fc.record({
        stream: fc.integer({ min: 0, max: 3 }),
        count: fc.integer({ min: 1, max: 3 }),
        expected: fc.oneof(
          fc.constantFrom<ExpectedRevision>('any', 'no_stream', 'stream_exists'),
          fc.integer({ min: 0, max: 6 }),
        ),
        /** When set, re-send an earlier append (by index) instead of new events. */
        repeat: fc.option(fc.nat(), { freq: 4 }),
      });

      await fc.assert(
        fc.asyncProperty(fc.array(command, { maxLength: 25 }), async (commands) => {
          const run = await factory();
          try {
            const model = new Map<string, string[]>();
            const log: string[] = [];
            const sent: { streamId: string; batch: NewEvent[]; written: boolean }[] = [];

            for (const { stream, count, expected, repeat } of commands) {
              const earlier = repeat !== null && sent.length > 0 ? sent[repeat % sent.length]! : undefined;
              const streamId = earlier?.streamId ?? `device-${stream}`;
              const batch = earlier?.batch ?? events(count);
              const outcome = await run.store.append(streamId, batch, { expectedRevision: expected }).then(
                (result) => result,
                (error: unknown) => error,
              );

              if (earlier?.written) {
                expect(outcome).toMatchObject({ duplicate: true });
                continue;
              }
              const current = (model.get(streamId)?.length ?? 0) - 1;
              const accepted =
                expected === 'any' ||
                (expected === 'no_stream' && current === -1) ||
                (expected === 'stream_exists' && current >= 0) ||
                expected === current;
              if (!accepted) {
                expect(outcome).toBeInstanceOf(WrongExpectedRevision);
                if (earlier === undefined) sent.push({ streamId, batch, written: false });
                continue;
              }
              expect(outcome).toMatchObject({ duplicate: false, nextExpectedRevision: current + batch.length });
              model.set(streamId, [...(model.get(streamId) ?? []), ...batch.map((event) => event.id)]);
              log.push(...batch.map((event) => event.id));
              if (earlier !== undefined) earlier.written = true;
              else sent.push({ streamId, batch, written: true });
            }

            const all = await run.store.readAll({ maxCount: 10_000 });
            expect(all.map((event) => event.id)).toEqual(log);
            expect(all.map((event) => event.position)).toEqual(log.map((_, index) => index + 1));
            for (const [streamId, ids] of model) {
              const stream = await run.store.readStream(streamId);
              expect(stream.map((event) => event.id)).toEqual(ids);
              expect(stream.map((event) => event.revision)).toEqual(ids.map((_, index) => index));
            }
          } finally {
            await run.cleanup();
          }
        }),
        { numRuns: 30 },
      );
    }, 60_000);
  });
};
