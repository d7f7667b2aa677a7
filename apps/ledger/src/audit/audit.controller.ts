import { Controller, Get, Header, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
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
}
