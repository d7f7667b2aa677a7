import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ZodError } from 'zod';
import { DomainError } from '@devid/domain';
import { EventStoreError } from '@devid/event-store';
import { InvalidCursor } from '@devid/projections';
import { HttpProblem, problemType, TITLES, type Problem } from './problem';

interface Coded {
  code: string;
  status: number;
  message: string;
  retriable?: boolean;
  details?: () => Record<string, unknown>;
}

/** Typed errors of the libraries (PkiError, CsrRejected, KeyStoreError, ...): a stable code and an HTTP status. */
const isCoded = (e: unknown): e is Coded =>
  e instanceof Error &&
  typeof (e as Partial<Coded>).code === 'string' &&
  typeof (e as Partial<Coded>).status === 'number' &&
  (e as unknown as Coded).status >= 400 &&
  (e as unknown as Coded).status <= 599;

const HTTP_CODES: Record<number, string> = {
  404: 'not-found',
  405: 'method-not-allowed',
  413: 'body-too-large',
  400: 'bad-request',
};

/** The one place errors become responses: problem+json, stable type, never a stack trace. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const problem = this.toProblem(error, req);
    if (problem.status >= 500) this.logger.error(`${req.method} ${req.originalUrl}: ${String((error as Error)?.stack ?? error)}`);
    if (error instanceof HttpProblem) for (const [k, v] of Object.entries(error.headers)) res.setHeader(k, v);
    if (res.headersSent) return;
    res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  }

  private toProblem(error: unknown, req: Request): Problem {
    const make = (status: number, code: string, detail: string, ext: Record<string, unknown> = {}): Problem => ({
      type: problemType(code),
      title: TITLES[status] ?? 'Error',
      status,
      detail,
      instance: req.originalUrl,
      code,
      ...ext,
    });
    if (error instanceof HttpProblem) return make(error.status, error.code, error.message, error.extensions);
    if (error instanceof ZodError) {
      const errors = error.issues.map((i) => ({ pointer: `/${i.path.join('/')}`, detail: i.message }));
      return make(400, 'validation-failed', `${errors[0]?.pointer}: ${errors[0]?.detail}`, { errors });
    }
    if (error instanceof DomainError) return make(error.status, error.code, error.message, error.details());
    if (error instanceof EventStoreError || error instanceof InvalidCursor || isCoded(error)) {
      const e = error as Coded;
      return make(e.status, e.code, e.message, e.retriable ? { retriable: true } : {});
    }
    if (error instanceof HttpException) {
      const status = error.getStatus();
      return make(status, HTTP_CODES[status] ?? `http-${status}`, status === 404 ? `no route ${req.method} ${req.path}` : error.message);
    }
    return make(500, 'internal-error', 'the server failed to handle this request; it has been logged');
  }
}
