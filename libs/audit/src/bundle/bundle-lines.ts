import { TextDecoder } from 'node:util';
import { createReadStream } from 'node:fs';

export interface BundleLine {
  /** 1-based. */
  number: number;
  text: string;
}

/** The bundle's lines; bytes that are not UTF-8, or a last line without LF, are an error. */
export async function* bundleLines(path: string): AsyncGenerator<BundleLine> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let carry: Buffer = Buffer.alloc(0);
  let number = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = data.indexOf(0x0a, start); nl !== -1; nl = data.indexOf(0x0a, start)) {
      number++;
      yield { number, text: decode(decoder, data.subarray(start, nl), number) };
      start = nl + 1;
    }
    carry = Buffer.from(data.subarray(start));
    data = carry;
  }
  if (carry.length > 0) throw new BundleLineError(number + 1, 'the last line does not end with a line feed (truncated?)');
}

export class BundleLineError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

const decode = (decoder: TextDecoder, bytes: Uint8Array, line: number): string => {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new BundleLineError(line, 'the line is not valid UTF-8');
  }
};
