import { randomFillSync } from 'node:crypto';
import { PkiConfigurationError } from './errors';

// One CSPRNG call per 256 serial numbers: randomBytes(16) per certificate cost more than the
// rest of the serial's handling on the enroll path (tools/bench/pki.mjs). Each serial still
// takes 16 fresh bytes, never handed out twice.
const POOL_SERIALS = 256;
const pool = Buffer.alloc(16 * POOL_SERIALS);
let pooled = 0;

/**
 * A fresh certificate serial number: 16 bytes from the CSPRNG as lowercase hex.
 * Bit 7 of the first byte is cleared (positive INTEGER) and bit 6 set, so it is always
 * 16 octets in minimal DER (126 random bits, well above the 64 RFC 5280 practice asks).
 */
export function newSerialNumber(): string {
  if (pooled === 0) {
    randomFillSync(pool);
    pooled = POOL_SERIALS;
  }
  const at = 16 * --pooled;
  pool[at] = (pool[at]! & 0x3f) | 0x40;
  return pool.toString('hex', at, at + 16);
}

const HEX = /^[0-9a-f]+$/;

/** Canonical form of a serial number given in hex: lowercase, no leading zero bytes. */
export function normalizeSerialNumber(serialHex: string): string {
  const lower = serialHex.toLowerCase();
  if (!HEX.test(lower)) throw new PkiConfigurationError(`serial number is not hex: ${JSON.stringify(serialHex)}`);
  const even = lower.length % 2 === 1 ? `0${lower}` : lower;
  const trimmed = even.replace(/^(00)+/, '');
  if (trimmed === '') throw new PkiConfigurationError('serial number must be positive');
  if (trimmed.length > 40) throw new PkiConfigurationError('serial number longer than 20 octets (RFC 5280 §4.1.2.2)');
  return trimmed;
}

/** Content octets of the DER INTEGER for a positive serial given in hex. */
export function serialNumberToInteger(serialHex: string): Uint8Array {
  const bytes = Buffer.from(normalizeSerialNumber(serialHex), 'hex');
  return (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.of(0), bytes]) : bytes;
}

/** Hex serial from the content octets of a DER INTEGER. */
export function integerToSerialNumber(integer: ArrayBuffer | Uint8Array): string {
  const hex = Buffer.from(integer instanceof Uint8Array ? integer : new Uint8Array(integer)).toString('hex');
  return hex.replace(/^(00)+(?=.)/, '');
}
