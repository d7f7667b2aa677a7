import { Global, Inject, Logger, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { SqliteEventStore, type EventStore } from '@devid/event-store';
import { DeviceRegistry, openReadModelDb, ProjectionRunner } from '@devid/projections';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/config';
import { EVENT_STORE, READ_MODEL_DB } from './tokens';

/** Wires the EventStore port and the read models to their embedded adapters. */
@Global()
@Module({
  providers: [
    {
      provide: EVENT_STORE,
      inject: [LEDGER_CONFIG],
      useFactory: (config: LedgerConfig): Promise<EventStore> => {
        mkdirSync(config.DATA_DIR, { recursive: true });
        return SqliteEventStore.open(join(config.DATA_DIR, 'events.db'));
      },
    },
    {
      provide: READ_MODEL_DB,
      inject: [LEDGER_CONFIG],
      useFactory: (config: LedgerConfig) => openReadModelDb(join(config.DATA_DIR, 'read-models.db')),
    },
    { provide: DeviceRegistry, inject: [READ_MODEL_DB], useFactory: (db: DatabaseSync) => new DeviceRegistry(db) },
    {
      provide: ProjectionRunner,
      inject: [EVENT_STORE, DeviceRegistry],
      useFactory: (store: EventStore, registry: DeviceRegistry) => {
        const logger = new Logger('projections');
        return new ProjectionRunner(store, registry, { onError: (e) => logger.error(`device registry stopped: ${String(e)}`) });
      },
    },
  ],
  exports: [EVENT_STORE, READ_MODEL_DB, DeviceRegistry, ProjectionRunner],
})
export class StoreModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_MODEL_DB) private readonly readModels: DatabaseSync,
    private readonly runner: ProjectionRunner,
  ) {}

  onModuleInit() {
    this.runner.start();
  }

  async onApplicationShutdown() {
    await this.runner.stop();
    await this.store.close();
    this.readModels.close();
  }
}
