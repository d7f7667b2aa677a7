/** Page size of readAll / readStream when the caller gives none. */
export const DEFAULT_MAX_COUNT = 1000;
/** Hard cap so one call cannot pull the whole log into memory. */
export const MAX_COUNT_CAP = 10_000;

export const pageSize = (maxCount: number | undefined): number => {
  if (maxCount === undefined) return DEFAULT_MAX_COUNT;
  if (!Number.isSafeInteger(maxCount) || maxCount < 1) throw new RangeError(`maxCount must be a positive integer: ${maxCount}`);
  return Math.min(maxCount, MAX_COUNT_CAP);
};

export const nonNegative = (name: string, value: number | undefined): number => {
  if (value === undefined) return 0;
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer: ${value}`);
  return value;
};
