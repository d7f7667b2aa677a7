import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { HttpProblem } from '../http/problem';
import { CrlService, type IssuedCrl } from './crl.service';

const CA_FILE = /^([a-z0-9][a-z0-9-]{0,62})\.crl$/;

/**
 * A CRL with what HTTP caches and relying parties need to revalidate it: its CRL number as a
 * strong ETag (one number per CRL issued), thisUpdate as Last-Modified; If-None-Match or
 * If-Modified-Since on an unchanged CRL is answered 304 without the body.
 */
const send = (res: Response, crl: IssuedCrl) => {
  res.type('application/pkix-crl');
  res.setHeader('ETag', `"${crl.crlNumber}"`);
  res.setHeader('Last-Modified', crl.thisUpdate.toUTCString());
  res.setHeader('Expires', crl.nextUpdate.toUTCString());
  res.setHeader('Cache-Control', `public, max-age=${Math.max(0, Math.floor((crl.nextUpdate.getTime() - Date.now()) / 2000))}`);
  res.send(Buffer.from(crl.der.buffer, crl.der.byteOffset, crl.der.byteLength));
};

@ApiTags('revocation')
@Controller('crl')
export class CrlController {
  constructor(private readonly crls: CrlService) {}

  @Get(':file')
  @ApiOperation({ summary: 'Full CRL of a CA (DER), e.g. /crl/devid-issuing.crl' })
  @ApiProduces('application/pkix-crl')
  async full(@Param('file') file: string, @Res() res: Response) {
    const m = CA_FILE.exec(file);
    if (!m) throw new HttpProblem(404, 'not-found', 'CRLs are served as /crl/<caId>.crl');
    send(res, await this.crls.full(m[1]));
  }

  @Get(':caId/delta.crl')
  @ApiOperation({ summary: 'Delta CRL of a CA (DER): revocations since its base CRL' })
  @ApiProduces('application/pkix-crl')
  async delta(@Param('caId') caId: string, @Res() res: Response) {
    send(res, await this.crls.delta(caId));
  }
}
