import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

/** Ledger settings under which the audit scheduler signs no checkpoint during a test. */
export const NO_AUDIT_CHECKPOINTS = { AUDIT_CHECKPOINT_EVERY: '1000000', AUDIT_CHECKPOINT_INTERVAL_SECONDS: '0' } as const;
const MAIN = join(ROOT, 'apps', 'ledger', 'dist', 'main.js');

/** The compiled ledger is what users run; build it once if this jest run has not. */
export const ensureBuilt = () => {
  if (!existsSync(MAIN) || process.env.DEVID_SKIP_BUILD !== '1') {
    execFileSync('npx', ['tsc', '-b', 'apps/ledger/tsconfig.app.json', 'apps/cli/tsconfig.app.json'], { cwd: ROOT, stdio: 'inherit' });
  }
};

export interface LedgerProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts `node apps/ledger/dist/main.js` on a free port and waits for its banner. */
export const startLedgerProcess = (env: Record<string, string>, timeoutMs = 30_000): Promise<LedgerProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ledger did not start in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /DevID Ledger is up: (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ledger exited with ${code} before it was up:\n${out}`));
    });
  });

export const stopLedgerProcess = (ledger: LedgerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> =>
  new Promise((resolve) => {
    if (ledger.child.exitCode !== null || ledger.child.signalCode !== null) return resolve();
    ledger.child.once('exit', () => resolve());
    ledger.child.kill(signal);
  });

/**
 * Environment that moves a process's clock by `offset` (libfaketime's FAKETIME syntax, e.g.
 * '+31d'), preloaded into the process itself: unlike the `faketime` wrapper, which forks, the
 * child stopped by stopLedgerProcess is the ledger. libfaketimeMT is the variant for
 * multithreaded programs (Node's worker threads). Debian package: faketime.
 */
export const fakeClockEnv = (offset: string): Record<string, string> => {
  const candidates = ['/usr/lib', '/usr/local/lib', ...(existsSync('/usr/lib') ? readdirSync('/usr/lib').map((dir) => join('/usr/lib', dir)) : [])].map((dir) =>
    join(dir, 'faketime', 'libfaketimeMT.so.1'),
  );
  const library = candidates.find((path) => existsSync(path));
  if (!library) throw new Error(`libfaketimeMT.so.1 not found (apt-get install faketime); looked in ${candidates.slice(0, 3).join(', ')}, ...`);
  return { LD_PRELOAD: library, FAKETIME: offset };
};
