/**
 * Collects work queued during one turn of the event loop and hands it to `commit` as one
 * group (one transaction, one fsync), at most `maxGroupSize` items at a time, so that
 * concurrent writers share the cost of durability. `commit` must settle every item itself
 * and must not throw.
 */
export class GroupCommitQueue<T> {
  private queue: T[] = [];
  private scheduled = false;
  private drainedWaiters: (() => void)[] = [];

  constructor(
    private readonly commit: (group: T[]) => void,
    private readonly maxGroupSize: number,
  ) {
    if (!Number.isSafeInteger(maxGroupSize) || maxGroupSize < 1) throw new RangeError(`maxGroupSize must be a positive integer`);
  }

  get pending(): number {
    return this.queue.length;
  }

  enqueue(item: T): void {
    this.queue.push(item);
    this.schedule();
  }

  /** Resolves once everything queued so far (and queued meanwhile) has been committed. */
  drained(): Promise<void> {
    if (this.queue.length === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.drainedWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    // setImmediate, not a microtask: writers woken by the previous commit re-append first.
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const group = this.queue.length <= this.maxGroupSize ? this.queue : this.queue.slice(0, this.maxGroupSize);
    this.queue = group === this.queue ? [] : this.queue.slice(this.maxGroupSize);
    this.commit(group);
    if (this.queue.length > 0) {
      this.schedule();
      return;
    }
    const waiters = this.drainedWaiters;
    this.drainedWaiters = [];
    for (const resolve of waiters) resolve();
  };
}
