// A subscription catching up a backlog from a store that reads synchronously (SQLite, memory)
// must leave the event loop to the rest of the process between pages: timers, I/O, HTTP.
import { CatchUpSubscription } from './catch-up-subscription';
import type { ProjectedEvent } from './event-store';

const backlog = (count: number): ProjectedEvent[] =>
  Array.from({ length: count }, (_, k) => ({
    id: `00000000-0000-4000-8000-${String(k + 1).padStart(12, '0')}`,
    type: 'DeviceManufactured',
    version: 1,
    streamId: `device-${k}`,
    revision: 0,
    position: k + 1,
    occurredAt: '2026-11-30T00:00:00.000Z',
    recordedAt: '2026-11-30T00:00:00.000Z',
    data: {},
  }));

describe('CatchUpSubscription over a backlog', () => {
  it('lets a timer and a setImmediate callback run between pages, and still hands every event over once, in order', async () => {
    const log = backlog(5_000);
    // As SqliteEventStore and the memory store read: already resolved.
    const readPage = (after: number, maxCount: number) => Promise.resolve(log.slice(after, after + maxCount));
    const handled: number[] = [];
    let caughtUp!: () => void;
    const done = new Promise<void>((resolve) => (caughtUp = resolve));
    const seenByTimer: number[] = [];
    const timer = setTimeout(() => seenByTimer.push(handled.length), 0);
    setImmediate(() => seenByTimer.push(handled.length));
    const subscription = new CatchUpSubscription(
      readPage,
      (page) => {
        for (const event of page) handled.push(event.position);
        if (handled.length === log.length) caughtUp();
      },
      { after: 0, batchSize: 100, pollIntervalMs: 60_000 },
    );
    await done;
    await subscription.stop();
    clearTimeout(timer);
    expect(handled).toEqual(log.map((event) => event.position));
    // Both ran while pages were still to come: the backlog did not hold the event loop.
    expect(seenByTimer).toHaveLength(2);
    for (const count of seenByTimer) expect(count).toBeLessThan(log.length);
  });
});
