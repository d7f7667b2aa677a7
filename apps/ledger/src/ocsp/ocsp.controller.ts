import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { decodeOcspGetPath } from '@devid/pki';
import { OcspService } from './ocsp.service';

const MAX_REQUEST_BYTES = 16 * 1024;

/** Reads at most `limit` bytes; a larger body yields an empty request (→ malformedRequest). */
const readRaw = (req: Request, limit: number): Promise<Uint8Array> =>
  new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? new Uint8Array() : new Uint8Array(Buffer.concat(chunks))));
    req.on('error', () => resolve(new Uint8Array()));
  });

const send = (res: Response, der: Uint8Array) => {
  res.status(200).type('application/ocsp-response');
  res.setHeader('Cache-Control', 'no-cache');
  res.send(Buffer.from(der));
};

/** The responder never answers with an HTTP error for a bad request: RFC 6960 malformedRequest instead. */
@ApiTags('revocation')
@Controller('ocsp')
export class OcspController {
  constructor(private readonly ocsp: OcspService) {}

  @Post()
  @ApiOperation({ summary: 'OCSP (RFC 6960) over POST' })
  @ApiConsumes('application/ocsp-request')
  @ApiProduces('application/ocsp-response')
  async post(@Req() req: Request, @Res() res: Response) {
    send(res, await this.ocsp.respond(await readRaw(req, MAX_REQUEST_BYTES)));
  }

  @Get('*path')
  @ApiOperation({ summary: 'OCSP over GET: /ocsp/<url-encoded base64 DER request>' })
  @ApiProduces('application/ocsp-response')
  async get(@Req() req: Request, @Res() res: Response) {
    const encoded = req.originalUrl.slice(req.originalUrl.indexOf('/ocsp/') + '/ocsp/'.length).split('?')[0];
    send(res, await this.ocsp.respond(decodeOcspGetPath(encoded) ?? new Uint8Array()));
  }
}
