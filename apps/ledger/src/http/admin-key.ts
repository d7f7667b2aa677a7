import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * The admin API key. From ADMIN_API_KEY, or generated on first start: only its SHA-256 is
 * kept in DATA_DIR, so the key is printed once and never stored in clear.
 */
export class AdminKey {
  private constructor(
    private readonly digest: Buffer,
    /** Set only on the start that generated it, so main can print it once. */
    readonly generated?: string,
  ) {}

  static load(dataDir: string, fromEnv?: string): AdminKey {
    if (fromEnv) return new AdminKey(sha256(fromEnv));
    const file = join(dataDir, 'admin-api-key.sha256');
    if (existsSync(file)) return new AdminKey(Buffer.from(readFileSync(file, 'utf8').trim(), 'hex'));
    const key = `devid_${randomBytes(24).toString('base64url')}`;
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${sha256(key).toString('hex')}\n`, { mode: 0o600 });
    return new AdminKey(sha256(key), key);
  }

  matches(candidate: string): boolean {
    return timingSafeEqual(sha256(candidate), this.digest);
  }
}
