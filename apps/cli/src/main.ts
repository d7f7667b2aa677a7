import { CommanderError } from 'commander';
import { buildProgram } from './program';
import { CliError } from './cli-error';

buildProgram()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    console.error(`devid: ${e instanceof CliError ? e.message : e instanceof Error ? e.message : String(e)}`);
    process.exit(e instanceof CliError ? e.exitCode : 1);
  });
