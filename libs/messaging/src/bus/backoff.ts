/** Exponential backoff with full jitter, capped: attempt 1 waits up to `baseMs`. */
export const backoffMs = (attempt: number, baseMs = 100, capMs = 5_000): number =>
  Math.round(Math.random() * Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1)));

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
