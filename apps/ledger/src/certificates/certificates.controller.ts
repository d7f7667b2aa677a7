import { Controller, Get, Param, Query, Req, Res, StreamableFile } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { CaDirectory, CertificateInventory, type CertificateRow } from '@devid/projections';
import { HttpProblem } from '../http/problem';
import { pem, wantsDer } from '../http/pem';
import { PointInTime } from '../audit/point-in-time';
import { chainRevocation } from '../pki/ca-revocation';

const DURATION = /^(\d{1,5})([dh])$/;
const listQuery = z.strictObject({
  deviceId: z.string().max(64).optional(),
  caId: z.string().max(64).optional(),
  status: z.enum(['good', 'revoked', 'superseded']).optional(),
  profile: z.enum(['IDevID', 'LDevID']).optional(),
  expiringBefore: z.iso.datetime({ offset: true }).optional(),
  /** e.g. 30d or 12h: expiring within that long from now (and not yet expired). */
  expiringWithin: z.string().regex(DURATION, 'a duration like 30d or 12h').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});
const serialSchema = z.string().regex(/^[0-9a-fA-F]{1,40}$/, 'a hex serial number');

const ownView = (c: CertificateRow) => ({
  serialNumber: c.serialNumber,
  caId: c.caId,
  deviceId: c.deviceId,
  profile: c.profile,
  status: c.status,
  subject: c.subject,
  notBefore: c.notBefore,
  notAfter: c.notAfter,
  spkiSha256: c.spkiSha256,
  fingerprintSha256: c.fingerprintSha256,
  issuedAt: c.issuedAt,
  ...(c.revokedAt ? { revokedAt: c.revokedAt, reason: c.reason } : {}),
});

/** Certificate inventory (read model of CertificateIssued / Revoked / Superseded events). */
@ApiTags('certificates')
@Controller('certificates')
export class CertificatesController {
  constructor(
    private readonly inventory: CertificateInventory,
    private readonly pointInTime: PointInTime,
    private readonly cas: CaDirectory,
  ) {}

  /**
   * Views of certificates as their own events left them (`status`), with `caRevoked` when the CA
   * that issued one, or a CA above it, has been revoked since (the first such revocation, with
   * the CA's id): OCSP then answers revoked for it (see OcspService.lookup). Each CA's chain is
   * read once per answer, not once per certificate.
   */
  private viewer() {
    const revocations = new Map<string, ReturnType<typeof chainRevocation>>();
    return (c: CertificateRow) => {
      if (!revocations.has(c.caId)) revocations.set(c.caId, chainRevocation(this.cas, this.inventory, c.caId));
      const ca = revocations.get(c.caId);
      return { ...ownView(c), ...(ca ? { caRevoked: ca } : {}) };
    };
  }

  @Get()
  @ApiOperation({ summary: 'List certificates; filters combine' })
  @ApiQuery({ name: 'deviceId', required: false })
  @ApiQuery({ name: 'caId', required: false })
  @ApiQuery({ name: 'status', required: false, enum: ['good', 'revoked', 'superseded'] })
  @ApiQuery({ name: 'expiringBefore', required: false })
  @ApiQuery({ name: 'expiringWithin', required: false, description: 'e.g. 30d' })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  list(@Query() query: unknown) {
    const q = listQuery.parse(query);
    let expiringBefore = q.expiringBefore ? new Date(q.expiringBefore).toISOString() : undefined;
    if (q.expiringWithin) {
      const [, n, unit] = DURATION.exec(q.expiringWithin)!;
      const within = new Date(Date.now() + Number(n) * (unit === 'd' ? 86_400_000 : 3_600_000)).toISOString();
      expiringBefore = expiringBefore && expiringBefore < within ? expiringBefore : within;
    }
    const page = this.inventory.list({ ...q, expiringBefore });
    return { certificates: page.certificates.map(this.viewer()), nextCursor: page.nextCursor };
  }

  @Get(':serial/status')
  @ApiOperation({ summary: "A certificate's status; with asOf, the status it had then (folded from its device's events)" })
  @ApiQuery({ name: 'asOf', required: false, description: 'RFC 3339 date-time with a time zone' })
  @ApiQuery({ name: 'caId', required: false })
  status(@Param('serial') serial: string, @Query('caId') caId: unknown, @Query('asOf') asOf: unknown) {
    const q = z.strictObject({ caId: z.string().max(64).optional(), asOf: z.string().max(64).optional() }).parse({ caId, asOf });
    return this.pointInTime.certificateStatus(serialSchema.parse(serial), q.caId, q.asOf);
  }

  @Get(':serial')
  @ApiOperation({ summary: 'One certificate: JSON with PEM by default, PEM or DER by Accept' })
  get(@Param('serial') serial: string, @Query('caId') caId: string | undefined, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const found = this.inventory.get(serialSchema.parse(serial).toLowerCase(), caId);
    if (!found) throw new HttpProblem(404, 'certificate-not-found', `no certificate with serial ${serial}`);
    const accept = req.headers.accept;
    if (wantsDer(accept, ['application/pkix-cert', 'application/x-x509-cert'])) {
      return new StreamableFile(Buffer.from(found.der, 'base64'), { type: 'application/pkix-cert' });
    }
    if (wantsDer(accept, ['application/x-pem-file', 'application/pem-certificate-chain', 'text/plain'])) {
      res.type('application/x-pem-file');
      return pem('CERTIFICATE', found.der);
    }
    return { ...this.viewer()(found), pem: pem('CERTIFICATE', found.der) };
  }
}
