import { z } from 'zod';
import { ConfigError } from '../config/config';

const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);

const schema = z.object({
  /** Comma-separated host:port list. Unset: the in-process bus (embedded default). */
  KAFKA_BROKERS: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .transform((v) => v.split(',').map((b) => b.trim()).filter(Boolean))
      .pipe(z.array(z.string().regex(/^[A-Za-z0-9.[\]:-]+:\d{1,5}$/, 'each broker must be host:port')).min(1))
      .optional(),
  ),
  KAFKA_CLIENT_ID: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/).default('devid-ledger'),
  KAFKA_GROUP_ID: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/).default('devid-ledger'),
  /** Put before every topic name (shared clusters, tests): `<prefix>devid.lifecycle.v1`. */
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]{0,100}$/, 'only letters, digits, ".", "_" and "-"').default(''),
  RELAY_ENABLED: flag.default(true),
  /** CloudEvents `source`: a URN naming this ledger, or a path prefix. */
  RELAY_SOURCE: z.string().min(1).max(256).default('/devid-ledger'),
  RELAY_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1_000),
  REVOKE_CONSUMER_ENABLED: flag.default(true),
  REVOKE_FRESHNESS_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  REVOKE_MAX_BYTES: z.coerce.number().int().min(1_024).max(1_048_576).default(16_384),
});

export type MessagingConfig = z.infer<typeof schema>;

export const MESSAGING_CONFIG = Symbol('MESSAGING_CONFIG');

/** Validates the messaging part of the environment; a bad value stops the start with one clear line. */
export const loadMessagingConfig = (env: NodeJS.ProcessEnv = process.env): MessagingConfig => {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`invalid configuration: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
};
