import { z } from 'zod';
import { DEVICE_REVOCATION_REASONS, DEVICE_STATUSES } from '@devid/domain';

const name = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');

export const deviceIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'not a device id');

export const manufactureBody = z.strictObject({ serialNumber: name(64), model: name(128), factoryId: name(64) });
export const shipBody = z.strictObject({ owner: name(256) });
export const enrollBody = z.strictObject({});
export const transferBody = z.strictObject({ newOwner: name(256) });
export const revokeBody = z.strictObject({
  reason: z.enum(DEVICE_REVOCATION_REASONS as [string, ...string[]]),
  comment: name(1024).optional(),
});
export const reinstateBody = z.strictObject({ comment: name(1024).optional() });
export const decommissionBody = z.strictObject({ reason: name(1024) });

export const listQuery = z.strictObject({
  status: z.enum(DEVICE_STATUSES).optional(),
  owner: name(256).optional(),
  model: name(128).optional(),
  factoryId: name(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});
