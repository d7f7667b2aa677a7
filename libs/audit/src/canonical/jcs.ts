import { NotCanonicalizable } from '../errors';
import { inCanonicalOrder, WALK } from '@devid/event-store';

// Key order is shared with the store, which writes event data already in it.
export { inCanonicalOrder, WALK };

/** A value JSON can carry (what JSON.parse returns). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Member names repeat in every event (id, type, data…): their quoted form is kept. */
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS_MAX = 10_000;

// JSON.stringify (ES2019) writes a lone surrogate as the escape \udXXX and leaves a
// well-formed pair raw, so only output holding "\ud" needs the (slower) exact test.
const quote = (text: string): string => {
  const out = JSON.stringify(text);
  if (out.includes('\\ud') && LONE_SURROGATE.test(text)) throw new NotCanonicalizable('a string contains a lone surrogate (not I-JSON)');
  return out;
};

const quoteKey = (key: string): string => {
  let out = quotedKeys.get(key);
  if (out === undefined) {
    out = quote(key);
    if (quotedKeys.size < QUOTED_KEYS_MAX) quotedKeys.set(key, out);
  }
  return out;
};

/**
 * RFC 8785 JSON Canonicalization Scheme. ECMAScript's own Number and string serialisation
 * are the ones the RFC prescribes (§3.2.2.2, §3.2.2.3), so JSON.stringify does the leaves;
 * what is ours is the key order (UTF-16 code units, §3.2.3) and refusing what I-JSON forbids.
 * Object members whose value is `undefined` are left out, as JSON.stringify does.
 * This is the reference walk; canonicalize() below takes a native shortcut when it may.
 */
export const canonicalizeByWalking = (value: unknown): string => {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      if (!Number.isFinite(value)) throw new NotCanonicalizable(`${value} has no JSON form`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          if (value[i] === undefined) throw new NotCanonicalizable('an array holds undefined');
          out += canonicalizeByWalking(value[i]);
        }
        return out + ']';
      }
      // A plain object of any realm (structuredClone and vm contexts make other realms' objects).
      const proto = Object.getPrototypeOf(value) as object | null;
      if (proto !== null && (Object.getPrototypeOf(proto) !== null || Object.prototype.toString.call(value) !== '[object Object]')) throw new NotCanonicalizable(`a ${(value as object).constructor?.name ?? 'non-plain'} object has no canonical JSON form`);
      const record = value as Record<string, unknown>;
      // Array.prototype.sort compares strings by UTF-16 code units, which is what §3.2.3 asks.
      const keys = Object.keys(record).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const member = record[key];
        if (member === undefined) continue;
        if (!first) out += ',';
        first = false;
        out += quoteKey(key) + ':' + canonicalizeByWalking(member);
      }
      return out + '}';
    }
    default:
      throw new NotCanonicalizable(`a ${typeof value} has no JSON form`);
  }
};

/**
 * JSON.stringify of a value inCanonicalOrder() returned, unless that escaped a (possibly lone)
 * surrogate: a `\ud` in the output sends the value through the walk, which decides exactly
 * (and refuses a lone surrogate). undefined: use the walk.
 */
export const stringifiedOrUndefined = (ordered: unknown): string | undefined => {
  if (ordered === WALK) return undefined;
  const out = JSON.stringify(ordered);
  return out.includes('\\ud') ? undefined : out;
};

/**
 * RFC 8785 (JCS) form of a JSON value: one native JSON.stringify of the value in key order
 * when inCanonicalOrder() can express it, else the walk (same bytes, or the refusal).
 */
export const canonicalize = (value: unknown): string => stringifiedOrUndefined(inCanonicalOrder(value)) ?? canonicalizeByWalking(value);
