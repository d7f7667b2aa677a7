import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { EVENT_ID_NAMESPACE, uuidV5 } from '@devid/event-store';
import { CaDirectory, CertificateInventory } from '@devid/projections';
import { CaChainRevoked } from '@devid/domain';
import { CaCertificateNotValid } from '@devid/pki';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/config';
import { problemType, TITLES } from '../http/problem';
import { Authorities } from '../pki/authorities';
import { ExecuteCaCommand } from '../pki/execute-ca-command';
import { RENEWAL_TIMER, renewalDelay } from '../pki/renewal-delay';
import { certsOnly, base64Lines } from './certs-only';
import { identifyClient } from './client-identity';
import { csrAttributes } from './csr-attributes';
import { EstEnrollment, type EstOperation } from './est-enrollment';
import { EstRefused } from './est-refused';
import { demoTlsMaterial, type TlsMaterial } from './tls-server-certificate';

export const EST_PATH = '/.well-known/est';
const MAX_CSR_BODY_BYTES = 16 * 1024;
const PKCS7_CERTS_ONLY = 'application/pkcs7-mime; smime-type=certs-only';
/**
 * How often EST looks at which issuing CA signs LDevIDs (a read of the cached CA directory): to
 * start once there is one, and to move its TLS certificate to another when that changes.
 */
const EST_WATCH_MS = 2_000;

interface Coded {
  status: number;
  code: string;
  message: string;
}
const isCoded = (e: unknown): e is Coded & Error =>
  e instanceof Error && typeof (e as unknown as Partial<Coded>).code === 'string' && typeof (e as unknown as Partial<Coded>).status === 'number' && (e as unknown as Coded).status >= 400 && (e as unknown as Coded).status <= 599;

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_CSR_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new EstRefused(413, 'body-too-large', `EST bodies are limited to ${MAX_CSR_BODY_BYTES} bytes`));
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('ascii')));
    req.on('error', () => reject(new EstRefused(400, 'body-unreadable', 'the request body could not be read')));
  });

/**
 * EST (RFC 7030) on its own HTTPS port: TLS client certificates are requested but judged
 * here, against the ledger's CAs and certificate inventory, so a refusal is a 401/403 with a
 * reason instead of a failed handshake.
 */
@Injectable()
export class EstServer implements OnApplicationShutdown {
  private readonly logger = new Logger('est');
  private server?: Server;
  /** The issued certificate being served (issuing CA, serial, expiry), replaced when the ledger revokes it or it nears expiry. */
  private serving?: { caId: string; serialNumber: string; notAfter: number; caNotAfter: number };
  private rotating?: Promise<void>;
  private renewal?: NodeJS.Timeout;
  /** Looks every EST_WATCH_MS at the issuing CA (see watch). */
  private watcher?: NodeJS.Timeout;
  /** A late start on its way (issuing and recording a certificate): awaited at shutdown. */
  private lateStarting?: Promise<void>;
  private lateStartFailure?: string;
  /** When the last rotation failed: the watch does not start another before the retry timer does. */
  private rotationFailedAt?: number;
  private rotationFailure?: string;
  private closed = false;

  constructor(
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly enrollment: EstEnrollment,
    private readonly authorities: Authorities,
    private readonly cas: CaDirectory,
    private readonly inventory: CertificateInventory,
    private readonly commands: CommandBus,
  ) {}

  /**
   * Starts EST; resolves with its base URL, or undefined when it is off or has no certificate to
   * serve yet. In that case (no issuing CA, as on a ledger without demo CAs before its hierarchy
   * is made, or every one expired) it starts by itself once an issuing CA can sign. Its own
   * certificate follows the issuing CA that signs LDevIDs (rollover, a CA revoked or expired):
   * see watch. Another process may make or revoke that CA, so the CA directory is looked at.
   */
  async start(): Promise<string | undefined> {
    const port = this.config.EST_PORT ?? (this.config.PORT === 0 ? 0 : 8443);
    if (port === 'off') return undefined;
    const tls = await this.firstMaterial();
    const url = tls ? await this.listen(port, tls) : undefined;
    if (!(this.config.EST_TLS_CERT && this.config.EST_TLS_KEY)) {
      this.watcher = setInterval(() => void this.watch(port), EST_WATCH_MS);
      this.watcher.unref();
    }
    return url;
  }

