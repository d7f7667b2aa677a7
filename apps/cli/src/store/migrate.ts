import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { EventStoreError } from '@devid/event-store';
import { CliError } from '../cli-error';
import { migrateLog } from './migrate-log';
import { describeLocation, openStoreAt, parseStoreLocation } from './store-location';

interface MigrateCliOptions {
  from: string;
  to: string;
  namespace: string;
  progress: boolean;
}

export const registerStoreMigrate = (store: Command) =>
  store
    .command('migrate')
    .description('copy the event log to another store: same event ids, order, positions and recordedAt (resumable: run again to continue; run with the ledger stopped)')
    .requiredOption('--from <store>', 'source: sqlite:<path to events.db>')
    .requiredOption('--to <store>', 'target: eventstoredb:<kurrentdb://… connection string> or sqlite:<path>')
    .option('--namespace <prefix>', "EventStoreDB target: the ledger's EVENTSTORE_NAMESPACE", process.env.EVENTSTORE_NAMESPACE ?? '')
    .option('--no-progress', 'no progress bar')
    .action(async (opts: MigrateCliOptions) => {
      const from = parseStoreLocation('--from', opts.from);
      const to = parseStoreLocation('--to', opts.to);
      if (from.kind !== 'sqlite') throw new CliError('--from must be sqlite:<path>: the embedded log is what outgrows one machine');
      if (!existsSync(from.path)) throw new CliError(`no event log at ${from.path}`);
      if (to.kind === 'sqlite' && to.path === from.path) throw new CliError('--from and --to are the same file');
      let recordedAt = new Date(0);
      const source = await openStoreAt(from).catch((error: unknown) => {
        throw new CliError(`cannot open ${describeLocation(from)}: ${error instanceof Error ? error.message : String(error)}`);
      });
      const bar = opts.progress ? new SingleBar({ format: 'migrating {bar} {value}/{total} events  {eta_formatted} left', stream: process.stderr, hideCursor: true }) : undefined;
      try {
        const target = await openStoreAt(to, { clock: () => recordedAt, namespace: opts.namespace }).catch((error: unknown) => {
          throw new CliError(`cannot open ${describeLocation(to)}: ${error instanceof Error ? error.message : String(error)}`);
        });
        try {
          const summary = await migrateLog(source, target, {
            stamp: (at) => (recordedAt = new Date(at)),
            onStart: ({ copied, total }) => bar?.start(total, copied),
            onProgress: ({ copied }) => bar?.update(copied),
          });
          bar?.stop();
          const resumed = summary.resumedAt > 0 ? ` (resumed after ${summary.resumedAt} already there)` : '';
          console.log(`migrated ${summary.copied} of ${summary.total} events to ${describeLocation(to)}${resumed}`);
        } finally {
          await target.close();
        }
      } catch (error) {
        bar?.stop();
        if (error instanceof EventStoreError) throw new CliError(`migration stopped: ${error.message} (run again to continue)`);
        throw error;
      } finally {
        await source.close();
      }
    });

export const registerStore = (program: Command) => {
  const store = program.command('store').description('the event store: move the log between stores');
  registerStoreMigrate(store);
};
