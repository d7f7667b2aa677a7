import { z } from 'zod';

const name = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');

export const detectorIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'not a detector id (lowercase letters, digits, dashes)');

/** A JWK's members; the domain checks the key's shape, the controller that it is a real key. */
const jwk = z.record(z.string().max(32), z.unknown()).refine((v) => Object.keys(v).length <= 16, 'too many JWK members');

const scope = z.union([
  z.strictObject({ all: z.literal(true) }),
  z.strictObject({ owners: z.array(name(256)).min(1).max(100) }),
  z.strictObject({ models: z.array(name(128)).min(1).max(100) }),
]);

export const registerBody = z.strictObject({
  detectorId: detectorIdSchema,
  name: name(256).optional(),
  publicKey: jwk,
  scope,
  enabled: z.boolean().default(true),
});
export const disableBody = z.strictObject({ reason: name(1024).optional() });
export const enableBody = z.strictObject({});
export const rotateKeyBody = z.strictObject({ publicKey: jwk });
