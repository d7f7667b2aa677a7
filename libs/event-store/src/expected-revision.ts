import { WrongExpectedRevision } from './errors';
import type { ExpectedRevision } from './event-store';

/** Revision of an absent stream in adapters' bookkeeping. */
export const NO_STREAM = -1;

/** Throws WrongExpectedRevision unless `current` (NO_STREAM when absent) satisfies `expected`. */
export const assertExpectedRevision = (streamId: string, expected: ExpectedRevision, current: number): void => {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && current === NO_STREAM) ||
    (expected === 'stream_exists' && current !== NO_STREAM) ||
    expected === current;
  if (!ok) throw new WrongExpectedRevision(streamId, expected, current === NO_STREAM ? 'no_stream' : current);
};
