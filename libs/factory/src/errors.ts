/** Base of every error this library throws: a stable code, the HTTP status a boundary answers with (STYLE.md §5). */
export abstract class FactoryError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  readonly retriable: boolean = false;
}

export const MANIFEST_ERROR_CODES = ['manifest-unreadable', 'manifest-header-invalid', 'manifest-record-invalid', 'manifest-duplicate-serial'] as const;
export type ManifestErrorCode = (typeof MANIFEST_ERROR_CODES)[number];

/** The factory's device list cannot be used as given; names the line. */
export class ManifestError extends FactoryError {
  readonly status = 400;
  override readonly name = 'ManifestError';
  constructor(
    readonly code: ManifestErrorCode,
    message: string,
    readonly line?: number,
  ) {
    super(line === undefined ? message : `line ${line}: ${message}`);
  }
}

export const BATCH_REJECTION_CODES = [
  'batch-too-large',
  'batch-malformed',
  'batch-signature-invalid',
  'batch-chain-invalid',
  'batch-ca-unknown',
  'batch-ca-not-active',
  'batch-ca-mismatch',
] as const;
export type BatchRejectionCode = (typeof BATCH_REJECTION_CODES)[number];

/** The batch as a whole cannot be trusted: nothing in it may be imported. */
export class BatchRejected extends FactoryError {
  override readonly name = 'BatchRejected';
  readonly status: number;
  constructor(
    readonly code: BatchRejectionCode,
    message: string,
  ) {
    super(message);
    // A batch we cannot read is a bad request; one we can read but must not trust is unprocessable.
    this.status = code === 'batch-too-large' ? 413 : code === 'batch-malformed' ? 400 : 422;
  }
}

export const RECORD_REJECTION_CODES = [
  'record-certificate-malformed',
  'record-not-issued-by-ca',
  'record-not-idevid',
  'record-serial-mismatch',
  'record-device-id-mismatch',
  'record-duplicate-serial',
  'record-device-exists',
  'record-certificate-duplicate',
  'record-key-blocked',
  'record-refused',
] as const;
export type RecordRejectionCode = (typeof RECORD_REJECTION_CODES)[number];

/** One device record of a trusted batch is wrong; the rest of the batch is still imported. */
export class RecordRejected extends FactoryError {
  readonly status = 422;
  override readonly name = 'RecordRejected';
  constructor(
    readonly code: RecordRejectionCode,
    message: string,
  ) {
    super(message);
  }
}

export const GATEWAY_ERROR_CODES = ['gateway-ca-unusable', 'gateway-csr-unreadable', 'gateway-csr-rejected', 'gateway-output-exists', 'gateway-journal-mismatch', 'gateway-key-passphrase-missing'] as const;
export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number];

/** The offline gateway cannot go on (bad CA material, unusable CSR, foreign journal). */
export class GatewayError extends FactoryError {
  readonly status = 400;
  override readonly name = 'GatewayError';
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