  /**
   * One look: not listening yet, a late start; listening, a rotation when the issuing CA that
   * signs LDevIDs now is not the one that signed the served certificate (another took over, or
   * that one was revoked or expired), so that the EST port presents what /cacerts hands out.
   * None valid: the served certificate stays (nothing could replace it).
   */
  private async watch(port: number): Promise<void> {
    if (!this.server) return this.lateStart(port);
    const serving = this.serving;
    if (!serving || this.rotating || (this.rotationFailedAt !== undefined && Date.now() - this.rotationFailedAt < RENEWAL_TIMER.retryMs)) return;
    let caId: string;
    try {
      caId = this.enrollment.issuingCa().caId;
    } catch {
      return;
    }
    if (caId !== serving.caId) this.startRotation();
  }

  /** The TLS material at start, or undefined (logged: why EST waits). */
  private async firstMaterial(): Promise<TlsMaterial | undefined> {
    try {
      const tls = await this.tlsMaterial();
      if (!tls) this.logger.warn('EST not started: no EST_TLS_CERT/EST_TLS_KEY and no active issuing CA to issue a server certificate; it starts once an issuing CA is valid');
      return tls;
    } catch (error) {
      // Every active issuing CA has expired or is under a revoked root: the ledger still starts
      // (its records, CRLs and OCSP answers are needed), EST does not, for now.
      if (!(error instanceof CaCertificateNotValid || error instanceof CaChainRevoked)) throw error;
      this.logger.warn(`EST not started: ${error.message}; it starts once an issuing CA is valid`);
      return undefined;
    }
  }

  /** One look for an issuing CA valid now; when there is one, EST starts with a certificate it signs. */
  private lateStart(port: number): Promise<void> {
    if (this.lateStarting || this.server || this.closed) return Promise.resolve();
    try {
      this.enrollment.issuingCa();
    } catch {
      return Promise.resolve(); // none valid yet (the reason was logged at start)
    }
    this.lateStarting = this.startLate(port).finally(() => (this.lateStarting = undefined));
    return this.lateStarting;
  }

  private async startLate(port: number): Promise<void> {
    try {
      const tls = await this.tlsMaterial();
      if (!tls || this.closed) return;
      const url = await this.listen(port, tls);
      this.logger.log(`EST started: ${url} (certificate ${this.serving?.serialNumber ?? '?'} of CA ${this.serving?.caId ?? '?'})`);
    } catch (error) {
      // Tried again at the next look; the same reason is logged once, not every 2 s.
      const reason = String((error as Error)?.message ?? error);
      if (reason !== this.lateStartFailure) this.logger.error(`EST could not start (tried again every ${EST_WATCH_MS / 1000} s): ${reason}`);
      this.lateStartFailure = reason;
    }
  }

  private async listen(port: number, tls: TlsMaterial): Promise<string> {
    const server = createServer({ ...tls, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, (req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.config.HOST, () => resolve());
    });
    if (this.closed) {
      // Shut down while a late start was listening.
      server.close();
      throw new Error('the ledger is shutting down');
    }
    this.server = server;
    this.inventory.onChange((changes) => {
      const serving = this.serving;
      if (!serving || !changes.some((c) => c.status === 'revoked' && c.caId === serving.caId && c.serialNumber === serving.serialNumber)) return;
      this.startRotation();
    });
    this.scheduleRenewal();
    const address = server.address() as { port: number };
    return `https://${this.config.HOST}:${address.port}${EST_PATH}`;
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.watcher);
    this.watcher = undefined;
    clearTimeout(this.renewal);
    this.renewal = undefined;
    // A certificate being issued is recorded and its files written before the store closes
    // (StoreModule shuts down last): a stop never leaves one in the ledger that nothing serves.
    await Promise.all([this.lateStarting, this.rotating]);
    const server = this.server;
    if (!server) return;
    this.server = undefined; // no renewal from here on
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private startRotation(): void {
    if (this.closed) return;
    this.rotating ??= this.rotate().then((replaced) => {
      this.rotating = undefined;
      this.rotationFailedAt = replaced ? undefined : Date.now();
      this.scheduleRenewal(!replaced);
    });
  }

