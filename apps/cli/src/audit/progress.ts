import { SingleBar, Presets } from 'cli-progress';

/** A progress bar on stderr when it is a terminal (nothing in pipes and tests). */
export const progressBar = (label: string, total: number) => {
  if (!process.stderr.isTTY || total < 10_000) return { update: (_n: number) => undefined, stop: () => undefined };
  const bar = new SingleBar({ format: `${label} [{bar}] {percentage}% {value}/{total} {eta_formatted}`, stream: process.stderr, fps: 5 }, Presets.shades_classic);
  bar.start(total, 0);
  return { update: (n: number) => bar.update(n), stop: () => bar.stop() };
};
