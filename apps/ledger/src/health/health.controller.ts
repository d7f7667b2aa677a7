import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { EventStore } from '@devid/event-store';
import { ProjectionRunner } from '@devid/projections';
import { EVENT_STORE } from '../store/tokens';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly registry: ProjectionRunner,
  ) {}

  /** 200 when the store answers; read-model lag is reported, not fatal. */
  @Get()
  async health(@Res({ passthrough: true }) res: Response) {
    try {
      const head = await this.store.headPosition();
      const checkpoint = this.registry.projection.checkpoint();
      return { status: 'ok', store: { headPosition: head }, projections: { [this.registry.projection.name]: { checkpoint, lag: head - checkpoint } } };
    } catch (e) {
      res.status(503);
      return { status: 'unavailable', error: e instanceof Error ? e.message : String(e) };
    }
  }
}
