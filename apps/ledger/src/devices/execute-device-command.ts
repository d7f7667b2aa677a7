import { Inject, Logger } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { decide, deviceStreamId, DeviceNotFound, fold, type DeviceCommand, type DeviceState, type KnownDeviceState } from '@devid/domain';
import { deriveEventId, WrongExpectedRevision, type EventStore, type NewEvent, type StoredEvent } from '@devid/event-store';
import { HttpProblem } from '../http/problem';
import { EVENT_STORE } from '../store/tokens';
import { ReadModels } from '../store/read-models';
import { DeviceRepository } from './device-repository';
import { toView, type DeviceView } from './device-view';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/config';

export interface CommandOptions {
  /** From If-Match: the revision the client last saw. */
  expectedRevision?: number;
  /** Hash of method + path + body, to refuse an Idempotency-Key reused for another request. */
  fingerprint: string;
  correlationId: string;
  /**
   * Completes the command once the device state is known (e.g. signs the certificate it
   * carries). Runs after the idempotency check, so a retried request signs nothing.
   */
  prepare?: (command: DeviceCommand, state: DeviceState) => Promise<DeviceCommand>;
}

export class ExecuteDeviceCommand {
  constructor(
    readonly command: DeviceCommand,
    readonly options: CommandOptions,
  ) {}
}

export interface CommandOutcome {
  device: DeviceView;
  /** true when this answer replays an earlier identical command. */
  replayed: boolean;
  /** The events this command wrote (on a replay: those it wrote the first time). */
  events: StoredEvent[];
}

const MAX_ATTEMPTS = 5;

/** load stream → fold → decide → append with the expected revision (STYLE.md §1). */
@CommandHandler(ExecuteDeviceCommand)
export class ExecuteDeviceCommandHandler implements ICommandHandler<ExecuteDeviceCommand, CommandOutcome> {
  private readonly logger = new Logger('commands');

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly devices: DeviceRepository,
    private readonly readModels: ReadModels,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async execute({ command, options }: ExecuteDeviceCommand): Promise<CommandOutcome> {
    // The first event's id doubles as the idempotency key; derived once (a SHA-1 each).
    const firstEventId = deriveEventId(command.commandId, 0);
    const prior = await this.store.getEvent(firstEventId);
    if (prior) return this.replay(command, prior.metadata.requestFingerprint, options.fingerprint);

    for (let attempt = 1; ; attempt++) {
      const { state, revision } = await this.devices.current(command.deviceId);
      if (options.expectedRevision !== undefined && options.expectedRevision !== revision) {
        throw this.stale(options.expectedRevision, revision);
      }
      const ready = options.prepare ? await options.prepare(command, state) : command;
      const decided = decide(ready, state);
      const events: NewEvent[] = decided.map((event, index) => ({
        id: index === 0 ? firstEventId : deriveEventId(command.commandId, index),
        type: event.type,
        version: event.version,
        occurredAt: command.now,
        data: event.data,
        // Members in RFC 8785 order, as the store writes them: no reordered copy per event.
        metadata: {
          actor: command.actor,
          causationId: command.commandId,
          commandId: command.commandId,
          correlationId: options.correlationId,
          requestFingerprint: options.fingerprint,
        },
      }));
      try {
        const result = await this.store.append(deviceStreamId(command.deviceId), events, {
          expectedRevision: revision === -1 ? 'no_stream' : revision,
        });
        if (result.duplicate) return this.replay(command, result.events[0].metadata.requestFingerprint, options.fingerprint);
        const last = result.events[result.events.length - 1];
        await this.awaitReadModels(last.position);
        const next = fold(decided, state) as KnownDeviceState;
        this.devices.remember(command.deviceId, next, result.nextExpectedRevision);
        return { device: toView(next, result.nextExpectedRevision, last.position), replayed: false, events: result.events };
      } catch (e) {
        // Someone else wrote first: with If-Match the client must re-read; without it, decide again.
        if (e instanceof WrongExpectedRevision && options.expectedRevision === undefined && attempt < MAX_ATTEMPTS) continue;
        if (e instanceof WrongExpectedRevision && options.expectedRevision !== undefined) throw this.stale(options.expectedRevision, -1);
        throw e;
      }
    }
  }

  /** Answers a retried command as the first execution did, without writing. */
  private async replay(command: DeviceCommand, storedFingerprint: unknown, fingerprint: string): Promise<CommandOutcome> {
    if (storedFingerprint !== undefined && storedFingerprint !== fingerprint) {
      throw new HttpProblem(422, 'idempotency-key-reused', 'this Idempotency-Key was already used for a different request');
    }
    const all = await this.devices.load(command.deviceId);
    const ours = all.events.filter((e) => e.metadata.commandId === command.commandId);
    if (ours.length === 0 || all.state.status === 'unknown') throw new DeviceNotFound(command.deviceId);
    const upTo = ours[ours.length - 1];
    const atThatTime = await this.devices.load(command.deviceId, upTo.revision);
    return { device: toView(atThatTime.state as KnownDeviceState, upTo.revision, upTo.position), replayed: true, events: ours };
  }

  private stale(expected: number, actual: number) {
    return new HttpProblem(412, 'precondition-failed', `If-Match revision ${expected} is stale`, actual >= 0 ? { currentRevision: actual } : {});
  }

  /** Read-your-writes for the list endpoints; a slow projection only delays, never fails, a write. */
  private async awaitReadModels(position: number): Promise<void> {
    const wait = this.config.READ_MODEL_WAIT_MS;
    if (wait <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    let late = false;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(() => resolve(void (late = true)), wait)));
    await Promise.race([this.readModels.waitFor(position), timeout]);
    clearTimeout(timer);
    // Checkpoints read again only when the wait ran out, not three more reads per command.
    if (late && this.readModels.checkpoint() < position) this.logger.warn(`read models behind position ${position}`);
  }
}
