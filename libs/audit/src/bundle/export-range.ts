import { InvalidExportRange } from '../errors';
import { parsePointInTime } from '../history/point-in-time';

/** One end of an export range: a global position, or a moment compared with recordedAt. */
export type RangeBound = { position: number } | { time: Date };

/** `123` is a position; anything else must be an RFC 3339 date-time. */
export const parseRangeBound = (text: string, which: 'from' | 'to'): RangeBound => {
  if (/^\d+$/.test(text)) {
    const position = Number(text);
    if (!Number.isSafeInteger(position)) throw new InvalidExportRange(`--${which} ${text} is not a usable position`);
    return { position };
  }
  try {
    return { time: parsePointInTime(text) };
  } catch {
    throw new InvalidExportRange(`--${which} must be a position or an RFC 3339 date-time, got ${JSON.stringify(text)}`);
  }
};
