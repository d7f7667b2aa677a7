/** The rows of a sealed generation, flat, as the index flush writes them (unsorted). */
export interface SealedRows {
  /** (stream id, revision, position) triples. */
  streamRows: (string | number)[];
  /** (event_ids key, position) pairs: the keys are computed once, on add. */
  idRows: number[];
}

const EMPTY = 0;

/**
 * Events of the tail in position order, held in typed arrays: no object per event (the tail
 * lives for hundreds of milliseconds, through several scavenges). Per stream, its newest
 * event here and, per event, the previous one of its stream; per id key, the event in an
 * open-addressing table (linear probing; the id itself decides between equal keys). Only the
 * newest event is ever removed, and it was the last one put in the table: emptying its slot
 * breaks no other event's probe sequence, so the table needs no tombstones.
 */
class Generation {
  count = 0;
  private positions = new Float64Array(256);
  private revisions = new Float64Array(256);
  private keys = new Float64Array(256);
  /** Index of the previous event of the same stream in this generation, or -1. */
  private previous = new Int32Array(256);
  private readonly ids: string[] = [];
  private readonly streamIds: string[] = [];
  /** stream id → index of its newest event here. */
  private readonly newest = new Map<string, number>();
  /** Open addressing, at most half full: event index + 1, or EMPTY; its key is keys[index]. */
  private slots = new Int32Array(512);

  add(streamId: string, revision: number, id: string, key: number, position: number): void {
    const index = this.count;
    if (index === this.positions.length) this.growEvents();
    if ((this.count + 1) * 2 > this.slots.length) this.rehash(this.count + 1);
    this.positions[index] = position;
    this.revisions[index] = revision;
    this.keys[index] = key;
    this.previous[index] = this.newest.get(streamId) ?? -1;
    this.newest.set(streamId, index);
    this.ids.push(id);
    this.streamIds.push(streamId);
    this.count++;
    let slot = slotOf(key, this.slots.length - 1);
    while (this.slots[slot] !== EMPTY) slot = (slot + 1) & (this.slots.length - 1);
    this.slots[slot] = index + 1;
  }

  /** Removes the newest event. */
  pop(): void {
    const index = --this.count;
    const before = this.previous[index]!;
    const streamId = this.streamIds.pop()!;
    if (before === -1) this.newest.delete(streamId);
    else this.newest.set(streamId, before);
    this.ids.pop();
    const mask = this.slots.length - 1;
    for (let slot = slotOf(this.keys[index]!, mask); this.slots[slot] !== EMPTY; slot = (slot + 1) & mask) {
      if (this.slots[slot] === index + 1) {
        this.slots[slot] = EMPTY;
        return;
      }
    }
  }

  lastId(): string | undefined {
    return this.ids[this.count - 1];
  }

  positionAt(index: number): number {
    return this.positions[index]!;
  }

  /** The event at `index` as add() took it. */
  eventAt(index: number): [streamId: string, revision: number, id: string, key: number, position: number] {
    return [this.streamIds[index]!, this.revisions[index]!, this.ids[index]!, this.keys[index]!, this.positions[index]!];
  }

  positionOf(id: string, key: number): number | undefined {
    const mask = this.slots.length - 1;
    for (let slot = slotOf(key, mask); ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === EMPTY) return undefined;
      if (this.keys[entry - 1] === key && this.ids[entry - 1] === id) return this.positions[entry - 1];
    }
  }

  /** Positions of the stream's revisions ≥ fromRevision here, in revision order. */
  positionsFrom(streamId: string, fromRevision: number): number[] {
    const found: number[] = [];
    for (let index = this.newest.get(streamId) ?? -1; index !== -1 && this.revisions[index]! >= fromRevision; index = this.previous[index]!) {
      found.push(this.positions[index]!);
    }
    return found.reverse();
  }

  rows(): SealedRows {
    const streamRows: (string | number)[] = [];
    const idRows: number[] = [];
    for (let index = 0; index < this.count; index++) {
      streamRows.push(this.streamIds[index]!, this.revisions[index]!, this.positions[index]!);
      idRows.push(this.keys[index]!, this.positions[index]!);
    }
    return { streamRows, idRows };
  }

  private growEvents(): void {
    const grown = <T extends Float64Array | Int32Array>(array: T): T => {
      const bigger = new (array.constructor as new (length: number) => T)(array.length * 2);
      bigger.set(array);
      return bigger;
    };
    this.positions = grown(this.positions);
    this.revisions = grown(this.revisions);
    this.keys = grown(this.keys);
    this.previous = grown(this.previous);
  }

  /** A table twice as large, for at least `events` events. */
  private rehash(events: number): void {
    let size = 512;
    while (size < events * 4) size *= 2;
    const slots = new Int32Array(size);
    const mask = size - 1;
    for (let index = 0; index < this.count; index++) {
      let slot = slotOf(this.keys[index]!, mask);
      while (slots[slot] !== EMPTY) slot = (slot + 1) & mask;
      slots[slot] = index + 1;
    }
    this.slots = slots;
  }
}

/** All 52 bits of the key, mixed: ids of other UUID versions (v7: a timestamp first) are not random everywhere. */
const slotOf = (key: number, mask: number): number => {
  const mixed = Math.imul((key >>> 0) ^ Math.floor(key / 4294967296), 0x9e3779b1);
  return (mixed ^ (mixed >>> 15)) & mask;
};

