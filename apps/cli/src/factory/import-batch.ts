import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { z } from 'zod';
import { BATCH_MEDIA_TYPE } from '@devid/factory';
import { CliError } from '../cli-error';

const importResult = z.object({
  batchId: z.string(),
  caId: z.string(),
  records: z.number(),
  imported: z.number(),
  alreadyPresent: z.number(),
  rejected: z.array(z.object({ serialNumber: z.string(), record: z.number(), code: z.string(), reason: z.string() })),
});

/** Exit code when the batch was accepted but some device records were refused. */
export const EXIT_RECORDS_REJECTED = 3;

export const registerFactoryImport = (factory: Command) =>
  factory
    .command('import <batch>')
    .description('upload a signed batch to the ledger (POST /factory/batches); importing it again adds nothing')
    .option('--url <url>', 'ledger base URL', process.env.LEDGER_URL ?? 'http://127.0.0.1:3000')
    .option('--key <adminKey>', 'admin API key (default: $ADMIN_API_KEY)', process.env.ADMIN_API_KEY)
    .action(async (batch: string, opts: { url: string; key?: string }) => {
      if (!opts.key) throw new CliError('an admin key is needed: --key or ADMIN_API_KEY');
      let size: number;
      try {
        size = statSync(batch).size;
      } catch {
        throw new CliError(`cannot read ${batch}`);
      }
      const url = `${opts.url.replace(/\/$/, '')}/factory/batches`;
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${opts.key}`, 'content-type': BATCH_MEDIA_TYPE, 'content-length': String(size) },
          body: Readable.toWeb(createReadStream(batch)) as ReadableStream<Uint8Array>,
          duplex: 'half',
        } as RequestInit);
      } catch (e) {
        throw new CliError(`cannot reach the ledger at ${url}: ${(e as Error).message}`);
      }
      const body: unknown = await res.json().catch(() => ({}));
      if (!res.ok) {
        const problem = z.object({ code: z.string().optional(), detail: z.string().optional() }).safeParse(body);
        throw new CliError(`batch refused (${res.status}${problem.data?.code ? ` ${problem.data.code}` : ''}): ${problem.data?.detail ?? res.statusText}`);
      }
      const result = importResult.parse(body);
      console.log(JSON.stringify(result));
      if (result.rejected.length > 0) {
        console.error(`devid: ${result.rejected.length} device record(s) refused; the rest were imported`);
        process.exitCode = EXIT_RECORDS_REJECTED;
      }
    });
