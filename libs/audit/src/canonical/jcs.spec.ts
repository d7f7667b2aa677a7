import { canonicalize } from './jcs';
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
