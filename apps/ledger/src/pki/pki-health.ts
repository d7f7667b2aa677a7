import { Injectable } from '@nestjs/common';
import { CaChainRevoked } from '@devid/domain';
import { CaDirectory } from '@devid/projections';
import { Authorities } from './authorities';
import { CertificateIssuer } from './certificate-issuer';

/**
 * What enrollment meets now, for /health: the issuing CA an LDevID of the default profile gets
 * and the notAfter it gets (`cutShort` when the CA ends before the LDevID would: time for a new
 * issuing CA, which then takes over), or why no LDevID can be issued; and the active CAs that
 * sign nothing now (Authorities.signingRefusal): a CA above them was revoked (code ca-revoked,
 * with the revoked CA), or their certificate is not valid (expired or not yet valid); and the
 * keys of active CAs (theirs, their OCSP signers') this process could not load (KeyWatch).
 */
@Injectable()
export class PkiHealth {
  constructor(
    private readonly issuer: CertificateIssuer,
    private readonly cas: CaDirectory,
    private readonly authorities: Authorities,
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
      const refusal = ca.status === 'active' ? this.authorities.signingRefusal(ca, now.getTime()) : undefined;
      if (refusal === undefined) return [];
      const chain = refusal instanceof CaChainRevoked ? { revokedCaId: refusal.revocation.caId, revokedAt: refusal.revocation.revokedAt } : {};
      return [{ caId: ca.caId, role: ca.role, code: refusal.code, ...chain, notBefore: ca.certificate.notBefore, notAfter: ca.certificate.notAfter }];
    });
    return { ldevid, notValidCas, keysUnavailable: this.authorities.keysUnavailable() };
  }
}
