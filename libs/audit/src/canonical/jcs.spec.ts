import { canonicalize, canonicalizeByWalking, inCanonicalOrder, stringifiedOrUndefined } from './jcs';
import { NotCanonicalizable } from '../errors';

describe('canonicalize (RFC 8785)', () => {
  // RFC 8785 §3.2.2 "Sample Canonicalized JSON Data"; the input is parsed from its §3.2.2 text.
  it('canonicalises the §3.2.2 sample byte for byte', () => {
    const input = `{
      "numbers": [333333333.33333329, 1E30, 4.50,
                  2e-3, 0.000000000000000000000000001],
      "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
      "literals": [null, true, false]
    }`;
    expect(canonicalize(JSON.parse(input))).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  // RFC 8785 §3.2.3: sorting by UTF-16 code units, not by code points or UTF-8 bytes.
  it('sorts keys by UTF-16 code units (§3.2.3)', () => {
    const input = JSON.parse('{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}');
    const keys = Object.keys(JSON.parse(canonicalize(input)) as object);
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    expect(keys).toHaveLength(7);
  });

  // RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('formats the IEEE 754 value %s as %s (Appendix B)', (bits, text) => {
    const value = Buffer.from(bits, 'hex').readDoubleBE(0);
    expect(canonicalize(value)).toBe(text);
  });

  it.each([NaN, Infinity, -Infinity])('refuses %s (no JSON form)', (value) => {
    expect(() => canonicalize(value)).toThrow(NotCanonicalizable);
  });

  it('refuses lone surrogates, which are not I-JSON', () => {
    expect(() => canonicalize({ a: '\ud800x' })).toThrow(NotCanonicalizable);
    expect(() => canonicalize('x\udc00')).toThrow(NotCanonicalizable);
    expect(canonicalize('\ud83d\ude00')).toBe('"😀"');
  });

  it('refuses values JSON cannot carry', () => {
    expect(() => canonicalize(new Date(0))).toThrow(NotCanonicalizable);
    expect(() => canonicalize([undefined])).toThrow(NotCanonicalizable);
    expect(() => canonicalize(1n)).toThrow(NotCanonicalizable);
  });

  it('leaves out undefined members, nests, and adds no whitespace', () => {
    expect(canonicalize({ b: [1, { d: true, c: null }], a: undefined, '': 'empty' })).toBe('{"":"empty","b":[1,{"c":null,"d":true}]}');
  });
});

describe('canonicalize: the native shortcut', () => {
  // A seeded generator of JSON-like values that hit every branch of inCanonicalOrder.
  let seed = 0x9e3779b9;
  const random = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const KEYS = ['a', 'b', 'z', 'A', '', 'é', '\u20ac', '\ud83d\ude00', '\ufb33', '\r', '1', '10', '9', '__proto__', 'owner', 'enrolledAt', 'x\ud800'];
  const SCALARS: unknown[] = [null, true, false, 0, -0, 1.5, 1e21, 1e-7, -5e-324, NaN, Infinity, 'text', 'é\u20ac', '\ud83d\ude00', 'lone \udc00', '\\ud800 escaped', '"\n\t', undefined];
  const value = (depth: number): unknown => {
    const roll = random();
    if (depth > 3 || roll < 0.4) return pick(SCALARS);
    if (roll < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
    const record: Record<string, unknown> = {};
    for (let i = Math.floor(random() * 5); i > 0; i--) {
      const key = pick(KEYS);
      if (key === '__proto__') Object.defineProperty(record, key, { value: value(depth + 1), enumerable: true, configurable: true, writable: true });
      else record[key] = value(depth + 1);
    }
    return record;
  };
  const outcome = (f: () => string) => {
    try {
      return f();
    } catch (error) {
      return error instanceof NotCanonicalizable ? 'refused' : `threw ${String(error)}`;
    }
  };

  it('writes the same bytes as the walk (or refuses the same values) for 5,000 random values', () => {
    let shortcut = 0;
    for (let i = 0; i < 5000; i++) {
      const v = value(0);
      const walked = outcome(() => canonicalizeByWalking(v));
      expect(outcome(() => canonicalize(v))).toBe(walked);
      if (stringifiedOrUndefined(inCanonicalOrder(v)) !== undefined) shortcut++;
    }
    // Both paths are exercised.
    expect(shortcut).toBeGreaterThan(500);
    expect(shortcut).toBeLessThan(4500);
  });

  it('reorders members without touching the value it was given', () => {
    const v = { metadata: { commandId: 'c', actor: 'a' }, data: [{ z: 1, a: 2 }] };
    const before = JSON.stringify(v);
    expect(canonicalize(v)).toBe('{"data":[{"a":2,"z":1}],"metadata":{"actor":"a","commandId":"c"}}');
    expect(JSON.stringify(v)).toBe(before);
    const sorted = { a: 1, b: [true] };
    expect(inCanonicalOrder(sorted)).toBe(sorted);
  });
});
