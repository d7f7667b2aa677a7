import { createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { OCSPResponse, OCSPResponseStatus } from '@peculiar/asn1-ocsp';
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { authorityDetails, assertKeyMatchesCertificate, type CertificateAuthority } from './certificate-authority';
import { keyIdentifier } from './fingerprints';
import { readCanonicalOcspRequest, readOcspRequestWithLibrary, type ParsedOcspRequest, type RequestedCertificate } from './ocsp-request-der';
import { encodeCertId, encodeResponseData, encodeSuccessfulOcspResponse, type SingleResponseFields } from './ocsp-response-der';
import { signatureAlgorithmIdentifier } from './key-provider';
import { type RevocationReason } from './revocation-reason';
import { integerToSerialNumber, normalizeSerialNumber, serialNumberToInteger } from './serial-number';
import { wholeSeconds } from './validity';

export type CertificateStatus = { status: 'good' } | { status: 'revoked'; revokedAt: Date; reason?: RevocationReason } | { status: 'unknown' };

/** Status of one certificate of one CA, from the revocation index. */
export type CertificateStatusLookup = (caId: string, serialNumber: string) => CertificateStatus | Promise<CertificateStatus>;

export interface OcspResponderOptions {
  /**
   * Each CA the responder answers for (its certificate: no key is needed) with its delegated
   * signer (certificate + key), or a function that loads it. A loaded signer is loaded on the
   * first request about its CA and kept; if loading fails, that request fails with the error
   * (the other CAs are answered as usual) and the next one tries again.
   */
  authorities: { ca: Pick<CertificateAuthority, 'caId' | 'certificateDer'>; signer: CertificateAuthority | (() => Promise<CertificateAuthority>) }[];
  lookup: CertificateStatusLookup;
  /** nextUpdate - thisUpdate. Default 3600. */
  validitySeconds?: number;
  /** Pre-signed responses are re-signed after this share of their validity. Default 0.5. */
  refreshAfter?: number;
  /** Requests above this size are malformed. Default 16384. */
  maxRequestBytes?: number;
  /** Requests listing more certificates are malformed. Default 16. */
  maxCertificatesPerRequest?: number;
}

interface Authority {
  caId: string;
  /** The signer, checked and ready (see OcspResponderOptions.authorities). */
  signing: () => Promise<Signer>;
  /** `${hashAlgorithmOid}:${issuerNameHash}:${issuerKeyHash}` for every supported hash. */
  certIdKeys: Set<string>;
  sha1NameHash: Uint8Array;
  sha1KeyHash: Uint8Array;
}

interface Signer {
  signer: CertificateAuthority;
  /** DER AlgorithmIdentifier of the signer's signatures. */
  signatureAlgorithmDer: Uint8Array;
  /** SHA-1 of the signer's public key: the ResponderID byKey. */
  responderKeyHash: Uint8Array;
}

/** The signer of the CA asked about could not be loaded: `cause` says why. */
class SignerUnavailable extends Error {
  constructor(override readonly cause: unknown) {
    super('the OCSP signer could not be loaded');
  }
}

interface CachedResponse {
  /** Made once when signed: the cache hands out this very object. */
  answer: OcspAnswer;
  refreshAt: number;
  nextUpdate: number;
}

/**
 * An answer, and for one that is the same for every client (a single certificate, no nonce,
 * the answer the responder keeps pre-signed) the times an HTTP cache may keep it by (RFC 5019
 * §6.2): it was signed at `thisUpdate`, the responder signs it again from `refreshAt` on (or at
 * once when the certificate's status changes), and no one may use it after `nextUpdate`.
 */
export interface OcspAnswer {
  readonly der: Uint8Array;
  readonly shared?: { thisUpdate: Date; refreshAt: Date; nextUpdate: Date };
}

const HASHES: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const MAX_NONCE_BYTES = 128;
/** The OBJECT IDENTIFIER TLV of SHA-1, for the CertIDs of pre-signed answers. */
const SHA1_OID_DER = Uint8Array.of(0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a);
const SHA1 = '1.3.14.3.2.26';

/**
 * RFC 6960 responder. `respond` never throws: a bad request gets a malformedRequest response,
 * a request for a CA it does not serve gets unauthorized, a failure internalError.
 */
export class OcspResponder {
  readonly #authorities: Authority[];
  readonly #lookup: CertificateStatusLookup;
  readonly #validityMs: number;
  readonly #refreshAfterMs: number;
  readonly #maxRequestBytes: number;
  readonly #maxCertificates: number;
  readonly #cache = new Map<string, CachedResponse>();

  constructor(options: OcspResponderOptions) {
    this.#authorities = options.authorities.map(({ ca, signer }) => prepareAuthority(ca, signer));
    this.#lookup = options.lookup;
    this.#validityMs = (options.validitySeconds ?? 3600) * 1000;
    this.#refreshAfterMs = this.#validityMs * (options.refreshAfter ?? 0.5);
    this.#maxRequestBytes = options.maxRequestBytes ?? 16384;
    this.#maxCertificates = options.maxCertificatesPerRequest ?? 16;
  }

  /** DER OCSPResponse for a DER OCSPRequest. */
  async respond(requestDer: Uint8Array, now: Date): Promise<Uint8Array> {
    return (await this.answer(requestDer, now)).der;
  }

  /** The same, with the times an HTTP cache may keep it by when it is the same for every client. */
  async answer(requestDer: Uint8Array, now: Date): Promise<OcspAnswer> {
    const request = this.#parse(requestDer);
    if (!request) return { der: statusOnly(OCSPResponseStatus.malformedRequest) };
    const { certificates, nonce } = request;
    if (nonce && (nonce.byteLength === 0 || nonce.byteLength > MAX_NONCE_BYTES)) return { der: statusOnly(OCSPResponseStatus.malformedRequest) };
    const authority = this.#authorityFor(certificates[0]!);
    if (!authority) return { der: statusOnly(OCSPResponseStatus.unauthorized) };
    try {
      return await this.#answer(authority, certificates, nonce, now);
    } catch (error) {
      // A signer that cannot be loaded (its key missing, its token away) is the caller's error to report.
      if (error instanceof SignerUnavailable) throw error.cause;
      return { der: statusOnly(OCSPResponseStatus.internalError) };
    }
  }

  async #answer(authority: Authority, certIds: RequestedCertificate[], nonce: Uint8Array | undefined, now: Date): Promise<OcspAnswer> {
    // Only single, nonce-less requests are answered from the cache; a nonce asks for a fresh signature.
    const cacheKey = certIds.length === 1 && !nonce ? cacheKeyOf(authority.caId, certIds[0]!) : undefined;
    if (cacheKey) {
      const cached = this.#cache.get(cacheKey);
      if (cached && now.getTime() < cached.refreshAt && now.getTime() < cached.nextUpdate) return cached.answer;
    }
    // After the cache: a pre-signed answer needs no key.
    const signer = await authority.signing().catch((error: unknown) => {
      throw new SignerUnavailable(error);
    });
    // Whole seconds in every time of the answer (RFC 5019 §2.2.4: no fractional seconds), so
    // that they equal the HTTP dates of its caching headers and the CRL's revocation dates.
    const signedAt = wholeSeconds(now);
    const responses = await Promise.all(certIds.map((certId) => this.#singleResponse(authority, certId, signedAt)));
    const der = await this.#sign(signer, responses, nonce, signedAt);
    if (!cacheKey) return { der };
    const refreshAt = signedAt.getTime() + this.#refreshAfterMs;
    const nextUpdate = signedAt.getTime() + this.#validityMs;
    const answer: OcspAnswer = { der, shared: { thisUpdate: signedAt, refreshAt: new Date(refreshAt), nextUpdate: new Date(nextUpdate) } };
    this.#cache.set(cacheKey, { answer, refreshAt, nextUpdate });
    return answer;
  }

  /** Drops pre-signed responses for a certificate whose status changed (call on revocation). */
  invalidate(caId: string, serialNumber: string): void {
    const suffix = `:${normalizeSerialNumber(serialNumber)}`;
    for (const key of this.#cache.keys()) if (key.startsWith(`${caId}:`) && key.endsWith(suffix)) this.#cache.delete(key);
  }

  /**
   * Signs ahead and caches the answer to a nonce-less SHA-1 CertID request (what `openssl ocsp`
   * and most clients send), e.g. for every certificate after a restart or a revocation.
   */
  async presign(caId: string, serialNumber: string, now: Date): Promise<void> {
    const authority = this.#authorities.find((candidate) => candidate.caId === caId);
    if (!authority) return;
    const serial = serialNumberToInteger(serialNumber);
    const certId: RequestedCertificate = {
      der: encodeCertId(SHA1_OID_DER, authority.sha1NameHash, authority.sha1KeyHash, serial),
      hashAlgorithm: SHA1,
      issuerNameHash: authority.sha1NameHash,
      issuerKeyHash: authority.sha1KeyHash,
      serialNumber: serial,
    };
    try {
      await this.#answer(authority, [certId], undefined, now);
    } catch (error) {
      throw error instanceof SignerUnavailable ? error.cause : error;
    }
  }

  /** Drops, then signs again, the pre-signed response of a certificate whose status changed. */
  async refresh(caId: string, serialNumber: string, now: Date): Promise<void> {
    this.invalidate(caId, serialNumber);
    await this.presign(caId, serialNumber, now);
  }

  #parse(requestDer: Uint8Array): ParsedOcspRequest | undefined {
    if (requestDer.byteLength === 0 || requestDer.byteLength > this.#maxRequestBytes) return undefined;
    let request: ParsedOcspRequest;
    try {
      // The common form by hand; any other through the library, as every request was before.
      request = readCanonicalOcspRequest(requestDer) ?? readOcspRequestWithLibrary(requestDer);
    } catch {
      return undefined;
    }
    const count = request.certificates.length;
    if (count === 0 || count > this.#maxCertificates) return undefined;
    for (const certificate of request.certificates) {
      if (!HASHES[certificate.hashAlgorithm] || certificate.serialNumber.byteLength === 0) return undefined;
    }
    return request;
  }

  #authorityFor(certId: RequestedCertificate): Authority | undefined {
    const key = certIdKey(certId);
    return this.#authorities.find((authority) => authority.certIdKeys.has(key));
  }

  async #singleResponse(authority: Authority, certId: RequestedCertificate, now: Date): Promise<SingleResponseFields> {
    // A certificate of another CA in the same request: this signer cannot vouch for it.
    const found: CertificateStatus = this.#authorityFor(certId) === authority ? await this.#lookup(authority.caId, integerToSerialNumber(certId.serialNumber)) : { status: 'unknown' };
    const status: CertificateStatus = found.status === 'revoked' ? { ...found, revokedAt: wholeSeconds(found.revokedAt) } : found;
    return { certIdDer: certId.der, status, thisUpdate: now, nextUpdate: new Date(now.getTime() + this.#validityMs) };
  }

  async #sign({ signer, signatureAlgorithmDer, responderKeyHash }: Signer, responses: SingleResponseFields[], nonce: Uint8Array | undefined, now: Date): Promise<Uint8Array> {
    const tbs = encodeResponseData({ responderKeyHash, producedAt: now, responses, ...(nonce === undefined ? {} : { nonce }) });
    const signature = await signer.key.sign(tbs);
    return encodeSuccessfulOcspResponse(tbs, signatureAlgorithmDer, signature, signer.certificateDer);
  }
}

/** The DER request from the GET form (RFC 6960 appendix A.1): URL-encoded base64 (base64url accepted too). */
export function decodeOcspGetPath(pathSegment: string): Uint8Array | undefined {
  let text: string;
  try {
    text = decodeURIComponent(pathSegment);
  } catch {
    return undefined;
  }
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) return undefined;
  const der = Buffer.from(base64, 'base64');
  return der.length > 0 ? new Uint8Array(der) : undefined;
}

function prepareSigner(signer: CertificateAuthority): Signer {
  assertKeyMatchesCertificate(signer);
  return {
    signer,
    signatureAlgorithmDer: new Uint8Array(AsnConvert.serialize(signatureAlgorithmIdentifier(signer.key.algorithm))),
    responderKeyHash: keyIdentifier(signer.key.subjectPublicKeyInfo),
  };
}

/** Loads and checks the signer once; a failed load is forgotten, so that the next call tries again. */
function signerOnce(signer: OcspResponderOptions['authorities'][number]['signer']): () => Promise<Signer> {
  if (typeof signer !== 'function') {
    // Given ready: checked now, as the constructor always did.
    const ready = Promise.resolve(prepareSigner(signer));
    return () => ready;
  }
  let loading: Promise<Signer> | undefined;
  return () => {
    if (loading === undefined) {
      loading = signer().then(prepareSigner);
      loading.catch(() => (loading = undefined));
    }
    return loading;
  };
}

function prepareAuthority(ca: Pick<CertificateAuthority, 'caId' | 'certificateDer'>, signer: OcspResponderOptions['authorities'][number]['signer']): Authority {
  const details = authorityDetails(ca.certificateDer);
  const keyBits = new Uint8Array(AsnConvert.parse(details.subjectPublicKeyInfo, SubjectPublicKeyInfo).subjectPublicKey);
  const certIdKeys = new Set(
    Object.entries(HASHES).map(([oid, hash]) => `${oid}:${createHash(hash).update(details.nameDer).digest('hex')}:${createHash(hash).update(keyBits).digest('hex')}`),
  );
  return {
    caId: ca.caId,
    signing: signerOnce(signer),
    certIdKeys,
    sha1NameHash: createHash('sha1').update(details.nameDer).digest(),
    sha1KeyHash: createHash('sha1').update(keyBits).digest(),
  };
}

function certIdKey(certId: RequestedCertificate): string {
  const hex = (octets: Uint8Array): string => Buffer.from(octets.buffer, octets.byteOffset, octets.byteLength).toString('hex');
  return `${certId.hashAlgorithm}:${hex(certId.issuerNameHash)}:${hex(certId.issuerKeyHash)}`;
}

function cacheKeyOf(caId: string, certId: RequestedCertificate): string {
  return `${caId}:${certIdKey(certId)}:${integerToSerialNumber(certId.serialNumber)}`;
}

function statusOnly(responseStatus: OCSPResponseStatus): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(new OCSPResponse({ responseStatus })));
}
