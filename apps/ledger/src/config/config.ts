import { resolve } from 'node:path';
import { z } from 'zod';

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  // An empty value means unset (e.g. `ADMIN_API_KEY= npm start`): generate one.
  ADMIN_API_KEY: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16, 'must be at least 16 characters').optional()),
  /** sqlite: the file DATA_DIR/events.db (embedded default); eventstoredb: EventStoreDB / KurrentDB at EVENTSTORE_CONNECTION. */
  EVENT_STORE: z.enum(['sqlite', 'eventstoredb']).default('sqlite'),
  /** e.g. kurrentdb://kurrentdb:2113?tls=false, or kurrentdb+discover://node1:2113,node2:2113,node3:2113 for a cluster. */
  EVENTSTORE_CONNECTION: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(/^(kurrentdb|kurrent|kdb|esdb)(\+discover)?:\/\/\S+$/, 'must be a kurrentdb://, kurrentdb+discover://, kdb:// or esdb:// connection string')
      .optional(),
  ),
  /** Put before every stream name in EventStoreDB, when several ledgers share one (letters, digits, . _ - / :). */
  EVENTSTORE_NAMESPACE: z.string().regex(/^([A-Za-z0-9][A-Za-z0-9._:/-]{0,63})?$/, 'letters, digits and . _ : / - (at most 64), starting with a letter or digit').default(''),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How long a command waits for the read models to reflect it before answering. */
  READ_MODEL_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
  /** Public base URL put in certificates (CRL distribution point, AIA); default: the listen URL. */
  PKI_BASE_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url().optional()),
  /** Encrypts software CA keys at rest (PKCS#8); generated into DATA_DIR when unset (demo only). */
  CA_KEY_PASSPHRASE: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(12, 'must be at least 12 characters').optional()),
  /** Where keys of new CAs are generated. */
  CA_KEY_BACKEND: z.enum(['software', 'pkcs11']).default('software'),
  CA_KEY_ALGORITHM: z.enum(['ECDSA-P256', 'ECDSA-P384', 'Ed25519', 'RSA-2048', 'RSA-3072', 'RSA-4096']).default('ECDSA-P256'),
  PKCS11_MODULE: z.string().optional(),
  HSM_TOKEN_LABEL: z.string().optional(),
  HSM_PIN: z.string().optional(),
  /**
   * How long a request, a key check or a shutdown waits for the token (queue included) before it
   * is answered 503 key-store-unavailable: 30 s by default. Key generation is not bounded.
   */
  HSM_OPERATION_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(3_600).default(30),
  /** Create a demo root, issuing and factory CA on the first start. */
  DEMO_CA: z.enum(['true', 'false']).default('true'),
  LDEVID_VALIDITY_DAYS: z.coerce.number().int().min(1).max(36_500).default(365),
  /** JSON file with custom certificate templates (extra subject attributes, SAN URIs, policies, EKUs). */
  CERT_TEMPLATES_FILE: z.string().optional(),
  CRL_VALIDITY_SECONDS: z.coerce.number().int().min(60).max(31 * 86_400).default(86_400),
  /** A new base (full) CRL for delta CRLs is cut this often. */
  CRL_BASE_INTERVAL_SECONDS: z.coerce.number().int().min(60).default(86_400),
  OCSP_VALIDITY_SECONDS: z.coerce.number().int().min(60).max(7 * 86_400).default(3_600),
  /**
   * Each CA's delegated OCSP signer (365 days, id-pkix-ocsp-nocheck) is replaced, while the
   * ledger runs, once less than this remains: 30 days by default; at most 365 days less one second.
   */
  OCSP_SIGNER_RENEW_SECONDS: z.coerce.number().int().min(60).max(365 * 86_400 - 1).default(30 * 86_400),
  /**
   * A replaced OCSP signer's private key is destroyed this long after its replacement (1 hour by
   * default): time for every ledger process on the same store to sign with the new one. Its
   * answers stay verifiable: they carry its certificate.
   */
  OCSP_SIGNER_KEY_RETENTION_SECONDS: z.coerce.number().int().min(0).max(365 * 86_400).default(3_600),
  /** How often every active CA's keys are loaded again to see which cannot be (KeyWatch, /health pki.keysUnavailable): 60 s by default. */
  KEY_CHECK_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /** EST (RFC 7030) HTTPS port, or `off`; default 8443 (an ephemeral port when PORT=0, as in tests). */
  EST_PORT: z.preprocess((v) => (v === '' ? undefined : v), z.union([z.literal('off'), z.coerce.number().int().min(0).max(65535)]).optional()),
  /** EST server certificate chain and key (PEM files); default: issued by the issuing CA into DATA_DIR/est. */
  EST_TLS_CERT: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  EST_TLS_KEY: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  /**
   * The issued EST certificate (397 days) is replaced, while the ledger runs, once less than this
   * remains: 30 days by default; at most 397 days less one second.
   */
  EST_TLS_RENEW_SECONDS: z.coerce.number().int().min(60).max(397 * 86_400 - 1).default(30 * 86_400),
});

export type LedgerConfig = Omit<z.infer<typeof schema>, 'DATA_DIR'> & { DATA_DIR: string };

export class ConfigError extends Error {}

/** Validates the environment once at start; a bad value stops the process with one clear line. */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): LedgerConfig => {
  const parsed = schema
    .refine((config) => config.EVENT_STORE !== 'eventstoredb' || config.EVENTSTORE_CONNECTION !== undefined, {
      path: ['EVENTSTORE_CONNECTION'],
      message: 'is required with EVENT_STORE=eventstoredb (e.g. kurrentdb://localhost:2113?tls=false)',
    })
    .safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`invalid configuration: ${issue.path.join('.')}: ${issue.message}`);
  }
  return { ...parsed.data, DATA_DIR: resolve(parsed.data.DATA_DIR) };
};

export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');
