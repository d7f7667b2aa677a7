import { z } from 'zod';

const schema = z.object({
  /** A checkpoint is signed once this many events are past the last one… */
  AUDIT_CHECKPOINT_EVERY: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  /** …or this often while any is (0: by count only). */
  AUDIT_CHECKPOINT_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
});

export type AuditConfig = z.infer<typeof schema>;

export class AuditConfigError extends Error {}

/** The audit settings, validated at start like the rest of the configuration. */
export const loadAuditConfig = (env: NodeJS.ProcessEnv = process.env): AuditConfig => {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AuditConfigError(`invalid configuration: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
};
