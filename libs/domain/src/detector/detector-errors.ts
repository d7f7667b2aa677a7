import { DomainError } from '../errors';

export class DetectorNotFound extends DomainError {
  readonly code = 'detector-not-found';
  readonly status = 404;
  constructor(readonly detectorId: string) {
    super(`detector ${detectorId} is not registered`);
  }
}

export class DetectorAlreadyExists extends DomainError {
  readonly code = 'detector-exists';
  readonly status = 409;
  constructor(readonly detectorId: string) {
    super(`detector ${detectorId} is already registered`);
  }
}
