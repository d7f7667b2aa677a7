import { Logger, type Provider } from '@nestjs/common';
import type { DatabaseSync } from 'node:sqlite';
import type { EventStore } from '@devid/event-store';
import { DetectorRegistry } from '@devid/messaging';
import { ProjectionRunner } from '@devid/projections';
import { EVENT_STORE, READ_MODEL_DB } from '../store/tokens';

/** The runner of the detector registry (its own token: ProjectionRunner is the device registry's). */
export const DETECTOR_REGISTRY_RUNNER = Symbol('DETECTOR_REGISTRY_RUNNER');
export type DetectorRegistryRunner = ProjectionRunner;

export const detectorRegistryProviders: Provider[] = [
  { provide: DetectorRegistry, inject: [READ_MODEL_DB], useFactory: (db: DatabaseSync) => new DetectorRegistry(db) },
  {
    provide: DETECTOR_REGISTRY_RUNNER,
    inject: [EVENT_STORE, DetectorRegistry],
    useFactory: (store: EventStore, registry: DetectorRegistry) => {
      const logger = new Logger('projections');
      return new ProjectionRunner(store, registry, { onError: (e) => logger.error(`detector registry stopped: ${String(e)}`) });
    },
  },
];
