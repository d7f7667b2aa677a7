import { createPublicKey, verify } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

// Proof of possession (import the CSR's key + verify its signature) on worker threads, in
// batches: on the enroll path the key import alone costs the main thread ~45 µs and the
// libuv-pool verify still ~60 µs of scheduling and callbacks per CSR; a batch per message
// brings the main thread's share to ~15 µs (tools/bench/pki.mjs).

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

const OUTCOMES: readonly SignatureOutcome[] = ['verified', 'bad-signature', 'bad-key'];

/** The check in-process, for a batch whose worker died; WORKER_SOURCE below does the same. */
function checkSignature(job: SignatureJob): number {
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
const { createPublicKey, verify } = require('node:crypto');
const checkSignature = (job) => {
  const part = ([start, end]) => job.der.subarray(start, end);
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
};
parentPort.on('message', (jobs) => parentPort.postMessage(Uint8Array.from(jobs, checkSignature)));
`;

interface Pending {
  job: SignatureJob;
  resolve: (outcome: SignatureOutcome) => void;
}

/** One worker; at most one batch in flight, the next one gathering meanwhile. */
class SignatureWorker {
  #worker: Worker | undefined;
  #gathering: Pending[] = [];
  #inFlight: Pending[] = [];

  check(job: SignatureJob): Promise<SignatureOutcome> {
    return new Promise((resolve) => {
      this.#gathering.push({ job, resolve });
      if (this.#gathering.length === 1 && this.#inFlight.length === 0) queueMicrotask(() => this.#send());
    });
  }

  #send(): void {
    if (this.#inFlight.length > 0 || this.#gathering.length === 0) return;
    const worker = this.#started();
    this.#inFlight = this.#gathering;
    this.#gathering = [];
    worker.ref(); // a pending check keeps the process alive; an idle worker does not
    worker.postMessage(this.#inFlight.map((p) => p.job));
  }

  #started(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', (outcomes: Uint8Array) => {
      const batch = this.#inFlight;
      this.#inFlight = [];
      batch.forEach((pending, index) => pending.resolve(OUTCOMES[outcomes[index]!] ?? 'bad-signature'));
      if (this.#gathering.length > 0) this.#send();
      else worker.unref();
    });
    // A worker that dies takes no answer with it: its batch is checked in-process, the next batch starts a new worker.
    const lost = () => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      const batch = this.#inFlight;
      this.#inFlight = [];
      for (const pending of batch) pending.resolve(OUTCOMES[checkSignature(pending.job)]!);
      if (this.#gathering.length > 0) this.#send();
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.#worker = worker;
    return worker;
  }
}

const workers: SignatureWorker[] = [];
let next = 0;

/** Imports the key and verifies the signature off the main thread; never rejects. */
export function checkSignatureOffThread(job: SignatureJob): Promise<SignatureOutcome> {
  if (workers.length === 0) {
    const count = Math.max(1, Math.min(4, availableParallelism() - 1));
    for (let index = 0; index < count; index++) workers.push(new SignatureWorker());
  }
  return workers[next++ % workers.length]!.check(job);
}
