import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { AuditPublicKey, type CheckpointSigningKey } from '@devid/audit';
import { KeyNameTaken, KeyStore, KeyStoreError } from '../pki/key-store';
import { replaceFileDurably } from '../store/durable-file';

export const AUDIT_KEY_NAME = 'audit-checkpoints';
export const AUDIT_KEY_REF = `file:${AUDIT_KEY_NAME}`;
/** Where the public half is written for auditors and `devid audit verify`. */
export const AUDIT_PUBLIC_KEY_FILE = 'audit-key.pub.pem';

/** A new audit key, or the one another process starting on this data dir made a moment before. */
const generateOrLoad = async (keys: KeyStore): Promise<CheckpointSigningKey> => {
  try {
    return (await keys.generate(AUDIT_KEY_NAME, 'Ed25519', 'software')).key;
  } catch (error) {
    if (!(error instanceof KeyNameTaken)) throw error;
    return keys.get(AUDIT_KEY_REF);
  }
};

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
    key = await generateOrLoad(keys);
  }
  const publicKey = AuditPublicKey.fromSpki(key.subjectPublicKeyInfo);
  replaceFileDurably(join(dataDir, AUDIT_PUBLIC_KEY_FILE), publicKey.pem(), 0o644);
  new Logger('audit').log(`audit key ${publicKey.keyId} (${publicKey.algorithm})`);
  return { key, publicKey };
};
