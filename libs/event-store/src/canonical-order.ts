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
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      const flat = flatInOrder(record, keys);
      if (flat !== NESTED) return flat;
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


const NESTED: unique symbol = Symbol('nested');

/**
 * inCanonicalOrder of an object whose members are all strings, booleans, null or numbers (most
 * event data and metadata), without the general walk's bookkeeping: the object itself when its
 * keys are in order, else a copy with sorted keys. NESTED when a member is an object or array.
 */
const flatInOrder = (record: Record<string, unknown>, keys: string[]): unknown => {
  let sorted = true;
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
      case 'object':
        if (member === null) continue;
        return NESTED;
      default:
        return WALK;
    }
  }
  if (sorted) return record;
  // Array.prototype.sort compares strings by UTF-16 code units, which is what §3.2.3 asks.
  const copy: Record<string, unknown> = {};
  for (const key of keys.sort()) copy[key] = record[key];
  return copy;
};
