import { isOneJsonValue } from './one-json-value';

describe('isOneJsonValue', () => {
  it.each([
    ['{"a":1}', true],
    ['{"a":{"b":[1,{"c":"}"}]},"d":"\\\\"}', true],
    ['"say \\"hi\\""', true],
    ['[1,[2,[3]]]', true],
    ['-1.5e+3', true],
    ['null', true],
    ['{"a":1},"id":"x"', false],
    ['{"a":1', false],
    ['{"a":"}"', false],
    ['"a","b"', false],
    ['"unterminated \\"', false],
    ['1,"id":"x"', false],
    ['true,"x":1', false],
    ['', false],
  ])('%s → %s', (text, expected) => {
    expect(isOneJsonValue(text)).toBe(expected);
  });

  it('agrees with JSON.parse on every prefix of canonical JSON texts', () => {
    for (const value of [{ a: [1, 'x"}]', { b: null }], c: 'é\\' }, ['{', '}', [[]]], 'plain', 42]) {
      const text = JSON.stringify(value);
      for (let end = 1; end <= text.length; end++) {
        const prefix = text.slice(0, end);
        let parses = true;
        try {
          JSON.parse(prefix);
        } catch {
          parses = false;
        }
        expect([prefix, isOneJsonValue(prefix)]).toEqual([prefix, parses]);
      }
    }
  });
});
