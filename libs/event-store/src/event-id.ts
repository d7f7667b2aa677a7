import { createHash } from 'node:crypto';

/** Namespace of DevID Ledger event ids (a fixed random v4 UUID; never change it). */
export const EVENT_ID_NAMESPACE = '02044622-afd0-4cac-9540-53dd6bd224e9';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True for a UUID in canonical lowercase form (the only form the store accepts). */
export const isCanonicalUuid = (value: string): boolean => UUID.test(value);

/** RFC 4122 §4.3 name-based UUID, version 5 (SHA-1). */
export const uuidV5 = (name: string, namespace: string): string => {
  if (!isCanonicalUuid(namespace)) throw new TypeError(`namespace is not a canonical UUID: ${namespace}`);
  const bytes = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/**
 * The id of the index-th event a command produces. Deterministic, so a retried command
 * carries the same ids and the store answers it as a duplicate instead of writing twice.
 */
export const deriveEventId = (commandId: string, index: number): string => {
  if (commandId.length === 0) throw new TypeError('commandId is empty');
  if (!Number.isSafeInteger(index) || index < 0) throw new TypeError(`index must be a non-negative integer: ${index}`);
  return uuidV5(`${commandId}#${index}`, EVENT_ID_NAMESPACE);
};
