/**
 * Key order of RFC 8785 (JSON Canonicalization Scheme). The store writes event data and
 * metadata with their members in this order (see append-request.ts), so that what it stores
 * is, byte for byte, the canonical form the audit chain hashes: a verifier can hash the stored
 * text without parsing it. @devid/audit builds its canonicalisation on the same function.
 */
const OBJECT_PROTOTYPE = Object.prototype;
/**
 * Returned by inCanonicalOrder for a value it cannot give in key order (the store then writes
 * plain JSON.stringify, the audit walks the value member by member).
 */
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
      return objectInOrder(value as Record<string, unknown>);
    }
    default:
      return WALK;
  }
};


/**
 * inCanonicalOrder of a plain object, in one pass over its members: primitives are checked in
 * place (most event data and metadata hold nothing else), objects and arrays go through
 * inCanonicalOrder. The object itself when nothing moves, else a copy with sorted keys.
 */
const objectInOrder = (record: Record<string, unknown>): unknown => {
  const keys = Object.keys(record);
  let sorted = true;
  // The members reordered inside (by key index); made only once one is.
  let changed: unknown[] | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const first = key.charCodeAt(0);
    if ((first >= 0x30 && first <= 0x39) || key === '__proto__') return WALK;
    if (i > 0 && !(keys[i - 1]! < key)) sorted = false;
    const member = record[key];
    switch (typeof member) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (!Number.isFinite(member)) return WALK;
        continue;
      case 'object': {
        if (member === null) continue;
        const inOrder = inCanonicalOrder(member);
        if (inOrder === WALK) return WALK;
        if (inOrder !== member) (changed ??= keys.map((k) => record[k]))[i] = inOrder;
        continue;
      }
      default:
        return WALK;
    }
  }
  if (sorted && changed === undefined) return record;
  const copy: Record<string, unknown> = {};
  if (changed === undefined) {
    // Array.prototype.sort compares strings by UTF-16 code units, which is what §3.2.3 asks.
    for (const key of keys.sort()) copy[key] = record[key];
    return copy;
  }
  const indexes = keys.map((_, i) => i);
  if (!sorted) indexes.sort((a, b) => (keys[a]! < keys[b]! ? -1 : 1));
  for (const i of indexes) copy[keys[i]!] = changed[i];
  return copy;
};
