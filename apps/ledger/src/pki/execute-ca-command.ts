import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { caStreamId, decideCa, evolveCa, initialCaState, readCaEvent, type CaCommand, type CaEvent, type CaState } from '@devid/domain';
import { deriveEventId, type EventStore } from '@devid/event-store';
import { EVENT_STORE } from '../store/tokens';
import { ReadModels } from '../store/read-models';

export class ExecuteCaCommand {
  constructor(readonly command: CaCommand) {}
}

/** Loads a CA stream, decides, appends with the expected revision (as for devices). */
@CommandHandler(ExecuteCaCommand)
export class ExecuteCaCommandHandler implements ICommandHandler<ExecuteCaCommand, CaState> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly readModels: ReadModels,
  ) {}

  async execute({ command }: ExecuteCaCommand): Promise<CaState> {
    const { state, revision } = await loadCa(this.store, command.caId);
    const events = decideCa(command, state);
    const result = await this.store.append(
      caStreamId(command.caId),
      events.map((event, index) => ({
        id: deriveEventId(command.commandId, index),
        type: event.type,
        version: event.version,
        occurredAt: command.now,
        data: event.data,
        metadata: { actor: command.actor, causationId: command.commandId, commandId: command.commandId, correlationId: command.commandId },
      })),
      { expectedRevision: revision === -1 ? 'no_stream' : revision },
    );
    await this.readModels.waitFor(result.events[result.events.length - 1].position);
    if (!result.duplicate) return events.reduce(evolveCa, state);
    // The command was recorded before (a retry, or another process with the same command id,
    // whose decision may differ from this one): the answer is what was recorded then.
    const recorded = await this.store.readStream(caStreamId(command.caId), { maxCount: result.nextExpectedRevision + 1 });
    return recorded.map(readCaEvent).reduce(evolveCa, initialCaState);
  }
}

export const loadCa = async (store: EventStore, caId: string): Promise<{ state: CaState; revision: number; events: CaEvent[] }> => {
  const stored = await store.readStream(caStreamId(caId));
  const events = stored.map(readCaEvent);
  return {
    state: events.reduce(evolveCa, initialCaState),
    revision: stored.length ? stored[stored.length - 1].revision : -1,
    events,
  };
};
