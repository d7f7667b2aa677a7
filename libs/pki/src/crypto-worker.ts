import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

// The enroll path's crypto on worker threads, in batches: the CSR's proof of possession (key
// import + verify) and the CA's signature, for an enrollment both in one job. On the main thread
// the key import alone costs ~45 µs and each libuv-pool job (node:crypto's callback form) ~20 µs
// of scheduling and callback; a batch travels as one transferred buffer (tools/bench/pki.mjs).

/** What became of a signature: the key could not be imported, or the signature does (not) verify. */
export type SignatureOutcome = 'verified' | 'bad-signature' | 'bad-key';

/** One signature to check: the SPKI, signed bytes and signature as offsets into one small DER. */
export interface SignatureJob {
  der: Uint8Array;
  spki: readonly [start: number, end: number];
  signed: readonly [start: number, end: number];
  signature: readonly [start: number, end: number];
  digest: string | null;
}

/** A signature to make with a private key the worker holds by id (the key travels with the first job that uses it). */
interface SignPart {
  keyId: number;
  key: KeyObject;
  digest: string | null;
  data: Uint8Array;
}

/** Verify `proof`, sign, or both: sign only once the proof verified. */
interface Job {
  proof: SignatureJob | undefined;
  sign: SignPart | undefined;
}
/** Per job: 0 verified, 1 bad signature, 2 bad key; a signature; or null when signing failed. */
type Answer = number | Uint8Array | null;

const OUTCOMES: readonly SignatureOutcome[] = ['verified', 'bad-signature', 'bad-key'];

/** A job in-process: for a batch whose worker died, and to surface the real error of a failed sign. WORKER_SOURCE does the same. */
function run({ proof, sign: toSign }: Job): Answer {
  if (proof) {
    const outcome = verifyJob(proof);
    if (!toSign || outcome !== 0) return outcome;
  }
  return new Uint8Array(sign(toSign!.digest, toSign!.data, toSign!.key));
}

function verifyJob(job: SignatureJob): number {
  const part = ([start, end]: readonly [number, number]) => job.der.subarray(start, end);
  let key;
  try {
    key = createPublicKey({ key: Buffer.from(part(job.spki)), format: 'der', type: 'spki' });
  } catch {
    return 2;
  }
  try {
    return verify(job.digest, part(job.signed), key, part(job.signature)) ? 0 : 1;
  } catch {
    return 1;
  }
}

// Digest names as they travel in a batch (an index into this list); a job with any other digest runs in-process.
const DIGESTS: readonly (string | null)[] = [null, 'sha256', 'sha384', 'sha512'];
const KIND_VERIFY = 0;
const KIND_SIGN = 1;
const KIND_VERIFY_SIGN = 2;
/** Per job in a batch: kind, verify digest, sign digest, key id, then [start, end) of spki, signed, signature and data. */
const FIELDS = 12;
/** Per job in an answer: status (ANSWER_*, or 0-2 an outcome) and the signature's length. */
const ANSWER_SIGNATURE = 3;
const ANSWER_SIGN_FAILED = 4;

