import { DomainError, IllegalTransition, InvalidCommand } from '../errors';
import type { CommandContext } from '../device/device-commands';
import type { RevocationReason } from '../device/revocation-reason';

/** root: self-signed anchor; issuing: signs operational LDevIDs; factory: signs IDevIDs. */
export type CaRole = 'root' | 'issuing' | 'factory';
export const CA_ROLES: readonly CaRole[] = ['root', 'issuing', 'factory'];

export interface CaCertificate {
  /** DER, base64. */
  der: string;
  serialNumber: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  spkiSha256: string;
  fingerprintSha256: string;
}

/**
 * Where the private key lives: `file:<name>` (encrypted PKCS#8 in the data dir) or a
 * PKCS#11 URI (RFC 7512). Never the key itself: events are exported to auditors.
 */
export type KeyRef = string;

/**
 * A certificate the ledger's CA issues to one of the ledger's own services (not to a device):
 * est-tls, the EST port's TLS server certificate. Recorded like every other certificate a CA signs.
 */
export type ServerCertificatePurpose = 'est-tls';
export const SERVER_CERTIFICATE_PURPOSES: readonly ServerCertificatePurpose[] = ['est-tls'];

export type CaEvent =
  | {
      type: 'CertificateAuthorityCreated';
      version: 1;
      data: {
        caId: string;
        role: CaRole;
        parentId: string | null;
        algorithm: string;
        certificate: CaCertificate;
        keyRef: KeyRef;
        createdAt: string;
      };
    }
  | { type: 'OcspSignerIssued'; version: 1; data: { caId: string; certificate: CaCertificate; keyRef: KeyRef; issuedAt: string } }
  /** The private key of a replaced OCSP signer was destroyed (after the key store had done it). */
  | { type: 'OcspSignerKeyDestroyed'; version: 1; data: { caId: string; serialNumber: string; keyRef: KeyRef; destroyedAt: string } }
  | {
      type: 'ServerCertificateIssued';
      version: 1;
      data: { caId: string; purpose: ServerCertificatePurpose; hostnames: string[]; certificate: CaCertificate; issuedAt: string };
    }
  | { type: 'ServerCertificateRevoked'; version: 1; data: { caId: string; serialNumber: string; reason: RevocationReason; revokedAt: string } }
  | { type: 'CertificateAuthorityRevoked'; version: 1; data: { caId: string; reason: RevocationReason; revokedAt: string } };

/** A CA's OCSP signer that a newer one replaced. */
export interface RetiredOcspSigner {
  keyRef: KeyRef;
  /** Its certificate: the key destroyed under keyRef must be this certificate's key pair. */
  certificate: CaCertificate;
  retiredAt: string;
  keyDestroyedAt?: string;
}

/** What became of a certificate the CA issued to one of the ledger's services. */
export type ServerCertificateStatus = 'good' | 'revoked';

export type CaState =
  | { status: 'unknown' }
  | {
      status: 'active' | 'revoked';
      caId: string;
      role: CaRole;
      parentId: string | null;
      algorithm: string;
      certificate: CaCertificate;
      keyRef: KeyRef;
      ocspSigner?: { certificate: CaCertificate; keyRef: KeyRef };
      /**
       * The signers it replaced, by serial number (lowercase hex): since when, and whether their
       * key is destroyed yet. Their answers stay verifiable (they carry the certificate); the
       * key is needed no more.
       */
      retiredOcspSigners?: Readonly<Record<string, RetiredOcspSigner>>;
      createdAt: string;
      revocation?: { reason: RevocationReason; revokedAt: string };
      /** The certificates it issued to the ledger's services, by serial number (lowercase hex). */
      serverCertificates?: Readonly<Record<string, ServerCertificateStatus>>;
    };

export type CaCommand =
  | (CommandContext & {
      type: 'CreateCertificateAuthority';
      caId: string;
      data: {
        role: CaRole;
        /** The parent as the handler found it (null for a root). */
        parent: { caId: string; status: 'active' | 'revoked'; role: CaRole } | null;
        algorithm: string;
        certificate: CaCertificate;
        keyRef: KeyRef;
        ocspSigner: { certificate: CaCertificate; keyRef: KeyRef };
      };
    })
  | (CommandContext & { type: 'IssueOcspSigner'; caId: string; data: { certificate: CaCertificate; keyRef: KeyRef } })
  /** Records that the key store destroyed the key of a replaced signer (the handler destroys it first). */
  | (CommandContext & { type: 'RecordOcspSignerKeyDestroyed'; caId: string; data: { serialNumber: string } })
  | (CommandContext & {
      type: 'IssueServerCertificate';
      caId: string;
      data: { purpose: ServerCertificatePurpose; hostnames: string[]; certificate: CaCertificate };
    })
  | (CommandContext & { type: 'RevokeServerCertificate'; caId: string; data: { serialNumber: string; reason: RevocationReason } })
  | (CommandContext & { type: 'RevokeCertificateAuthority'; caId: string; data: { reason: RevocationReason } });

