import { createHash, X509Certificate } from 'node:crypto';
import type { z } from 'zod';
import { batchHeaderSchema, batchRecordSchema, batchTrailerSchema, signedStatement, type BatchHeader, type BatchRecord } from './batch-format';
import { statementVerifies } from './batch-signature';
import { BatchRejected } from './errors';

export const DEFAULT_MAX_BATCH_BYTES = 256 * 1024 * 1024;
const MAX_LINE_BYTES = 64 * 1024;

/** A batch whose signature and internal chain hold; its records still need checking one by one. */
export interface VerifiedBatch {
  header: BatchHeader;
  /** chain[0]: the factory CA that signed the batch and every certificate in it. */
  chain: X509Certificate[];
  records: BatchRecord[];
  bodySha256: string;
}

const parseLine = <T extends z.ZodType>(schema: T, line: Buffer, what: string, lineNumber: number): z.infer<T> => {
  let json: unknown;
  try {
    json = JSON.parse(line.toString('utf8'));
  } catch {
    throw new BatchRejected('batch-malformed', `line ${lineNumber}: the ${what} is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BatchRejected('batch-malformed', `line ${lineNumber}: invalid ${what}: ${issue?.path.join('.') || '(line)'}: ${issue?.message}`);
  }
  return parsed.data;
};

const certificate = (base64: string, index: number): X509Certificate => {
  try {
    return new X509Certificate(Buffer.from(base64, 'base64'));
  } catch {
    throw new BatchRejected('batch-chain-invalid', `chain[${index}] is not an X.509 certificate`);
  }
};

/** Splits a byte stream into lines, refusing oversized input as it arrives (never buffers the whole body). */
async function* lines(source: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<Buffer> {
  let pending = Buffer.alloc(0);
  let total = 0;
  for await (const chunk of source) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new BatchRejected('batch-too-large', `the batch is over ${maxBytes} bytes`);
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    let start = 0;
    for (let end = pending.indexOf(10); end !== -1; end = pending.indexOf(10, start)) {
      yield pending.subarray(start, end);
      start = end + 1;
    }
    pending = pending.subarray(start);
    if (pending.length > MAX_LINE_BYTES) throw new BatchRejected('batch-malformed', `a line is longer than ${MAX_LINE_BYTES} bytes`);
  }
  if (pending.length > 0) yield pending;
}

/**
 * Reads a batch and checks everything that makes it trustworthy as a whole: the format, the
 * record count and body digest, a chain in which each certificate issued the one before,
 * and the factory CA's signature. Any failure rejects the whole batch (BatchRejected).
 * Whether the factory CA is one the ledger knows is the caller's question.
 */
export async function readBatch(source: AsyncIterable<Uint8Array>, options: { maxBytes?: number } = {}): Promise<VerifiedBatch> {
  const body = createHash('sha256');
  let header: BatchHeader | undefined;
  const records: BatchRecord[] = [];
  // The last line is the trailer, so a line is hashed only once the next one arrives.
  let previous: Buffer | undefined;
  let lineNumber = 0;
  for await (const line of lines(source, options.maxBytes ?? DEFAULT_MAX_BATCH_BYTES)) {
    if (previous) {
      body.update(previous).update('\n');
      if (!header) header = parseLine(batchHeaderSchema, previous, 'header', lineNumber);
      else records.push(parseLine(batchRecordSchema, previous, 'device record', lineNumber));
    }
    previous = Buffer.from(line);
    lineNumber++;
  }
  if (!header || !previous) throw new BatchRejected('batch-malformed', 'a batch needs a header and a signature trailer');
  const { signature } = parseLine(batchTrailerSchema, previous, 'signature trailer', lineNumber);
  const bodySha256 = body.digest('hex');
  if (signature.records !== records.length) throw new BatchRejected('batch-signature-invalid', `the trailer counts ${signature.records} records; the batch has ${records.length}`);
  if (signature.bodySha256 !== bodySha256) throw new BatchRejected('batch-signature-invalid', 'the batch content does not match its signed digest (altered or truncated)');

  const chain = header.chain.map(certificate);
  const factoryCa = chain[0]!;
  if (createHash('sha256').update(factoryCa.raw).digest('hex') !== header.factoryCaSha256) {
    throw new BatchRejected('batch-chain-invalid', 'factoryCaSha256 does not match chain[0]');
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i]!.checkIssued(chain[i + 1]!) || !chain[i]!.verify(chain[i + 1]!.publicKey)) {
      throw new BatchRejected('batch-chain-invalid', `chain[${i + 1}] did not issue chain[${i}]`);
    }
  }
  if (!factoryCa.ca) throw new BatchRejected('batch-chain-invalid', 'chain[0] is not a CA certificate');
  if (!statementVerifies(factoryCa, signedStatement(header.batchId, records.length, bodySha256), signature.value)) {
    throw new BatchRejected('batch-signature-invalid', 'the batch signature does not verify with the factory CA key');
  }
  return { header, chain, records, bodySha256 };
}

/** A whole file or body already in memory, as a stream of one chunk. */
export async function* oneChunk(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
