import { Worker } from 'node:worker_threads';

// A link n of the stored chain holds when SHA-256(row[n-1] ‖ bytes(n)) == row[n]; with row[0]
// the genesis hash and the rows contiguous, every link holding is the recomputed chain being
// the stored one (induction on n). So links can be checked in any order and on another thread
// than the one that reads the log and builds the bytes: the reader hands over (position,
// canonical text) and goes on; the worker reads the stored chain itself (its own read-only
// connection to audit.db, a page of hashes as one blob per query) and hashes.
//
// Hand-over: SLABS shared buffers used in turn. The reader fills one with records
//   [u32 bytes][u32 0][f64 position][32 bytes left for row[n-1]][UTF-8 bytes]
// (the worker puts row[n-1] right before the bytes and hashes one contiguous range), marks it
// full and wakes the worker; the worker marks it free when done. Memory: SLABS × SLAB_BYTES.

const SLABS = 4;
const SLAB_BYTES = 1 << 20;
const HEADER = 48;
/** Control words: per slab [state, records], then stop; beside them the first failed position (0n: none). */
const STATE = (slab: number) => slab * 2;
const RECORDS = (slab: number) => slab * 2 + 1;
const STOP = SLABS * 2;
const CONTROL_WORDS = SLABS * 2 + 1;
const FULL = 1;
/** How long the reader waits for a slab before taking the worker for dead. */
const WAIT_MS = 10_000;

