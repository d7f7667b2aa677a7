// What the machine gave a bench while it ran, printed beside the figures it moves:
//  - the share of CPU time the hypervisor gave to other guests (steal) and the idle share, from
//    /proc/stat. Here the same code has run at 17k and 46k events/s with 27 % and 0 % stolen;
//  - how long a thread hand-off takes: postMessage to a worker and back, right away and after the
//    worker slept 300 µs. An idle vCPU of this VM halts, and waking it costs up to ~1.7 ms. Every
//    pipeline between threads (the store's writer, the crypto worker) pays it when a stage idles.
import { existsSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** Cumulative CPU ticks of the whole machine (all cores), or undefined off Linux. */
export const cpuTicks = () => {
  if (!existsSync('/proc/stat')) return undefined;
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number);
  return { busy: user + nice + system + irq + softirq, idle, iowait, steal };
};

/** Shares (%) of the machine's CPU time since `before` (a cpuTicks() reading). */
export const cpuSharesSince = (before) => {
  const after = cpuTicks();
  if (!before || !after) return undefined;
  const delta = Object.fromEntries(Object.keys(after).map((key) => [key, after[key] - before[key]]));
  const total = delta.busy + delta.idle + delta.iowait + delta.steal;
  if (total <= 0) return undefined;
  const share = (ticks) => (100 * ticks) / total;
  return { busy: share(delta.busy), idle: share(delta.idle + delta.iowait), steal: share(delta.steal) };
};

/** "stolen 3% · idle 25%", or "n/a" off Linux. */
export const formatShares = (shares) => (shares ? `stolen ${shares.steal.toFixed(0)}% · idle ${shares.idle.toFixed(0)}%` : 'n/a');

/**
 * Round trip of a message to a worker thread and back (µs, p50 and p90 of `rounds`): with the
 * worker just active, and after `idleMicros` in which this thread spins and the worker waits.
 */
export const handoffRoundTrip = async ({ rounds = 1000, idleMicros = 300 } = {}) => {
  const worker = new Worker("require('node:worker_threads').parentPort.on('message', (m) => require('node:worker_threads').parentPort.postMessage(m));", { eval: true });
  await new Promise((resolve) => worker.once('online', resolve));
  const measure = async (gapMicros) => {
    const micros = [];
    for (let i = 0; i < rounds; i++) {
      const idleUntil = performance.now() + gapMicros / 1000;
      while (performance.now() < idleUntil);
      const started = performance.now();
      await new Promise((resolve) => {
        worker.once('message', resolve);
        worker.postMessage(i);
      });
      micros.push((performance.now() - started) * 1000);
    }
    micros.sort((a, b) => a - b);
    return { p50: micros[Math.floor(rounds * 0.5)], p90: micros[Math.floor(rounds * 0.9)] };
  };
  try {
    return { active: await measure(0), afterIdle: await measure(idleMicros), idleMicros };
  } finally {
    await worker.terminate();
  }
};

/** "16 / 22 µs; after 300 µs idle 45 / 1,691 µs" (p50 / p90). */
export const formatHandoff = ({ active, afterIdle, idleMicros }) => {
  const us = (value) => Math.round(value).toLocaleString('en-US');
  return `${us(active.p50)} / ${us(active.p90)} µs; after ${idleMicros} µs idle ${us(afterIdle.p50)} / ${us(afterIdle.p90)} µs`;
};
