import { hash } from 'node:crypto';

/** Namespace of DevID Ledger event ids (a fixed random v4 UUID; never change it). */
export const EVENT_ID_NAMESPACE = '02044622-afd0-4cac-9540-53dd6bd224e9';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True for a UUID in canonical lowercase form (the only form the store accepts). */
export const isCanonicalUuid = (value: string): boolean => UUID.test(value);

/** The 16 bytes of each namespace seen (in practice one: EVENT_ID_NAMESPACE). */
const namespaceBytes = new Map<string, Buffer>();

/** RFC 4122 §4.3 name-based UUID, version 5 (SHA-1). */
export const uuidV5 = (name: string, namespace: string): string => {
  let prefix = namespaceBytes.get(namespace);
  if (prefix === undefined) {
    if (!isCanonicalUuid(namespace)) throw new TypeError(`namespace is not a canonical UUID: ${namespace}`);
    if (namespaceBytes.size >= 64) namespaceBytes.clear();
    namespaceBytes.set(namespace, (prefix = Buffer.from(namespace.replaceAll('-', ''), 'hex')));
  }
  // One-shot hash of namespace ‖ name: half the cost of a Hash object's update/update/digest (2 ids per enroll command).
  const input = Buffer.allocUnsafe(16 + Buffer.byteLength(name, 'utf8'));
  prefix.copy(input, 0);
  input.write(name, 16, 'utf8');
  const bytes = hash('sha1', input, 'buffer');
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex', 0, 16);
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