export const CA_STREAM_PREFIX = 'ca-';
export const caStreamId = (caId: string) => `${CA_STREAM_PREFIX}${caId}`;
export const caIdOfStream = (streamId: string) => (streamId.startsWith(CA_STREAM_PREFIX) ? streamId.slice(CA_STREAM_PREFIX.length) : undefined);
export const CA_EVENT_VERSIONS = {
  CertificateAuthorityCreated: 1,
  OcspSignerIssued: 1,
  OcspSignerKeyDestroyed: 1,
  ServerCertificateIssued: 1,
  ServerCertificateRevoked: 1,
  CertificateAuthorityRevoked: 1,
} as const;

/**
 * Reasons a service's certificate may be revoked for (RFC 5280 §5.3.1): not certificateHold,
 * which the ledger never lifts for these, nor the CA-only cACompromise and aACompromise.
 */
export const SERVER_CERTIFICATE_REVOCATION_REASONS: readonly RevocationReason[] = [
  'unspecified',
  'keyCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
];

export const initialCaState: CaState = { status: 'unknown' };

export class CaNotFound extends DomainError {
  readonly code = 'ca-not-found';
  readonly status = 404;
  constructor(readonly caId: string) {
    super(`certificate authority ${caId} does not exist`);
  }
}

/** A create of a CA id the ledger already holds (whatever its status: ids are never reused). */
export class CaAlreadyExists extends DomainError {
  readonly code = 'ca-exists';
  readonly status = 409;
  constructor(readonly caId: string) {
    super(`certificate authority ${caId} already exists`);
  }
}

/** A revoked CA on a certificate's chain: which one, when, and why (none recorded for a root revoked before reasons were kept). */
export interface ChainRevocation {
  caId: string;
  revokedAt: string;
  reason?: RevocationReason;
}

/**
 * Of the revocations of the CAs on a chain (the issuer and the CAs above it; undefined for one
 * that is active), the one that took effect first: from then on nothing under it can be trusted,
 * whatever became of the chain later. Undefined when every CA on it is active. Times are
 * compared as the ledger records them (UTC, `toISOString` form), in which text order is time order.
 */
export const firstChainRevocation = (revocations: readonly (ChainRevocation | undefined)[]): ChainRevocation | undefined => {
  let first: ChainRevocation | undefined;
  for (const revocation of revocations) {
    if (revocation !== undefined && (first === undefined || revocation.revokedAt < first.revokedAt)) first = revocation;
  }
  return first;
};

/** No CA of the role is registered and active: nothing of that kind can be issued until one is made. */
export class NoActiveCa extends DomainError {
  readonly code = 'no-active-ca';
  readonly status = 409;
  constructor(readonly role: CaRole) {
    super(`no active ${role} CA is registered`);
  }
  override details() {
    return { role: this.role };
  }
}

/**
 * The CA is active, but a CA above it was revoked (or it was itself): everything it would sign
 * chains to a revoked certificate, so it signs nothing more until another CA takes its place.
 */
export class CaChainRevoked extends DomainError {
  readonly code = 'ca-revoked';
  readonly status = 409;
  constructor(
    readonly caId: string,
    readonly revocation: ChainRevocation,
  ) {
    super(
      revocation.caId === caId
        ? `CA ${caId} was revoked at ${revocation.revokedAt}: it signs nothing more`
        : `CA ${caId} is under CA ${revocation.caId}, revoked at ${revocation.revokedAt}: it signs nothing more`,
    );
  }
  override details() {
    return { caId: this.caId, revokedCaId: this.revocation.caId, revokedAt: this.revocation.revokedAt, ...(this.revocation.reason ? { reason: this.revocation.reason } : {}) };
  }
}

export class ServerCertificateNotFound extends DomainError {
  readonly code = 'server-certificate-not-found';
  readonly status = 404;
  constructor(
    readonly caId: string,
    readonly serialNumber: string,
  ) {
    super(`certificate authority ${caId} issued no server certificate with serial number ${serialNumber}`);
  }
}

