import { isDomainError } from '@devid/domain';
import type { BusSubscription, IncomingMessage, MessageBus } from '../bus/message-bus';
import { RevokeCommandRejected, type RejectionCode } from './command-rejected';
import { toResultMessage, type CommandResult } from './command-result';
import { toDeadLetter } from './dead-letter';
import type { CommandTopics } from './topics';
import { verifyRevokeCommand, type RevokeCommandLookups, type VerifiedRevokeCommand } from './verify-revoke-command';

export interface AppliedRevoke {
  /** true when the store already held this command's events (nothing was written this time). */
  replayed: boolean;
  eventIds: string[];
}

export interface RevokeCommandConsumerOptions {
  topics: CommandTopics;
  groupId: string;
  lookups: RevokeCommandLookups;
  /**
   * Runs the domain's RevokeDevice. Throws RevokeCommandRejected('replayed-command-id') for a
   * known commandId with another body, a DomainError when the domain refuses, anything else
   * when the ledger itself failed (the message is then retried, and dead-lettered at last).
   */
  apply(command: VerifiedRevokeCommand): Promise<AppliedRevoke>;
  maxBytes?: number;
  freshnessMs?: number;
  clock?: () => Date;
  /** Told about each handled message (metrics, logs). */
  onOutcome?: (outcome: CommandResult['outcome'] | RejectionCode) => void;
}

/**
 * Consumes devid.commands.revoke. Each message ends in exactly one place: a result
 * (accepted / duplicate / rejected) or a DLQ record, and only then is its offset committed.
 * Bad input never throws out of the handler, so it never blocks the partition.
 */
export class RevokeCommandConsumer {
  private subscription: BusSubscription | undefined;

  constructor(
    private readonly bus: MessageBus,
    private readonly options: RevokeCommandConsumerOptions,
  ) {}

  async start(): Promise<void> {
    const { topics, groupId } = this.options;
    this.subscription = await this.bus.subscribe(topics.revoke, groupId, (message) => this.handle(message), {
      fromBeginning: true,
      maxAttempts: 5,
      onExhausted: (message, error) => this.deadLetter(message, 'processing-failed', `the ledger failed on this message: ${error instanceof Error ? error.message : String(error)}`),
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = undefined;
  }

  private now(): Date {
    return this.options.clock?.() ?? new Date();
  }

  async handle(message: IncomingMessage): Promise<void> {
    let verified: VerifiedRevokeCommand;
    try {
      verified = await verifyRevokeCommand(message.value, this.options.lookups, {
        now: this.now(),
        ...(this.options.maxBytes === undefined ? {} : { maxBytes: this.options.maxBytes }),
        ...(this.options.freshnessMs === undefined ? {} : { freshnessMs: this.options.freshnessMs }),
      });
    } catch (error) {
      if (error instanceof RevokeCommandRejected) return this.deadLetter(message, error.code, error.message);
      throw error;
    }
    const { commandId, detectorId, deviceId } = verified.payload;
    const result = (outcome: CommandResult['outcome'], rest: Partial<CommandResult> = {}): CommandResult => ({
      commandId,
      detectorId,
      deviceId,
      outcome,
      ...rest,
      at: this.now().toISOString(),
    });
    try {
      const applied = await this.options.apply(verified);
      await this.publishResult(result(applied.replayed ? 'duplicate' : 'accepted', { eventIds: applied.eventIds }));
    } catch (error) {
      if (error instanceof RevokeCommandRejected) return this.deadLetter(message, error.code, error.message);
      if (!isDomainError(error)) throw error;
      await this.publishResult(result('rejected', { code: error.code, reason: error.message }));
    }
  }

  private async publishResult(result: CommandResult): Promise<void> {
    await this.bus.publish(this.options.topics.results, [toResultMessage(result)]);
    this.options.onOutcome?.(result.outcome);
  }

  private async deadLetter(message: IncomingMessage, code: RejectionCode, reason: string): Promise<void> {
    await this.bus.publish(this.options.topics.dlq, [toDeadLetter(message, code, reason, this.now())]);
    this.options.onOutcome?.(code);
  }
}
