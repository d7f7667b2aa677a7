/**
 * The events after the index checkpoint, indexed in memory: per stream the positions of its
 * newest revisions, and every event id. A flush writes them to stream_index / event_ids in
 * one transaction and clears them; on open they are rebuilt by scanning the log.
 */
export class IndexTail {
  /** stream id → its unflushed revisions: `first` and the positions of first, first+1, … */
  private readonly streams = new Map<string, { first: number; positions: number[] }>();
  /** event id → position, for every unflushed event. */
  private readonly ids = new Map<string, number>();

  /** Number of unflushed events. */
  get size(): number {
    return this.ids.size;
  }

  add(streamId: string, revision: number, id: string, position: number): void {
    const stream = this.streams.get(streamId);
    if (stream === undefined) this.streams.set(streamId, { first: revision, positions: [position] });
    else stream.positions.push(position);
    this.ids.set(id, position);
  }

  /** Takes back the newest add() of `streamId` (a rolled-back append). */
  removeLast(streamId: string, id: string): void {
    const stream = this.streams.get(streamId);
    if (stream !== undefined) {
      stream.positions.pop();
      if (stream.positions.length === 0) this.streams.delete(streamId);
    }
    this.ids.delete(id);
  }

  positionOf(id: string): number | undefined {
    return this.ids.get(id);
  }

  /** Positions of the unflushed revisions ≥ fromRevision of a stream, in revision order. */
  positionsFrom(streamId: string, fromRevision: number): number[] {
    const stream = this.streams.get(streamId);
    if (stream === undefined) return [];
    return stream.positions.slice(Math.max(0, fromRevision - stream.first));
  }

  /** Every unflushed (stream, revision, position), sorted by stream id then revision (B-tree order). */
  *streamEntries(): Generator<[streamId: string, revision: number, position: number]> {
    const streamIds = [...this.streams.keys()].sort();
    for (const streamId of streamIds) {
      const { first, positions } = this.streams.get(streamId)!;
      for (let k = 0; k < positions.length; k++) yield [streamId, first + k, positions[k]!];
    }
  }

  /** Every unflushed (id, position). */
  idEntries(): IterableIterator<[id: string, position: number]> {
    return this.ids.entries();
  }

  clear(): void {
    this.streams.clear();
    this.ids.clear();
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
