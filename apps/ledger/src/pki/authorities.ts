import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { X509Certificate } from '@peculiar/x509';
import { CaAlreadyExists, CaChainRevoked, CaNotFound, decideCa, DomainError, IllegalTransition, InvalidCommand, NoActiveCa, type CaCertificate, type CaRole, type CaState } from '@devid/domain';
import { EVENT_ID_NAMESPACE, IdempotencyConflict, InvalidAppend, uuidV5, WrongExpectedRevision, type EventStore } from '@devid/event-store';
import {
  addDays,
  authorityDetails,
  createOcspSignerCertificate,
  createRootCaCertificate,
  createSubordinateCaCertificate,
  newSerialNumber,
  sha256Hex,
  spkiSha256,
  validityRefusal,
  type CaCertificateNotValid,
  type CertificateAuthority,
  type KeyAlgorithm,
  type KeyProvider,
} from '@devid/pki';
import { CaDirectory, CertificateInventory, type CaRow } from '@devid/projections';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/config';
import { EVENT_STORE } from '../store/tokens';
import { chainRevocation } from './ca-revocation';
import { ExecuteCaCommand, loadCa } from './execute-ca-command';
import { KeyNameTaken, KeyStore } from './key-store';
import { PublicUrl } from './public-url';

export interface CreateCaRequest {
  caId: string;
  role: CaRole;
  parentId?: string;
  commonName?: string;
  algorithm?: KeyAlgorithm;
  backend?: 'software' | 'pkcs11';
  /**
   * Days from now to the certificate's notAfter, cut to the parent's. Default: a root or a
   * factory CA 99991231235959Z (802.1AR IDevIDs carry no well-defined expiration), an issuing CA 10 years.
   */
  validityDays?: number;
}

export const describeCertificate = (der: Uint8Array): CaCertificate => {
  const cert = new X509Certificate(Buffer.from(der));
  return {
    der: Buffer.from(der).toString('base64'),
    serialNumber: cert.serialNumber.toLowerCase().replace(/^(00)+(?=.)/, ''),
    subject: cert.subject,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    spkiSha256: spkiSha256(new Uint8Array(cert.publicKey.rawData)),
    fingerprintSha256: sha256Hex(der),
  };
};

/** The `signing` cache key of a CA's key, and of one of its OCSP signers' (by certificate serial). */
const caKeyOf = (caId: string): string => `ca:${caId}`;
const signerKeyOf = (caId: string, serialNumber: string): string => `ocsp:${caId}:${serialNumber}`;

/** A key of an active CA that this process could not load, as its last attempt found. */
export interface KeyProblem {
  caId: string;
  /** The CA's own key, or its current delegated OCSP signer's. */
  key: 'ca' | 'ocsp-signer';
  keyRef: string;
  code: string;
  detail: string;
  /** When the first of the failed attempts in a row was made. */
  since: string;
}

