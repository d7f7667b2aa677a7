import { MemoryEventStore, type ProjectedEvent, type StoredEvent } from '@devid/event-store';
import { ProjectionRunner, ProjectionStopped } from './projection-runner';
import type { DataProjection, WholeEventProjection } from './projection';

const event = (n: number) => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  type: 'Noted',
  version: 1,
  occurredAt: '2026-01-01T00:00:00.000Z',
  data: { n },
  metadata: { actor: 'test', causationId: 'c', commandId: 'c', correlationId: 'c' },
});

/** Applies events in memory; throws on the event whose data.n is `failOn`. */
class Counting implements DataProjection {
  readonly name = 'counting';
  readonly seen: ProjectedEvent[] = [];
  constructor(private readonly failOn = -1) {}
  checkpoint = () => this.seen.at(-1)?.position ?? 0;
  apply = (events: readonly ProjectedEvent[]) => {
    for (const e of events) {
      if ((e.data as { n: number }).n === this.failOn) throw new Error(`cannot apply ${this.failOn}`);
      this.seen.push(e);
    }
  };
  reset = () => void this.seen.splice(0);
}

class Whole implements WholeEventProjection {
  readonly name = 'whole';
  readonly needsMetadata = true;
  readonly seen: StoredEvent[] = [];
  checkpoint = () => this.seen.at(-1)?.position ?? 0;
  apply = (events: readonly StoredEvent[]) => void this.seen.push(...events);
  reset = () => void this.seen.splice(0);
}

describe('ProjectionRunner', () => {
  let store: MemoryEventStore;
  beforeEach(async () => {
    store = new MemoryEventStore();
    for (let n = 1; n <= 5; n++) await store.append(`s-${n}`, [event(n)], { expectedRevision: 'no_stream' });
  });
  afterEach(() => store.close());

  it('catches a projection up and resolves waitFor; a projection that needs metadata gets it', async () => {
    const data = new ProjectionRunner(store, new Counting(), { batchSize: 2 });
    const whole = new ProjectionRunner(store, new Whole());
    data.start();
    whole.start();
    await Promise.all([data.waitFor(5), whole.waitFor(5)]);
    expect((data.projection as Counting).seen.map((e) => e.position)).toEqual([1, 2, 3, 4, 5]);
    expect((whole.projection as Whole).seen.map((e) => e.metadata.actor)).toEqual(Array(5).fill('test'));
    await Promise.all([data.stop(), whole.stop()]);
  });

  it('resolves waitFor for a position another process has applied to a shared read model, before this runner gets there', async () => {
    const projection = new Counting();
    const runner = new ProjectionRunner(store, projection);
    // The checkpoint another process moved on the file both share.
    projection.checkpoint = () => 4;
    await expect(runner.waitFor(4)).resolves.toBeUndefined();
    expect(projection.seen).toEqual([]);
  });

  it('waits again from the start after a rebuild: rebuild() resolves once every event is applied anew', async () => {
    const projection = new Counting();
    const runner = new ProjectionRunner(store, projection, { batchSize: 2 });
    runner.start();
    await runner.waitFor(5);
    await runner.rebuild();
    expect(projection.seen.map((e) => e.position)).toEqual([1, 2, 3, 4, 5]);
    await runner.stop();
  });

  it('rejects waitFor with ProjectionStopped when applying fails, instead of leaving callers waiting, and tells onError', async () => {
    const errors: unknown[] = [];
    const runner = new ProjectionRunner(store, new Counting(3), { onError: (error) => errors.push(error) });
    const waiting = runner.waitFor(5);
    runner.start();
    await expect(waiting).rejects.toThrow(ProjectionStopped);
    await expect(runner.waitFor(5)).rejects.toThrow(/projection counting stopped: cannot apply 3/);
    expect(errors).toHaveLength(1);
    expect(runner.projection.checkpoint()).toBe(2);
    await expect(runner.waitFor(2)).resolves.toBeUndefined();
    await runner.stop();
  });
});
