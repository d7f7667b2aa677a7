/** Why an EST request was refused: a stable code and the HTTP status EST answers with (RFC 7030 §4.2.3). */
export class EstRefused extends Error {
  override readonly name = 'EstRefused';
  readonly retriable = false;
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 411 | 413 | 415,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
