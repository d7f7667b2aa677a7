import { Controller, Get, Param } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HttpProblem } from './problem';

/** Human-readable descriptions behind each problem `type` URI. */
const DESCRIPTIONS: Record<string, string> = {
  'validation-failed': 'The body, path or query failed schema validation; `errors` lists each JSON pointer.',
  'malformed-json': 'The body is not valid JSON.',
  'unsupported-media-type': 'Writes take application/json.',
  'body-too-large': 'Bodies are limited to 64 KiB.',
  unauthenticated: 'Writes need Authorization: Bearer <admin key>.',
  'invalid-credentials': 'The bearer key is not valid.',
  'device-not-found': 'No device with this id.',
  'device-exists': 'A device with this model and serial number is already registered.',
  'illegal-transition': 'The command does not fit the device status; nothing was written.',
  'invalid-command': 'The command breaks a domain rule about its content.',
  'precondition-failed': 'If-Match named a revision that is no longer current; re-read and retry.',
  'idempotency-key-reused': 'The Idempotency-Key was used before for a different request.',
  'invalid-idempotency-key': 'Idempotency-Key must be 1-255 visible ASCII characters.',
  'invalid-if-match': 'If-Match must be a device revision.',
  'invalid-cursor': 'The cursor was not issued by this server.',
  'wrong-expected-revision': 'Another write reached the stream first.',
  'store-unavailable': 'The event store could not make the write durable; nothing was written. Retry.',
  'internal-error': 'An unexpected failure; it was logged.',
};

@ApiExcludeController()
@Controller('problems')
export class ProblemsController {
  @Get()
  all() {
    return DESCRIPTIONS;
  }

  @Get(':code')
  one(@Param('code') code: string) {
    const description = DESCRIPTIONS[code];
    if (!description) throw new HttpProblem(404, 'not-found', `no problem type ${code}`);
    return { type: `/problems/${code}`, description };
  }
}
