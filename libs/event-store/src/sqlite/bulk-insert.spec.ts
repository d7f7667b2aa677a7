import { DatabaseSync } from 'node:sqlite';
import { BulkInsert } from './bulk-insert';

const table = () => {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE t (k INTEGER NOT NULL, v TEXT NOT NULL) STRICT');
  return { db, rows: () => db.prepare('SELECT k, v FROM t ORDER BY rowid').all().map((r) => [r['k'], r['v']]) };
};

describe('BulkInsert', () => {
  it.each([0, 1, 2, 3, 7, 9])('writes %i rows in order across chunk boundaries (chunk of 3)', (count) => {
    const { db, rows } = table();
    const insert = new BulkInsert(db, 't', ['k', 'v'], 3);
    const expected = Array.from({ length: count }, (_, k) => [k, `v${k}`]);
    for (const [k, v] of expected) insert.add(k!, v!);
    insert.finish();
    expect(rows()).toEqual(expected);
  });

  it('writes nothing of what discard() dropped, and goes on afterwards', () => {
    const { db, rows } = table();
    const insert = new BulkInsert(db, 't', ['k', 'v'], 3);
    insert.add(1, 'a');
    insert.add(2, 'b');
    insert.discard();
    insert.add(3, 'c');
    insert.finish();
    expect(rows()).toEqual([[3, 'c']]);
  });

  it('fails the statement, not silently, when a row breaks a constraint', () => {
    const { db } = table();
    const insert = new BulkInsert(db, 't', ['k', 'v'], 2);
    insert.add(1, 'a');
    expect(() => insert.add(null, 'b')).toThrow(/NOT NULL/);
  });
});
