import 'reflect-metadata';
import { join } from 'node:path';
import { Logger, type INestApplication, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { EventStore } from '@devid/event-store';
import { AppModule } from './app.module';
import { OpenedResources } from './store/opened-resources';
import { removeUnfinishedFiles } from './store/durable-file';
import type { LedgerConfig } from './config/config';
import { AdminKey } from './http/admin-key';
import { Authorities } from './pki/authorities';
import { PublicUrl } from './pki/public-url';
import { EstServer } from './est/est-server';
import { OcspSignerRenewal } from './ocsp/ocsp-signer-renewal';
import { KeyWatch } from './pki/key-watch';
import { ReadModels } from './store/read-models';
import { EVENT_STORE } from './store/tokens';

export interface RunningLedger {
  app: INestApplication;
  url: string;
  /** Present only when this start generated the admin key. */
  generatedAdminKey?: string;
  /** Lines describing the demo CA hierarchy, when this start created it. */
  demoCas?: string[];
  /** EST base URL (https://host:EST_PORT/.well-known/est), when EST runs. */
  estUrl?: string;
}

/**
 * Waits, before the API listens, until the read models hold the log as it is now: the CA
 * directory, the registry and the inventory answer requests, and after a rebuild (read-models.db
 * deleted, or a read model's new version) they are empty until they have caught up. A read
 * model that stops on an error does not hold the start: /health reports it.
 */
const readModelsCaughtUp = async (app: INestApplication): Promise<void> => {
  const readModels = app.get(ReadModels);
  const head = await app.get<EventStore>(EVENT_STORE).headPosition();
  const behind = head - readModels.checkpoint();
  if (behind <= 0) return;
  const logger = new Logger('projections');
  logger.warn(`read models: catching up ${behind} events before the API listens`);
  try {
    await readModels.waitFor(head);
  } catch (error) {
    logger.error(`read models did not catch up: ${String((error as Error)?.message ?? error)}`);
  }
};

/** Builds and starts the ledger (HTTP API, read models). Used by main and by tests. */
export const startLedger = async (config: LedgerConfig, logger?: LoggerService | false): Promise<RunningLedger> => {
  for (const dir of [config.DATA_DIR, join(config.DATA_DIR, 'ca-keys'), join(config.DATA_DIR, 'est')]) {
    const removed = removeUnfinishedFiles(dir);
    if (removed.length > 0) new Logger('ledger').warn(`removed from ${dir} what a process that died while writing left: ${removed.join(', ')}`);
  }
  const adminKey = AdminKey.load(config.DATA_DIR, config.ADMIN_API_KEY);
  const opened = new OpenedResources();
  const app = await NestFactory.create(AppModule.register(config, adminKey, opened), {
    bodyParser: false,
    logger: logger ?? (config.LOG_LEVEL === 'silent' ? false : ['debug', 'trace'].includes(config.LOG_LEVEL) ? ['error', 'warn', 'log', 'debug'] : ['error', 'warn']),
    abortOnError: false,
  }).catch(async (error: unknown) => {
    // No application to close: what its providers opened before one of them failed is closed here.
    await opened.closeAll();
    throw error;
  });
  // No ETag computed from every body sent (a SHA-1 per answer: 4 % of an OCSP answer's CPU, a
  // hash of 44 MiB per download of a 1M-entry CRL): routes whose answers are worth revalidating
  // set their own (devices and detectors: the revision; CRLs: the CRL number).
  app.getHttpAdapter().getInstance().disable('x-powered-by').disable('etag');
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('DevID Ledger')
      .setDescription('Event-sourced ledger of device identities (IEEE 802.1AR). Errors are RFC 9457 problem+json.')
      .setVersion('0.1.0')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
  app.enableShutdownHooks();
  try {
    // Modules start here (read models, audit chain), before the API listens.
    await app.init();
    await readModelsCaughtUp(app);
    await app.listen(config.PORT, config.HOST);
    const address = app.getHttpServer().address() as { port: number };
    const url = `http://${config.HOST}:${address.port}`;
    new Logger('ledger').log(`listening on ${url}`);
    app.get(PublicUrl).listening(url);
    const demoCas = await app.get(Authorities).ensureDemoHierarchy();
    // After the demo CAs too: renews the OCSP signers that are due, then watches them.
    await app.get(OcspSignerRenewal).start();
    // After the demo CAs: EST's server certificate is issued by the issuing CA.
    const estUrl = await app.get(EstServer).start();
    // Every active CA's key loads (else it is logged and in /health), in the background.
    app.get(KeyWatch).start();
    return { app, url, generatedAdminKey: adminKey.generated, ...(demoCas ? { demoCas } : {}), ...(estUrl ? { estUrl } : {}) };
  } catch (error) {
    // A start that fails (a key the HSM refuses, a port in use) leaves nothing running: store, threads, port.
    await app.close().catch(() => undefined);
    throw error;
  }
};
