import { Command } from 'commander';
import { registerAudit } from './audit/audit';
import { registerCa } from './ca/ca';
import { registerDetector } from './detector/detector';
import { registerDevices } from './devices/devices';
import { registerFactory } from './factory/factory';
import { registerReadModels } from './read-models/rebuild';
import { registerStore } from './store/migrate';

export const buildProgram = (): Command => {
  const program = new Command('devid')
    .description('DevID Ledger command line: administration, factory batches, audit')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerDevices(program);
  registerCa(program);
  registerDetector(program);
  registerReadModels(program);
  registerFactory(program);
  registerStore(program);
  registerAudit(program);
  return program;
};
