import { hash } from 'node:crypto';
import type { StoredEvent } from '@devid/event-store';
import { canonicalEvent } from './canonical-event';

/** hash_0: the chain starts from 32 zero bytes. */
export const GENESIS_HASH: Buffer = Buffer.alloc(32);

// One buffer for prev ‖ bytes: a one-shot hash of it costs half of createHash().update().update().
let scratch = Buffer.allocUnsafe(1 << 16);

/** SHA-256(previous ‖ bytes): the chain step over bytes already in canonical form. */
export const chainStep = (previous: Uint8Array, canonical: string): Buffer => {
  const room = 32 + canonical.length * 3;
  if (room > scratch.length) scratch = Buffer.allocUnsafe(room);
  scratch.set(previous, 0);
  const written = scratch.write(canonical, 32, 'utf8');
  return hash('sha256', scratch.subarray(0, 32 + written), 'buffer');
};

/** hash_n = SHA-256(hash_{n-1} ‖ UTF-8(JCS(event n))). */
export const chainHash = (previous: Uint8Array, event: StoredEvent): Buffer => chainStep(previous, canonicalEvent(event));

/** Hashes travel as lowercase hex (exactly 64 characters; anything else is refused). */
export const HASH_HEX = /^[0-9a-f]{64}$/;