  /**
   * Wakes when the served certificate is due for renewal (EST_TLS_RENEW_SECONDS before it
   * expires; at once when it is revoked), a minute after a failed rotation; checks at least every 12 h.
   */
  private scheduleRenewal(lastFailed = false): void {
    clearTimeout(this.renewal);
    this.renewal = undefined;
    const serving = this.serving;
    if (!serving || !this.server || this.closed) return;
    const revoked = this.inventory.issuedRevocation(serving.caId, serving.serialNumber) !== undefined;
    // A certificate that ends with its CA cannot be replaced by a longer one: it is kept (looked at every 12 h), not renewed in a loop.
    const dueAt = revoked ? 0 : serving.notAfter >= serving.caNotAfter ? Infinity : serving.notAfter - this.config.EST_TLS_RENEW_SECONDS * 1000;
    this.renewal = setTimeout(() => this.startRotation(), renewalDelay(dueAt, Date.now(), lastFailed));
    this.renewal.unref();
  }

  /**
   * The served certificate was revoked or is due: new connections get another (open ones keep
   * theirs). Resolves to false when it could not be replaced (tried again a minute later).
   */
  private async rotate(): Promise<boolean> {
    const before = this.serving?.serialNumber;
    try {
      const tls = await this.tlsMaterial();
      this.rotationFailure = undefined;
      if (!tls || !this.server || this.serving?.serialNumber === before) return true;
      this.server.setSecureContext({ ...tls, minVersion: 'TLSv1.2' });
      this.logger.log(`EST TLS certificate ${this.serving?.serialNumber ?? '?'} now served in place of ${before ?? '?'}`);
      return true;
    } catch (error) {
      // The same reason again (a minute later) is not logged again until it changes or a rotation succeeds.
      const reason = String((error as Error)?.message ?? error);
      if (reason !== this.rotationFailure) this.logger.error(`the EST TLS certificate ${before ?? '?'} could not be replaced (tried again every ${RENEWAL_TIMER.retryMs / 1000} s): ${reason}`);
      this.rotationFailure = reason;
      return false;
    }
  }

