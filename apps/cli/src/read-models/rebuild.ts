import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { SqliteEventStore } from '@devid/event-store';
import { DeviceRegistry, openReadModelDb, ProjectionRunner } from '@devid/projections';
import { CliError } from '../cli-error';

/** Offline rebuild: drops the read-model file and replays the whole log into a new one. */
export const rebuildReadModels = async (dataDir: string) => {
  const eventsFile = join(dataDir, 'events.db');
  if (!existsSync(eventsFile)) throw new CliError(`no event log at ${eventsFile}`);
  const readModelsFile = join(dataDir, 'read-models.db');
  for (const suffix of ['', '-wal', '-shm']) rmSync(readModelsFile + suffix, { force: true });
  const store = await SqliteEventStore.open(eventsFile);
  const db = openReadModelDb(readModelsFile);
  try {
    const runner = new ProjectionRunner(store, new DeviceRegistry(db));
    const started = performance.now();
    await runner.rebuild();
    await runner.stop();
    return { position: runner.projection.checkpoint(), seconds: (performance.now() - started) / 1000 };
  } finally {
    db.close();
    await store.close();
  }
};

export const registerReadModels = (program: Command) => {
  const readModels = program.command('read-models').description('manage the read models derived from the event log');
  readModels
    .command('rebuild')
    .description('delete the read models and rebuild them from position 0 (run with the ledger stopped)')
    .option('--data-dir <dir>', 'ledger data directory', process.env.DATA_DIR ?? './data')
    .action(async (opts: { dataDir: string }) => {
      const { position, seconds } = await rebuildReadModels(resolve(opts.dataDir));
      console.log(`read models rebuilt up to position ${position} in ${seconds.toFixed(2)} s`);
    });
};
