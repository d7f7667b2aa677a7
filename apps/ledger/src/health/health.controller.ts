import { Controller, Get, Inject, Optional, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { EventStore } from '@devid/event-store';
import { PkiHealth } from '../pki/pki-health';
import { ReadModels } from '../store/read-models';
import { indexStatsOf } from '../store/store-stats';
import { EVENT_STORE } from '../store/tokens';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly readModels: ReadModels,
    @Optional() private readonly pki?: PkiHealth,
  ) {}

  /**
   * 200 when the store answers and can write and every read model is applying events;
   * read-model lag and the store's index (events not in the index file yet; why its thread
   * cannot run, if so) are reported, not fatal. A read model that stopped (an event it cannot
   * apply, e.g. of a newer release) never catches up again: 503, so this replica is taken out.
   * `pki` (PkiHealth) tells what enrollment meets now without failing the check: every replica
   * shares the CAs, and CRLs, OCSP and reads still serve when no CA can sign.
   */
  @Get()
  async health(@Res({ passthrough: true }) res: Response) {
    try {
      const cannotWrite = this.store.writeFailure?.();
      if (cannotWrite !== undefined) throw new Error(`the event store cannot write: ${cannotWrite}`);
      const stopped = this.readModels.stopped();
      if (stopped.length > 0) throw new Error(stopped.join('; '));
      const head = await this.store.headPosition();
      const projections = Object.fromEntries(
        Object.entries(this.readModels.checkpoints()).map(([name, checkpoint]) => [name, { checkpoint, lag: head - checkpoint }]),
      );
      const index = indexStatsOf(this.store)?.();
      const store = index
        ? { headPosition: head, index: { unindexedEvents: index.unindexedEvents, indexerRestarts: index.indexerRestarts, ...(index.indexerFailure ? { failure: index.indexerFailure } : {}) } }
        : { headPosition: head };
      return { status: 'ok', store, projections, ...(this.pki ? { pki: this.pki.summary() } : {}) };
    } catch (e) {
      res.status(503);
      return { status: 'unavailable', error: e instanceof Error ? e.message : String(e) };
    }
  }
}
