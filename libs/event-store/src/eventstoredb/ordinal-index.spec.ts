import { MARK_EVERY, numberFrom, OrdinalIndex } from './ordinal-index';

const at = (commit: number, prepare = commit) => ({ commit: BigInt(commit), prepare: BigInt(prepare) });

describe('OrdinalIndex', () => {
  it('numbers ledger events 1, 2, 3 … in $all order, whatever the gaps between their $all positions', () => {
    const index = new OrdinalIndex();

    expect([index.add('a', at(120)), index.add('b', at(4_000)), index.add('c', at(4_000, 4_100)), index.add('d', at(9_999_999))]).toEqual([1, 2, 3, 4]);
    expect(index.head).toBe(4);
    expect(index.ordinalOf('c')).toBe(3);
    expect(index.ordinalOf('unknown')).toBeUndefined();
    expect(index.tail).toEqual(at(9_999_999));
  });

  it('counts an event once when a read hands back the tail again (reads of $all may include their start)', () => {
    const index = new OrdinalIndex();
    index.add('a', at(10));
    index.add('b', at(20));

    expect(index.add('b', at(20))).toBeUndefined();
    expect(index.add('a', at(10))).toBeUndefined();
    expect(index.head).toBe(2);
  });

  it('keeps the first ordinal of an id written twice', () => {
    const index = new OrdinalIndex();
    index.add('a', at(10));
    index.add('a', at(30));

    expect(index.ordinalOf('a')).toBe(1);
    expect(index.head).toBe(2);
  });

  it('seeks the marked event at or before an ordinal, so a read skips fewer than MARK_EVERY events', () => {
    const index = new OrdinalIndex();
    for (let ordinal = 1; ordinal <= 3 * MARK_EVERY; ordinal++) index.add(`e${ordinal}`, at(ordinal * 100));

    expect(index.seek(1)).toEqual({ ordinal: 1, position: at(100) });
    expect(index.seek(MARK_EVERY)).toEqual({ ordinal: 1, position: at(100) });
    expect(index.seek(MARK_EVERY + 1)).toEqual({ ordinal: MARK_EVERY + 1, position: at((MARK_EVERY + 1) * 100) });
    expect(index.seek(3 * MARK_EVERY)).toEqual({ ordinal: 2 * MARK_EVERY + 1, position: at((2 * MARK_EVERY + 1) * 100) });
    expect(() => index.seek(0)).toThrow(RangeError);
    expect(() => index.seek(3 * MARK_EVERY + 1)).toThrow(RangeError);
  });
});

describe('numberFrom', () => {
  const from = { ordinal: 65, position: at(6_500) };

  it('numbers a read that includes its start position', () => {
    const page = [{ position: at(6_500) }, { position: at(6_600) }, { position: at(7_000, 6_900) }];

    expect(numberFrom(from, page).map(({ ordinal }) => ordinal)).toEqual([65, 66, 67]);
  });

  it('numbers a read that starts after its start position', () => {
    const page = [{ position: at(6_600) }, { position: at(7_000) }];

    expect(numberFrom(from, page).map(({ ordinal }) => ordinal)).toEqual([66, 67]);
  });

  it('drops events before the start position', () => {
    const page = [{ position: at(6_400) }, { position: at(6_500) }, { position: at(6_600) }];

    expect(numberFrom(from, page).map(({ ordinal, event }) => [ordinal, event.position.commit])).toEqual([
      [65, 6_500n],
      [66, 6_600n],
    ]);
  });
});
