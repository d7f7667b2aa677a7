import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CaNotFound } from '@devid/domain';
import { buildCrl, type RevokedEntry } from '@devid/pki';
import { CaDirectory, CertificateInventory } from '@devid/projections';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/config';
import { Authorities } from '../pki/authorities';
import { ReadModels } from '../store/read-models';

export interface IssuedCrl {
  der: Uint8Array;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  /** Global log position the CRL reflects. */
  position: number;
}

interface CaCrls {
  full?: IssuedCrl;
  delta?: IssuedCrl & { baseCrlNumber: number };
  /** The full CRL deltas are computed against; cut anew every CRL_BASE_INTERVAL_SECONDS. */
  base?: IssuedCrl;
  /** A revocation arrived since the CRLs were signed. */
  stale: boolean;
  building?: Promise<void>;
}

/**
 * Full and delta CRLs per CA, from the revocation index. Re-signed on the first request
 * after a revocation and by a timer before nextUpdate. CRL numbers are time-based
 * (milliseconds, forced to increase), so they keep increasing across restarts too.
 */
@Injectable()
export class CrlService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('crl');
  private readonly crls = new Map<string, CaCrls>();
  private lastNumber = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly authorities: Authorities,
    private readonly cas: CaDirectory,
    private readonly inventory: CertificateInventory,
    private readonly readModels: ReadModels,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  onModuleInit() {
    this.inventory.onChange((changes) => {
      for (const change of changes) if (change.status === 'revoked') this.entry(change.caId).stale = true;
      // Regenerate right away, so the next download is already signed.
      for (const caId of new Set(changes.map((c) => c.caId))) void this.refresh(caId).catch((e: unknown) => this.logger.error(`CRL ${caId}: ${String(e)}`));
    });
    const every = Math.max(30, Math.floor(this.config.CRL_VALIDITY_SECONDS / 4)) * 1000;
    this.timer = setInterval(() => void this.refreshDue(), every);
    this.timer.unref();
  }

  onModuleDestroy() {
    clearInterval(this.timer);
  }

  async full(caId: string): Promise<IssuedCrl> {
    await this.ensure(caId);
    return this.entry(caId).full!;
  }

  async delta(caId: string): Promise<IssuedCrl & { baseCrlNumber: number }> {
    await this.ensure(caId);
    return this.entry(caId).delta!;
  }

  private entry(caId: string): CaCrls {
    let entry = this.crls.get(caId);
    if (!entry) this.crls.set(caId, (entry = { stale: true }));
    return entry;
  }

  private async ensure(caId: string): Promise<void> {
    if (!this.cas.get(caId)) throw new CaNotFound(caId);
    const entry = this.entry(caId);
    const halfLife = (this.config.CRL_VALIDITY_SECONDS * 1000) / 2;
    if (!entry.stale && entry.full && Date.now() < entry.full.thisUpdate.getTime() + halfLife) return;
    await this.refresh(caId);
  }

  private refresh(caId: string): Promise<void> {
    const entry = this.entry(caId);
    entry.building ??= this.build(caId, entry).finally(() => (entry.building = undefined));
    return entry.building;
  }

  private async build(caId: string, entry: CaCrls): Promise<void> {
    entry.stale = false;
    const authority = await this.authorities.authority(caId);
    const thisUpdate = new Date(Math.floor(Date.now() / 1000) * 1000);
    const nextUpdate = new Date(thisUpdate.getTime() + this.config.CRL_VALIDITY_SECONDS * 1000);
    const position = this.readModels.checkpoint();
    const toEntry = (r: { serialNumber: string; revokedAt: string; reason: RevokedEntry['reason'] }): RevokedEntry => ({
      serialNumber: r.serialNumber,
      revokedAt: new Date(r.revokedAt),
      ...(r.reason && r.reason !== 'unspecified' ? { reason: r.reason } : {}),
    });
    const entries = this.inventory.revoked(caId);
    const full = await buildCrl({
      authority,
      crlNumber: this.nextNumber(),
      thisUpdate,
      nextUpdate,
      entries: (function* () {
        for (const r of entries) yield toEntry(r);
      })(),
      baseUrl: this.authorities.baseUrl,
    });
    entry.full = { ...full, position };
    const baseAge = entry.base ? thisUpdate.getTime() - entry.base.thisUpdate.getTime() : Infinity;
    if (baseAge >= this.config.CRL_BASE_INTERVAL_SECONDS * 1000) entry.base = entry.full;
    const base = entry.base!;
    const delta = await buildCrl({
      authority,
      crlNumber: this.nextNumber(),
      thisUpdate,
      nextUpdate,
      entries: this.inventory.revokedAfter(caId, base.position).map(toEntry),
      baseUrl: this.authorities.baseUrl,
      delta: { baseCrlNumber: base.crlNumber },
    });
    entry.delta = { ...delta, position, baseCrlNumber: base.crlNumber };
  }

  private async refreshDue(): Promise<void> {
    for (const ca of this.cas.list()) {
      const entry = this.crls.get(ca.caId);
      if (!entry?.full) continue;
      const due = entry.full.thisUpdate.getTime() + (this.config.CRL_VALIDITY_SECONDS * 1000) / 2;
      if (entry.stale || Date.now() >= due) await this.refresh(ca.caId).catch((e: unknown) => this.logger.error(`CRL ${ca.caId}: ${String(e)}`));
    }
  }

  /** Monotonic per process and, being time-based, across restarts (RFC 5280 §5.2.3). */
  private nextNumber(): number {
    this.lastNumber = Math.max(Date.now(), this.lastNumber + 1);
    return this.lastNumber;
  }
}
