import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rename, truncate, type FileHandle } from 'node:fs/promises';
import type { KeyProvider } from '@devid/pki';
import { batchHeaderSchema, batchRecordSchema, jsonLine, signedStatement, type BatchHeader, type BatchRecord } from './batch-format';
import { signStatement } from './batch-signature';
import { GatewayError } from './errors';

export const journalPathOf = (out: string) => `${out}.journal`;

/** A journal line that is not JSON is reported by the schema check, not thrown as a SyntaxError. */
const parseJson = (line: string): unknown => {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
};

/**
 * The batch being written, kept next to the output as `<out>.journal`: the header and every
 * record issued so far, appended and synced chunk by chunk. After a crash the torn last line
 * is cut off and issuing continues after the serial numbers already there; `finalize` signs
 * the journal and renames it to the output, so a batch file is always complete.
 */
export class BatchJournal {
  private constructor(
    readonly path: string,
    readonly out: string,
    readonly header: BatchHeader,
    /** Serial numbers already in the batch (from an earlier, interrupted run). */
    readonly done: ReadonlySet<string>,
    private readonly file: FileHandle,
  ) {}

  /** Resumes `<out>.journal` if it exists (it must be for the same factory CA), else starts one with `fresh`. */
  static async open(out: string, fresh: BatchHeader): Promise<BatchJournal> {
    const path = journalPathOf(out);
    let header = fresh;
    const done = new Set<string>();
    if (existsSync(path)) {
      const text = await readFile(path, 'utf8');
      const complete = text.lastIndexOf('\n') + 1;
      if (complete < Buffer.byteLength(text)) await truncate(path, Buffer.byteLength(text.slice(0, complete)));
      const lines = text.slice(0, complete).split('\n').slice(0, -1);
      if (lines.length > 0) {
        const parsed = batchHeaderSchema.safeParse(parseJson(lines[0]!));
        if (!parsed.success || parsed.data.factoryCaSha256 !== fresh.factoryCaSha256 || parsed.data.caId !== fresh.caId) {
          throw new GatewayError('gateway-journal-mismatch', `${path} belongs to another factory CA or is not a batch journal; move it away or use another --out`);
        }
        header = parsed.data;
        for (const [index, line] of lines.slice(1).entries()) {
          const record = batchRecordSchema.safeParse(parseJson(line));
          if (!record.success) throw new GatewayError('gateway-journal-mismatch', `${path} line ${index + 2} is not a device record`);
          done.add(record.data.serialNumber);
        }
      } else await truncate(path, 0);
    }
    const file = await open(path, 'a', 0o600);
    if (done.size === 0 && (await file.stat()).size === 0) {
      await file.appendFile(jsonLine(header));
      await file.datasync();
    }
    return new BatchJournal(path, out, header, done, file);
  }

  async append(records: readonly BatchRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.file.appendFile(records.map(jsonLine).join(''));
    await this.file.datasync();
  }

  /** Signs everything written so far, appends the trailer and publishes the batch as `out`. */
  async finalize(key: KeyProvider): Promise<{ records: number; bodySha256: string }> {
    await this.file.close();
    const body = await readFile(this.path);
    const records = body.toString('utf8').split('\n').length - 2;
    const bodySha256 = createHash('sha256').update(body).digest('hex');
    const signature = await signStatement(key, signedStatement(this.header.batchId, records, bodySha256));
    const file = await open(this.path, 'a');
    await file.appendFile(jsonLine({ signature: { records, bodySha256, ...signature } }));
    await file.datasync();
    await file.close();
    await rename(this.path, this.out);
    return { records, bodySha256 };
  }

  async close(): Promise<void> {
    await this.file.close().catch(() => undefined);
  }
}
