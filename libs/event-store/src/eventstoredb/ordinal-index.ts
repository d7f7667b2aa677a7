import { compareLogPositions, type LogPosition } from './log-position';

/** Every MARK_EVERY-th event's $all position is kept, so a read by ordinal skips at most MARK_EVERY - 1 events. */
export const MARK_EVERY = 64;

export interface SeekPoint {
  ordinal: number;
  position: LogPosition;
}

/**
 * Maps the ledger's gap-free positions (1, 2, 3, … — the ordinal of an event among the
 * ledger's events in $all) to EventStoreDB's $all positions, and event ids to ordinals.
 *
 * The ordinal of an event is the number of ledger events at or before it in $all, so every
 * process that counts the same $all gets the same numbers: replicas agree without talking.
 * Derived state: rebuilt by reading $all once on open, then extended as the log grows.
 * Memory: a Map entry per event id (~100 bytes) plus one position per MARK_EVERY events.
 */
export class OrdinalIndex {
  private count = 0;
  private last: LogPosition | undefined;
  /** marks[k] is the $all position of ordinal k * MARK_EVERY + 1. */
  private readonly marks: LogPosition[] = [];
  private readonly ordinals = new Map<string, number>();

  /** Ordinal of the last counted event (0: none). */
  get head(): number {
    return this.count;
  }

  /** $all position of the last counted event; undefined before the first. */
  get tail(): LogPosition | undefined {
    return this.last;
  }

  /**
   * Counts the next ledger event of $all. Returns its ordinal, or undefined when the
   * position is not after the tail (an event already counted, e.g. a read that starts at
   * the tail inclusively).
   */
  add(eventId: string, position: LogPosition): number | undefined {
    if (this.last !== undefined && compareLogPositions(position, this.last) <= 0) return undefined;
    const ordinal = ++this.count;
    if ((ordinal - 1) % MARK_EVERY === 0) this.marks.push(position);
    // The first copy answers for an id (a second copy could only come from a race of two writers).
    if (!this.ordinals.has(eventId)) this.ordinals.set(eventId, ordinal);
    this.last = position;
    return ordinal;
  }

  ordinalOf(eventId: string): number | undefined {
    return this.ordinals.get(eventId);
  }

  /** The marked event at or before `ordinal` (1..head): where a read of $all must start to reach it. */
  seek(ordinal: number): SeekPoint {
    if (!Number.isSafeInteger(ordinal) || ordinal < 1 || ordinal > this.count) throw new RangeError(`no event at position ${ordinal}`);
    const mark = Math.floor((ordinal - 1) / MARK_EVERY);
    return { ordinal: mark * MARK_EVERY + 1, position: this.marks[mark]! };
  }
}

/**
 * Numbers the events of a forward read of $all that started at `from`. Whether the server
 * includes the event at the start position or not, the event at exactly `from.position` is
 * `from.ordinal` and each later one the next ordinal; anything before it is dropped.
 */
export const numberFrom = <E extends { position: LogPosition }>(from: SeekPoint, events: readonly E[]): Array<{ ordinal: number; event: E }> => {
  const numbered: Array<{ ordinal: number; event: E }> = [];
  let next = from.ordinal + 1;
  for (const event of events) {
    const order = compareLogPositions(event.position, from.position);
    if (order < 0) continue;
    if (order === 0) numbered.push({ ordinal: from.ordinal, event });
    else numbered.push({ ordinal: next++, event });
  }
  return numbered;
};
