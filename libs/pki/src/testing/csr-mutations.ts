import fc from 'fast-check';

/**
 * A CSR as a fuzzing client might send it: one of `seeds` with one to three random byte edits
 * (set a byte, flip a bit, insert a byte, delete one).
 */
export const mutatedCsr = (seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> =>
  fc
    .record({
      seed: fc.nat({ max: seeds.length - 1 }),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'flip')), { minLength: 1, maxLength: 3 }),
    })
    .map(({ seed, edits }) => {
      const bytes = Array.from(seeds[seed]!);
      for (const [position, value, kind] of edits) {
        const at = position % (bytes.length + 1);
        if (kind === 'set' && at < bytes.length) bytes[at] = value;
        if (kind === 'flip' && at < bytes.length) bytes[at]! ^= 1 << (value % 8);
        if (kind === 'insert') bytes.splice(at, 0, value);
        if (kind === 'delete') bytes.splice(at, 1);
      }
      return new Uint8Array(bytes);
    });
