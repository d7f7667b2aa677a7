import { createHash, randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { EVENT_ID_NAMESPACE, uuidV5 } from '@devid/event-store';
import { HttpProblem } from '../http/problem';

export type ActorRequest = Request & { actor?: string };

/** Command id: derived from Idempotency-Key (per actor) so a retry is recognised; else random. */
export const commandIdOf = (req: ActorRequest): string => {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return randomUUID();
  if (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new HttpProblem(400, 'invalid-idempotency-key', 'Idempotency-Key must be 1-255 visible ASCII characters');
  }
  return uuidV5(`idempotency:${req.actor ?? 'anonymous'}:${key}`, EVENT_ID_NAMESPACE);
};

export const fingerprintOf = (req: Request): string =>
  createHash('sha256').update(`${req.method} ${req.path}\n${JSON.stringify(req.body ?? {})}`).digest('base64url');

/** If-Match carries the revision the client read (as an ETag `"3"`, or bare `3`). */
export const expectedRevisionOf = (req: Request): number | undefined => {
  const header = req.headers['if-match'];
  if (header === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(-?\d{1,15})"?\s*$/.exec(header);
  if (!m) throw new HttpProblem(400, 'invalid-if-match', 'If-Match must be a device revision, e.g. "3"');
  return Number(m[1]);
};

export const correlationIdOf = (req: Request): string => {
  const given = req.headers['x-correlation-id'];
  return typeof given === 'string' && /^[\x21-\x7e]{1,128}$/.test(given) ? given : randomUUID();
};
