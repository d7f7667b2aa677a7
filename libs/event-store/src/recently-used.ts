/**
 * Keeps a Map used as a least-recently-used cache (oldest key first, a use moves a key to the
 * end) at about `size` entries: once it holds a sixteenth more, the oldest go, down to `size`,
 * in one pass. One delete per insert would cost far more: a Map leaves a hole where a key was
 * deleted until it next rehashes, and each new iteration walks over the holes at the front (a
 * scan of thousands per insert, measured 10 µs at 10,000 entries).
 */
export function trimLeastRecentlyUsed<K, V>(map: Map<K, V>, size: number): void {
  if (map.size <= size + (size >> 4)) return;
  let excess = map.size - size;
  for (const key of map.keys()) {
    if (excess-- <= 0) break;
    map.delete(key);
  }
}
