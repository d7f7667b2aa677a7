import type { EventStore, ReadAllOptions, StoredEvent, StoredEventText } from '@devid/event-store';

/** An adapter that can stream the log without a promise per page (the SQLite one can). */
interface IteratingStore {
  readAllIterator(options?: ReadAllOptions): Iterable<StoredEvent>;
}

const canIterate = (store: EventStore): store is EventStore & IteratingStore =>
  typeof (store as Partial<IteratingStore>).readAllIterator === 'function';

/** …and hand data and metadata out as the stored JSON text (the SQLite one can). */
interface TextIteratingStore {
  readAllTextIterator(options?: ReadAllOptions): Iterable<StoredEventText>;
}

/** Whether logTextPages hands out the stored text of this store's events (else parsed events). */
export const canIterateText = (store: EventStore): store is EventStore & TextIteratingStore =>
  typeof (store as Partial<TextIteratingStore>).readAllTextIterator === 'function';

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
    yield* pagesOf(() => store.readAllIterator({ after, maxCount: pageSize }), after, pageSize);
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

/**
 * logPages, with data and metadata as the stored JSON text where the adapter keeps text (no
 * JSON.parse: for readers that hash the bytes); other adapters' events come parsed.
 */
export async function* logTextPages(store: EventStore, after = 0, pageSize = 1000): AsyncGenerator<(StoredEvent | StoredEventText)[]> {
  if (canIterateText(store)) yield* pagesOf(() => store.readAllTextIterator({ after, maxCount: pageSize }), after, pageSize);
  else yield* logPages(store, after, pageSize);
}

/** An adapter's synchronous log iterator cut into pages; a read error becomes LogReadError. */
function* pagesOf<T extends { position: number }>(iterate: () => Iterable<T>, after: number, pageSize: number): Generator<T[]> {
  let last = after;
  let page: T[] = [];
  try {
    for (const event of iterate()) {
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
}
