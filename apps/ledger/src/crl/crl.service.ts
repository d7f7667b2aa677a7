import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CaNotFound } from '@devid/domain';
import { buildCrl, type RevokedEntry } from '@devid/pki';
import { CaDirectory, CertificateInventory } from '@devid/projections';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/config';
import { Authorities } from '../pki/authorities';

const toEntry = (r: { serialNumber: string; revokedAt: string; reason: RevokedEntry['reason'] }): RevokedEntry => ({
  serialNumber: r.serialNumber,
  revokedAt: new Date(r.revokedAt),
  // RFC 5280 §5.3.1: omit the reason code rather than say "unspecified".
  ...(r.reason && r.reason !== 'unspecified' ? { reason: r.reason } : {}),
});

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
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  onModuleInit() {
    this.inventory.onChange((changes) => {
      const revoked = changes.filter((c) => c.status === 'revoked');
      for (const caId of new Set(revoked.map((c) => c.caId))) {
        const entry = this.entry(caId);
        entry.stale = true;
        // A CA's first revocation: cut the base just before it, so the delta CRL carries it.
        const before = Math.min(...revoked.filter((c) => c.caId === caId).map((c) => c.position)) - 1;
        const base = entry.base ? Promise.resolve() : this.cutBase(caId, entry, before);
        // Regenerate right away, so the next download is already signed.
        void base.then(() => this.refresh(caId)).catch((e: unknown) => this.logger.error(`CRL ${caId}: ${String(e)}`));
      }
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
    const current = () => !entry.building && !entry.stale && entry.full !== undefined && Date.now() < entry.full.thisUpdate.getTime() + halfLife;
    // A build under way was cut before the revocations that arrived since it started (they set
    // `stale` again): wait for it, and build again until a CRL covers every one already applied.
    while (!current()) await (entry.building ?? this.refresh(caId));
  }

  private refresh(caId: string): Promise<void> {
    const entry = this.entry(caId);
    entry.building ??= this.build(caId, entry)
      .catch((error: unknown) => {
        // Not built: the CRL served so far lacks what woke this build, so the next request retries.
        entry.stale = true;
        throw error;
      })
      .finally(() => (entry.building = undefined));
    return entry.building;
  }

  /** A full CRL of the revocations stored up to `position` (a consistent cut of the log). */
  private async buildFull(caId: string, position: number): Promise<IssuedCrl> {
    const authority = await this.authorities.authority(caId);
    const thisUpdate = new Date(Math.floor(Date.now() / 1000) * 1000);
    const revoked = this.inventory.revoked(caId);
    const full = await buildCrl({
      authority,
      crlNumber: this.nextNumber(),
      thisUpdate,
      nextUpdate: new Date(thisUpdate.getTime() + this.config.CRL_VALIDITY_SECONDS * 1000),
      entries: (function* () {
        for (const r of revoked) if (r.revokedPosition <= position) yield toEntry(r);
      })(),
      baseUrl: this.authorities.baseUrl,
    });
    return { ...full, position };
  }

  private async cutBase(caId: string, entry: CaCrls, position: number): Promise<void> {
    entry.base = await this.buildFull(caId, position);
    entry.full ??= entry.base;
  }

  private async build(caId: string, entry: CaCrls): Promise<void> {
    entry.stale = false;
    // Cut at the inventory's own checkpoint: it is what the entries come from, and it has applied
    // the revocation that woke us. The lowest checkpoint of all read models may still lag it, and a
    // CRL cut there would leave the revocation out while marking the CA fresh.
    const full = await this.buildFull(caId, this.inventory.checkpoint());
    entry.full = full;
    const baseAge = entry.base ? full.thisUpdate.getTime() - entry.base.thisUpdate.getTime() : Infinity;
    if (baseAge >= this.config.CRL_BASE_INTERVAL_SECONDS * 1000) entry.base = full;
    const base = entry.base!;
    const delta = await buildCrl({
      authority: await this.authorities.authority(caId),
      crlNumber: this.nextNumber(),
      thisUpdate: full.thisUpdate,
      nextUpdate: full.nextUpdate,
      entries: this.inventory.revokedAfter(caId, base.position).filter((r) => r.revokedPosition <= full.position).map(toEntry),
      baseUrl: this.authorities.baseUrl,
      delta: { baseCrlNumber: base.crlNumber },
    });
    entry.delta = { ...delta, position: full.position, baseCrlNumber: base.crlNumber };
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
