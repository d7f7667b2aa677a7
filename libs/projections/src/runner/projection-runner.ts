import type { EventStore, Subscription } from '@devid/event-store';
import type { Projection } from './projection';

export interface ProjectionRunnerOptions {
  batchSize?: number;
  onError?: (error: unknown) => void;
}

/** Keeps a projection caught up with the store, from its stored checkpoint. */
export class ProjectionRunner {
  private subscription?: Subscription;
  private readonly waiters: Array<{ position: number; resolve: () => void }> = [];

  constructor(
    private readonly store: EventStore,
    readonly projection: Projection,
    private readonly options: ProjectionRunnerOptions = {},
  ) {}

  start(): void {
    if (this.subscription) return;
    this.subscription = this.store.subscribeToAll(
      (events) => {
        this.projection.apply(events);
        this.release();
      },
      {
        // Projections fold data, never metadata: the store neither reads nor parses it.
        metadata: false,
        after: this.projection.checkpoint(),
        batchSize: this.options.batchSize ?? 1000,
        onError: this.options.onError ?? (() => undefined),
      },
    );
  }

  /** Resolves once the projection has applied every event up to `position`. */
  waitFor(position: number): Promise<void> {
    if (this.projection.checkpoint() >= position) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ position, resolve }));
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

  private release(): void {
    const at = this.projection.checkpoint();
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i].position <= at) this.waiters.splice(i, 1)[0].resolve();
    }
  }
}
