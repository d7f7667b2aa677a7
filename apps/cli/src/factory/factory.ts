import type { Command } from 'commander';
import { registerFactoryImport } from './import-batch';
import { registerFactoryIssue } from './issue-batch';

/**
 * `devid factory`: birth certificates on a factory gateway with no connection to the ledger.
 * The gateway signs with the factory CA's own key: the encrypted PKCS#8 file the ledger keeps
 * as DATA_DIR/ca-keys/<caId>.p8.pem (CA_KEY_PASSPHRASE), copied to the gateway, or the same
 * key on a PKCS#11 token; its certificate chain comes from GET /cas/<caId>/certificate.
 */
export const registerFactory = (program: Command) => {
  const factory = program.command('factory').description('offline factory batches of IDevIDs: issue on the gateway, import into the ledger');
  registerFactoryIssue(factory);
  registerFactoryImport(factory);
};
