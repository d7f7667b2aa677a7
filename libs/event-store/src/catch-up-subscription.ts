import type { AllHandler, ProjectedEvent, StoredEvent, SubscribeOptions, Subscription } from './event-store';
import { nonNegative, pageSize } from './read-limits';

/** A subscription its store wakes when it commits. */
export interface LiveSubscription extends Subscription {
  notify(): void;
}

export type LogPageReader<E extends ProjectedEvent = StoredEvent> = (after: number, maxCount: number) => Promise<E[]>;

export interface CatchUpOptions extends SubscribeOptions {
  /** Re-read the log this often when idle: catches appends made by other processes. */
  pollIntervalMs: number;
  /** Called once the subscription has ended, whatever the reason (lets the store forget it). */
  onEnd?: (subscription: LiveSubscription) => void;
}

/** Resolves once the event loop has run what was waiting (I/O, timers): setImmediate, not a microtask. */
const nextTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Reads the global log from `after` page by page, awaiting the handler per page, then
 * waits for a notify() (an in-process commit) or the poll interval before reading again.
 * Shared by the adapters that read their own log.
 */
export class CatchUpSubscription<E extends ProjectedEvent = StoredEvent> implements LiveSubscription {
  private stopping = false;
  /** Set by notify() so a commit that lands while a page is being read is not missed. */
  private notified = false;
  private wake: (() => void) | undefined;
  private readonly finished: Promise<void>;

  constructor(
    private readonly readPage: LogPageReader<E>,
    private readonly handler: AllHandler<E>,
    private readonly options: CatchUpOptions,
  ) {
    const after = nonNegative('after', options.after);
    const batchSize = pageSize(options.batchSize);
    this.finished = this.run(after, batchSize);
  }

  /** New events were committed: read now instead of at the next poll. */
  notify(): void {
    this.notified = true;
    this.wake?.();
  }

  /** Do not await this from inside the handler: it waits for the handler to return. */
  stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    return this.finished;
  }

  private async run(after: number, batchSize: number): Promise<void> {
    let position = after;
    try {
      while (!this.stopping) {
        this.notified = false;
        const page = await this.readPage(position, batchSize);
        if (this.stopping) break;
        if (page.length === 0) {
          await this.idle();
          continue;
        }
        await this.handler(page);
        position = page[page.length - 1]!.position;
        // A full page: more may follow. A store that reads synchronously (SQLite, memory) resolves
        // every read at once, so without this a backlog of N pages would be caught up in one run
        // of microtasks, with no timer, no I/O and no HTTP request served until its end.
        if (page.length === batchSize && !this.stopping) await nextTask();
      }
    } catch (error) {
      this.stopping = true;
      this.report(error);
    } finally {
      this.options.onEnd?.(this);
    }
  }

  private idle(): Promise<void> {
    if (this.notified || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake?.(), this.options.pollIntervalMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private report(error: unknown): void {
    const { onError } = this.options;
    if (onError === undefined) {
      process.emitWarning(`event-store subscription stopped: ${error instanceof Error ? error.message : String(error)}`, {
        code: 'DEVID_SUBSCRIPTION_FAILED',
      });
      return;
    }
    try {
      onError(error);
    } catch (reportFailure) {
      // An onError that throws must not turn into an unhandled rejection.
      process.emitWarning(`event-store subscription onError threw: ${String(reportFailure)}`, { code: 'DEVID_SUBSCRIPTION_FAILED' });
    }
  }
}