// Plain JS, eval'd: the worker runs the same under tsc's output and under ts-jest. A batch is one
// transferred ArrayBuffer (a table of offsets, then the bytes), and so is its answer: no object
// per job to clone on either side.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, sign, verify } = require('node:crypto');
// createPublicKey({ key, format, type }) tells a KeyObject or CryptoKey apart by catching two
// thrown TypeErrors (node 24); without stack traces a key import costs ~40% less. Nothing
// thrown here is ever shown: errors become outcome codes, a failed sign is redone on the caller's thread.
Error.stackTraceLimit = 0;
const DIGESTS = ${JSON.stringify(DIGESTS)};
const FIELDS = ${FIELDS};
const keys = new Map();
// The SPKI travels as a latin1 string (one char per byte), not a Buffer: createPublicKey tests
// the options object and then its key for KeyObject and CryptoKey by catching TypeErrors, and a
// string key is not an object, so two of the four throws per import go (~26 -> ~23 µs).
const verifyJob = (bytes, table, at) => {
  let key;
  try {
    key = createPublicKey({ key: bytes.latin1Slice(table[at + 4], table[at + 5]), format: 'der', type: 'spki', encoding: 'latin1' });
  } catch {
    return 2;
  }
  try {
    return verify(DIGESTS[table[at + 1]], bytes.subarray(table[at + 6], table[at + 7]), key, bytes.subarray(table[at + 8], table[at + 9])) ? 0 : 1;
  } catch {
    return 1;
  }
};
parentPort.on('message', ({ keys: newKeys, batch, count }) => {
  if (newKeys) for (const [id, key] of newKeys) keys.set(id, key);
  const bytes = Buffer.from(batch);
  const table = new Uint32Array(batch, 0, count * FIELDS);
  const statuses = new Uint32Array(count * 2);
  const signatures = [];
  let length = 0;
  for (let index = 0; index < count; index++) {
    const at = index * FIELDS;
    let status = table[at] === 1 ? 0 : verifyJob(bytes, table, at);
    if (status === 0 && table[at] !== 0) {
      try {
        const signature = sign(DIGESTS[table[at + 2]], bytes.subarray(table[at + 10], table[at + 11]), keys.get(table[at + 3]));
        signatures.push(signature);
        statuses[index * 2 + 1] = signature.length;
        length += signature.length;
        status = ${ANSWER_SIGNATURE};
      } catch {
        status = ${ANSWER_SIGN_FAILED};
      }
    }
    statuses[index * 2] = status;
  }
  const answer = new Uint8Array(statuses.byteLength + length);
  answer.set(new Uint8Array(statuses.buffer), 0);
  let at = statuses.byteLength;
  for (const signature of signatures) {
    answer.set(signature, at);
    at += signature.length;
  }
  parentPort.postMessage(answer.buffer, [answer.buffer]);
});
`;

/** One batch as the worker reads it; undefined when a job's digest cannot travel (it then runs in-process). */
function encodeBatch(jobs: readonly Job[]): { batch: ArrayBuffer; count: number } | undefined {
  let size = jobs.length * FIELDS * 4;
  for (const { proof, sign: toSign } of jobs) size += (proof?.der.byteLength ?? 0) + (toSign?.data.byteLength ?? 0);
  const batch = new ArrayBuffer(size);
  const table = new Uint32Array(batch, 0, jobs.length * FIELDS);
  const bytes = new Uint8Array(batch);
  let at = jobs.length * FIELDS * 4;
  for (const [index, { proof, sign: toSign }] of jobs.entries()) {
    const row = index * FIELDS;
    table[row] = proof && toSign ? KIND_VERIFY_SIGN : proof ? KIND_VERIFY : KIND_SIGN;
    if (proof) {
      const verifyDigest = DIGESTS.indexOf(proof.digest);
      if (verifyDigest < 0) return undefined;
      table[row + 1] = verifyDigest;
      bytes.set(proof.der, at);
      table[row + 4] = at + proof.spki[0];
      table[row + 5] = at + proof.spki[1];
      table[row + 6] = at + proof.signed[0];
      table[row + 7] = at + proof.signed[1];
      table[row + 8] = at + proof.signature[0];
      table[row + 9] = at + proof.signature[1];
      at += proof.der.byteLength;
    }
    if (toSign) {
      const signDigest = DIGESTS.indexOf(toSign.digest);
      if (signDigest < 0) return undefined;
      table[row + 2] = signDigest;
      table[row + 3] = toSign.keyId;
      bytes.set(toSign.data, at);
      table[row + 10] = at;
      table[row + 11] = at += toSign.data.byteLength;
    }
  }
  return { batch, count: jobs.length };
}

/** The answer per job: an outcome (0-2), a signature (a view into the answer), or null when signing failed. */
function decodeAnswers(answer: ArrayBuffer, count: number): Answer[] {
  const statuses = new Uint32Array(answer, 0, count * 2);
  const answers: Answer[] = new Array(count);
  let at = count * 8;
  for (let index = 0; index < count; index++) {
    const status = statuses[index * 2]!;
    if (status === ANSWER_SIGNATURE) {
      const length = statuses[index * 2 + 1]!;
      answers[index] = new Uint8Array(answer, at, length);
      at += length;
    } else answers[index] = status === ANSWER_SIGN_FAILED ? null : status;
  }
  return answers;
}

interface Pending {
  job: Job;
  settle: (answer: Answer) => void;
}

// Batches of at most 32 jobs, up to three in flight: the worker starts on the first jobs while
// the main thread prepares the next ones, and finds the next batch waiting when it is done. One
// batch at a time with everything gathered meanwhile made the enroll path move in lock-step (main
// thread and worker each idle half the time); batches of 8 cost the main thread more per job
// (messages, and smaller store commit groups downstream). With 64 enrollments in flight (pki
// bench, 2 cores): 32 x 3 ~5% above 32 x 2 with the store's writer thread, 21 x 3 below (and
// 16 x 3, 48 x 2 below 32 x 2 before the store had its writer thread).
const MAX_BATCH = 32;
const MAX_BATCHES_IN_FLIGHT = 3;

/** One worker; up to MAX_BATCHES_IN_FLIGHT batches sent (answered in order), the rest gathering. */
class CryptoWorker {
  #worker: Worker | undefined;
  /** Signing keys this worker holds, by id (sent along with the first job that needs them). */
  #keysSent = new Set<number>();
  #gathering: Pending[] = [];
  #sendScheduled = false;
  /** Batches sent and not answered yet, oldest first. */
  #inFlight: Pending[][] = [];

  submit(job: Job): Promise<Answer> {
    return new Promise((settle) => {
      this.#gathering.push({ job, settle });
      if (!this.#sendScheduled && this.#inFlight.length < MAX_BATCHES_IN_FLIGHT) {
        this.#sendScheduled = true;
        queueMicrotask(() => {
          this.#sendScheduled = false;
          this.#send();
        });
      }
    });
  }

  #send(): void {
    while (this.#inFlight.length < MAX_BATCHES_IN_FLIGHT && this.#gathering.length > 0) {
      const batch = this.#gathering.length <= MAX_BATCH ? this.#gathering : this.#gathering.slice(0, MAX_BATCH);
      this.#gathering = batch === this.#gathering ? [] : this.#gathering.slice(MAX_BATCH);
      const encoded = encodeBatch(batch.map(({ job }) => job));
      if (!encoded) {
        this.#runHere(batch);
        continue;
      }
      let newKeys: [number, KeyObject][] | undefined;
      for (const { job } of batch) {
        if (!job.sign || this.#keysSent.has(job.sign.keyId)) continue;
        this.#keysSent.add(job.sign.keyId);
        (newKeys ??= []).push([job.sign.keyId, job.sign.key]);
      }
      const worker = this.#started();
      this.#inFlight.push(batch);
      worker.ref(); // a pending job keeps the process alive; an idle worker does not
      worker.postMessage({ keys: newKeys, ...encoded }, [encoded.batch]);
    }
  }

  /** Runs jobs on this thread: a batch whose worker died, or one the worker cannot take. */
  #runHere(batch: readonly Pending[]): void {
    for (const pending of batch) {
      try {
        pending.settle(run(pending.job));
      } catch {
        pending.settle(null);
      }
    }
  }

  #started(): Worker {
    if (this.#worker) return this.#worker;
    // Named, so its CPU time can be told apart per thread (tools/bench/pki.mjs reads /proc/self/task/*/comm).
    const worker = new Worker(WORKER_SOURCE, { eval: true, name: 'devid-crypto' });
    this.#keysSent = new Set();
    worker.on('message', (answer: ArrayBuffer) => {
      const batch = this.#inFlight.shift() ?? [];
      const answers = decodeAnswers(answer, batch.length);
      batch.forEach((pending, index) => pending.settle(answers[index] ?? null));
      if (this.#gathering.length > 0) this.#send();
      else if (this.#inFlight.length === 0) worker.unref();
    });
    // A worker that dies takes no answer with it: its batches run in-process, the next batch starts a new worker.
    const lost = () => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      const batches = this.#inFlight;
      this.#inFlight = [];
      this.#runHere(batches.flat());
      if (this.#gathering.length > 0) this.#send();
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.#worker = worker;
    return worker;
  }
}

const workers: CryptoWorker[] = [];
let next = 0;

function submit(job: Job): Promise<Answer> {
  if (workers.length === 0) {
    const count = Math.max(1, Math.min(4, availableParallelism() - 1));
    for (let index = 0; index < count; index++) workers.push(new CryptoWorker());
  }
  return workers[next++ % workers.length]!.submit(job);
}

/** Imports the key and verifies the signature off the main thread; never rejects. */
export async function checkSignatureOffThread(job: SignatureJob): Promise<SignatureOutcome> {
  const answer = await submit({ proof: job, sign: undefined });
  return typeof answer === 'number' ? (OUTCOMES[answer] ?? 'bad-signature') : 'bad-signature';
}

const keyIds = new WeakMap<KeyObject, number>();
let nextKeyId = 0;

function keyIdOf(key: KeyObject): number {
  let keyId = keyIds.get(key);
  if (keyId === undefined) keyIds.set(key, (keyId = nextKeyId++));
  return keyId;
}

/** Signs off the main thread with a private key (sent to the worker once); rejects as node:crypto's `sign` would. */
export async function signOffThread(digest: string | null, data: Uint8Array, key: KeyObject): Promise<Uint8Array> {
  const answer = await submit({ proof: undefined, sign: { keyId: keyIdOf(key), key, digest, data } });
  // A failed sign is repeated in-process, so the caller gets node:crypto's own error.
  return answer instanceof Uint8Array ? answer : new Uint8Array(sign(digest, data, key));
}

/**
 * Checks `proof` and, only if it verifies, signs `data` with `key`: both in one job on the
 * worker (one round trip per enrollment). Answers the signature, or why the proof failed;
 * rejects as node:crypto's `sign` would.
 */
export async function signIfVerifiedOffThread(
  proof: SignatureJob,
  digest: string | null,
  data: Uint8Array,
  key: KeyObject,
): Promise<Uint8Array | Exclude<SignatureOutcome, 'verified'>> {
  const answer = await submit({ proof, sign: { keyId: keyIdOf(key), key, digest, data } });
  if (typeof answer === 'number') return answer === 2 ? 'bad-key' : 'bad-signature';
  return answer instanceof Uint8Array ? answer : new Uint8Array(sign(digest, data, key));
}
