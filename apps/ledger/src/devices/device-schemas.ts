import { z } from 'zod';
import { DEVICE_REVOCATION_REASONS, DEVICE_STATUSES } from '@devid/domain';

const name = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');

// Size is the CSR policy's to judge (csr-too-large); the 64 KiB body limit bounds it anyway.
export const deviceIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'not a device id');

const csr = z.string();
const template = z.string().min(1).max(64).optional();

export const manufactureBody = z.strictObject({
  /** The manufacturer's own id for the device; default: derived from model + serial number. */
  deviceId: deviceIdSchema.optional(),
  serialNumber: name(64),
  model: name(128),
  factoryId: name(64),
  /** PKCS#10 for the birth certificate (IDevID), signed by the factory CA. */
  csr: csr.optional(),
  template,
});
export const shipBody = z.strictObject({ owner: name(256) });
export const enrollBody = z.strictObject({ csr: csr.optional(), template });
export const reenrollBody = z.strictObject({ csr, template, revokePrevious: z.boolean().optional() });
export const transferBody = z.strictObject({ newOwner: name(256) });
export const revokeBody = z.strictObject({
  reason: z.enum(DEVICE_REVOCATION_REASONS as [string, ...string[]]),
  comment: name(1024).optional(),
});
export const reinstateBody = z.strictObject({ comment: name(1024).optional(), csr: csr.optional(), template });
export const decommissionBody = z.strictObject({ reason: name(1024) });

export const listQuery = z.strictObject({
  status: z.enum(DEVICE_STATUSES).optional(),
  owner: name(256).optional(),
  model: name(128).optional(),
  factoryId: name(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});
