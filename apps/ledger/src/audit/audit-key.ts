import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { AuditPublicKey, type CheckpointSigningKey } from '@devid/audit';
import { KeyStore, KeyStoreError } from '../pki/key-store';

export const AUDIT_KEY_NAME = 'audit-checkpoints';
export const AUDIT_KEY_REF = `file:${AUDIT_KEY_NAME}`;
/** Where the public half is written for auditors and `devid audit verify`. */
export const AUDIT_PUBLIC_KEY_FILE = 'audit-key.pub.pem';

/**
 * The ledger's audit key: Ed25519, software, encrypted PKCS#8 beside the CA keys
 * (DATA_DIR/ca-keys/audit-checkpoints.p8.pem), generated on first start.
 */
export const loadAuditKey = async (keys: KeyStore, dataDir: string): Promise<{ key: CheckpointSigningKey; publicKey: AuditPublicKey }> => {
  let key: CheckpointSigningKey;
  try {
    key = await keys.get(AUDIT_KEY_REF);
  } catch (error) {
    if (!(error instanceof KeyStoreError) || !/missing/.test(error.message)) throw error;
    key = (await keys.generate(AUDIT_KEY_NAME, 'Ed25519', 'software')).key;
  }
  const publicKey = AuditPublicKey.fromSpki(key.subjectPublicKeyInfo);
  writeFileSync(join(dataDir, AUDIT_PUBLIC_KEY_FILE), publicKey.pem(), { mode: 0o644 });
  new Logger('audit').log(`audit key ${publicKey.keyId} (${publicKey.algorithm})`);
  return { key, publicKey };
};
