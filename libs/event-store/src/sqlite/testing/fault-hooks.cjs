// Fault injection for the SQLite store's tests, loaded by its writer thread when the store is
// opened with { faultModule: <this file> }; both hooks run inside the transaction, right before
// COMMIT, and get the store's file path. Faults are files beside the store's file:
// - `<path>.fail-commit` / `<path>.fail-index` makes the next commit / index flush throw (the
//   file is removed: one fault per file); `<path>.exit-in-commit` / `<path>.exit-in-index` ends
//   the writer / index thread itself there;
// - `<path>.die-in-flush` holding n makes the process SIGKILL itself inside its n-th index flush,
//   after the index rows are written and before COMMIT;
// - while `<path>.refuse-index-open` exists, an index thread cannot start (its open throws).
'use strict';
const { existsSync, readFileSync, rmSync } = require('node:fs');

const take = (file) => {
  if (!existsSync(file)) return false;
  rmSync(file);
  return true;
};

let flushes = 0;

module.exports = {
  onOpen(path, role) {
    if (role === 'index' && existsSync(`${path}.refuse-index-open`)) throw new Error('the index file cannot be opened (injected)');
  },
  beforeCommit(path) {
    if (take(`${path}.fail-commit`)) throw new Error('disk I/O error (injected)');
    // In a worker thread process.exit ends the thread, not the process.
    if (take(`${path}.exit-in-commit`)) process.exit(70);
  },
  beforeIndexCommit(path) {
    flushes++;
    if (existsSync(`${path}.die-in-flush`) && flushes === Number(readFileSync(`${path}.die-in-flush`, 'utf8'))) process.kill(process.pid, 'SIGKILL');
    if (take(`${path}.fail-index`)) throw new Error('disk I/O error (injected)');
    if (take(`${path}.exit-in-index`)) process.exit(71);
  },
};
