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

  /**
   * @param nextGroupSize how many of the `pending` items the next group takes (capped by
   *   maxGroupSize); the rest go in the following turn. Everything by default.
   */
  constructor(
    private readonly commit: (group: T[]) => void,
    private readonly maxGroupSize: number,
    private readonly nextGroupSize: (pending: number) => number = (pending) => pending,
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

  /** Puts items back at the head of the queue, in order (a group that must be validated again). */
  requeueFront(items: T[]): void {
    if (items.length === 0) return;
    this.queue = [...items, ...this.queue];
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
    const size = Math.max(1, Math.min(this.maxGroupSize, this.nextGroupSize(this.queue.length)));
    const group = this.queue.length <= size ? this.queue : this.queue.slice(0, size);
    this.queue = group === this.queue ? [] : this.queue.slice(size);
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
