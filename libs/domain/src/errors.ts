/**
 * Typed domain errors. Each has a stable `code` (the problem+json `type` suffix) and the
 * HTTP status the boundary answers with; the domain itself knows nothing of HTTP.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  readonly retriable = false;
  /** Extra members for the problem document (never secrets, never stack traces). */
  details(): Record<string, unknown> {
    return {};
  }
}

/** The command does not fit the current state; nothing was written. */
export class IllegalTransition extends DomainError {
  readonly code = 'illegal-transition';
  readonly status = 409;
  constructor(
    readonly from: string,
    readonly command: string,
    /** What is in state `from`: a device unless told otherwise. */
    subject = 'device',
  ) {
    super(`${command} is not allowed when the ${subject} is ${from}`);
  }
  override details() {
    return { currentStatus: this.from, command: this.command };
  }
}

export class DeviceNotFound extends DomainError {
  readonly code = 'device-not-found';
  readonly status = 404;
  constructor(readonly deviceId: string) {
    super(`device ${deviceId} does not exist`);
  }
}

export class DeviceAlreadyExists extends DomainError {
  readonly code = 'device-exists';
  readonly status = 409;
  constructor(readonly deviceId: string) {
    super(`device ${deviceId} already exists`);
  }
}

/** The command is well-formed JSON but breaks a domain rule about its own content. */
export class InvalidCommand extends DomainError {
  readonly code = 'invalid-command';
  readonly status = 400;
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
  override details() {
    return this.field ? { field: this.field } : {};
  }
}

/** A stored event the domain cannot read (unknown type, or version newer than this code). */
export class UnknownEvent extends DomainError {
  readonly code = 'unknown-event';
  readonly status = 500;
  constructor(
    readonly type: string,
    readonly version: number,
  ) {
    super(`cannot read event ${type} v${version}`);
  }
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;
