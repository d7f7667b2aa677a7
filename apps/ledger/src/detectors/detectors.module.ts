import { Inject, Module, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DetectorRepository } from './detector-repository';
import { DETECTOR_REGISTRY_RUNNER, detectorRegistryProviders, type DetectorRegistryRunner } from './detector-registry.provider';
import { DetectorsController } from './detectors.controller';
import { ExecuteDetectorCommandHandler } from './execute-detector-command';

/**
 * The detector registry: REST, command handler and read model. Needs (globally) the
 * CommandBus (CqrsModule.forRoot), StoreModule's EVENT_STORE / READ_MODEL_DB, and AdminKey.
 */
@Module({
  controllers: [DetectorsController],
  providers: [...detectorRegistryProviders, DetectorRepository, ExecuteDetectorCommandHandler],
  exports: [DetectorRepository, DETECTOR_REGISTRY_RUNNER],
})
export class DetectorsModule implements OnModuleInit, BeforeApplicationShutdown {
  constructor(@Inject(DETECTOR_REGISTRY_RUNNER) private readonly runner: DetectorRegistryRunner) {}

  onModuleInit(): void {
    this.runner.start();
  }

  // Before StoreModule's onApplicationShutdown closes the store and the read-model database.
  async beforeApplicationShutdown(): Promise<void> {
    await this.runner.stop();
  }
}
