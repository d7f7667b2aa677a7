import { createHash } from 'node:crypto';
import type { StoredEvent } from '@devid/event-store';
import { canonicalEvent } from './canonical-event';

/** hash_0: the chain starts from 32 zero bytes. */
export const GENESIS_HASH: Buffer = Buffer.alloc(32);

/** hash_n = SHA-256(hash_{n-1} ‖ UTF-8(JCS(event n))). */
export const chainHash = (previous: Uint8Array, event: StoredEvent): Buffer =>
  createHash('sha256').update(previous).update(canonicalEvent(event), 'utf8').digest();

/** Hashes travel as lowercase hex (exactly 64 characters; anything else is refused). */
export const HASH_HEX = /^[0-9a-f]{64}$/;