/** The CAs able to sign in this process: certificates from the ledger, keys from the key store. */
@Injectable()
export class Authorities {
  private readonly logger = new Logger('pki');
  private readonly signing = new Map<string, Promise<CertificateAuthority>>();
  /** The last failure to load each key, by its `signing` cache key; a load that succeeds removes it. */
  private readonly keyFailures = new Map<string, KeyProblem>();
  /** Creates under way in this process, by caId: a second create of one id waits for the first. */
  private readonly creating = new Map<string, Promise<unknown>>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly cas: CaDirectory,
    private readonly keys: KeyStore,
    private readonly commands: CommandBus,
    private readonly publicUrl: PublicUrl,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly inventory: CertificateInventory,
  ) {}

  get baseUrl(): string {
    return this.publicUrl.value;
  }

  /** An active CA with its signing key. */
  authority(caId: string): Promise<CertificateAuthority> {
    const ca = this.cas.get(caId);
    if (!ca) return Promise.reject(new CaNotFound(caId));
    return this.signer(caKeyOf(caId), caId, 'ca', ca.certificate.der, ca.keyRef);
  }

  /** The delegated OCSP signer of a CA. */
  ocspSigner(caId: string): Promise<CertificateAuthority> {
    const ca = this.cas.get(caId);
    if (!ca?.ocspSigner) return Promise.reject(new CaNotFound(caId));
    return this.signer(signerKeyOf(caId, ca.ocspSigner.certificate.serialNumber), caId, 'ocsp-signer', ca.ocspSigner.certificate.der, ca.ocspSigner.keyRef);
  }

  private signer(cacheKey: string, caId: string, role: KeyProblem['key'], derBase64: string, keyRef: string): Promise<CertificateAuthority> {
    let found = this.signing.get(cacheKey);
    if (!found) {
      const certificateDer = new Uint8Array(Buffer.from(derBase64, 'base64'));
      const failed = (error: unknown): void => {
        const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
        const since = this.keyFailures.get(cacheKey)?.since ?? new Date().toISOString();
        this.keyFailures.set(cacheKey, { caId, key: role, keyRef, code: typeof code === 'string' ? code : 'key-unavailable', detail: String(message ?? error), since });
      };
      found = this.keys.get(keyRef, authorityDetails(certificateDer).subjectPublicKeyInfo).then((key) => {
        this.keyFailures.delete(cacheKey);
        return { caId, certificateDer, key: this.watched(key, cacheKey, failed) };
      });
      found.catch((error: unknown) => {
        this.signing.delete(cacheKey);
        failed(error);
      });
      this.signing.set(cacheKey, found);
    }
    return found;
  }

  /**
   * `key` with its signatures watched: one that fails (a token gone, a key destroyed on it
   * after it was loaded) puts the key in keysUnavailable as a failed load does, and the next
   * one that succeeds takes it out.
   */
  private watched(key: KeyProvider, cacheKey: string, failed: (error: unknown) => void): KeyProvider {
    const signed = <T>(signature: T): T => {
      if (this.keyFailures.size > 0) this.keyFailures.delete(cacheKey);
      return signature;
    };
    const refused = (error: unknown): never => {
      failed(error);
      throw error;
    };
    const { signIfVerified } = key;
    return {
      algorithm: key.algorithm,
      subjectPublicKeyInfo: key.subjectPublicKeyInfo,
      publicKey: () => key.publicKey(),
      sign: (data) => key.sign(data).then(signed, refused),
      ...(signIfVerified ? { signIfVerified: (data, proof) => signIfVerified.call(key, data, proof).then(signed, refused) } : {}),
    };
  }

  /**
   * Loads the key of every active CA and of its current OCSP signer (those already loaded are
   * not loaded again), signs a challenge with each, and answers those that failed: see
   * keysUnavailable. The signature finds a key that was loaded and has gone since (destroyed on
   * the token, a token away for good) before a request meets it, and clears one that is back.
   */
  async checkKeys(): Promise<KeyProblem[]> {
    const loads = this.cas
      .list()
      .filter((ca) => ca.status === 'active')
      .flatMap((ca) => [this.authority(ca.caId), ...(ca.ocspSigner ? [this.ocspSigner(ca.caId)] : [])]);
    await Promise.allSettled(loads.map((load) => load.then((authority) => authority.key.sign(randomBytes(32)))));
    return this.keysUnavailable();
  }

  /** The keys of active CAs (theirs and their current OCSP signers') whose last load, or last signature, failed. */
  keysUnavailable(): KeyProblem[] {
    return this.cas
      .list()
      .filter((ca) => ca.status === 'active')
      .flatMap((ca) => [this.keyFailures.get(caKeyOf(ca.caId)), ca.ocspSigner && this.keyFailures.get(signerKeyOf(ca.caId, ca.ocspSigner.certificate.serialNumber))])
      .filter((problem): problem is KeyProblem => problem !== undefined);
  }

  /**
   * The CA that signs for a device at `now` (ms since the epoch): a factory CA for IDevIDs (the
   * one whose id is the device's factoryId, else one chosen as below), an issuing CA for LDevIDs
   * (see chooseCa: the first active one valid at `now` whose certificate lasts `until`, the
   * notAfter the profile asks for). Only CAs whose chain is active take part: under a revoked
   * root nothing more is signed (CaChainRevoked when no other CA of the role is left, NoActiveCa
   * when none is registered). A factory CA named by factoryId that has expired or whose root was
   * revoked is not replaced by another factory's: the answer is why it cannot sign.
   */
  caFor(role: 'issuing' | 'factory', options: { factoryId?: string; now?: number; until?: number } = {}): CaRow {
    const now = options.now ?? Date.now();
    const active = this.cas.list().filter((ca) => ca.role === role && ca.status === 'active');
    if (active.length === 0) throw new NoActiveCa(role);
    const named = options.factoryId === undefined ? undefined : active.find((ca) => ca.caId === options.factoryId);
    const candidates = named === undefined ? active : [named];
    const revoked = candidates.map((ca) => chainRevocation(this.cas, this.inventory, ca.caId));
    const trusted = candidates.filter((_, k) => revoked[k] === undefined);
    if (trusted.length === 0) throw new CaChainRevoked(candidates[0]!.caId, revoked[0]!);
    const match = chooseCa(trusted, now, options.until)!;
    assertSignsAt(match, now);
    return match;
  }

  /**
   * Why `ca` cannot sign at `now` (ms since the epoch), or undefined when it can: a revoked CA on
   * its chain first (CaChainRevoked), then its own certificate's validity (CaCertificateNotValid),
   * the order in which caFor refuses.
   */
  signingRefusal(ca: CaRow, now: number): CaChainRevoked | CaCertificateNotValid | undefined {
    const revoked = chainRevocation(this.cas, this.inventory, ca.caId);
    return revoked ? new CaChainRevoked(ca.caId, revoked) : refusalAt(ca, now);
  }

  /**
   * Creates a CA: its key, its certificate (signed by the parent, or by itself for a root), its
   * OCSP signer, recorded as one event. Creates of one caId in this process run one after the
   * other, so the second is answered CaAlreadyExists; one racing in another process loses on
   * the key file (KeyNameTaken) or on the stream's expected revision.
   */
  create(request: CreateCaRequest, actor: string): Promise<CaState> {
    const before = this.creating.get(request.caId) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(() => this.createOnce(request, actor));
    this.creating.set(request.caId, run);
    const done = () => {
      if (this.creating.get(request.caId) === run) this.creating.delete(request.caId);
    };
    run.then(done, done);
    return run;
  }

  private async createOnce(request: CreateCaRequest, actor: string): Promise<CaState> {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const algorithm = request.algorithm ?? this.config.CA_KEY_ALGORITHM;
    const existing = await loadCa(this.store, request.caId);
    if (existing.state.status !== 'unknown') throw new CaAlreadyExists(request.caId);
    let parent: Exclude<CaState, { status: 'unknown' }> | null = null;
    if (request.parentId) {
      const found = (await loadCa(this.store, request.parentId)).state;
      if (found.status === 'unknown') throw new CaNotFound(request.parentId);
      parent = found;
    }
    if (request.role !== 'root' && !parent) throw new InvalidCommand(`an ${request.role} CA needs parentId`, 'parentId');
    if (parent && parent.role !== 'root') throw new InvalidCommand(`a ${parent.role} CA certifies devices, not CAs`, 'parentId');
    // Before a key is made: a revoked or expired parent signs nothing, and the key would be left over.
    if (parent && parent.status !== 'active') throw new InvalidCommand(`parent CA ${parent.caId} is ${parent.status}`, 'parentId');
    if (parent) assertSignsAt(parent, now.getTime());
    const commonName = request.commonName ?? `DevID ${request.role} CA ${request.caId}`;
    const { keyRef, key } = await this.keys.generate(request.caId, algorithm, request.backend).catch(async (error: unknown) => {
      // Another process made this CA's key first: if it has recorded the CA by now, that is the answer.
      if (error instanceof KeyNameTaken && (await loadCa(this.store, request.caId)).state.status !== 'unknown') throw new CaAlreadyExists(request.caId);
      throw withLeftoverHint(error, request.caId);
    });
    let signer: MadeKey | undefined;
    let sent = false;
    try {
      const subject = [{ type: 'CN', value: commonName }, { type: 'O', value: 'DevID Ledger' }];
      const notAfter = request.validityDays === undefined ? {} : { notAfter: addDays(now, request.validityDays) };
      const certificateDer =
        request.role === 'root' || !parent
          ? await createRootCaCertificate({ subject, key, serialNumber: newSerialNumber(), now, ...notAfter })
          : await createSubordinateCaCertificate({
              role: request.role,
              subject,
              subjectPublicKeyInfo: key.subjectPublicKeyInfo,
              parent: await this.authority(parent.caId),
              serialNumber: newSerialNumber(),
              now,
              baseUrl: this.baseUrl,
              ...notAfter,
            });
      const ocspSigner = await this.newOcspSigner(`${request.caId}-ocsp`, { caId: request.caId, certificateDer, key }, commonName, algorithm, request.backend, now);
      signer = { keyRef: ocspSigner.keyRef, spki: spkiOf(ocspSigner.certificate) };
      sent = true;
      return await this.commands.execute(
        new ExecuteCaCommand({
          type: 'CreateCertificateAuthority',
          caId: request.caId,
          commandId: randomUUID(),
          now: now.toISOString(),
          actor,
          data: {
            role: request.role,
            parent: parent ? { caId: parent.caId, status: parent.status, role: parent.role } : null,
            algorithm,
            certificate: describeCertificate(certificateDer),
            keyRef,
            ocspSigner,
          },
        }),
      );
    } catch (error) {
      // A refused or failed create leaves no key behind: its caId can be created again.
      await this.discardKeys(request.caId, [{ keyRef, spki: key.subjectPublicKeyInfo }, signer], !sent || nothingWrittenBy(error), 'CA not created');
      throw withLeftoverHint(error, request.caId);
    }
  }

  /**
   * The keys a create or a signer renewal made, destroyed when the CA was not recorded with
   * them: it failed before its command was sent, or the command was refused with nothing
   * written (or answered with what another process recorded), and the log confirms it. When the
   * outcome is unknown (the store answered neither way) or the log cannot be read, they are
   * kept, and named in the log: a CA recorded with a destroyed key could sign nothing.
   */
  private async discardKeys(caId: string, keys: Array<MadeKey | undefined>, nothingWritten: boolean, what: string): Promise<void> {
    const made = keys.filter((key): key is MadeKey => key !== undefined);
    const keep = (why: string) => this.logger.warn(`${caId}: ${what}; its keys ${made.map(({ keyRef }) => keyRef).join(', ')} are kept: ${why}`);
    if (!nothingWritten) return keep('the outcome of its record is unknown');
    try {
      const { state } = await loadCa(this.store, caId);
      const recorded =
        state.status === 'unknown'
          ? []
          : [state.keyRef, state.ocspSigner?.keyRef, ...Object.values(state.retiredOcspSigners ?? {}).map((retired) => retired.keyRef)];
      for (const { keyRef, spki } of made) if (!recorded.includes(keyRef)) await this.destroyKey(keyRef, spki, caId);
    } catch (error) {
      keep((error as Error).message);
    }
  }

  /** KeyStore.destroy, with a warning when another key found under the name was kept. */
  private async destroyKey(keyRef: string, spki: Uint8Array, caId: string): Promise<void> {
    const { keptOther } = await this.keys.destroy(keyRef, spki);
    if (keptOther) this.logger.warn(`${caId}: a key under ${keyRef} is not the one to destroy (a key file put there, another client's key pair under the label): it is kept`);
  }

  /**
   * Replaces the delegated OCSP signer of an active CA: a new key (the CA's algorithm, on the
   * CA's key backend) and a certificate the CA signs, recorded (`OcspSignerIssued`) before the
   * responder uses it. The old signer carries id-pkix-ocsp-nocheck, so it is never revoked: it
   * expires. With `replacing`, nothing is done unless that serial is still the CA's signer in
   * the ledger (another process renewed it first); processes renewing the same signer also pass
   * the same `commandId`, so that two renewals racing past that check record one signer.
   */
  async renewOcspSigner(caId: string, actor: string, options: { commandId?: string; replacing?: string } = {}): Promise<CaState> {
    const { state } = await loadCa(this.store, caId);
    if (state.status === 'unknown') throw new CaNotFound(caId);
    if (options.replacing !== undefined && state.ocspSigner?.certificate.serialNumber !== options.replacing) return state;
    const commandId = options.commandId ?? randomUUID();
    // Checked here too, not only by the decider, so that a refused renewal makes no key.
    if (state.status !== 'active') throw new IllegalTransition(state.status, 'IssueOcspSigner', 'certificate authority');
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    assertSignsAt(state, now.getTime());
    const commonName = new X509Certificate(Buffer.from(state.certificate.der, 'base64')).subjectName.getField('CN')[0] ?? caId;
    const backend = state.keyRef.startsWith('pkcs11:') ? 'pkcs11' : 'software';
    // Key names are unique per signer: the time of issue, then a random tail.
    const name = `${caId}-ocsp-${now.getTime() / 1000}-${randomUUID().slice(0, 8)}`;
    const ocspSigner = await this.newOcspSigner(name, await this.authority(caId), commonName, state.algorithm as KeyAlgorithm, backend, now);
    let recorded: CaState;
    try {
      recorded = await this.commands.execute(new ExecuteCaCommand({ type: 'IssueOcspSigner', caId, commandId, now: now.toISOString(), actor, data: ocspSigner }));
    } catch (error) {
      await this.discardKeys(caId, [{ keyRef: ocspSigner.keyRef, spki: spkiOf(ocspSigner.certificate) }], nothingWrittenBy(error), 'OCSP signer not renewed');
      throw error;
    }
    // Another process renewing the same signer with the same command id recorded its own first: this key signs nothing.
    if (recorded.status !== 'unknown' && recorded.ocspSigner?.keyRef !== ocspSigner.keyRef) {
      await this.discardKeys(caId, [{ keyRef: ocspSigner.keyRef, spki: spkiOf(ocspSigner.certificate) }], true, 'OCSP signer not renewed');
    }
    return recorded;
  }

  /**
   * Destroys the keys of the CA's replaced OCSP signers that were replaced at `retiredBefore`
   * (ms since the epoch) or earlier, each before the ledger records it (`OcspSignerKeyDestroyed`):
   * a crash in between leaves a key recorded as existing that is gone, and the next run destroys
   * nothing and records it. Processes doing the same pass the same command id, so the ledger
   * records each once. Answers the serial numbers whose key it destroyed, and when the next
   * retained key falls due (its retirement time; Infinity when none is left).
   */
  async destroyRetiredOcspSignerKeys(caId: string, retiredBefore: number, actor: string): Promise<{ destroyed: string[]; nextRetiredAt: number }> {
    const { state } = await loadCa(this.store, caId);
    if (state.status === 'unknown') throw new CaNotFound(caId);
    const destroyed: string[] = [];
    let nextRetiredAt = Infinity;
    for (const [serialNumber, retired] of Object.entries(state.retiredOcspSigners ?? {})) {
      if (retired.keyDestroyedAt !== undefined) continue;
      const retiredAt = Date.parse(retired.retiredAt);
      if (retiredAt > retiredBefore) {
        nextRetiredAt = Math.min(nextRetiredAt, retiredAt);
        continue;
      }
      const now = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
      const commandId = uuidV5(`ocsp-signer-key-destroyed:${caId}:${serialNumber}`, EVENT_ID_NAMESPACE);
      const command = { type: 'RecordOcspSignerKeyDestroyed' as const, caId, commandId, now, actor, data: { serialNumber } };
      // The decider's rules before the key goes, not only when it is recorded: a key still in use is never destroyed.
      try {
        decideCa(command, state);
      } catch (error) {
        if (error instanceof InvalidCommand) continue;
        throw error;
      }
      this.signing.delete(signerKeyOf(caId, serialNumber));
      // Another key found under the name is kept; this signer's is not in the key store either way, and that is recorded.
      await this.destroyKey(retired.keyRef, spkiOf(retired.certificate), caId);
      try {
        await this.commands.execute(new ExecuteCaCommand(command));
      } catch (error) {
        // Another process recorded it meanwhile (with this command id, or after its own destruction).
        if (!(error instanceof IllegalTransition)) throw error;
      }
      destroyed.push(serialNumber);
    }
    return { destroyed, nextRetiredAt };
  }

  /** A key named `keyName` and an OCSP signer certificate for it, signed by `ca`. */
  private async newOcspSigner(
    keyName: string,
    ca: CertificateAuthority,
    commonName: string,
    algorithm: KeyAlgorithm,
    backend: 'software' | 'pkcs11' | undefined,
    now: Date,
  ): Promise<{ certificate: CaCertificate; keyRef: string }> {
    const ocsp = await this.keys.generate(keyName, algorithm, backend);
    let der: Uint8Array;
    try {
      der = await createOcspSignerCertificate({
        subject: [{ type: 'CN', value: `OCSP signer for ${commonName}`.slice(0, 64) }, { type: 'O', value: 'DevID Ledger' }],
        subjectPublicKeyInfo: ocsp.key.subjectPublicKeyInfo,
        ca,
        serialNumber: newSerialNumber(),
        now,
      });
    } catch (error) {
      // No certificate names it: nothing will use it.
      await this.destroyKey(ocsp.keyRef, ocsp.key.subjectPublicKeyInfo, ca.caId).catch((destroyError: Error) => this.logger.warn(`OCSP signer key ${ocsp.keyRef} kept: ${destroyError.message}`));
      throw error;
    }
    return { certificate: describeCertificate(der), keyRef: ocsp.keyRef };
  }

  /**
   * On the first start: a root, an issuing and a factory CA, so the demo can enroll devices.
   * Ledgers started together on a new data dir make one hierarchy: a CA another of them has
   * recorded is taken as it is, one whose key another has just made is waited for (up to
   * DEMO_CA_WAIT_MS) until it is recorded. Answers the lines to print for the CAs this start made.
   */
  async ensureDemoHierarchy(): Promise<string[] | undefined> {
    if (this.config.DEMO_CA !== 'true' || this.cas.list().length > 0) return undefined;
    if ((await loadCa(this.store, 'devid-root')).state.status !== 'unknown') return undefined;
    const created: CaState[] = [];
    for (const request of DEMO_HIERARCHY) {
      const ca = await this.createUnlessAnotherDoes(request);
      if (ca !== undefined) created.push(ca);
    }
    if (created.length === 0) return undefined;
    this.logger.log('demo CA hierarchy created');
    return created.map((ca) => (ca.status === 'unknown' ? '' : `${ca.caId.padEnd(16)} ${ca.role.padEnd(8)} SHA-256 ${ca.certificate.fingerprintSha256}`));
  }

  /**
   * The CA created, or undefined when another process created it: recorded, or recorded within
   * DEMO_CA_WAIT_MS of making its key. A key older than that, with no CA, was left by a start
   * that did not finish: the start fails, saying so.
   */
  private async createUnlessAnotherDoes(request: CreateCaRequest): Promise<CaState | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.create(request, 'system:demo');
      } catch (error) {
        if (error instanceof CaAlreadyExists) return undefined;
        if (!(error instanceof KeyNameTaken)) throw error;
        let gone = false;
        for (const deadline = (error.madeAt ?? Date.now()) + DEMO_CA_WAIT_MS; ; await delay(50)) {
          if ((await loadCa(this.store, request.caId)).state.status !== 'unknown') return undefined;
          // Starts that made their keys on one token at the same time may all have given theirs up
          // (Pkcs11Token.generateKey): the name is free again, so this start creates the CA after all.
          if (attempt < DEMO_CA_ATTEMPTS && !(await this.keys.exists(error.keyName, request.backend))) {
            gone = true;
            break;
          }
          if (Date.now() >= deadline) break;
        }
        if (gone) continue;
        throw new KeyNameTaken(error.keyName, error.madeAt, `, and no CA ${request.caId} is recorded: an earlier start made it and did not finish; remove that key and start again`);
      }
    }
  }
}

