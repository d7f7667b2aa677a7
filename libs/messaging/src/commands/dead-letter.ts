import type { IncomingMessage, OutgoingMessage } from '../bus/message-bus';
import type { RejectionCode } from './command-rejected';

/** Originals are copied into the DLQ up to this size, so a huge message cannot make the DLQ record too large too. */
const ORIGINAL_MAX_BYTES = 64 * 1024;

type Encoded = { text: string; encoding: 'utf8' | 'base64' };

const encode = (bytes: Buffer): Encoded => {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf8' };
  } catch {
    return { text: bytes.toString('base64'), encoding: 'base64' };
  }
};

export interface DeadLetter {
  error: { code: RejectionCode; message: string };
  original: {
    topic: string;
    partition: number;
    offset: string;
    key: string | null;
    keyEncoding?: 'base64';
    value: string | null;
    valueEncoding?: 'base64';
    /** Present when the value was cut to ORIGINAL_MAX_BYTES. */
    valueBytes?: number;
    truncated?: true;
    headers: Record<string, string>;
  };
  at: string;
}

/** The DLQ record (DESIGN.md: original message + error), keyed like the original. */
export const toDeadLetter = (message: IncomingMessage, code: RejectionCode, reason: string, at: Date): OutgoingMessage => {
  const key = message.key === null ? null : encode(message.key);
  const tooBig = message.value !== null && message.value.length > ORIGINAL_MAX_BYTES;
  const value = message.value === null ? null : encode(tooBig ? message.value.subarray(0, ORIGINAL_MAX_BYTES) : message.value);
  const record: DeadLetter = {
    error: { code, message: reason },
    original: {
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      key: key?.text ?? null,
      ...(key?.encoding === 'base64' ? { keyEncoding: 'base64' as const } : {}),
      value: value?.text ?? null,
      ...(value?.encoding === 'base64' ? { valueEncoding: 'base64' as const } : {}),
      ...(tooBig ? { truncated: true as const, valueBytes: message.value!.length } : {}),
      headers: Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, encode(v).text])),
    },
    at: at.toISOString(),
  };
  return { key: message.key, value: JSON.stringify(record) };
};
