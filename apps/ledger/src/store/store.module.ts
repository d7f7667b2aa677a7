import { Global, Inject, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { EventStore } from '@devid/event-store';
import { CaDirectory, CertificateInventory, DeviceRegistry, openReadModelDb } from '@devid/projections';
import { ReadModels } from './read-models';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/config';
import { openEventStore } from './open-event-store';
import { OpenedResources } from './opened-resources';
import { EVENT_STORE, READ_MODEL_DB } from './tokens';

/** Wires the EventStore port (SQLite or EventStoreDB, by EVENT_STORE) and the read models (SQLite in DATA_DIR, per replica). */
@Global()
@Module({
  providers: [
    {
      provide: EVENT_STORE,
      inject: [LEDGER_CONFIG, OpenedResources],
      useFactory: (config: LedgerConfig, opened: OpenedResources): Promise<EventStore> => opened.add(openEventStore(config), (store) => store.close()),
    },
    {
      provide: READ_MODEL_DB,
      inject: [LEDGER_CONFIG, OpenedResources],
      useFactory: (config: LedgerConfig, opened: OpenedResources) => opened.add(openReadModelDb(join(config.DATA_DIR, 'read-models.db')), (db) => db.isOpen && db.close()),
    },
    { provide: ReadModels, inject: [EVENT_STORE, READ_MODEL_DB], useFactory: (store: EventStore, db: DatabaseSync) => new ReadModels(store, db) },
    { provide: DeviceRegistry, inject: [ReadModels], useFactory: (readModels: ReadModels) => readModels.registry },
    { provide: CertificateInventory, inject: [ReadModels], useFactory: (readModels: ReadModels) => readModels.inventory },
    { provide: CaDirectory, inject: [ReadModels], useFactory: (readModels: ReadModels) => readModels.cas },
  ],
  exports: [EVENT_STORE, READ_MODEL_DB, ReadModels, DeviceRegistry, CertificateInventory, CaDirectory],
})
export class StoreModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_MODEL_DB) private readonly readModelDb: DatabaseSync,
    private readonly readModels: ReadModels,
  ) {}

  onModuleInit() {
    this.readModels.start();
  }

  async onApplicationShutdown() {
    await this.readModels.stop();
    await this.store.close();
    this.readModelDb.close();
  }
}
