/** Errors of the event store. Each carries a stable code, an HTTP status and `retriable`. */
export abstract class EventStoreError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  abstract readonly retriable: boolean;
}

/** The stream is not at the revision the caller read: reload, decide again. */
export class WrongExpectedRevision extends EventStoreError {
  readonly code = 'wrong-expected-revision';
  readonly status = 412;
  readonly retriable = true;
  constructor(
    readonly streamId: string,
    readonly expected: string | number,
    readonly actual: number | 'no_stream',
  ) {
    super(`stream ${streamId}: expected revision ${expected}, actual ${actual}`);
  }
}

/** Some but not all of the event ids of an append are already stored, or in another stream. */
export class IdempotencyConflict extends EventStoreError {
  readonly code = 'idempotency-conflict';
  readonly status = 409;
  readonly retriable = false;
  constructor(readonly streamId: string, readonly eventId: string, detail: string) {
    super(`stream ${streamId}: event ${eventId} ${detail}`);
  }
}

/** The store is closed or the disk refused the write: nothing of this append is stored. */
export class StoreUnavailable extends EventStoreError {
  readonly code = 'store-unavailable';
  readonly status = 503;
  readonly retriable = true;
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

export class InvalidAppend extends EventStoreError {
  readonly code = 'invalid-append';
  readonly status = 400;
  readonly retriable = false;
}
