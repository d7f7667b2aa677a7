import { Module } from '@nestjs/common';
import { FactoryBatchesController } from './import-batch/factory-batches.controller';
import { ImportFactoryBatch } from './import-batch/import-factory-batch';

/**
 * Offline factory batches: POST /factory/batches. Needs (globally) the CommandBus with the
 * device command handler, StoreModule's read models and AdminKey. Its route reads its own
 * body (JSON Lines, up to MAX_BATCH_BYTES), so the JSON body middleware must skip it.
 */
@Module({
  controllers: [FactoryBatchesController],
  providers: [ImportFactoryBatch],
})
export class FactoryModule {}
