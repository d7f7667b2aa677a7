import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { HttpProblem } from './problem';

export const MAX_BODY_BYTES = 64 * 1024;

const hasBody = (req: Request) =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

const isJson = (contentType: string | undefined) => {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
};

/**
 * Reads JSON bodies itself so that every failure is a typed problem: 415 for another media
 * type, 413 past 64 KiB (counted while reading, whatever Content-Length claims), 400 for
 * JSON that does not parse. A write with no body is treated as `{}`.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  use(req: Request, _res: Response, next: NextFunction): void {
    // OCSP and EST bodies are binary or base64, read by their own routes.
    if (!['POST', 'PUT', 'PATCH'].includes(req.method) || /^\/(ocsp|\.well-known\/)/.test(req.originalUrl)) {
      return next();
    }
    if (!hasBody(req)) {
      req.body = {};
      return next();
    }
    if (!isJson(req.headers['content-type'])) {
      return next(new HttpProblem(415, 'unsupported-media-type', `expected application/json, got ${req.headers['content-type'] ?? 'no Content-Type'}`));
    }
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      req.resume();
      return next(new HttpProblem(413, 'body-too-large', `body over ${MAX_BODY_BYTES} bytes`));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error?: HttpProblem) => {
      if (done) return;
      done = true;
      if (error) return next(error);
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        req.body = text.trim() === '' ? {} : JSON.parse(text);
      } catch {
        return next(new HttpProblem(400, 'malformed-json', 'the body is not valid JSON'));
      }
      next();
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        finish(new HttpProblem(413, 'body-too-large', `body over ${MAX_BODY_BYTES} bytes`));
      } else chunks.push(chunk);
    });
    req.on('end', () => finish());
    req.on('error', () => finish(new HttpProblem(400, 'body-unreadable', 'the request body could not be read')));
  }
}
