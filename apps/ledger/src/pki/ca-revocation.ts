import type { RevocationReason } from '@devid/domain';
import type { CaDirectory, CertificateInventory } from '@devid/projections';

/**
 * When and why a CA was revoked, or undefined while it is active: the time and reason its
 * parent's revocation recorded (a root has none: the time its own stream recorded, no reason).
 */
export const caRevocation = (cas: Pick<CaDirectory, 'get'>, inventory: Pick<CertificateInventory, 'issuedRevocation'>, caId: string): { revokedAt: string; reason?: RevocationReason } | undefined => {
  const ca = cas.get(caId);
  if (ca?.status !== 'revoked') return undefined;
  const recorded = ca.parentId === null ? undefined : inventory.issuedRevocation(ca.parentId, ca.certificate.serialNumber);
  const revokedAt = recorded?.revokedAt ?? ca.revokedAt;
  if (revokedAt == null) return undefined;
  return recorded?.reason === undefined ? { revokedAt } : { revokedAt, reason: recorded.reason };
};
