import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AdminKey } from './admin-key';
import { HttpProblem } from './problem';

const challenge = { 'WWW-Authenticate': 'Bearer realm="devid-ledger"' };

/** Writes need `Authorization: Bearer <admin key>`. */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(@Inject(AdminKey) private readonly key: AdminKey) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    const header = req.headers.authorization;
    if (!header) throw new HttpProblem(401, 'unauthenticated', 'Authorization: Bearer <key> is required for writes', {}, challenge);
    const m = /^Bearer\s+(\S{1,512})$/i.exec(header);
    if (!m || !this.key.matches(m[1])) {
      throw new HttpProblem(401, 'invalid-credentials', 'the bearer key is not valid', {}, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    (req as Request & { actor?: string }).actor = 'admin';
    return true;
  }
}
