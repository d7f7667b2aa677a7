import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { AUDIT_DB_FILE, CheckpointScheduler, eventInclusionProof, HashChain, openAuditDb, type AuditPublicKey, type EventInclusionProof } from '@devid/audit';
import type { EventStore } from '@devid/event-store';
import { ProjectionRunner } from '@devid/projections';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/config';
import { KeyStore } from '../pki/key-store';
import { EVENT_STORE } from '../store/tokens';
import { loadAuditConfig } from './audit-config';
import { loadAuditKey } from './audit-key';

/**
 * The tamper-evident side of the log: a HashChain that follows the global log like the read
 * models (DATA_DIR/audit.db) and a scheduler that signs its head with the audit key every N
 * events or T seconds, as AuditCheckpointSigned events in the `audit-checkpoints` stream.
 */
@Injectable()
export class AuditLog implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('audit');
  private db?: DatabaseSync;
  private runner?: ProjectionRunner;
  private scheduler?: CheckpointScheduler;
  private key?: AuditPublicKey;

  constructor(
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly keys: KeyStore,
  ) {}

  async onModuleInit(): Promise<void> {
    const settings = loadAuditConfig();
    const { key, publicKey } = await loadAuditKey(this.keys, this.config.DATA_DIR);
    this.key = publicKey;
    this.db = openAuditDb(join(this.config.DATA_DIR, AUDIT_DB_FILE));
    const chain = new HashChain(this.db);
    this.scheduler = new CheckpointScheduler(this.store, chain, key, {
      everyEvents: settings.AUDIT_CHECKPOINT_EVERY,
      intervalMs: settings.AUDIT_CHECKPOINT_INTERVAL_SECONDS * 1000,
      actor: 'system:audit',
      onError: (e) => this.logger.error(`checkpoint not signed: ${String(e)}`),
    });
    this.runner = new ProjectionRunner(this.store, chain, { onError: (e) => this.logger.error(`hash chain stopped: ${String(e)}`) });
    this.runner.start();
    await this.scheduler.start();
  }

  publicKey(): AuditPublicKey {
    if (!this.key) throw new Error('the audit log is not started');
    return this.key;
  }

  /** RFC 6962 inclusion proof of one event in the tree over the log up to the latest signed checkpoint. */
  proof(eventId: string): Promise<EventInclusionProof> {
    return eventInclusionProof(this.store, eventId);
  }

  /** Chain head position (the audit-chain projection's checkpoint). */
  chainedUpTo(): number {
    return this.runner?.projection.checkpoint() ?? 0;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.scheduler?.stop();
    await this.runner?.stop();
    this.db?.close();
  }
}