/**
 * A key name taken while no CA `caId` is recorded: a create that did not finish left it (its
 * outcome unknown, or the process stopped), or one is under way in another process. The answer
 * says what to do, since a retry alone meets the same key.
 */
const withLeftoverHint = (error: unknown, caId: string): unknown =>
  error instanceof KeyNameTaken
    ? new KeyNameTaken(
        error.keyName,
        error.madeAt,
        `, and no CA ${caId} is recorded: a create of ${caId} that did not finish left it, or one is under way in another process; once none is, remove that key (DATA_DIR/ca-keys/${error.keyName}.p8.pem, or the token object labelled ${error.keyName}) and create ${caId} again`,
      )
    : error;

/** The store refused the command (or it was refused before): nothing of it was written. */
const nothingWrittenBy = (error: unknown): boolean =>
  error instanceof DomainError || error instanceof WrongExpectedRevision || error instanceof IdempotencyConflict || error instanceof InvalidAppend;

/** The demo hierarchy, in the order it is created. */
const DEMO_HIERARCHY: CreateCaRequest[] = [
  { caId: 'devid-root', role: 'root', commonName: 'DevID Demo Root CA' },
  { caId: 'devid-issuing', role: 'issuing', parentId: 'devid-root', commonName: 'DevID Demo Issuing CA (LDevID)' },
  { caId: 'devid-factory-1', role: 'factory', parentId: 'devid-root', commonName: 'DevID Demo Factory CA 1 (IDevID)' },
];
/** How long a start waits for a demo CA whose key another start made to be recorded (an RSA-4096 key pair takes seconds). */
const DEMO_CA_WAIT_MS = 30_000;
/** How many times a start creates a demo CA whose key name it found taken and then free again. */
const DEMO_CA_ATTEMPTS = 5;

