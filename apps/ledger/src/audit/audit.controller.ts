import { Controller, Get, Header, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { InvalidEventId } from '@devid/audit';
import type { Request, Response } from 'express';
import { AuditLog } from './audit-log.service';

@ApiTags('audit')
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditLog) {}

  @Get('key')
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({ summary: 'The audit public key that signs checkpoints: JWK (kid = RFC 7638 thumbprint) and SPKI PEM; PEM alone by Accept' })
  key(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const key = this.audit.publicKey();
    if (/application\/x-pem-file|text\/plain/.test(req.headers.accept ?? '')) {
      res.type('application/x-pem-file');
      return key.pem();
    }
    return { keyId: key.keyId, algorithm: key.algorithm, jwk: key.jwk, pem: key.pem() };
  }

  @Get('proof')
  @ApiOperation({
    summary:
      'RFC 6962 inclusion proof of one event in the Merkle tree over the log up to the latest signed checkpoint (leaf = SHA-256(0x00 ‖ RFC 8785 bytes of the event), node = SHA-256(0x01 ‖ l ‖ r)), with that checkpoint',
  })
  @ApiQuery({ name: 'eventId', required: true, description: 'event id (lowercase canonical UUID)' })
  proof(@Query('eventId') eventId: unknown) {
    if (typeof eventId !== 'string') throw new InvalidEventId(String(eventId));
    return this.audit.proof(eventId);
  }
}
