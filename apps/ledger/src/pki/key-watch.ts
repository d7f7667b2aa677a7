import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/config';
import { LedgerMetrics } from '../metrics/metrics';
import { Authorities, type KeyProblem } from './authorities';

/**
 * Loads every active CA's key and its OCSP signer's once the ledger is up, and again every
 * KEY_CHECK_INTERVAL_SECONDS (a minute), signing a challenge with each (Authorities.checkKeys),
 * so that a key that cannot be loaded or no longer signs (a key file missing, a wrong passphrase,
 * a label gone from the token) is logged at start and shown by /health (pki.keysUnavailable),
 * not found by the first enrollment or OCSP request it fails. A key loaded once stays loaded.
 */
@Injectable()
export class KeyWatch implements OnApplicationShutdown {
  private readonly logger = new Logger('pki');
  private timer?: NodeJS.Timeout;
  private checking?: Promise<void>;
  /** What the last check logged, so that a problem is logged when it starts and when it ends, not every minute. */
  private reported = new Map<string, KeyProblem>();
  private stopped = false;

  constructor(
    private readonly authorities: Authorities,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Optional() @Inject(LedgerMetrics) metrics?: LedgerMetrics,
  ) {
    if (!metrics) return;
    new Gauge({
      name: 'devid_ca_key_unavailable',
      help: "1 for each key of an active CA (kind: ca, ocsp-signer) this process could not load, or sign with, at its last attempt (see /health pki.keysUnavailable); alert on it: the CA's requests fail until the key loads",
      labelNames: ['ca', 'kind'],
      registers: [metrics.registry],
      collect() {
        this.reset();
        for (const problem of authorities.keysUnavailable()) this.set({ ca: problem.caId, kind: problem.key }, 1);
      },
    });
  }

  /** Starts the checks; the first one runs now, in the background. */
  start(): void {
    this.check();
    this.timer = setInterval(() => this.check(), this.config.KEY_CHECK_INTERVAL_SECONDS * 1000);
    this.timer.unref();
  }

  /** The check under way (or a resolved promise): for tests and shutdown. */
  settled(): Promise<void> {
    return this.checking ?? Promise.resolve();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.checking;
  }

  /** Runs a check now, in the background, unless one is under way (then see settled()). */
  check(): void {
    if (this.stopped || this.checking) return;
    this.checking = this.authorities
      .checkKeys()
      .then((problems) => this.report(problems))
      .catch((error: unknown) => this.logger.error(`checking the CA keys failed: ${String(error)}`))
      .finally(() => (this.checking = undefined));
  }

  private report(problems: KeyProblem[]): void {
    const now = new Map(problems.map((problem) => [`${problem.caId}:${problem.key}:${problem.keyRef}`, problem]));
    for (const [id, problem] of now) {
      if (!this.reported.has(id)) this.logger.error(`the ${problem.key === 'ca' ? 'key' : 'OCSP signer key'} of active CA ${problem.caId} (${problem.keyRef}) cannot be loaded or does not sign: ${problem.detail}`);
    }
    for (const [id, problem] of this.reported) {
      if (!now.has(id)) this.logger.log(`the ${problem.key === 'ca' ? 'key' : 'OCSP signer key'} of CA ${problem.caId} (${problem.keyRef}) loads and signs again`);
    }
    this.reported = now;
  }
}
