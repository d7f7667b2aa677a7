import { Body, Controller, HttpCode, Inject, Param, Post, Req, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { CA_ROLES, CaNotFound, SERVER_CERTIFICATE_REVOCATION_REASONS, type RevocationReason } from '@devid/domain';
import type { EventStore } from '@devid/event-store';
import { KEY_ALGORITHMS } from '@devid/pki';
import { CaDirectory, CertificateInventory } from '@devid/projections';
import { AdminGuard } from '../http/admin.guard';
import type { ActorRequest } from '../devices/command-context';
import { OcspSignerRenewal } from '../ocsp/ocsp-signer-renewal';
import { Authorities } from '../pki/authorities';
import { ExecuteCaCommand } from '../pki/execute-ca-command';
import { EVENT_STORE } from '../store/tokens';
import { caView } from './cas.controller';

export const createCaBody = z.strictObject({
  caId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes'),
  role: z.enum(CA_ROLES as [string, ...string[]]),
  parentId: z.string().max(63).optional(),
  commonName: z.string().min(1).max(64).optional(),
  algorithm: z.enum(KEY_ALGORITHMS).optional(),
  keyBackend: z.enum(['software', 'pkcs11']).optional(),
  /** Days to the certificate's notAfter, cut to the parent's; default: root and factory CAs 99991231235959Z, issuing CAs 10 years. */
  validityDays: z.number().int().min(1).max(36_500).optional(),
});
const revokeCaBody = z.strictObject({ reason: z.enum(['cACompromise', 'keyCompromise', 'cessationOfOperation', 'superseded', 'affiliationChanged', 'unspecified']) });
const renewOcspSignerBody = z.strictObject({});
const revokeServerCertificateBody = z.strictObject({ reason: z.enum(SERVER_CERTIFICATE_REVOCATION_REASONS as [RevocationReason, ...RevocationReason[]]) });

@ApiTags('certificate authorities')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('cas')
export class CasAdminController {
  constructor(
    private readonly authorities: Authorities,
    private readonly cas: CaDirectory,
    private readonly commands: CommandBus,
    private readonly renewal: OcspSignerRenewal,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly inventory: CertificateInventory,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a root, issuing or factory CA (key generated in software or on the HSM)' })
  @ApiBody({ schema: z.toJSONSchema(createCaBody) as Record<string, unknown> })
  async create(@Req() req: ActorRequest, @Body() body: unknown) {
    const { keyBackend, role, ...rest } = createCaBody.parse(body);
    await this.authorities.create({ ...rest, role: role as (typeof CA_ROLES)[number], ...(keyBackend ? { backend: keyBackend } : {}) }, req.actor ?? 'admin');
    return caView(this.cas.get(rest.caId)!, this.cas, this.store, this.inventory);
  }

  @Post(':caId/revoke')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke a CA: it signs nothing more; factory batches under it are refused' })
  async revoke(@Req() req: ActorRequest, @Param('caId') caId: string, @Body() body: unknown) {
    const { reason } = revokeCaBody.parse(body);
    if (!this.cas.get(caId)) throw new CaNotFound(caId);
    await this.commands.execute(
      new ExecuteCaCommand({ type: 'RevokeCertificateAuthority', caId, commandId: randomUUID(), now: new Date().toISOString(), actor: req.actor ?? 'admin', data: { reason: reason as RevocationReason } }),
    );
    return caView(this.cas.get(caId)!, this.cas, this.store, this.inventory);
  }

  @Post(':caId/ocsp-signer/renew')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Replace the CA's delegated OCSP signer now (new key, certificate signed by the CA, recorded first); the ledger also does it by itself once less than OCSP_SIGNER_RENEW_SECONDS of the signer's life remains",
  })
  @ApiBody({ required: false, schema: z.toJSONSchema(renewOcspSignerBody) as Record<string, unknown> })
  async renewOcspSigner(@Req() req: ActorRequest, @Param('caId') caId: string, @Body() body: unknown) {
    renewOcspSignerBody.parse(body ?? {});
    await this.authorities.renewOcspSigner(caId, req.actor ?? 'admin');
    this.renewal.signerReplaced();
    return caView(this.cas.get(caId)!, this.cas, this.store, this.inventory);
  }

  @Post(':caId/server-certificates/:serialNumber/revoke')
  @HttpCode(200)
  @ApiOperation({
    summary: "Revoke a certificate the CA issued to one of the ledger's services (the EST port's TLS certificate): it goes on the CA's CRL, OCSP answers revoked, and the EST port takes a new one",
  })
  @ApiBody({ schema: z.toJSONSchema(revokeServerCertificateBody) as Record<string, unknown> })
  async revokeServerCertificate(@Req() req: ActorRequest, @Param('caId') caId: string, @Param('serialNumber') serialNumber: string, @Body() body: unknown) {
    const { reason } = revokeServerCertificateBody.parse(body);
    if (!this.cas.get(caId)) throw new CaNotFound(caId);
    await this.commands.execute(
      new ExecuteCaCommand({
        type: 'RevokeServerCertificate',
        caId,
        commandId: randomUUID(),
        now: new Date().toISOString(),
        actor: req.actor ?? 'admin',
        data: { serialNumber, reason },
      }),
    );
    return caView(this.cas.get(caId)!, this.cas, this.store, this.inventory);
  }
}