/**
 * The events after the index checkpoint, indexed in memory: per stream the positions of its
 * newest revisions, and every event id. A flush seals what is there (new events go to a fresh
 * generation meanwhile), writes it to stream_index / event_ids, then releases it; a failed
 * flush unseals it. On open it is rebuilt by scanning the log after the checkpoint.
 * Events are added in position order, and only the newest is ever taken back (removeLast).
 */
export class IndexTail {
  private active = new Generation();
  /** What a flush under way is writing; still answers lookups until released. */
  private sealed: Generation | undefined;

  /** Number of unflushed events. */
  get size(): number {
    return this.active.count + (this.sealed?.count ?? 0);
  }

  /** `key` is idKey(id), when the caller has it already. */
  add(streamId: string, revision: number, id: string, position: number, key = idKey(id)): void {
    this.active.add(streamId, revision, id, key, position);
  }

  /** Takes back the newest add(), of `id` (a rolled-back append). */
  removeLast(id: string): void {
    if (this.active.count > 0 && this.active.lastId() === id) this.active.pop();
    else if (this.sealed !== undefined && this.sealed.lastId() === id) this.sealed.pop();
  }

  positionOf(id: string, key = idKey(id)): number | undefined {
    return this.active.positionOf(id, key) ?? this.sealed?.positionOf(id, key);
  }

  /** Positions of the unflushed revisions ≥ fromRevision of a stream, in revision order. */
  positionsFrom(streamId: string, fromRevision: number): number[] {
    const newer = this.active.positionsFrom(streamId, fromRevision);
    if (this.sealed === undefined) return newer;
    const older = this.sealed.positionsFrom(streamId, fromRevision);
    return older.length === 0 ? newer : [...older, ...newer];
  }

  /**
   * Seals the events up to position `upTo` for a flush and returns their rows and the id of the
   * event at `upTo`; later events (groups still in flight) and later adds stay unsealed.
   */
  seal(upTo: number): SealedRows & { upToId: string | undefined } {
    if (this.sealed !== undefined) throw new Error('a flush is already under way');
    const sealed = this.active;
    this.active = new Generation();
    let kept = sealed.count;
    while (kept > 0 && sealed.positionAt(kept - 1) > upTo) kept--;
    const later = [];
    for (let index = kept; index < sealed.count; index++) later.push(sealed.eventAt(index));
    while (sealed.count > kept) sealed.pop();
    for (const [streamId, revision, id, key, position] of later) this.active.add(streamId, revision, id, key, position);
    this.sealed = sealed;
    const upToId = sealed.count > 0 && sealed.positionAt(sealed.count - 1) === upTo ? sealed.lastId() : undefined;
    return { ...sealed.rows(), upToId };
  }

  /** The flush committed: the sealed events are in the index now. */
  release(): void {
    this.sealed = undefined;
  }

  /** The flush failed: the sealed events are unflushed again, before the newer ones. */
  unseal(): void {
    const sealed = this.sealed;
    if (sealed === undefined) return;
    this.sealed = undefined;
    for (let index = 0; index < this.active.count; index++) {
      const [streamId, revision, id, key, position] = this.active.eventAt(index);
      sealed.add(streamId, revision, id, key, position);
    }
    this.active = sealed;
  }
}

/**
 * The key of an event id in event_ids: 52 bits of the UUID (hex digits 1–8, 10–13 and 16,
 * skipping the version digit), a safe integer. Different ids may share a key.
 */
export const idKey = (id: string): number => parseInt(id.slice(0, 8) + id.slice(9, 13) + id.slice(15, 16), 16);

/**
 * A scalable Bloom filter over event-id keys: answers "certainly not stored" for a new id
 * without a B-tree probe of event_ids (the common case of an append). When one filter holds
 * its capacity a twice larger one is started; the old ones keep answering. 16 bits and 4
 * hashes per key: about 0.25 % false positives per filter, each costing one probe.
 */
export class IdKeyFilter {
  private readonly filters: { bits: Uint32Array; mask: number; capacity: number; count: number }[] = [];

  constructor(initialCapacity = 1 << 16) {
    this.grow(initialCapacity);
  }

  add(key: number): void {
    let filter = this.filters[this.filters.length - 1]!;
    if (filter.count >= filter.capacity) filter = this.grow(filter.capacity * 2);
    const [h1, h2] = hashes(key);
    for (let i = 0; i < 4; i++) {
      const bit = (h1 + Math.imul(i, h2)) & filter.mask;
      filter.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    filter.count++;
  }

  mightContain(key: number): boolean {
    const [h1, h2] = hashes(key);
    outer: for (const filter of this.filters) {
      for (let i = 0; i < 4; i++) {
        const bit = (h1 + Math.imul(i, h2)) & filter.mask;
        if ((filter.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) continue outer;
      }
      return true;
    }
    return false;
  }

  private grow(capacity: number): IdKeyFilter['filters'][number] {
    let size = 32;
    while (size < capacity * 16) size *= 2;
    const filter = { bits: new Uint32Array(size / 32), mask: size - 1, capacity, count: 0 };
    this.filters.push(filter);
    return filter;
  }
}

/** Two 32-bit hashes of a 52-bit key (already random: UUID bits), for double hashing. */
const hashes = (key: number): [number, number] => {
  const low = key >>> 0;
  const high = Math.floor(key / 4294967296);
  return [low, (Math.imul(high ^ low, 0x9e3779b1) ^ (low >>> 16)) | 1];
};
