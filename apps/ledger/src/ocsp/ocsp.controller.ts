import { createHash } from 'node:crypto';
import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { decodeOcspGetPath, type OcspAnswer } from '@devid/pki';
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

const send = (res: Response, der: Uint8Array, cacheControl = 'no-cache') => {
  res.status(200).type('application/ocsp-response');
  res.setHeader('Cache-Control', cacheControl);
  res.send(Buffer.from(der.buffer, der.byteOffset, der.byteLength));
};

/**
 * An answer to GET, with RFC 5019 §6.2 caching headers when it is the same for every client (one
 * certificate, no nonce: the pre-signed answer), so that an HTTP cache or CDN in front of the
 * responder can serve it: kept until the responder would sign it again (max-age), never past
 * its nextUpdate (Expires), revalidated by ETag (304 when unchanged). Any other answer: no-cache.
 */
const sendCacheable = (res: Response, answer: OcspAnswer, now: number) => {
  const { der, shared } = answer;
  if (shared === undefined) return send(res, der);
  const maxAge = Math.max(0, Math.floor((Math.min(shared.refreshAt.getTime(), shared.nextUpdate.getTime()) - now) / 1000));
  res.setHeader('Last-Modified', shared.thisUpdate.toUTCString());
  res.setHeader('Expires', shared.nextUpdate.toUTCString());
  res.setHeader('ETag', `"${createHash('sha256').update(der).digest('base64url').slice(0, 27)}"`);
  send(res, der, `max-age=${maxAge}, public, no-transform, must-revalidate`);
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
  @ApiOperation({ summary: 'OCSP over GET: /ocsp/<url-encoded base64 DER request>; a nonce-less single-certificate answer carries RFC 5019 caching headers' })
  @ApiProduces('application/ocsp-response')
  async get(@Req() req: Request, @Res() res: Response) {
    const encoded = req.originalUrl.slice(req.originalUrl.indexOf('/ocsp/') + '/ocsp/'.length).split('?')[0];
    sendCacheable(res, await this.ocsp.answer(decodeOcspGetPath(encoded) ?? new Uint8Array()), Date.now());
  }
}
