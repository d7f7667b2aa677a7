import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_DB_FILE, AuditPublicKey, openAuditDb } from '@devid/audit';
import { SqliteEventStore } from '@devid/event-store';
import { CliError } from '../cli-error';

/** The ledger's files in DATA_DIR, opened beside a running ledger (SQLite WAL allows it). */
export const openLedgerFiles = async (dataDir: string) => {
  const eventsFile = join(dataDir, 'events.db');
  if (!existsSync(eventsFile)) throw new CliError(`no event log at ${eventsFile}`);
  const store = await SqliteEventStore.open(eventsFile);
  const auditFile = join(dataDir, AUDIT_DB_FILE);
  const chainDb = existsSync(auditFile) ? openAuditDb(auditFile) : undefined;
  return { store, chainDb, close: async () => (chainDb?.close(), await store.close()) };
};

/** The key to trust: --key (PEM or JWK file), else the one the ledger wrote to DATA_DIR. */
export const trustedKeyFrom = (keyFile: string | undefined, dataDir?: string): AuditPublicKey | undefined => {
  const file = keyFile ?? (dataDir && existsSync(join(dataDir, 'audit-key.pub.pem')) ? join(dataDir, 'audit-key.pub.pem') : undefined);
  if (file === undefined) return undefined;
  try {
    return AuditPublicKey.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`${file}: ${(error as Error).message}`);
  }
};
