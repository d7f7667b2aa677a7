import { NotCanonicalizable } from '../errors';

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

const OBJECT_PROTOTYPE = Object.prototype;
/** Returned by inCanonicalOrder when only the walk can decide. */
export const WALK: unique symbol = Symbol('walk');

/**
 * The value with every object's members in RFC 8785 order, so that JSON.stringify writes its
 * canonical form: objects already in order are returned as they are, others are copied with
 * their keys sorted (Array.prototype.sort compares UTF-16 code units, §3.2.3). JSON.stringify
 * writes numbers and strings exactly as the RFC prescribes, so key order is all that is left,
 * with what JCS refuses. WALK for anything the copy cannot express or JSON.stringify would
 * write differently from the walk: a key starting with a digit (Object.keys puts integer-like
 * keys first whatever the insertion order), `__proto__` (assigning it sets the prototype), undefined members or items, non-finite numbers,
 * objects that are not this realm's plain objects (Dates, other realms), other types.
 */
export const inCanonicalOrder = (value: unknown): unknown => {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : WALK;
    case 'object': {
      if (value === null) return value;
      if (Array.isArray(value)) {
        let copy: unknown[] | undefined;
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          const ordered = item === undefined ? WALK : inCanonicalOrder(item);
          if (ordered === WALK) return WALK;
          if (ordered !== item) (copy ??= value.slice())[i] = ordered;
        }
        return copy ?? value;
      }
      if (Object.getPrototypeOf(value) !== OBJECT_PROTOTYPE) return WALK;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      let sorted = true;
      // The members as they go into the copy; made only once a copy is known to be needed.
      let ordered: unknown[] | undefined;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const first = key.charCodeAt(0);
        if ((first >= 0x30 && first <= 0x39) || key === '__proto__') return WALK;
        if (i > 0 && !(keys[i - 1]! < key)) sorted = false;
        const member = record[key];
        if (member === undefined) return WALK;
        const inOrder = inCanonicalOrder(member);
        if (inOrder === WALK) return WALK;
        if (ordered === undefined && (inOrder !== member || !sorted)) ordered = keys.slice(0, i).map((k) => record[k]);
        ordered?.push(inOrder);
      }
      if (ordered === undefined) return value;
      const indexes = keys.map((_, i) => i);
      if (!sorted) indexes.sort((a, b) => (keys[a]! < keys[b]! ? -1 : 1));
      const copy: Record<string, unknown> = {};
      for (const i of indexes) copy[keys[i]!] = ordered[i];
      return copy;
    }
    default:
      return WALK;
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
