import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { ManifestError } from './errors';

/** Serial numbers name key files on the gateway, so they keep to a file-name-safe alphabet. */
export const SERIAL_NUMBER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const manifestEntrySchema = z.strictObject({
  serialNumber: z.string().regex(SERIAL_NUMBER, 'serialNumber must be 1-64 of A-Z a-z 0-9 . _ - (starting with a letter or digit)'),
  model: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[^\u0000-\u001f\u007f]+$/, 'model must not contain control characters'),
  /** Path of the device's PEM CSR; absent: the gateway generates the key pair. */
  csr: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(1).max(4096).optional()),
});
export type ManifestEntry = z.infer<typeof manifestEntrySchema>;

const CSV_COLUMNS = ['serialNumber', 'model', 'csr'] as const;

/** One CSV line (RFC 4180 quoting, no line breaks inside fields). */
export const splitCsvLine = (line: string): string[] | undefined => {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') fields.push(field), (field = '');
    else field += c;
  }
  if (quoted) return undefined;
  fields.push(field);
  return fields;
};

const issueText = (error: z.ZodError) => error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ');

/**
 * Parses a whole manifest before anything is signed, so a bad line 9,000 stops the run at
 * once. `.jsonl`: one JSON object per line; otherwise CSV with a header naming the columns.
 */
export async function readManifest(path: string): Promise<ManifestEntry[]> {
  const jsonLines = /\.jsonl$/i.test(path);
  const entries: ManifestEntry[] = [];
  const seen = new Set<string>();
  let columns: string[] | undefined;
  let lineNumber = 0;
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    for await (const raw of lines) {
      lineNumber++;
      const line = lineNumber === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (line.trim() === '') continue;
      let candidate: unknown;
      if (jsonLines) {
        try {
          candidate = JSON.parse(line);
        } catch {
          throw new ManifestError('manifest-record-invalid', 'not a JSON object', lineNumber);
        }
      } else if (!columns) {
        columns = splitCsvLine(line)?.map((c) => c.trim());
        const known = new Set<string>(CSV_COLUMNS);
        if (!columns || !columns.includes('serialNumber') || !columns.includes('model') || columns.some((c) => !known.has(c)) || new Set(columns).size !== columns.length) {
          throw new ManifestError('manifest-header-invalid', `the CSV header must name serialNumber, model and optionally csr; got "${line.slice(0, 120)}"`, lineNumber);
        }
        continue;
      } else {
        const fields = splitCsvLine(line);
        if (!fields || fields.length !== columns.length) throw new ManifestError('manifest-record-invalid', `expected ${columns.length} fields`, lineNumber);
        candidate = Object.fromEntries(columns.map((c, i) => [c, fields[i]!.trim()]));
      }
      const parsed = manifestEntrySchema.safeParse(candidate);
      if (!parsed.success) throw new ManifestError('manifest-record-invalid', issueText(parsed.error), lineNumber);
      if (seen.has(parsed.data.serialNumber)) throw new ManifestError('manifest-duplicate-serial', `serial number ${parsed.data.serialNumber} appears twice`, lineNumber);
      seen.add(parsed.data.serialNumber);
      entries.push(parsed.data);
    }
  } catch (error) {
    if (error instanceof ManifestError) throw error;
    throw new ManifestError('manifest-unreadable', `cannot read ${path}: ${(error as Error).message}`);
  }
  if (!jsonLines && !columns) throw new ManifestError('manifest-header-invalid', 'the CSV manifest is empty (no header)');
  return entries;
}
