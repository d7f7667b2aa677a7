import type { EventStore, Subscription } from '@devid/event-store';
import type { Projection } from './projection';

export interface ProjectionRunnerOptions {
  batchSize?: number;
  /** Called once the projection stops on an error (a process warning without it); waitFor then rejects. */
  onError?: (error: unknown) => void;
}

/** A projection stopped applying events because applying or reading them failed. */
export class ProjectionStopped extends Error {
  constructor(
    readonly projection: string,
    override readonly cause: unknown,
  ) {
    super(`projection ${projection} stopped: ${String((cause as Error | undefined)?.message ?? cause)}`);
  }
}

/** Keeps a projection caught up with the store, from its stored checkpoint. */
export class ProjectionRunner {
  private subscription?: Subscription;
  private readonly waiters: Array<{ position: number; resolve: () => void; reject: (error: Error) => void }> = [];
  private failure?: ProjectionStopped;
  /**
   * The last position this runner has applied (a lower bound of the checkpoint): what waitFor
   * and the waiters compare with, without a read of the checkpoint per request and per page.
   */
  private appliedUpTo = 0;

  constructor(
    private readonly store: EventStore,
    readonly projection: Projection,
    private readonly options: ProjectionRunnerOptions = {},
  ) {}

  start(): void {
    if (this.subscription) return;
    const projection = this.projection;
    this.failure = undefined;
    this.appliedUpTo = projection.checkpoint();
    const options = {
      after: this.appliedUpTo,
      batchSize: this.options.batchSize ?? 1000,
      onError: (error: unknown) => this.fail(error),
    };
    this.subscription = projection.needsMetadata
      ? this.store.subscribeToAll((events) => {
          projection.apply(events);
          this.release(events);
        }, options)
      : // Data projections never read metadata: the store neither reads nor parses it.
        this.store.subscribeToAll(
          (events) => {
            projection.apply(events);
            this.release(events);
          },
          { ...options, metadata: false },
        );
  }

  /** Why the projection stopped applying events, until start() runs it again; undefined while it runs. */
  get stopped(): ProjectionStopped | undefined {
    return this.failure;
  }

  /**
   * Resolves once the projection has applied every event up to `position`; rejects with
   * ProjectionStopped if it stopped on an error before (it is started again by start()).
   */
  waitFor(position: number): Promise<void> {
    if (this.appliedUpTo >= position) return Promise.resolve();
    // Another process sharing the read model's file may have applied it already.
    if (this.projection.checkpoint() >= position) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ position, resolve, reject }));
  }

  /** The subscription stopped on an error: nothing more is applied, so nobody waits in vain. */
  private fail(error: unknown): void {
    this.subscription = undefined;
    this.failure = new ProjectionStopped(this.projection.name, error);
    if (this.options.onError) this.options.onError(error);
    else process.emitWarning(this.failure.message, { code: 'DEVID_PROJECTION_STOPPED' });
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = undefined;
  }

  /** Drops the read model and replays the whole log into it. */
  async rebuild(): Promise<void> {
    await this.stop();
    this.projection.reset();
    const head = await this.store.headPosition();
    this.start();
    await this.waitFor(head);
  }

  /** After apply(events): the checkpoint is at their last position or, if another process applied further, beyond. */
  private release(events: readonly { position: number }[]): void {
    const at = (this.appliedUpTo = Math.max(this.appliedUpTo, events[events.length - 1]!.position));
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i].position <= at) this.waiters.splice(i, 1)[0].resolve();
    }
  }
}
