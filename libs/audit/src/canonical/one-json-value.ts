const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const PRIMITIVE = /^(?:-?\d[\d.eE+-]*|true|false|null)$/;

/** Index of the quote that closes the string literal opening at `from`, or -1. */
const closingQuote = (text: string, from: number): number => {
  // indexOf runs natively; a quote preceded by an odd run of backslashes is escaped.
  for (let at = text.indexOf('"', from + 1); at >= 0; at = text.indexOf('"', at + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if ((backslashes & 1) === 0) return at;
  }
  return -1;
};

/**
 * Whether `text` ends exactly where the first JSON value it starts with ends: one object,
 * array or string whose closing character is the last one, or a lone number / literal. It
 * does not validate the inside of the value (JSON.parse does that, at the cost of building it).
 *
 * What it is for: a verifier that hashes `{"data":` + data text + `,"id":` … built from stored
 * columns and finds the hash a stored chain row holds knows the bytes equal the canonical form
 * that was chained, but not yet that every column holds what it held: bytes could have moved
 * from one column into the next with the concatenation unchanged. The canonical form is valid
 * JSON and each column starts a value at its place in it, so a column that ends exactly where
 * that value ends holds that value and nothing of its neighbour's. The other columns are
 * written into the text by the verifier as JSON strings and integers, which delimit themselves.
 */
export const isOneJsonValue = (text: string): boolean => {
  const first = text.charCodeAt(0);
  if (first === QUOTE) return closingQuote(text, 0) === text.length - 1;
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) return PRIMITIVE.test(text);
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
      if (i < 0) return false;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (--depth === 0) return i === text.length - 1;
    }
  }
  return false;
};