// Plain JS, eval'd: the worker runs the same under tsc's output and under ts-jest.
// A link it cannot check (no row at that position, rows with a hole before it, a hash not 32
// bytes long) counts as failed: the pass on the main thread alone then names what is wrong.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { hash } = require('node:crypto');
const { DatabaseSync } = require('node:sqlite');
const { control, failure, slabs, SLABS, HEADER, STOP, auditDb, lastRow } = workerData;
const ctl = new Int32Array(control);
const failedAt = new BigInt64Array(failure);
let failed = false;
const bufs = slabs.map((s) => Buffer.from(s));
const views = slabs.map((s) => new DataView(s));
// A chain it cannot open fails every link (-1), and slabs are still handed back: the reader never waits in vain.
let db;
let select;
try {
  db = new DatabaseSync(auditDb, { readOnly: true, timeout: 5000 });
  select = db.prepare(
    "SELECT count(*), coalesce(min(position), 0), coalesce(max(position), 0), coalesce(min(length(hash)) = 32 AND max(length(hash)) = 32, 0), coalesce(CAST(group_concat(hash, x'' ORDER BY position) AS BLOB), x'') " +
    'FROM (SELECT position, hash FROM audit_chain WHERE position > ? AND position <= ? ORDER BY position LIMIT 1000)',
    { returnArrays: true },
  );
} catch {
  failed = true;
  Atomics.store(failedAt, 0, -1n);
}
// The stored hashes of positions first .. first + count - 1; tail: the one of first - 1.
let rows = Buffer.alloc(0);
let first = 1;
let count = 0;
let tail = Buffer.alloc(32);
const fill = () => {
  const after = first + count - 1;
  const [n, min, max, sized, hashes] = select.get(after, lastRow);
  if (n === 0 || min !== after + 1 || max - min + 1 !== n || sized !== 1 || hashes.length !== n * 32) return false;
  if (count > 0) tail = rows.subarray((count - 1) * 32, count * 32);
  rows = Buffer.from(hashes.buffer, hashes.byteOffset, hashes.length);
  first = min;
  count = n;
  return true;
};
const check = (buf, at, bytes, position) => {
  while (position >= first + count) if (!fill()) return false;
  if (position < first) return false;
  const index = position - first;
  if (index === 0) tail.copy(buf, at + 16);
  else rows.copy(buf, at + 16, (index - 1) * 32, index * 32);
  const digest = hash('sha256', buf.subarray(at + 16, at + HEADER + bytes), 'buffer');
  return digest.compare(rows, index * 32, index * 32 + 32) === 0;
};
for (let slab = 0; ; slab = (slab + 1) % SLABS) {
  while (Atomics.load(ctl, slab * 2) === 0) {
    if (Atomics.load(ctl, STOP) === 1) process.exit(0);
    Atomics.wait(ctl, slab * 2, 0, 1000);
  }
  if (Atomics.load(ctl, STOP) === 1) process.exit(0);
  const buf = bufs[slab];
  const view = views[slab];
  const records = Atomics.load(ctl, slab * 2 + 1);
  let at = 0;
  // The worker alone writes failedAt: after a failure the rest is handed back unchecked.
  for (let r = 0; r < records && !failed; r++) {
    const bytes = view.getUint32(at, true);
    const position = view.getFloat64(at + 8, true);
    let held = false;
    try {
      held = check(buf, at, bytes, position);
    } catch {}
    if (!held) {
      failed = true;
      Atomics.store(failedAt, 0, BigInt(position));
    }
    at += (HEADER + bytes + 7) & ~7;
  }
  Atomics.store(ctl, slab * 2, 0);
  Atomics.notify(ctl, slab * 2);
}
`;

/**
 * Chain links checked on a worker thread (see above). add() queues a link; failedAt() tells
 * the first queued link found not to hold, allHeld() waits for the verdict on all of them.
 * A link whose bytes could not fit a slab is not queued: add() returns false and the caller
 * checks that one itself.
 */
export class ChainLinksOffThread {
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  private readonly failed = new BigInt64Array(new SharedArrayBuffer(8));
  private readonly slabs = Array.from({ length: SLABS }, () => new SharedArrayBuffer(SLAB_BYTES));
  private readonly bufs = this.slabs.map((slab) => Buffer.from(slab));
  private readonly views = this.slabs.map((slab) => new DataView(slab));
  private readonly worker: Worker;
  private slab = 0;
  private at = 0;
  private records = 0;
  private dead = false;

  /** `auditDb`: the file of the stored chain; rows after `lastRow` are not read. */
  constructor(auditDb: string, lastRow: number) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { control: this.control.buffer, failure: this.failed.buffer, slabs: this.slabs, SLABS, HEADER, STOP, auditDb, lastRow },
    });
    this.worker.unref();
    this.worker.on('error', () => (this.dead = true));
  }

  /** Queues link `position` with its canonical text; false when it could not fit a slab (nothing queued). */
  add(position: number, text: string): boolean {
    const room = HEADER + text.length * 3;
    if (room > SLAB_BYTES) return false;
    if (this.at + room > SLAB_BYTES) this.hand();
    const buf = this.bufs[this.slab]!;
    const at = this.at;
    const bytes = buf.write(text, at + HEADER, 'utf8');
    const view = this.views[this.slab]!;
    view.setUint32(at, bytes, true);
    view.setFloat64(at + 8, position, true);
    this.at += (HEADER + bytes + 7) & ~7;
    this.records++;
    return true;
  }

  /** The first queued position whose link did not hold, as far as the worker got (0: none yet, -1: the worker cannot read the chain). */
  failedAt(): number {
    return Number(Atomics.load(this.failed, 0));
  }

  /** Waits until every queued link is checked: whether all held (false too when the worker is lost). */
  allHeld(): boolean {
    if (this.records > 0) this.hand();
    for (let slab = 0; slab < SLABS; slab++) {
      if (!this.waitFree(slab)) return false;
    }
    return this.failedAt() === 0;
  }

  /** Stops the worker (after allHeld, or to abandon what is queued). */
  close(): void {
    Atomics.store(this.control, STOP, 1);
    for (let slab = 0; slab < SLABS; slab++) {
      Atomics.store(this.control, STATE(slab), FULL);
      Atomics.notify(this.control, STATE(slab));
    }
    void this.worker.terminate();
  }

  /** The current slab goes to the worker; the next one, once free, becomes current. */
  private hand(): void {
    Atomics.store(this.control, RECORDS(this.slab), this.records);
    Atomics.store(this.control, STATE(this.slab), FULL);
    Atomics.notify(this.control, STATE(this.slab));
    this.slab = (this.slab + 1) % SLABS;
    this.at = 0;
    this.records = 0;
    if (!this.waitFree(this.slab)) throw new WorkerLost();
  }

  private waitFree(slab: number): boolean {
    const deadline = Date.now() + WAIT_MS;
    while (Atomics.load(this.control, STATE(slab)) === FULL) {
      if (this.dead || Date.now() > deadline) return false;
      Atomics.wait(this.control, STATE(slab), FULL, 100);
    }
    return true;
  }
}

/** The worker stopped answering: the caller checks the links itself. */
export class WorkerLost extends Error {
  constructor() {
    super('the chain-link worker stopped answering');
  }
}
