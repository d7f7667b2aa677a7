import { firstChainRevocation, type ChainRevocation } from '@devid/domain';
import type { CaDirectory, CaRow, CertificateInventory } from '@devid/projections';

type Directory = Pick<CaDirectory, 'chain'>;
type Inventory = Pick<CertificateInventory, 'issuedRevocation'>;

/**
 * When and why this CA was revoked, or undefined while it is active: the time and reason its
 * parent's revocation index recorded (what the parent's CRL and OCSP say, cut at the same
 * checkpoint), else, for a root (no issuer lists it), its own record.
 */
const revocationOf = (inventory: Inventory, ca: CaRow): ChainRevocation | undefined => {
  if (ca.status !== 'revoked') return undefined;
  const recorded = ca.parentId === null ? undefined : inventory.issuedRevocation(ca.parentId, ca.certificate.serialNumber);
  const revokedAt = recorded?.revokedAt ?? ca.revokedAt;
  if (revokedAt == null) return undefined;
  const reason = recorded?.reason ?? ca.revocationReason ?? undefined;
  return reason === undefined ? { caId: ca.caId, revokedAt } : { caId: ca.caId, revokedAt, reason };
};

/**
 * The first revocation on the chain of what `caId` signed: of the CA itself or of a CA above it
 * (a revoked root takes everything under it along), or undefined while the whole chain is active.
 */
export const chainRevocation = (cas: Directory, inventory: Inventory, caId: string): ChainRevocation | undefined =>
  firstChainRevocation(cas.chain(caId).map((ca) => revocationOf(inventory, ca)));