/**
 * Which of a role's active CAs (in the order they were created) signs at `now`, for a certificate
 * that asks to last until `until` (both ms since the epoch): the first CA valid at `now` whose own
 * certificate lasts that long, so that nothing it signs is cut short; when none does, the valid
 * one that ends last. This is the rollover: an issuing CA with less left than an LDevID's
 * lifetime hands over to a newer CA as soon as one exists, not only once it has expired, and
 * certificates keep their full lifetime. Without `until`, the first valid CA. When none is valid
 * at `now`, the first active one (the caller refuses it with the reason), or undefined when there is none.
 */
export const chooseCa = <T extends { caId: string; certificate: CaCertificate }>(active: readonly T[], now: number, until?: number): T | undefined => {
  const valid = active.filter((ca) => refusalAt(ca, now) === undefined);
  if (valid.length === 0) return active[0];
  if (until === undefined) return valid[0];
  // Certificates hold whole seconds: a CA ending in the second asked for lasts long enough.
  const wanted = Math.floor(until / 1000) * 1000;
  const ends = (ca: T) => Date.parse(ca.certificate.notAfter);
  return valid.find((ca) => ends(ca) >= wanted) ?? valid.reduce((last, ca) => (ends(ca) > ends(last) ? ca : last));
};

/** Why the CA cannot sign at `now` (ms since the epoch), from the dates the ledger recorded of its certificate; undefined when it can. */
export const refusalAt = (ca: { caId: string; certificate: CaCertificate }, now: number) =>
  validityRefusal(ca.caId, new Date(ca.certificate.notBefore), new Date(ca.certificate.notAfter), new Date(now));

/** Throws CaCertificateNotValid unless the CA's certificate is valid at `now`. */
const assertSignsAt = (ca: { caId: string; certificate: CaCertificate }, now: number): void => {
  const refusal = refusalAt(ca, now);
  if (refusal) throw refusal;
};

/** A key a create or a renewal made: its reference and its public key (SubjectPublicKeyInfo, DER). */
interface MadeKey {
  keyRef: string;
  spki: Uint8Array;
}

/** The SubjectPublicKeyInfo (DER) of a certificate the ledger recorded. */
const spkiOf = (certificate: CaCertificate): Uint8Array => authorityDetails(new Uint8Array(Buffer.from(certificate.der, 'base64'))).subjectPublicKeyInfo;