  private async tlsMaterial(): Promise<TlsMaterial | undefined> {
    if (this.config.EST_TLS_CERT && this.config.EST_TLS_KEY) {
      return { cert: readFileSync(this.config.EST_TLS_CERT, 'utf8'), key: readFileSync(this.config.EST_TLS_KEY, 'utf8') };
    }
    if (!this.cas.list().some((ca) => ca.role === 'issuing' && ca.status === 'active')) return undefined;
    // The issuing CA that signs LDevIDs now, whose chain /cacerts hands devices; CaCertificateNotValid
    // when every active one has expired, CaChainRevoked when every one is under a revoked root.
    const issuing = this.enrollment.issuingCa();
    const hostnames = [...new Set(['localhost', '127.0.0.1', '::1', ...(['0.0.0.0', '::'].includes(this.config.HOST) ? [] : [this.config.HOST])])];
    const { caId } = issuing;
    const { certificate, ...material } = await demoTlsMaterial(
      this.config.DATA_DIR,
      await this.authorities.authority(caId),
      this.authorities.baseUrl,
      hostnames,
      {
        has: (serialNumber) => this.cas.serverCertificate(caId, serialNumber) !== undefined,
        revoked: (serialNumber) => this.inventory.issuedRevocation(caId, serialNumber) !== undefined,
        record: async (certificate) => {
          await this.commands.execute(
            new ExecuteCaCommand({
              type: 'IssueServerCertificate',
              caId,
              // One command per certificate: two processes recording the same one write it once.
              commandId: uuidV5(`server-certificate:${caId}:${certificate.serialNumber}`, EVENT_ID_NAMESPACE),
              now: new Date().toISOString(),
              actor: 'system:est',
              data: { purpose: 'est-tls', hostnames, certificate },
            }),
          );
        },
      },
      new Date(),
      this.config.EST_TLS_RENEW_SECONDS * 1000,
    );
    this.serving = { caId, serialNumber: certificate.serialNumber, notAfter: Date.parse(certificate.notAfter), caNotAfter: Date.parse(issuing.certificate.notAfter) };
    return material;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = new URL(req.url ?? '/', 'https://est').pathname;
      if (!path.startsWith(`${EST_PATH}/`)) throw new EstRefused(404, 'not-found', `EST lives under ${EST_PATH}/`);
      const operation = path.slice(EST_PATH.length + 1);
      switch (operation) {
        case 'cacerts':
          this.method(req, 'GET');
          return this.send(res, 200, PKCS7_CERTS_ONLY, base64Lines(certsOnly(this.enrollment.caCertificates())));
        case 'csrattrs':
          this.method(req, 'GET');
          return this.send(res, 200, 'application/csrattrs', base64Lines(csrAttributes()));
        case 'simpleenroll':
        case 'simplereenroll':
        case 'serverkeygen':
          return await this.enroll(operation, req, res);
        default:
          throw new EstRefused(404, 'not-found', `no EST operation ${operation}`);
      }
    } catch (error) {
      this.refuse(req, res, error);
    }
  }

  private async enroll(operation: EstOperation, req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.method(req, 'POST');
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/pkcs10') {
      req.resume();
      throw new EstRefused(415, 'unsupported-media-type', `EST enrollment takes application/pkcs10 (base64 DER), got ${type || 'no Content-Type'}`);
    }
    // Who the client is comes before reading what it asks for.
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    const client = identifyClient(peer && peer.raw ? peer.raw : undefined, this.cas, this.inventory, new Date());
    const csr = await readBody(req);
    const enrolled = await this.enrollment.enroll(operation, client, csr);
    const certificate = base64Lines(certsOnly([enrolled.certificate]));
    if (!enrolled.privateKey) return this.send(res, 200, PKCS7_CERTS_ONLY, certificate);
    const boundary = `est-${randomBytes(12).toString('hex')}`;
    const part = (contentType: string, body: string) => `--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Transfer-Encoding: base64\r\n\r\n${body}\r\n`;
    this.send(res, 200, `multipart/mixed; boundary=${boundary}`, `${part('application/pkcs8', base64Lines(enrolled.privateKey))}${part(PKCS7_CERTS_ONLY, certificate)}--${boundary}--\r\n`, false);
  }

  private method(req: IncomingMessage, allowed: 'GET' | 'POST'): void {
    if (req.method !== allowed) throw new EstRefused(405, 'method-not-allowed', `use ${allowed}`);
  }

  private send(res: ServerResponse, status: number, contentType: string, body: string, base64 = true): void {
    res.writeHead(status, { 'Content-Type': contentType, ...(base64 ? { 'Content-Transfer-Encoding': 'base64' } : {}), 'Cache-Control': 'no-store' });
    res.end(body);
  }

  /** problem+json like the REST API; never a stack trace. */
  private refuse(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    const coded = isCoded(error);
    if (!coded) this.logger.error(`${req.method} ${req.url}: ${String((error as Error)?.stack ?? error)}`);
    const status = coded ? error.status : 500;
    const code = coded ? error.code : 'internal-error';
    const detail = coded ? error.message : 'the server failed to handle this request; it has been logged';
    if (res.headersSent) return void res.destroy();
    req.resume();
    res.writeHead(status, { 'Content-Type': 'application/problem+json' });
    res.end(JSON.stringify({ type: problemType(code), title: TITLES[status] ?? 'Error', status, detail, instance: req.url, code }));
  }
}
