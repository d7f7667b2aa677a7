import type { EventStore, StoredEvent } from '@devid/event-store';
import { CliError } from '../cli-error';

export interface MigrateProgress {
  /** Events in the target (copied before this run and in it). */
  copied: number;
  total: number;
}

export interface MigrateOptions {
  /** Source events read per page. */
  pageSize?: number;
  /** Called before each append with the recordedAt of its events: the target's clock reads it. */
  stamp: (recordedAt: string) => void;
  onStart?: (progress: MigrateProgress & { resumedAt: number }) => void;
  onProgress?: (progress: MigrateProgress) => void;
}

export interface MigrateSummary {
  resumedAt: number;
  copied: number;
  total: number;
}

const sameEvent = (a: StoredEvent, b: StoredEvent): boolean =>
  a.id === b.id && a.streamId === b.streamId && a.revision === b.revision && a.position === b.position && a.type === b.type;

/**
 * Copies the source's global log to the target in order, event ids, stream revisions,
 * positions and recordedAt kept. Resumable: the target's head says how far an earlier run
 * got (each append is atomic), after checking that what it holds is the source's start.
 * Consecutive events of one stream with one recordedAt go in one append.
 */
export const migrateLog = async (source: EventStore, target: EventStore, options: MigrateOptions): Promise<MigrateSummary> => {
  const total = await source.headPosition();
  const resumedAt = await target.headPosition();
  if (resumedAt > total) throw new CliError(`the target holds ${resumedAt} events, the source only ${total}: it is not a copy of this source`);
  if (resumedAt > 0) {
    // The first and the last copied events must be the source's own: else the target is another log.
    for (const position of new Set([1, resumedAt])) {
      const [copied] = await target.readAll({ after: position - 1, maxCount: 1 });
      const [original] = await source.readAll({ after: position - 1, maxCount: 1 });
      if (copied === undefined || original === undefined || !sameEvent(copied, original)) {
        throw new CliError(`the target's event at position ${position} is not the source's: the target is not a copy of this source`);
      }
    }
  }
  options.onStart?.({ copied: resumedAt, total, resumedAt });
  let copied = resumedAt;
  const pageSize = options.pageSize ?? 1000;
  while (copied < total) {
    const page = await source.readAll({ after: copied, maxCount: pageSize });
    if (page.length === 0) break;
    for (let start = 0; start < page.length; ) {
      let end = start + 1;
      while (end < page.length && page[end]!.streamId === page[start]!.streamId && page[end]!.recordedAt === page[start]!.recordedAt) end++;
      const run = page.slice(start, end);
      const first = run[0]!;
      options.stamp(first.recordedAt);
      const result = await target.append(
        first.streamId,
        run.map(({ id, type, version, occurredAt, data, metadata }) => ({ id, type, version, occurredAt, data, metadata })),
        { expectedRevision: first.revision === 0 ? 'no_stream' : first.revision - 1 },
      );
      const landed = result.events[0]!;
      if (result.duplicate || landed.position !== first.position || landed.revision !== first.revision) {
        throw new CliError(`event ${first.id} landed at position ${landed.position} (revision ${landed.revision}) instead of ${first.position} (${first.revision}): another writer is using the target`);
      }
      copied += run.length;
      start = end;
      options.onProgress?.({ copied, total });
    }
  }
  return { resumedAt, copied, total };
};
