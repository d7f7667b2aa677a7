import { backoffMs, sleep } from './backoff';
import type { IncomingMessage, MessageHandler, SubscribeOptions } from './message-bus';

/**
 * The delivery rule both adapters share: run the handler until it succeeds; after
 * `maxAttempts` failures hand the message to `onExhausted`; if that fails too, keep
 * retrying with capped backoff. Returns false when stopped before the message was done
 * (the caller must then not commit it).
 */
export const deliver = async (
  message: IncomingMessage,
  handler: MessageHandler,
  options: SubscribeOptions,
  isStopping: () => boolean,
  heartbeat: () => Promise<void> = async () => undefined,
): Promise<boolean> => {
  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      await handler(message);
      return true;
    } catch (error) {
      if (attempt >= maxAttempts && options.onExhausted) {
        try {
          await options.onExhausted(message, error);
          return true;
        } catch {
          // The dead-letter route failed too: retry the whole message later.
        }
      }
    }
    if (isStopping()) return false;
    await sleep(backoffMs(attempt));
    await heartbeat().catch(() => undefined);
    if (isStopping()) return false;
  }
};
