import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';

/**
 * Rows inserted `chunk` at a time with one multi-row INSERT, the rest one by one: an index
 * flush writes tens of thousands of small rows, and one statement call per row cost more
 * than the B-tree work. Prepared once; use inside a transaction.
 */
export class BulkInsert {
  private readonly many: StatementSync;
  private readonly one: StatementSync;
  private readonly buffer: SQLInputValue[] = [];

  constructor(
    db: DatabaseSync,
    table: string,
    private readonly columns: readonly string[],
    private readonly chunk = 128,
  ) {
    const row = `(${columns.map(() => '?').join(', ')})`;
    const into = `INSERT INTO ${table} (${columns.join(', ')}) VALUES `;
    this.many = db.prepare(into + Array.from({ length: chunk }, () => row).join(', '));
    this.one = db.prepare(into + row);
  }

  add(...values: SQLInputValue[]): void {
    this.buffer.push(...values);
    if (this.buffer.length === this.chunk * this.columns.length) {
      this.many.run(...this.buffer);
      this.buffer.length = 0;
    }
  }

  /** Writes what is buffered; call before COMMIT. */
  finish(): void {
    for (let offset = 0; offset < this.buffer.length; offset += this.columns.length) {
      this.one.run(...this.buffer.slice(offset, offset + this.columns.length));
    }
    this.buffer.length = 0;
  }

  /** Drops what is buffered (the transaction is rolled back). */
  discard(): void {
    this.buffer.length = 0;
  }
}
