import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFileDurably } from '../store/durable-file';

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
    if (existsSync(file)) return AdminKey.stored(file);
    const key = `devid_${randomBytes(24).toString('base64url')}`;
    mkdirSync(dataDir, { recursive: true });
    // Another process on this data dir generated one first: that one is the key, and this start prints none.
    if (!createFileDurably(file, `${sha256(key).toString('hex')}\n`, 0o600)) return AdminKey.stored(file);
    return new AdminKey(sha256(key), key);
  }

  private static stored(file: string): AdminKey {
    return new AdminKey(Buffer.from(readFileSync(file, 'utf8').trim(), 'hex'));
  }

  matches(candidate: string): boolean {
    return timingSafeEqual(sha256(candidate), this.digest);
  }
}
