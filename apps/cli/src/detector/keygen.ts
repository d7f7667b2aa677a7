import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { CliError } from '../cli-error';

export interface KeygenOptions {
  alg: string;
  out: string;
}

/** A detector key pair: the private JWK to a 0600 file, the public JWK to print and register. */
export const keygen = async (options: KeygenOptions): Promise<{ publicJwk: JWK; privatePath: string }> => {
  if (options.alg !== 'ES256' && options.alg !== 'EdDSA') throw new CliError(`--alg must be ES256 or EdDSA, not ${options.alg}`);
  const dir = resolve(options.out);
  const privatePath = join(dir, 'detector-private.jwk.json');
  const publicPath = join(dir, 'detector-public.jwk.json');
  if (existsSync(privatePath)) throw new CliError(`${privatePath} exists; not overwriting a private key`);
  const pair = options.alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  const publicJwk = pair.publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(publicJwk);
  const publicWithMeta = { ...publicJwk, alg: options.alg, use: 'sig', kid };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(privatePath, `${JSON.stringify({ ...(pair.privateKey.export({ format: 'jwk' }) as JWK), alg: options.alg, kid }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  writeFileSync(publicPath, `${JSON.stringify(publicWithMeta, null, 2)}\n`, { mode: 0o644 });
  return { publicJwk: publicWithMeta, privatePath };
};
