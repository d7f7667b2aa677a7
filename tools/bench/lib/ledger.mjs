// A ledger as `npm start` runs it (apps/ledger/dist/main.js), for benches that go through its
// HTTP API: on ephemeral ports (PORT=0 also makes EST's port ephemeral), warnings only.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Starts the ledger with `env` over the defaults; resolves with the child and its URL once its banner is out. */
export const startLedger = (env) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'apps', 'ledger', 'dist', 'main.js')], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const onData = (chunk) => {
      out += chunk.toString();
      const up = /DevID Ledger is up: (http:\/\/[\d.]+:\d+)/.exec(out);
      if (up) resolve({ child, url: up[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the ledger exited with ${code} before it was up:\n${out}`)));
  });
