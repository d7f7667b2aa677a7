import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

// The enroll path's crypto on worker threads, in batches: the CSR's proof of possession (key
// import + verify) and the CA's signature. On the main thread the key import alone costs ~45 µs
// and each libuv-pool job (node:crypto's callback form) ~20 µs of scheduling and callback; one
// message per batch brings that to a few µs per operation (tools/bench/pki.mjs).

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
  key?: KeyObject;
  signDigest: string | null;
  data: Uint8Array;
}

type Job = ({ kind: 'verify' } & SignatureJob) | ({ kind: 'sign' } & SignPart) | ({ kind: 'verify-sign' } & SignatureJob & SignPart);
/** Per job: 0 verified, 1 bad signature, 2 bad key; a signature; or null when signing failed. */
type Answer = number | Uint8Array | null;

const OUTCOMES: readonly SignatureOutcome[] = ['verified', 'bad-signature', 'bad-key'];

/** A job in-process: for a batch whose worker died, and to surface the real error of a failed sign. WORKER_SOURCE does the same. */
function run(job: Job, keys: Map<number, KeyObject>): Answer {
  if (job.kind !== 'sign') {
    const outcome = verifyJob(job);
    if (job.kind === 'verify' || outcome !== 0) return outcome;
  }
  return new Uint8Array(sign(job.signDigest, job.data, job.key ?? keys.get(job.keyId)!));
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

// Plain JS, eval'd: the worker runs the same under tsc's output and under ts-jest.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, sign, verify } = require('node:crypto');
const keys = new Map();
const verifyJob = (job) => {
  const part = ([start, end]) => job.der.subarray(start, end);
  let key;
  try {
    key = createPublicKey({ key: Buffer.from(job.der.buffer, job.der.byteOffset + job.spki[0], job.spki[1] - job.spki[0]), format: 'der', type: 'spki' });
  } catch {
    return 2;
  }
  try {
    return verify(job.digest, part(job.signed), key, part(job.signature)) ? 0 : 1;
  } catch {
    return 1;
  }
};
const run = (job) => {
  if (job.kind !== 'sign') {
    const outcome = verifyJob(job);
    if (job.kind === 'verify' || outcome !== 0) return outcome;
  }
  if (job.key) keys.set(job.keyId, job.key);
  try {
    return new Uint8Array(sign(job.signDigest, job.data, keys.get(job.keyId)));
  } catch {
    return null;
  }
};
parentPort.on('message', (jobs) => parentPort.postMessage(jobs.map(run)));
`;

interface Pending {
  job: Job;
  settle: (answer: Answer) => void;
}

// Batches are capped and a few are in flight at once, so the worker starts on the first jobs
// while the main thread is still preparing the rest, and finds the next batch waiting when it
// is done: one batch at a time with everything gathered meanwhile made the enroll path move
// in lock-step (the main thread idle while the worker verified, and the other way round).
const MAX_BATCH = 8;
const MAX_BATCHES_IN_FLIGHT = 4;

/** One worker; up to MAX_BATCHES_IN_FLIGHT batches sent (answered in order), the rest gathering. */
class CryptoWorker {
  #worker: Worker | undefined;
  /** Signing keys this worker holds, by id (sent along with the first job that needs them). */
  #keysSent = new Set<number>();
  /** The keys as sent, for running a dead worker's batch in-process. */
  #keys = new Map<number, KeyObject>();
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
      const worker = this.#started();
      const batch = this.#gathering.length <= MAX_BATCH ? this.#gathering : this.#gathering.slice(0, MAX_BATCH);
      this.#gathering = batch === this.#gathering ? [] : this.#gathering.slice(MAX_BATCH);
      this.#inFlight.push(batch);
      const jobs = batch.map(({ job }) => {
        if (job.kind === 'verify' || !job.key) return job;
        this.#keys.set(job.keyId, job.key);
        if (this.#keysSent.has(job.keyId)) return { ...job, key: undefined };
        this.#keysSent.add(job.keyId);
        return job;
      });
      worker.ref(); // a pending job keeps the process alive; an idle worker does not
      worker.postMessage(jobs);
    }
  }

  #started(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    this.#keysSent = new Set();
    worker.on('message', (answers: Answer[]) => {
      const batch = this.#inFlight.shift() ?? [];
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
      for (const pending of batches.flat()) {
        try {
          pending.settle(run(pending.job, this.#keys));
        } catch {
          pending.settle(null);
        }
      }
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
  const answer = await submit({ kind: 'verify', ...job });
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
  const answer = await submit({ kind: 'sign', keyId: keyIdOf(key), key, signDigest: digest, data: data.slice() });
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
  const answer = await submit({ kind: 'verify-sign', ...proof, keyId: keyIdOf(key), key, signDigest: digest, data: data.slice() });
  if (typeof answer === 'number') return answer === 2 ? 'bad-key' : 'bad-signature';
  return answer instanceof Uint8Array ? answer : new Uint8Array(sign(digest, data, key));
}
