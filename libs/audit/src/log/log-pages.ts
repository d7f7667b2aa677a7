import type { EventStore, ReadAllOptions, StoredEvent } from '@devid/event-store';

/** An adapter that can stream the log without a promise per page (the SQLite one can). */
interface IteratingStore {
  readAllIterator(options?: ReadAllOptions): Iterable<StoredEvent>;
}

const canIterate = (store: EventStore): store is EventStore & IteratingStore =>
  typeof (store as Partial<IteratingStore>).readAllIterator === 'function';

/** The log could not be read past `after`: the next row is unreadable (e.g. its JSON is broken). */
export class LogReadError extends Error {
  constructor(
    readonly after: number,
    override readonly cause: unknown,
  ) {
    super(`the event after position ${after} cannot be read: ${String((cause as Error)?.message ?? cause)}`);
  }
}

/**
 * The global log after `after`, in pages, through the EventStore port only. Memory holds one
 * page. A row that cannot be read ends the iteration with LogReadError naming the last good
 * position (everything before it has been yielded).
 */
export async function* logPages(store: EventStore, after = 0, pageSize = 1000): AsyncGenerator<StoredEvent[]> {
  let last = after;
  if (canIterate(store)) {
    let page: StoredEvent[] = [];
    try {
      for (const event of store.readAllIterator({ after, maxCount: pageSize })) {
        page.push(event);
        if (page.length === pageSize) {
          last = page[page.length - 1]!.position;
          yield page;
          page = [];
        }
      }
    } catch (error) {
      if (page.length > 0) {
        last = page[page.length - 1]!.position;
        yield page;
      }
      throw new LogReadError(last, error);
    }
    if (page.length > 0) yield page;
    return;
  }
  for (;;) {
    let page: StoredEvent[];
    try {
      page = await store.readAll({ after: last, maxCount: pageSize });
    } catch (error) {
      // Find the unreadable row itself: everything before it is still handed out.
      for (;;) {
        let one: StoredEvent[];
        try {
          one = await store.readAll({ after: last, maxCount: 1 });
        } catch {
          throw new LogReadError(last, error);
        }
        if (one.length === 0) throw new LogReadError(last, error);
        yield one;
        last = one[0]!.position;
      }
    }
    if (page.length === 0) return;
    yield page;
    last = page[page.length - 1]!.position;
    if (page.length < pageSize) return;
  }
}