export const decideCa = (command: CaCommand, state: CaState): CaEvent[] => {
  switch (command.type) {
    case 'CreateCertificateAuthority': {
      if (state.status !== 'unknown') throw new CaAlreadyExists(command.caId);
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(command.caId)) throw new InvalidCommand('caId must be lowercase letters, digits and dashes', 'caId');
      const { role, parent } = command.data;
      if (role === 'root' && parent) throw new InvalidCommand('a root CA has no parent', 'parentId');
      if (role !== 'root') {
        if (!parent) throw new InvalidCommand(`an ${role} CA needs a parent CA`, 'parentId');
        if (parent.status !== 'active') throw new InvalidCommand(`parent CA ${parent.caId} is ${parent.status}`, 'parentId');
        // Two tiers: the root certifies issuing and factory CAs; those certify devices only.
        if (parent.role !== 'root') throw new InvalidCommand(`a ${parent.role} CA certifies devices, not CAs`, 'parentId');
      }
      return [
        {
          type: 'CertificateAuthorityCreated',
          version: 1,
          data: {
            caId: command.caId,
            role,
            parentId: parent?.caId ?? null,
            algorithm: command.data.algorithm,
            certificate: command.data.certificate,
            keyRef: command.data.keyRef,
            createdAt: command.now,
          },
        },
        { type: 'OcspSignerIssued', version: 1, data: { caId: command.caId, ...command.data.ocspSigner, issuedAt: command.now } },
      ];
    }
    case 'IssueOcspSigner':
      if (state.status !== 'active') throw new IllegalTransition(state.status, command.type, 'certificate authority');
      // A renewal replaces the signer: the same certificate again is a mistake, not a renewal.
      if (state.ocspSigner?.certificate.serialNumber.toLowerCase() === command.data.certificate.serialNumber.toLowerCase()) {
        throw new InvalidCommand(`OCSP signer ${command.data.certificate.serialNumber} is already the one of ${command.caId}`, 'certificate');
      }
      return [{ type: 'OcspSignerIssued', version: 1, data: { caId: command.caId, ...command.data, issuedAt: command.now } }];
    case 'RecordOcspSignerKeyDestroyed': {
      if (state.status === 'unknown') throw new CaNotFound(command.caId);
      const serial = typeof command.data.serialNumber === 'string' ? command.data.serialNumber.toLowerCase() : '';
      if (state.ocspSigner?.certificate.serialNumber.toLowerCase() === serial) {
        throw new InvalidCommand(`OCSP signer ${serial} is the one ${command.caId} signs with: only a replaced signer's key is destroyed`, 'serialNumber');
      }
      const retired = Object.hasOwn(state.retiredOcspSigners ?? {}, serial) ? state.retiredOcspSigners![serial] : undefined;
      if (retired === undefined) throw new InvalidCommand(`${command.caId} has no replaced OCSP signer ${String(command.data.serialNumber)}`, 'serialNumber');
      if (retired.keyDestroyedAt !== undefined) throw new IllegalTransition('key destroyed', command.type, `OCSP signer ${serial}`);
      // Never a key the CA still uses under another name (its own, or its signer's).
      if (retired.keyRef === state.keyRef || retired.keyRef === state.ocspSigner?.keyRef) {
        throw new InvalidCommand(`the key of OCSP signer ${serial} is still in use by ${command.caId}`, 'serialNumber');
      }
      return [{ type: 'OcspSignerKeyDestroyed', version: 1, data: { caId: command.caId, serialNumber: serial, keyRef: retired.keyRef, destroyedAt: command.now } }];
    }
    case 'IssueServerCertificate': {
      if (state.status !== 'active') throw new IllegalTransition(state.status, command.type, 'certificate authority');
      // Services are certified like devices' operational certificates: by an issuing CA.
      if (state.role !== 'issuing') throw new InvalidCommand(`a ${state.role} CA does not certify the ledger's services`, 'caId');
      const { purpose, hostnames, certificate } = command.data;
      if (!SERVER_CERTIFICATE_PURPOSES.includes(purpose)) throw new InvalidCommand(`unknown server certificate purpose ${String(purpose)}`, 'purpose');
      if (hostnames.length === 0 || hostnames.some((name) => typeof name !== 'string' || name.length === 0)) {
        throw new InvalidCommand('a server certificate names at least one host', 'hostnames');
      }
      return [{ type: 'ServerCertificateIssued', version: 1, data: { caId: command.caId, purpose, hostnames: [...hostnames], certificate, issuedAt: command.now } }];
    }
    case 'RevokeServerCertificate': {
      if (state.status === 'unknown') throw new CaNotFound(command.caId);
      const { serialNumber, reason } = command.data;
      if (!SERVER_CERTIFICATE_REVOCATION_REASONS.includes(reason)) {
        throw new InvalidCommand(`a server certificate is not revoked for ${String(reason)}; use one of ${SERVER_CERTIFICATE_REVOCATION_REASONS.join(', ')}`, 'reason');
      }
      const serial = typeof serialNumber === 'string' ? serialNumber.toLowerCase() : '';
      // A revoked CA's certificates are still listed on its CRL: revoking one of them is allowed.
      const status = Object.hasOwn(state.serverCertificates ?? {}, serial) ? state.serverCertificates![serial] : undefined;
      if (status === undefined) throw new ServerCertificateNotFound(command.caId, String(serialNumber));
      if (status === 'revoked') throw new IllegalTransition('revoked', command.type, `server certificate ${serial}`);
      return [{ type: 'ServerCertificateRevoked', version: 1, data: { caId: command.caId, serialNumber: serial, reason, revokedAt: command.now } }];
    }
    case 'RevokeCertificateAuthority':
      if (state.status !== 'active') throw new IllegalTransition(state.status, command.type, 'certificate authority');
      return [{ type: 'CertificateAuthorityRevoked', version: 1, data: { caId: command.caId, reason: command.data.reason, revokedAt: command.now } }];
  }
};

