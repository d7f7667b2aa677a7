import { trimLeastRecentlyUsed } from './recently-used';

describe('trimLeastRecentlyUsed', () => {
  it('lets the map grow a sixteenth past its size, then drops the oldest keys down to the size', () => {
    const map = new Map<number, string>();
    for (let key = 0; key < 1_000 + 62; key++) {
      map.set(key, `v${key}`);
      trimLeastRecentlyUsed(map, 1_000);
    }
    expect(map.size).toBe(1_062);
    map.set(1_062, 'v1062');
    trimLeastRecentlyUsed(map, 1_000);
    expect(map.size).toBe(1_000);
    expect([...map.keys()][0]).toBe(63);
    expect(map.get(1_062)).toBe('v1062');
  });

  it('keeps a key used again (moved to the end) over older ones', () => {
    const map = new Map<string, number>([['a', 1], ['b', 2], ['c', 3]]);
    map.delete('a');
    map.set('a', 1);
    for (let i = 0; i < 16; i++) map.set(`k${i}`, i); // 19 keys: b, c, a, k0 … k15
    trimLeastRecentlyUsed(map, 17);
    expect(map.has('b')).toBe(false);
    expect(map.has('c')).toBe(false);
    expect(map.has('a')).toBe(true);
    expect(map.size).toBe(17);
  });
});
