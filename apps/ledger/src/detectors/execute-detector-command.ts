import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { decideDetector, detectorStreamId, DetectorNotFound, foldDetector, readDetectorEvent, type DetectorCommand, type KnownDetectorState } from '@devid/domain';
import { deriveEventId, WrongExpectedRevision, type EventStore, type NewEvent } from '@devid/event-store';
import { HttpProblem } from '../http/problem';
import { EVENT_STORE } from '../store/tokens';
import { DetectorRepository } from './detector-repository';
import { toDetectorView, type DetectorView } from './detector-view';
import { DETECTOR_REGISTRY_RUNNER, type DetectorRegistryRunner } from './detector-registry.provider';

export class ExecuteDetectorCommand {
  constructor(
    readonly command: DetectorCommand,
    readonly options: { fingerprint: string; correlationId: string },
  ) {}
}

export interface DetectorCommandOutcome {
  detector: DetectorView;
  replayed: boolean;
}

const MAX_ATTEMPTS = 5;

/** load stream → fold → decide → append with the expected revision, as for devices. */
@CommandHandler(ExecuteDetectorCommand)
export class ExecuteDetectorCommandHandler implements ICommandHandler<ExecuteDetectorCommand, DetectorCommandOutcome> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly detectors: DetectorRepository,
    @Inject(DETECTOR_REGISTRY_RUNNER) private readonly registry: DetectorRegistryRunner,
  ) {}

  async execute({ command, options }: ExecuteDetectorCommand): Promise<DetectorCommandOutcome> {
    const prior = await this.store.getEvent(deriveEventId(command.commandId, 0));
    if (prior) return this.replay(command, prior.metadata.requestFingerprint, options.fingerprint);
    for (let attempt = 1; ; attempt++) {
      const { state, revision } = await this.detectors.load(command.detectorId);
      const decided = decideDetector(command, state);
      const events: NewEvent[] = decided.map((event, index) => ({
        id: deriveEventId(command.commandId, index),
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
        const result = await this.store.append(detectorStreamId(command.detectorId), events, { expectedRevision: revision === -1 ? 'no_stream' : revision });
        if (result.duplicate) return this.replay(command, result.events[0]!.metadata.requestFingerprint, options.fingerprint);
        await this.registry.waitFor(result.events[result.events.length - 1]!.position);
        return { detector: toDetectorView(foldDetector(decided, state) as KnownDetectorState, result.nextExpectedRevision), replayed: false };
      } catch (e) {
        if (e instanceof WrongExpectedRevision && attempt < MAX_ATTEMPTS) continue;
        throw e;
      }
    }
  }

  private async replay(command: DetectorCommand, storedFingerprint: unknown, fingerprint: string): Promise<DetectorCommandOutcome> {
    if (storedFingerprint !== undefined && storedFingerprint !== fingerprint) {
      throw new HttpProblem(422, 'idempotency-key-reused', 'this Idempotency-Key was already used for a different request');
    }
    const { events } = await this.detectors.load(command.detectorId);
    const last = events.map((e) => e.metadata.commandId).lastIndexOf(command.commandId);
    if (last < 0) throw new DetectorNotFound(command.detectorId);
    const upTo = events.slice(0, last + 1);
    return { detector: toDetectorView(foldDetector(upTo.map(readDetectorEvent)) as KnownDetectorState, upTo[last]!.revision), replayed: true };
  }
}
