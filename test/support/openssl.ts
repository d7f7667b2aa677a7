import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** openssl as an independent client; resolves with stdout+stderr and the exit code (never throws). */
export const openssl = async (args: string[], cwd: string): Promise<{ code: number; out: string }> => {
  try {
    const { stdout, stderr } = await run('openssl', args, { cwd, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, out: (err.stdout ?? '') + (err.stderr ?? '') };
  }
};

/** A device key and a CSR for it, made by openssl. */
export const deviceCsr = async (dir: string, name: string, subject: string, curve = 'prime256v1') => {
  await openssl(['ecparam', '-name', curve, '-genkey', '-noout', '-out', `${name}.key`], dir);
  const res = await openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
  if (res.code !== 0) throw new Error(`openssl req failed: ${res.out}`);
};
