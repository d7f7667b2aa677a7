import { z } from 'zod';
import { SERIAL_NUMBER } from './manifest';

/**
 * A factory batch (`*.devid`) is JSON Lines, UTF-8:
 *   line 1      header  {format, batchId, caId, factoryCaSha256, chain[], createdAt}
 *   lines 2..n  records {serialNumber, model, deviceId, certificate, keyOrigin}
 *   last line   trailer {signature: {records, bodySha256, algorithm, value}}
 * The factory CA signs `signedStatement(...)`, which binds the batch id, the record count and
 * the SHA-256 of every byte before the trailer. JSON Lines rather than CMS SignedData: the
 * gateway appends records as it issues them (that file is its crash journal), both ends
 * hash it in one streaming pass, and one bad record can be reported without re-encoding.
 */
export const BATCH_FORMAT = 'devid-batch/1';
export const BATCH_MEDIA_TYPE = 'application/vnd.devid.batch+jsonl';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const certificateDer = z.string().min(100).max(16_384).regex(BASE64, 'must be base64 DER');

export const batchHeaderSchema = z.strictObject({
  format: z.literal(BATCH_FORMAT),
  batchId: z.uuid(),
  /** The ledger's id of the factory CA (its CRL and OCSP URLs in every certificate name it). */
  caId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  /** SHA-256 of chain[0], the factory CA certificate. */
  factoryCaSha256: z.string().regex(HEX64),
  /** The factory CA first, then its issuers up to the root, base64 DER. */
  chain: z.array(certificateDer).min(1).max(8),
  createdAt: z.iso.datetime({ offset: true }),
});
export type BatchHeader = z.infer<typeof batchHeaderSchema>;

export const batchRecordSchema = z.strictObject({
  serialNumber: z.string().regex(SERIAL_NUMBER),
  model: z.string().min(1).max(128),
  deviceId: z.uuid(),
  /** The IDevID, base64 DER. */
  certificate: certificateDer,
  /** Who generated the key pair: the device (from its CSR) or the gateway (injected). */
  keyOrigin: z.enum(['device', 'gateway']),
});
export type BatchRecord = z.infer<typeof batchRecordSchema>;

export const batchTrailerSchema = z.strictObject({
  signature: z.strictObject({
    records: z.number().int().min(0),
    bodySha256: z.string().regex(HEX64),
    algorithm: z.string().min(1).max(32),
    value: z.string().min(16).max(2048).regex(BASE64),
  }),
});
export type BatchTrailer = z.infer<typeof batchTrailerSchema>;

/** What the factory CA key signs. */
export const signedStatement = (batchId: string, records: number, bodySha256: string): Buffer =>
  Buffer.from(`${BATCH_FORMAT}\n${batchId}\n${records}\n${bodySha256}\n`, 'utf8');

export const jsonLine = (value: unknown): string => `${JSON.stringify(value)}\n`;
