import { Injectable } from '@nestjs/common';
import { CaDirectory, CertificateInventory } from '@devid/projections';
import { refusalAt } from './authorities';
import { chainRevocation } from './ca-revocation';
import { CertificateIssuer } from './certificate-issuer';

/**
 * What enrollment meets now, for /health: the issuing CA an LDevID of the default profile gets
 * and the notAfter it gets (`cutShort` when the CA ends before the LDevID would: time for a new
 * issuing CA, which then takes over), or why no LDevID can be issued; and the active CAs that
 * sign nothing now: their certificate is not valid (expired or not yet valid), or a CA above
 * them was revoked (code ca-revoked, with the revoked CA).
 */
@Injectable()
export class PkiHealth {
  constructor(
    private readonly issuer: CertificateIssuer,
    private readonly cas: CaDirectory,
    private readonly inventory: CertificateInventory,
  ) {}

  summary(now = new Date()) {
    let ldevid;
    try {
      const { ca, notAfter, cutShort } = this.issuer.issuing(now);
      ldevid = { caId: ca.caId, caNotAfter: ca.certificate.notAfter, notAfter: notAfter.toISOString(), cutShort };
    } catch (error) {
      const { code, message } = error as { code?: unknown; message?: unknown };
      ldevid = { unavailable: { code: typeof code === 'string' ? code : 'unavailable', detail: String(message ?? error) } };
    }
    const notValidCas = this.cas.list().flatMap((ca): Array<{ caId: string; role: string; code: string; notBefore: string; notAfter: string; revokedCaId?: string; revokedAt?: string }> => {
      if (ca.status !== 'active') return [];
      const dates = { notBefore: ca.certificate.notBefore, notAfter: ca.certificate.notAfter };
      const revoked = chainRevocation(this.cas, this.inventory, ca.caId);
      if (revoked) return [{ caId: ca.caId, role: ca.role, code: 'ca-revoked', revokedCaId: revoked.caId, revokedAt: revoked.revokedAt, ...dates }];
      const refusal = refusalAt(ca, now.getTime());
      return refusal ? [{ caId: ca.caId, role: ca.role, code: refusal.code, ...dates }] : [];
    });
    return { ldevid, notValidCas };
  }
}
