// Hand-written DER primitives for the measured hot paths (CSR check, certificate issuance;
// tools/bench/pki.mjs). Everything built with them is compared byte for byte with
// @peculiar/asn1-schema's output in the specs (STYLE.md §8).

/** Bytes from hex text (whitespace ignored), for the fixed DER pieces the hand-written readers compare against. */
export function hexBytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

/** One TLV: `tag`, its content in [contentStart, end). */
export interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/**
 * Reads the TLV at `at` if it is strict DER (single-octet tag, definite minimal length) and
 * ends by `limit`; undefined otherwise, so callers can fall back to the generic parser.
 */
export function readTlv(bytes: Uint8Array, at: number, limit: number): Tlv | undefined {
  if (at + 2 > limit) return undefined;
  const tag = bytes[at]!;
  if ((tag & 0x1f) === 0x1f) return undefined;
  const first = bytes[at + 1]!;
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = at + 2;
  } else {
    const octets = first & 0x7f;
    if (octets === 0 || octets > 3 || at + 2 + octets > limit || bytes[at + 2] === 0) return undefined;
    length = 0;
    for (let index = 0; index < octets; index++) length = length * 256 + bytes[at + 2 + index]!;
    if (length < 0x80) return undefined;
    contentStart = at + 2 + octets;
  }
  const end = contentStart + length;
  return end <= limit ? { tag, start: at, contentStart, end } : undefined;
}

/** True for the content octets of an OID every BER decoder reads the same way (no 0x80 padding, short arcs). */
export function isPlainOid(bytes: Uint8Array, start: number, end: number): boolean {
  if (end <= start || (bytes[end - 1]! & 0x80) !== 0) return false;
  let arcOctets = 0;
  for (let index = start; index < end; index++) {
    const byte = bytes[index]!;
    if (arcOctets === 0 && byte === 0x80) return false;
    arcOctets = byte & 0x80 ? arcOctets + 1 : 0;
    if (arcOctets > 3) return false;
  }
  return true;
}

/**
 * SEQUENCE { OBJECT IDENTIFIER, value } at `at` (an attribute, an extension without its
 * `critical` flag): the plain OID and the one TLV after it, which must end the SEQUENCE.
 */
export function readOidAndValue(bytes: Uint8Array, at: number, limit: number): { oid: Tlv; value: Tlv; end: number } | undefined {
  const sequence = readTlv(bytes, at, limit);
  if (!sequence || sequence.tag !== 0x30) return undefined;
  const oid = readTlv(bytes, sequence.contentStart, sequence.end);
  if (!oid || oid.tag !== 0x06 || !isPlainOid(bytes, oid.contentStart, oid.end)) return undefined;
  const value = readTlv(bytes, oid.end, sequence.end);
  if (!value || value.end !== sequence.end) return undefined;
  return { oid, value, end: sequence.end };
}

export function equalBytes(bytes: Uint8Array, start: number, expected: Uint8Array): boolean {
  if (start + expected.length > bytes.length) return false;
  for (let index = 0; index < expected.length; index++) if (bytes[start + index] !== expected[index]) return false;
  return true;
}

/** Number of octets of a DER tag + length header for `length` content octets. */
export function headerLength(length: number): number {
  return length < 0x80 ? 2 : length < 0x100 ? 3 : length < 0x10000 ? 4 : 5;
}

/** Writes tag and definite length at `at`; returns the offset after them. */
export function writeHeader(out: Uint8Array, at: number, tag: number, length: number): number {
  out[at++] = tag;
  if (length < 0x80) {
    out[at++] = length;
  } else if (length < 0x100) {
    out[at++] = 0x81;
    out[at++] = length;
  } else if (length < 0x10000) {
    out[at++] = 0x82;
    out[at++] = length >> 8;
    out[at++] = length & 0xff;
  } else {
    out[at++] = 0x83;
    out[at++] = (length >> 16) & 0xff;
    out[at++] = (length >> 8) & 0xff;
    out[at++] = length & 0xff;
  }
  return at;
}

/** A TLV around `parts` (which are written as they are). */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(headerLength(length) + length);
  let at = writeHeader(out, 0, tag, length);
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const UTC_TIME_LIMIT = Date.UTC(2050, 0, 1);

/**
 * X.509 Time as @peculiar/asn1-x509 writes it: UTCTime before 2050, GeneralizedTime from
 * 2050 (RFC 5280 §4.1.2.5), whole seconds (milliseconds dropped).
 */
export function encodeTime(date: Date): Uint8Array {
  const time = date.getTime();
  const generalized = time >= UTC_TIME_LIMIT;
  const out = new Uint8Array(generalized ? 17 : 15);
  out[0] = generalized ? 0x18 : 0x17;
  out[1] = generalized ? 15 : 13;
  const year = date.getUTCFullYear();
  let at = generalized ? digits(out, 2, year, 4) : digits(out, 2, year % 100, 2);
  at = digits(out, at, date.getUTCMonth() + 1, 2);
  at = digits(out, at, date.getUTCDate(), 2);
  at = digits(out, at, date.getUTCHours(), 2);
  at = digits(out, at, date.getUTCMinutes(), 2);
  at = digits(out, at, date.getUTCSeconds(), 2);
  out[at] = 0x5a;
  return out;
}

/** Writes `value` as `width` ASCII decimal digits at `at`; returns the offset after them. */
export function digits(out: Uint8Array, at: number, value: number, width: number): number {
  for (let index = width - 1; index >= 0; index--) {
    out[at + index] = 0x30 + (value % 10);
    value = Math.floor(value / 10);
  }
  return at + width;
}
