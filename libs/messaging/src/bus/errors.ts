/** Errors of the message bus. Each carries a stable code and `retriable`, like the store's. */
export abstract class MessagingError extends Error {
  abstract readonly code: string;
  abstract readonly retriable: boolean;
}

/** The broker did not acknowledge a publish (down, unreachable, or it refused it). */
export class PublishFailed extends MessagingError {
  readonly code = 'publish-failed';
  readonly retriable = true;
  constructor(
    readonly topic: string,
    override readonly cause: unknown,
  ) {
    super(`publish to ${topic} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export class BusClosed extends MessagingError {
  readonly code = 'bus-closed';
  readonly retriable = false;
  constructor() {
    super('the message bus is closed');
  }
}

/** A topic name Kafka would refuse (1-249 of [a-zA-Z0-9._-]). */
export class InvalidTopic extends MessagingError {
  readonly code = 'invalid-topic';
  readonly retriable = false;
  constructor(readonly topic: string) {
    super(`not a valid topic name: ${JSON.stringify(topic)}`);
  }
}

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
export const checkTopic = (topic: string): string => {
  if (!TOPIC.test(topic) || topic === '.' || topic === '..') throw new InvalidTopic(topic);
  return topic;
};
