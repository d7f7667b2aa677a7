/** Base of every error of the audit library: a stable code, an HTTP status and `retriable` (STYLE.md §5). */
export abstract class AuditError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  readonly retriable: boolean = false;
}

/** A value cannot be put in RFC 8785 canonical form (NaN, Infinity, lone surrogate, non-JSON type). */
export class NotCanonicalizable extends AuditError {
  readonly code = 'audit-not-canonicalizable';
  readonly status = 500;
}

/**
 * audit.db holds, at `position`, a hash other than the one this process computes from the log:
 * another process sharing the file chained a different log. Nothing is written; the chain stops here.
 */
export class ChainForked extends AuditError {
  readonly code = 'audit-chain-forked';
  readonly status = 500;
  constructor(readonly position: number) {
    super(`audit.db holds another hash at position ${position} than this log gives: another process chained a different log into it`);
  }
}

/** The log handed to the chainer skips or repeats a position: the chain cannot be extended. */
export class ChainDiscontinuity extends AuditError {
  readonly code = 'audit-chain-discontinuity';
  readonly status = 500;
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`hash chain expected position ${expected}, got ${actual}`);
  }
}

/** A point-in-time query names a moment that is not an RFC 3339 date-time. */
export class InvalidPointInTime extends AuditError {
  readonly code = 'audit-invalid-point-in-time';
  readonly status = 400;
  constructor(readonly value: string) {
    super(`asOf must be an RFC 3339 date-time with a time zone (e.g. 2025-03-03T10:00:00Z), got ${JSON.stringify(value)}`);
  }
}

/** An export range or option is not usable (bad bound, empty range, nothing sealed yet). */
export class InvalidExportRange extends AuditError {
  readonly code = 'audit-invalid-export-range';
  readonly status = 400;
}

/** The part of the log to export is not yet covered by a signed checkpoint. */
export class RangeNotSealed extends AuditError {
  readonly code = 'audit-range-not-sealed';
  readonly status = 409;
  override readonly retriable = true;
  constructor(readonly position: number) {
    super(`position ${position} is not yet covered by a signed checkpoint; the ledger signs one within its checkpoint interval (or export a range that ends earlier)`);
  }
}

/** The log does not match its own chain or checkpoints: exporting it would hand out a broken bundle. */
export class LogTampered extends AuditError {
  readonly code = 'audit-log-tampered';
  readonly status = 500;
  constructor(
    readonly position: number,
    readonly reason: string,
  ) {
    super(`position ${position}: ${reason}`);
  }
}

/** The audit key is missing, of an unsupported algorithm, or not the one pinned by the caller. */
export class AuditKeyError extends AuditError {
  readonly code = 'audit-key-invalid';
  readonly status = 500;
}

/** An inclusion proof was asked for with an event id that is not a canonical UUID. */
export class InvalidEventId extends AuditError {
  readonly code = 'audit-invalid-event-id';
  readonly status = 400;
  constructor(readonly eventId: string) {
    super('eventId must be an event id (a lowercase canonical UUID)');
  }
}

/** No event of the log has this id. */
export class EventNotInLog extends AuditError {
  readonly code = 'audit-event-not-found';
  readonly status = 404;
  constructor(readonly eventId: string) {
    super(`no event ${eventId} in the log`);
  }
}