export const evolveCa = (state: CaState, event: CaEvent): CaState => {
  if (event.type === 'CertificateAuthorityCreated') {
    const { createdAt, ...rest } = event.data;
    return { status: 'active', ...rest, createdAt };
  }
  if (state.status === 'unknown') return state;
  switch (event.type) {
    case 'OcspSignerIssued': {
      const replaced = state.ocspSigner;
      const signer = { certificate: event.data.certificate, keyRef: event.data.keyRef };
      if (replaced === undefined) return { ...state, ocspSigner: signer };
      const retired: RetiredOcspSigner = { keyRef: replaced.keyRef, certificate: replaced.certificate, retiredAt: event.data.issuedAt };
      return { ...state, ocspSigner: signer, retiredOcspSigners: { ...state.retiredOcspSigners, [replaced.certificate.serialNumber.toLowerCase()]: retired } };
    }
    case 'OcspSignerKeyDestroyed': {
      const retired = Object.hasOwn(state.retiredOcspSigners ?? {}, event.data.serialNumber) ? state.retiredOcspSigners![event.data.serialNumber] : undefined;
      if (retired === undefined) return state;
      return { ...state, retiredOcspSigners: { ...state.retiredOcspSigners, [event.data.serialNumber]: { ...retired, keyDestroyedAt: event.data.destroyedAt } } };
    }
    case 'ServerCertificateIssued':
    case 'ServerCertificateRevoked': {
      const serial = event.type === 'ServerCertificateIssued' ? event.data.certificate.serialNumber.toLowerCase() : event.data.serialNumber;
      const status: ServerCertificateStatus = event.type === 'ServerCertificateIssued' ? 'good' : 'revoked';
      return { ...state, serverCertificates: { ...state.serverCertificates, [serial]: status } };
    }
    case 'CertificateAuthorityRevoked':
      return { ...state, status: 'revoked', revocation: { reason: event.data.reason, revokedAt: event.data.revokedAt } };
  }
};

/** One OCSP signer of a CA as its stream tells it: in use (retiredAt null) or replaced, and when its key was destroyed. */
export interface OcspSignerHistoryEntry {
  serialNumber: string;
  notAfter: string;
  issuedAt: string;
  retiredAt: string | null;
  keyDestroyedAt: string | null;
}

/** Every OCSP signer a CA has had, oldest first, from its stream's events (the last one is in use). */
export const ocspSignerHistory = (events: readonly CaEvent[]): OcspSignerHistoryEntry[] => {
  const signers: OcspSignerHistoryEntry[] = [];
  for (const event of events) {
    if (event.type === 'OcspSignerIssued') {
      const current = signers[signers.length - 1];
      if (current !== undefined && current.retiredAt === null) current.retiredAt = event.data.issuedAt;
      const { serialNumber, notAfter } = event.data.certificate;
      signers.push({ serialNumber: serialNumber.toLowerCase(), notAfter, issuedAt: event.data.issuedAt, retiredAt: null, keyDestroyedAt: null });
    } else if (event.type === 'OcspSignerKeyDestroyed') {
      const signer = signers.find((s) => s.serialNumber === event.data.serialNumber);
      if (signer !== undefined) signer.keyDestroyedAt = event.data.destroyedAt;
    }
  }
  return signers;
};

/** CA events have had one version so far; reading checks the type and version. */
export const readCaEvent = (raw: { type: string; version: number; data: unknown }): CaEvent => {
  const current = (CA_EVENT_VERSIONS as Record<string, number>)[raw.type];
  if (current === undefined || raw.version !== current) throw new InvalidCommand(`cannot read CA event ${raw.type} v${raw.version}`);
  return raw as CaEvent;
};
