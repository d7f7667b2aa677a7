import { Inject, Injectable, Optional } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { Counter } from 'prom-client';
import { deriveEventId, type EventStore } from '@devid/event-store';
import {
  commandTopics,
  evidenceComment,
  ledgerCommandId,
  RevokeCommandConsumer,
  RevokeCommandRejected,
  type AppliedRevoke,
  type MessageBus,
  type VerifiedRevokeCommand,
} from '@devid/messaging';
import { DetectorRepository } from '../detectors/detector-repository';
import { DeviceRepository } from '../devices/device-repository';
import { ExecuteDeviceCommand, type CommandOutcome } from '../devices/execute-device-command';
import { HttpProblem } from '../http/problem';
import { LedgerMetrics } from '../metrics/metrics';
import { EVENT_STORE } from '../store/tokens';
import { MESSAGE_BUS } from './message-bus.provider';
import { MESSAGING_CONFIG, type MessagingConfig } from './messaging-config';

/**
 * Signed revoke commands from anomaly detectors, applied through the same CQRS command as
 * POST /devices/{id}/revoke, with the detector as the actor.
 */
@Injectable()
export class RevokeCommands {
  readonly consumer: RevokeCommandConsumer;
  readonly topics;

  constructor(
    @Inject(MESSAGE_BUS) bus: MessageBus,
    @Inject(MESSAGING_CONFIG) config: MessagingConfig,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly commands: CommandBus,
    detectors: DetectorRepository,
    devices: DeviceRepository,
    @Optional() @Inject(LedgerMetrics) metrics?: LedgerMetrics,
  ) {
    this.topics = commandTopics(config.KAFKA_TOPIC_PREFIX);
    const outcomes = metrics
      ? new Counter({ name: 'devid_revoke_commands_total', help: 'Revoke commands by outcome or DLQ code', labelNames: ['outcome'], registers: [metrics.registry] })
      : undefined;
    this.consumer = new RevokeCommandConsumer(bus, {
      topics: this.topics,
      groupId: `${config.KAFKA_GROUP_ID}.revoke-commands`,
      freshnessMs: config.REVOKE_FRESHNESS_SECONDS * 1000,
      maxBytes: config.REVOKE_MAX_BYTES,
      lookups: {
        detector: async (detectorId) => {
          const { state } = await detectors.load(detectorId);
          return state.status === 'unknown' ? undefined : state;
        },
        device: async (deviceId) => {
          const { state } = await devices.load(deviceId);
          return state.status === 'unknown' ? undefined : { owner: state.owner ?? null, model: state.model };
        },
      },
      apply: (command) => this.apply(command),
      onOutcome: (outcome) => outcomes?.inc({ outcome }),
    });
  }

  private async apply({ payload, fingerprint }: VerifiedRevokeCommand): Promise<AppliedRevoke> {
    const commandId = ledgerCommandId(payload.detectorId, payload.commandId);
    let outcome: CommandOutcome;
    try {
      outcome = await this.commands.execute(
        new ExecuteDeviceCommand(
          {
            type: 'RevokeDevice',
            deviceId: payload.deviceId,
            data: { reason: payload.reason, comment: evidenceComment(payload.detectorId, payload.evidence) },
            commandId,
            now: new Date().toISOString(),
            actor: `detector:${payload.detectorId}`,
          },
          { fingerprint, correlationId: payload.commandId },
        ),
      );
    } catch (error) {
      if (error instanceof HttpProblem && error.code === 'idempotency-key-reused') {
        throw new RevokeCommandRejected('replayed-command-id', `commandId ${payload.commandId} of detector ${payload.detectorId} was already used for another command`);
      }
      throw error;
    }
    return { replayed: outcome.replayed, eventIds: await this.eventIdsOf(commandId) };
  }

  /** The events the command wrote (ids derive from the command id, index by index). */
  private async eventIdsOf(commandId: string): Promise<string[]> {
    const ids: string[] = [];
    for (let index = 0; index < 1_000; index++) {
      const id = deriveEventId(commandId, index);
      if (!(await this.store.getEvent(id))) break;
      ids.push(id);
    }
    return ids;
  }
}
