import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EventStore } from '@devid/event-store';
import { ReadModels } from '../store/read-models';
import { commitStatsOf, indexStatsOf } from '../store/store-stats';
import { EVENT_STORE } from '../store/tokens';

/** Prometheus metrics of this process (one registry per app instance, so tests stay apart). */
@Injectable()
export class LedgerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly latency: Histogram<'method' | 'route'>;

  constructor(@Inject(EVENT_STORE) store: EventStore, readModels: ReadModels) {
    collectDefaultMetrics({ register: this.registry, prefix: 'devid_' });
    this.requests = new Counter({ name: 'devid_http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
    this.latency = new Histogram({
      name: 'devid_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    new Gauge({
      name: 'devid_event_store_head_position',
      help: 'Global position of the last stored event',
      registers: [this.registry],
      async collect() {
        this.set(await store.headPosition());
      },
    });
    new Gauge({
      name: 'devid_projection_lag_events',
      help: 'Events stored but not yet applied to a read model',
      labelNames: ['projection'],
      registers: [this.registry],
      async collect() {
        const head = await store.headPosition();
        for (const [name, checkpoint] of Object.entries(readModels.checkpoints())) this.set({ projection: name }, head - checkpoint);
      },
    });
    new Gauge({
      name: 'devid_certificate_not_after_seconds',
      help:
        "When the certificates the ledger itself depends on expire (Unix time): each active CA's, its OCSP signer's, and the newest good certificate of each of the ledger's services. Alert on it minus time(): the ledger renews the signer and the EST certificate by itself, not the CAs",
      labelNames: ['ca', 'kind', 'serial'],
      registers: [this.registry],
      collect() {
        // Renewed certificates leave the gauge: only what is in use now is reported.
        this.reset();
        const at = (notAfter: string) => Date.parse(notAfter) / 1000;
        for (const ca of readModels.cas.list()) {
          if (ca.status !== 'active') continue;
          this.set({ ca: ca.caId, kind: 'ca', serial: ca.certificate.serialNumber }, at(ca.certificate.notAfter));
          if (ca.ocspSigner) this.set({ ca: ca.caId, kind: 'ocsp-signer', serial: ca.ocspSigner.certificate.serialNumber }, at(ca.ocspSigner.certificate.notAfter));
          const newest = new Map<string, { serial: string; notAfter: string }>();
          for (const issued of readModels.cas.serverCertificates(ca.caId)) {
            if (issued.status === 'good') newest.set(issued.purpose, { serial: issued.certificate.serialNumber, notAfter: issued.certificate.notAfter });
          }
          for (const [purpose, { serial, notAfter }] of newest) this.set({ ca: ca.caId, kind: purpose, serial }, at(notAfter));
        }
      },
    });
    const commitStats = commitStatsOf(store);
    if (commitStats) {
      this.countersGauge('devid_event_store_group_commit', 'Group commit counters since start (appends, commits, events)', () => {
        const s = commitStats();
        return { appends: s.appends, commits: s.commits, events: s.events };
      });
    }
    const indexStats = indexStatsOf(store);
    if (indexStats) {
      this.countersGauge(
        'devid_event_store_index',
        'Derived stream/id index: events not flushed to the index file yet, and index threads started again after one died',
        () => {
          const s = indexStats();
          return { unindexed_events: s.unindexedEvents, indexer_restarts: s.indexerRestarts };
        },
      );
    }
  }

  /** A gauge with one value per `counter` label, read from a snapshot at each scrape. */
  private countersGauge(name: string, help: string, read: () => Record<string, number>): void {
    new Gauge({
      name,
      help,
      labelNames: ['counter'],
      registers: [this.registry],
      collect() {
        for (const [counter, value] of Object.entries(read())) this.set({ counter }, value);
      },
    });
  }
}

@Injectable()
export class MetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: LedgerMetrics) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const end = this.metrics.latency.startTimer();
    res.on('finish', () => {
      // Route template, not the raw path, keeps label cardinality bounded.
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const path = `${req.baseUrl ?? ''}${route}`;
      this.metrics.requests.inc({ method: req.method, route: path, status: String(res.statusCode) });
      end({ method: req.method, route: path });
    });
    next();
  }
}
