import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { EVENT_ID_NAMESPACE, uuidV5 } from '@devid/event-store';
import { CaDirectory, type CaRow } from '@devid/projections';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/config';
import { Authorities } from '../pki/authorities';
import { RENEWAL_TIMER, renewalDelay } from '../pki/renewal-delay';

/**
 * Keeps every active CA's delegated OCSP signer valid while the ledger runs: a signer is
 * replaced once less than OCSP_SIGNER_RENEW_SECONDS of its life remains. Its certificate
 * carries id-pkix-ocsp-nocheck, so it has a short life (365 days) and nothing else renews it;
 * without this, every OCSP answer would fail verification from the day it expires. The key of
 * a replaced signer is destroyed OCSP_SIGNER_KEY_RETENTION_SECONDS later (and recorded).
 */
@Injectable()
export class OcspSignerRenewal implements OnApplicationShutdown {
  private readonly logger = new Logger('ocsp');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private started = false;
  /** When the next replaced signer's key is due for destruction (ms since the epoch), as the last run found. */
  private nextKeyDestruction = Infinity;

  constructor(
    private readonly authorities: Authorities,
    private readonly cas: CaDirectory,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  /** Renews what is due now and schedules the next look. Called once the CAs are in place. */
  start(): Promise<void> {
    this.started = true;
    return this.run();
  }

  /** A signer was replaced (by hand, or by this timer): its key falls due for destruction after the retention from now. */
  signerReplaced(): void {
    this.nextKeyDestruction = Math.min(this.nextKeyDestruction, Date.now() + this.config.OCSP_SIGNER_KEY_RETENTION_SECONDS * 1000);
    if (this.started && this.running === undefined) this.schedule(false);
  }

  async onApplicationShutdown(): Promise<void> {
    this.started = false;
    clearTimeout(this.timer);
    await this.running;
  }

  /**
   * When the CA's signer is due for renewal (ms since the epoch; 0 when it has none), or
   * Infinity when it is not renewed: the CA is revoked, or its own certificate has expired, or
   * the signer ends with the CA (a signer's life is cut to its CA's: a new one could not last
   * longer, and renewing it would loop).
   */
  private dueAt(ca: CaRow, now: number): number {
    const caEnds = Date.parse(ca.certificate.notAfter);
    if (ca.status !== 'active' || caEnds < now) return Infinity;
    if (!ca.ocspSigner) return 0;
    const signerEnds = Date.parse(ca.ocspSigner.certificate.notAfter);
    return signerEnds >= caEnds ? Infinity : signerEnds - this.config.OCSP_SIGNER_RENEW_SECONDS * 1000;
  }

  private run(): Promise<void> {
    this.running ??= this.renewDue().then((failed) => {
      this.running = undefined;
      this.schedule(failed);
    });
    return this.running;
  }

  /**
   * Resolves to whether a key destruction or a renewal failed. Keys first: a run that comes late
   * destroys what was due before it replaces more signers, so no more than one replaced signer's
   * key per CA waits out its retention at a time (with a retention shorter than the renewal period).
   */
  private async renewDue(): Promise<boolean> {
    const failed = await this.destroyRetiredKeys();
    return (await this.renewSigners()) || failed;
  }

  /**
   * Destroys the keys of signers replaced OCSP_SIGNER_KEY_RETENTION_SECONDS ago or more (every
   * CA's, revoked ones too) and notes when the next one falls due. Resolves to whether one failed.
   */
  private async destroyRetiredKeys(): Promise<boolean> {
    let failed = false;
    this.nextKeyDestruction = Infinity;
    const retentionMs = this.config.OCSP_SIGNER_KEY_RETENTION_SECONDS * 1000;
    for (const ca of this.cas.list()) {
      if (!this.started) break;
      try {
        const { destroyed, nextRetiredAt } = await this.authorities.destroyRetiredOcspSignerKeys(ca.caId, Date.now() - retentionMs, 'system:ocsp');
        for (const serialNumber of destroyed) this.logger.log(`the key of ${ca.caId}'s replaced OCSP signer ${serialNumber} is destroyed`);
        this.nextKeyDestruction = Math.min(this.nextKeyDestruction, nextRetiredAt + retentionMs);
      } catch (error) {
        failed = true;
        this.logger.error(`the replaced OCSP signers' keys of ${ca.caId} could not be destroyed (tried again in ${RENEWAL_TIMER.retryMs / 1000} s): ${String((error as Error)?.message ?? error)}`);
      }
    }
    return failed;
  }

  /** Resolves to whether a renewal failed. */
  private async renewSigners(): Promise<boolean> {
    let failed = false;
    for (const ca of this.cas.list()) {
      if (!this.started) break;
      const now = Date.now();
      if (this.dueAt(ca, now) > now) continue;
      const old = ca.ocspSigner?.certificate.serialNumber;
      try {
        // Only if `old` is still the signer, and with the same id in every process renewing it: the ledger records one new signer.
        await this.authorities.renewOcspSigner(ca.caId, 'system:ocsp', {
          commandId: uuidV5(`ocsp-signer-renewal:${ca.caId}:${old ?? 'none'}`, EVENT_ID_NAMESPACE),
          ...(old === undefined ? {} : { replacing: old }),
        });
        // The replaced signer's key (when there was one) falls due after the retention.
        if (old !== undefined) this.signerReplaced();
        // As recorded (the read model has caught up): another process may have renewed it first.
        this.logger.log(`OCSP signer of ${ca.caId} renewed: ${this.cas.get(ca.caId)?.ocspSigner?.certificate.serialNumber ?? '?'} in place of ${old ?? 'none'}`);
      } catch (error) {
        failed = true;
        this.logger.error(`the OCSP signer ${old ?? '(none)'} of ${ca.caId} could not be renewed (tried again in ${RENEWAL_TIMER.retryMs / 1000} s): ${String((error as Error)?.message ?? error)}`);
      }
    }
    return failed;
  }

  private schedule(lastFailed: boolean): void {
    clearTimeout(this.timer);
    if (!this.started) return;
    const now = Date.now();
    const next = Math.min(...this.cas.list().map((ca) => this.dueAt(ca, now)), this.nextKeyDestruction, now + RENEWAL_TIMER.maxMs);
    this.timer = setTimeout(() => void this.run(), renewalDelay(next, now, lastFailed));
    this.timer.unref();
  }
}
