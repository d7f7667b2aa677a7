import { Injectable } from '@nestjs/common';
import { CaDirectory } from '@devid/projections';
import { refusalAt } from './authorities';
import { CertificateIssuer } from './certificate-issuer';

/**
 * What enrollment meets now, for /health: the issuing CA an LDevID of the default profile gets
 * and the notAfter it gets (`cutShort` when the CA ends before the LDevID would: time for a new
 * issuing CA, which then takes over), or why no LDevID can be issued; and the active CAs whose
 * certificate is not valid now (expired or not yet valid: they sign nothing).
 */
@Injectable()
export class PkiHealth {
  constructor(
    private readonly issuer: CertificateIssuer,
    private readonly cas: CaDirectory,
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
    const notValidCas = this.cas.list().flatMap((ca) => {
      if (ca.status !== 'active') return [];
      const refusal = refusalAt(ca, now.getTime());
      return refusal ? [{ caId: ca.caId, role: ca.role, code: refusal.code, notBefore: ca.certificate.notBefore, notAfter: ca.certificate.notAfter }] : [];
    });
    return { ldevid, notValidCas };
  }
}
