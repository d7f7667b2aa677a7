interface Generation {
  /** stream id → its revisions here: `first` and the positions of first, first+1, … */
  streams: Map<string, { first: number; positions: number[] }>;
  /** event id → position. */
  ids: Map<string, number>;
}

const generation = (): Generation => ({ streams: new Map(), ids: new Map() });

/** The rows of a sealed generation, flat, as the index flush writes them (unsorted). */
export interface SealedRows {
  /** (stream id, revision, position) triples. */
  streamRows: (string | number)[];
  /** (event id, position) pairs. */
  idRows: (string | number)[];
}

/**
 * The events after the index checkpoint, indexed in memory: per stream the positions of its
 * newest revisions, and every event id. A flush seals what is there (new events go to a fresh
 * generation meanwhile), writes it to stream_index / event_ids, then releases it; a failed
 * flush unseals it. On open it is rebuilt by scanning the log after the checkpoint.
 */
export class IndexTail {
  private active = generation();
  /** What a flush under way is writing; still answers lookups until released. */
  private sealed: Generation | undefined;

  /** Number of unflushed events. */
  get size(): number {
    return this.active.ids.size + (this.sealed?.ids.size ?? 0);
  }

  add(streamId: string, revision: number, id: string, position: number): void {
    const stream = this.active.streams.get(streamId);
    if (stream === undefined) this.active.streams.set(streamId, { first: revision, positions: [position] });
    else stream.positions.push(position);
    this.active.ids.set(id, position);
  }

  /** Takes back the newest add() of `streamId` (a rolled-back append). */
  removeLast(streamId: string, id: string): void {
    const from = this.active.ids.has(id) || this.sealed === undefined ? this.active : this.sealed;
    const stream = from.streams.get(streamId);
    if (stream !== undefined) {
      stream.positions.pop();
      if (stream.positions.length === 0) from.streams.delete(streamId);
    }
    from.ids.delete(id);
  }

  positionOf(id: string): number | undefined {
    return this.active.ids.get(id) ?? this.sealed?.ids.get(id);
  }

  /** Positions of the unflushed revisions ≥ fromRevision of a stream, in revision order. */
  positionsFrom(streamId: string, fromRevision: number): number[] {
    const older = this.sealed?.streams.get(streamId);
    const newer = this.active.streams.get(streamId);
    const part = (stream: { first: number; positions: number[] } | undefined): number[] =>
      stream === undefined ? [] : stream.positions.slice(Math.max(0, fromRevision - stream.first));
    return older === undefined ? part(newer) : [...part(older), ...part(newer)];
  }

  /**
   * Seals the events up to position `upTo` for a flush and returns their rows and the id of the
   * event at `upTo`; later events (groups still in flight) and later adds stay unsealed.
   */
  seal(upTo: number): SealedRows & { upToId: string | undefined } {
    if (this.sealed !== undefined) throw new Error('a flush is already under way');
    const sealed = (this.sealed = this.active);
    this.active = generation();
    const streamRows: (string | number)[] = [];
    for (const [streamId, stream] of sealed.streams) {
      const { first, positions } = stream;
      let kept = positions.length;
      while (kept > 0 && positions[kept - 1]! > upTo) kept--;
      for (let k = 0; k < kept; k++) streamRows.push(streamId, first + k, positions[k]!);
      if (kept < positions.length) {
        this.active.streams.set(streamId, { first: first + kept, positions: positions.splice(kept) });
        if (kept === 0) sealed.streams.delete(streamId);
      }
    }
    const idRows: (string | number)[] = [];
    let upToId: string | undefined;
    for (const [id, position] of sealed.ids) {
      if (position > upTo) {
        sealed.ids.delete(id);
        this.active.ids.set(id, position);
        continue;
      }
      idRows.push(id, position);
      if (position === upTo) upToId = id;
    }
    return { streamRows, idRows, upToId };
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
    for (const [streamId, newer] of this.active.streams) {
      const older = sealed.streams.get(streamId);
      if (older === undefined) sealed.streams.set(streamId, newer);
      else older.positions.push(...newer.positions);
    }
    for (const [id, position] of this.active.ids) sealed.ids.set(id, position);
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
