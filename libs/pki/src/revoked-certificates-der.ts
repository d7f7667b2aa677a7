import { digits } from './der';
import { PkiConfigurationError } from './errors';
import { REVOCATION_REASON_CODES, type RevokedEntry } from './revocation-reason';

// Hand-written DER for the revokedCertificates SEQUENCE OF: the generic ASN.1 path is too slow
// for a million entries (measured, see crl-builder.spec.ts); crl-builder.spec.ts checks this
// encoder byte for byte against @peculiar/asn1-x509.

const CHUNK_BYTES = 1 << 20;
const MAX_ENTRY_BYTES = 2 + 23 + 17 + 2 + 12 + 26;
const REASON_EXTENSION_PREFIX = Uint8Array.of(0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01);
const INVALIDITY_EXTENSION_PREFIX = Uint8Array.of(0x30, 0x18, 0x06, 0x03, 0x55, 0x1d, 0x18, 0x04, 0x11);
const UTC_TIME_LIMIT = Date.UTC(2050, 0, 1);

/**
 * The DER of revokedCertificates (tag and length included), written into 1 MiB chunks so that
 * memory grows with the output, not with per-entry objects. Returns undefined for no entries:
 * RFC 5280 §5.1.2.6 says the field is then absent.
 */
export function encodeRevokedCertificates(entries: Iterable<RevokedEntry>): Uint8Array | undefined {
  const chunks: Buffer[] = [];
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let offset = 0;
  let total = 0;
  for (const entry of entries) {
    if (offset + MAX_ENTRY_BYTES > chunk.length) {
      chunks.push(chunk.subarray(0, offset));
      total += offset;
      chunk = Buffer.allocUnsafe(CHUNK_BYTES);
      offset = 0;
    }
    offset = writeEntry(chunk, offset, entry);
  }
  chunks.push(chunk.subarray(0, offset));
  total += offset;
  if (total === 0) return undefined;
  const header = derHeader(0x30, total);
  const out = Buffer.allocUnsafe(header.length + total);
  out.set(header, 0);
  let at = header.length;
  for (const piece of chunks) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

function writeEntry(buffer: Buffer, start: number, entry: RevokedEntry): number {
  const serial = entry.serialNumber;
  // Minimal positive INTEGER: leading zero nibbles dropped, a 0x00 octet added when the top bit is set.
  let first = 0;
  while (first < serial.length - 1 && serial.charCodeAt(first) === 0x30) first++;
  const digits = serial.length - first;
  const pad = digits % 2 === 0 && nibble(serial, first) >= 8 ? 1 : 0;
  const serialLength = ((digits + 1) >> 1) + pad;
  if (serial.length === 0 || serialLength > 21 || (digits === 1 && nibble(serial, first) === 0)) {
    throw new PkiConfigurationError(`invalid serial number ${JSON.stringify(serial)}`);
  }
  const revokedAt = entry.revokedAt.getTime();
  const timeLength = revokedAt < UTC_TIME_LIMIT ? 15 : 17;
  const extensionsLength = (entry.reason === undefined ? 0 : 12) + (entry.invalidityDate === undefined ? 0 : 26);
  const contentLength = 2 + serialLength + timeLength + (extensionsLength === 0 ? 0 : 2 + extensionsLength);
  let at = start;
  buffer[at++] = 0x30;
  buffer[at++] = contentLength;
  buffer[at++] = 0x02;
  buffer[at++] = serialLength;
  if (pad) buffer[at++] = 0;
  let index = first;
  if (digits % 2 === 1) buffer[at++] = nibble(serial, index++);
  for (; index < serial.length; index += 2) buffer[at++] = (nibble(serial, index) << 4) | nibble(serial, index + 1);
  at = writeTime(buffer, at, revokedAt);
  if (extensionsLength > 0) {
    buffer[at++] = 0x30;
    buffer[at++] = extensionsLength;
    if (entry.reason !== undefined) {
      const code = REVOCATION_REASON_CODES[entry.reason];
      if (code === undefined) throw new PkiConfigurationError(`unknown revocation reason ${JSON.stringify(entry.reason)}`);
      buffer.set(REASON_EXTENSION_PREFIX, at);
      at += REASON_EXTENSION_PREFIX.length;
      buffer[at++] = code;
    }
    if (entry.invalidityDate !== undefined) {
      buffer.set(INVALIDITY_EXTENSION_PREFIX, at);
      at += INVALIDITY_EXTENSION_PREFIX.length;
      at = writeGeneralizedTime(buffer, at, entry.invalidityDate.getTime());
    }
  }
  return at;
}

function nibble(hex: string, index: number): number {
  const code = hex.charCodeAt(index);
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  throw new PkiConfigurationError(`serial number is not hex: ${JSON.stringify(hex)}`);
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §5.1.2.4). */
function writeTime(buffer: Buffer, at: number, time: number): number {
  if (time >= UTC_TIME_LIMIT) return writeGeneralizedTime(buffer, at, time);
  buffer[at++] = 0x17;
  buffer[at++] = 13;
  return writeDateTime(buffer, at, time, 2);
}

function writeGeneralizedTime(buffer: Buffer, at: number, time: number): number {
  buffer[at++] = 0x18;
  buffer[at++] = 15;
  return writeDateTime(buffer, at, time, 4);
}

const DAY_MS = 86_400_000;
let cachedDay = Number.NaN;
let cachedYear = 0;
let cachedMonth = 0;
let cachedDate = 0;

/** YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ; the calendar day is cached because CRL entries cluster by day. */
function writeDateTime(buffer: Buffer, at: number, time: number, yearDigits: 2 | 4): number {
  const seconds = Math.floor(time / 1000);
  const day = Math.floor(seconds / 86_400);
  if (day !== cachedDay) {
    const date = new Date(day * DAY_MS);
    cachedDay = day;
    cachedYear = date.getUTCFullYear();
    cachedMonth = date.getUTCMonth() + 1;
    cachedDate = date.getUTCDate();
  }
  const secondOfDay = seconds - day * 86_400;
  at = digits(buffer, at, yearDigits === 2 ? cachedYear % 100 : cachedYear, yearDigits);
  at = digits(buffer, at, cachedMonth, 2);
  at = digits(buffer, at, cachedDate, 2);
  at = digits(buffer, at, Math.floor(secondOfDay / 3600), 2);
  at = digits(buffer, at, Math.floor(secondOfDay / 60) % 60, 2);
  at = digits(buffer, at, secondOfDay % 60, 2);
  buffer[at++] = 0x5a;
  return at;
}

/** DER tag and definite length. */
export function derHeader(tag: number, length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(tag, length);
  const octets: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest & 0xff);
  return Uint8Array.of(tag, 0x80 | octets.length, ...octets);
}
