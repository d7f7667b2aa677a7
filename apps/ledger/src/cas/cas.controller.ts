import { Controller, Get, Inject, Param, Req, Res, StreamableFile } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CaNotFound, ocspSignerHistory } from '@devid/domain';
import type { EventStore } from '@devid/event-store';
import { CaDirectory, CertificateInventory, type CaRow, type ServerCertificateRow } from '@devid/projections';
import { pem, wantsDer } from '../http/pem';
import { chainRevocation } from '../pki/ca-revocation';
import { loadCa } from '../pki/execute-ca-command';
import { EVENT_STORE } from '../store/tokens';

/** A certificate the CA issued to one of the ledger's own services (e.g. the EST port's TLS certificate). */
const serverCertificateView = (issued: ServerCertificateRow) => ({
  purpose: issued.purpose,
  hostnames: issued.hostnames,
  serialNumber: issued.certificate.serialNumber,
  subject: issued.certificate.subject,
  notBefore: issued.certificate.notBefore,
  notAfter: issued.certificate.notAfter,
  fingerprintSha256: issued.certificate.fingerprintSha256,
  issuedAt: issued.issuedAt,
  status: issued.status,
  revokedAt: issued.revokedAt,
  revocationReason: issued.reason,
});

/**
 * A CA as the API shows it: from the directory, with its own revocation, `chainRevoked` (the
 * first revocation on its chain, its own or a CA's above it: then it signs nothing, and OCSP
 * answers revoked for what it signed), its services' certificates, and every OCSP signer it has
 * had as its stream tells it (a handful of events per CA).
 */
export const caView = async (ca: CaRow, directory: CaDirectory, store: EventStore, inventory: CertificateInventory) => ({
  caId: ca.caId,
  role: ca.role,
  parentId: ca.parentId,
  status: ca.status,
  revokedAt: ca.revokedAt,
  revocationReason: ca.revocationReason,
  chainRevoked: chainRevocation(directory, inventory, ca.caId) ?? null,
  algorithm: ca.algorithm,
  subject: ca.certificate.subject,
  serialNumber: ca.certificate.serialNumber,
  notBefore: ca.certificate.notBefore,
  notAfter: ca.certificate.notAfter,
  fingerprintSha256: ca.certificate.fingerprintSha256,
  certificatePem: pem('CERTIFICATE', ca.certificate.der),
  ocspSigner: ca.ocspSigner ? { serialNumber: ca.ocspSigner.certificate.serialNumber, notAfter: ca.ocspSigner.certificate.notAfter } : null,
  /** Every signer it has had, oldest first: when each was replaced and its key destroyed (null: not yet). */
  ocspSigners: ocspSignerHistory((await loadCa(store, ca.caId)).events),
  serverCertificates: directory.serverCertificates(ca.caId).map(serverCertificateView),
});

/** Relying parties build chains from here (and AIA caIssuers points here). */
@ApiTags('certificate authorities')
@Controller('cas')
export class CasReadController {
  constructor(
    private readonly cas: CaDirectory,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly inventory: CertificateInventory,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Every CA: id, role, parent, status, certificate PEM' })
  async list() {
    return { cas: await Promise.all(this.cas.list().map((ca) => caView(ca, this.cas, this.store, this.inventory))) };
  }

  @Get(':caId')
  one(@Param('caId') caId: string) {
    const ca = this.cas.get(caId);
    if (!ca) throw new CaNotFound(caId);
    return caView(ca, this.cas, this.store, this.inventory);
  }

  @Get(':caId/certificate')
  @ApiOperation({ summary: 'The CA certificate: PEM, or DER with Accept: application/pkix-cert' })
  certificate(@Param('caId') caId: string, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const ca = this.cas.get(caId.replace(/\.(pem|crt|cer)$/, ''));
    if (!ca) throw new CaNotFound(caId);
    if (wantsDer(req.headers.accept, ['application/pkix-cert']) || caId.endsWith('.cer')) {
      return new StreamableFile(Buffer.from(ca.certificate.der, 'base64'), { type: 'application/pkix-cert' });
    }
    res.type('application/x-pem-file');
    return pem('CERTIFICATE', ca.certificate.der);
  }
}
