import { Logger } from '@nestjs/common';
import type { DatabaseSync } from 'node:sqlite';
import type { EventStore } from '@devid/event-store';
import { CaDirectory, CertificateInventory, DeviceRegistry, ProjectionRunner } from '@devid/projections';

/** Every read model of the ledger, fed from the global log, and a way to wait for them. */
export class ReadModels {
  readonly registry: DeviceRegistry;
  readonly inventory: CertificateInventory;
  readonly cas: CaDirectory;
  readonly runners: ProjectionRunner[];

  constructor(store: EventStore, db: DatabaseSync) {
    const logger = new Logger('projections');
    this.registry = new DeviceRegistry(db);
    this.inventory = new CertificateInventory(db);
    this.cas = new CaDirectory(db);
    this.runners = [this.registry, this.inventory, this.cas].map(
      (projection) =>
        new ProjectionRunner(store, projection, { onError: (e) => logger.error(`${projection.name} stopped: ${String(e)}`) }),
    );
  }

  start(): void {
    for (const runner of this.runners) runner.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop()));
  }

  async waitFor(position: number): Promise<void> {
    await Promise.all(this.runners.map((r) => r.waitFor(position)));
  }

  /** Why read models stopped applying events (one line each): they will not catch up until a restart. */
  stopped(): string[] {
    return this.runners.flatMap((r) => (r.stopped ? [r.stopped.message] : []));
  }

  /** The lowest checkpoint: everything up to it is visible in every read model. */
  checkpoint(): number {
    return Math.min(...this.runners.map((r) => r.projection.checkpoint()));
  }

  checkpoints(): Record<string, number> {
    return Object.fromEntries(this.runners.map((r) => [r.projection.name, r.projection.checkpoint()]));
  }
}
