import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OpensslResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the openssl CLI; resolves with the exit code instead of rejecting, so tests can assert failures. */
export function openssl(args: string[], options: { cwd?: string } = {}): Promise<OpensslResult> {
  return new Promise((resolve) => {
    execFile('openssl', args, { cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

/** A fresh temp directory per test file, so tests never see each other's files. */
export async function withTempDir<T>(run: (dir: string, write: (name: string, content: string | Uint8Array) => Promise<string>) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'devid-pki-'));
  const write = async (name: string, content: string | Uint8Array): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  };
  try {
    return await run(dir, write);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
