import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { OcspResponder, type CertificateStatus, type OcspAnswer } from '@devid/pki';
import { CaDirectory, CertificateInventory } from '@devid/projections';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/config';
import { Authorities } from '../pki/authorities';
import { chainRevocation } from '../pki/ca-revocation';

/**
 * RFC 6960 answers from the revocation index, signed by each CA's delegated signer.
 * Nonce-less answers are pre-signed and re-signed when a certificate's status changes.
 */
@Injectable()
export class OcspService implements OnModuleInit {
  private readonly logger = new Logger('ocsp');
  private responder?: { key: string; value: OcspResponder };

  constructor(
    private readonly authorities: Authorities,
    private readonly cas: CaDirectory,
    private readonly inventory: CertificateInventory,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  onModuleInit() {
    this.inventory.onChange((changes) => {
      const responder = this.current();
      void (async () => {
        // Each change's stale answer is dropped first; a CA whose signer cannot sign now is skipped, not the others.
        const failed = new Map<string, unknown>();
        for (const c of changes) {
          if (!failed.has(c.caId)) await responder.refresh(c.caId, c.serialNumber, new Date()).catch((e: unknown) => failed.set(c.caId, e));
          else responder.invalidate(c.caId, c.serialNumber);
        }
        for (const [caId, e] of failed) this.logger.error(`refreshing pre-signed responses of ${caId}: ${String(e)}`);
      })();
    });
  }

  async respond(request: Uint8Array): Promise<Uint8Array> {
    return this.current().respond(request, new Date());
  }

  /** The same, with the times an HTTP cache may keep an answer that is the same for every client (see OcspAnswer). */
  async answer(request: Uint8Array): Promise<OcspAnswer> {
    return this.current().answer(request, new Date());
  }

  /**
   * A certificate's status as the ledger knows it, and, when its CA or a CA above it has been
   * revoked, revoked from the first such revocation on (RFC 6960 §2.7: a responder that knows a
   * CA's key is compromised may answer revoked for everything the CA issued; a revoked root takes
   * its whole tree along): reason cACompromise when that CA was revoked for a compromise, else its
   * own reason. A relying party that checks OCSP and not the CAs' certificates then refuses what
   * a revoked chain signed. A certificate revoked before keeps its own revocation; an unknown
   * serial stays unknown.
   */
  lookup = (caId: string, serialNumber: string): CertificateStatus => {
    const own = this.ownStatus(caId, serialNumber);
    const ca = own.status === 'unknown' ? undefined : chainRevocation(this.cas, this.inventory, caId);
    if (ca === undefined) return own;
    const revokedAt = new Date(ca.revokedAt);
    if (own.status === 'revoked' && own.revokedAt.getTime() <= revokedAt.getTime()) return own;
    return { status: 'revoked', revokedAt, reason: ca.reason === undefined || ca.reason === 'keyCompromise' || ca.reason === 'cACompromise' ? 'cACompromise' : ca.reason };
  };

  private ownStatus(caId: string, serialNumber: string): CertificateStatus {
    const cert = this.inventory.get(serialNumber, caId);
    if (!cert || cert.caId !== caId) {
      // Not a device's: a subordinate CA's certificate or one of the ledger's services' (the EST
      // port's), both recorded on CA streams. Their revocations come from the inventory, like the
      // devices', so OCSP and the CRL agree at every checkpoint.
      const revocation = this.inventory.issuedRevocation(caId, serialNumber);
      if (revocation) return { status: 'revoked', revokedAt: new Date(revocation.revokedAt), reason: revocation.reason };
      const known = this.inventory.isAuthorityCertificate(caId, serialNumber) || this.cas.serverCertificate(caId, serialNumber) !== undefined;
      return known ? { status: 'good' } : { status: 'unknown' };
    }
    if (cert.status === 'revoked') return { status: 'revoked', revokedAt: new Date(cert.revokedAt!), ...(cert.reason ? { reason: cert.reason } : {}) };
    return { status: 'good' }; // superseded by a re-enrollment is not revoked
  }

  /**
   * One responder per set of CAs, signers and CA statuses; rebuilt (its pre-signed answers
   * dropped) when one changes, e.g. a CA is revoked. It holds the CAs' certificates; each CA's
   * signer key is loaded on the first request about that CA, so a key that cannot be loaded (a
   * revoked CA's destroyed key, a token away) fails the requests about its CA only.
   */
  private current(): OcspResponder {
    const cas = this.cas.list().filter((ca) => ca.ocspSigner);
    const key = cas.map((ca) => `${ca.caId}:${ca.ocspSigner!.certificate.serialNumber}:${ca.status}`).join(',');
    if (this.responder?.key !== key) {
      const authorities = cas.map((ca) => ({
        ca: { caId: ca.caId, certificateDer: new Uint8Array(Buffer.from(ca.certificate.der, 'base64')) },
        signer: () => this.authorities.ocspSigner(ca.caId),
      }));
      this.responder = { key, value: new OcspResponder({ authorities, lookup: this.lookup, validitySeconds: this.config.OCSP_VALIDITY_SECONDS }) };
    }
    return this.responder.value;
  }
}
