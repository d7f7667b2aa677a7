import { resolve } from 'node:path';
import { z } from 'zod';

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  // An empty value means unset (e.g. `ADMIN_API_KEY= npm start`): generate one.
  ADMIN_API_KEY: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16, 'must be at least 16 characters').optional()),
  EVENT_STORE: z.enum(['sqlite']).default('sqlite'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How long a command waits for the read models to reflect it before answering. */
  READ_MODEL_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
});

export type LedgerConfig = Omit<z.infer<typeof schema>, 'DATA_DIR'> & { DATA_DIR: string };

export class ConfigError extends Error {}

/** Validates the environment once at start; a bad value stops the process with one clear line. */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): LedgerConfig => {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`invalid configuration: ${issue.path.join('.')}: ${issue.message}`);
  }
  return { ...parsed.data, DATA_DIR: resolve(parsed.data.DATA_DIR) };
};

export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');
