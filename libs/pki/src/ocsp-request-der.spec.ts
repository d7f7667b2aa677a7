import { randomBytes } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { CertID, CertStatus, OCSPRequest, Request, ResponderID, ResponseData, RevokedInfo, Signature, SingleResponse, TBSRequest, id_pkix_ocsp_nonce } from '@peculiar/asn1-ocsp';
import { AlgorithmIdentifier, CRLReason, Extension, GeneralName } from '@peculiar/asn1-x509';
import fc from 'fast-check';
import { readCanonicalOcspRequest, readOcspRequestWithLibrary, type ParsedOcspRequest } from './ocsp-request-der';
import { encodeCertId, encodeGeneralizedTime, encodeResponseData, type SingleResponseFields } from './ocsp-response-der';
import { REVOCATION_REASON_CODES, type RevocationReason } from './revocation-reason';

const HASHES = ['1.3.14.3.2.26', '2.16.840.1.101.3.4.2.1', '2.16.840.1.101.3.4.2.2', '2.16.840.1.101.3.4.2.3'];
const NONCE = (bytes: Uint8Array) => new Extension({ extnID: id_pkix_ocsp_nonce, critical: false, extnValue: new OctetString(bytes) });

interface Shape {
  hash: string;
  nullParameters: boolean;
  serials: Uint8Array[];
  nonce?: Uint8Array;
  otherExtension?: boolean;
}

const certId = (hash: string, nullParameters: boolean, serial: Uint8Array) =>
  new CertID({
    hashAlgorithm: new AlgorithmIdentifier(nullParameters ? { algorithm: hash, parameters: null } : { algorithm: hash }),
    issuerNameHash: new OctetString(randomBytes(hash === HASHES[0] ? 20 : 32)),
    issuerKeyHash: new OctetString(randomBytes(hash === HASHES[0] ? 20 : 32)),
    serialNumber: new Uint8Array(serial).buffer,
  });

const build = (shape: Shape, extra: Partial<TBSRequest> = {}, request: Partial<OCSPRequest> = {}) => {
  const extensions = [
    ...(shape.otherExtension ? [new Extension({ extnID: '1.3.6.1.5.5.7.48.1.4', extnValue: new OctetString(Uint8Array.of(0x30, 0x00)) })] : []),
    ...(shape.nonce ? [NONCE(shape.nonce)] : []),
  ];
  return new Uint8Array(
    AsnConvert.serialize(
      new OCSPRequest({
        tbsRequest: new TBSRequest({
          requestList: shape.serials.map((serial) => new Request({ reqCert: certId(shape.hash, shape.nullParameters, serial) })),
          ...(extensions.length > 0 ? { requestExtensions: extensions } : {}),
          ...extra,
        }),
        ...request,
      }),
    ),
  );
};

/** Positive, minimal INTEGER contents, as CAs write serial numbers (a leading 0 before a high bit). */
const serialArbitrary = fc.uint8Array({ minLength: 1, maxLength: 20 }).map((bytes) => {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0 && bytes[start + 1]! < 0x80) start++;
  const trimmed = bytes.subarray(start);
  return trimmed[0]! & 0x80 ? Uint8Array.of(0, ...trimmed) : Uint8Array.from(trimmed);
});

const shapeArbitrary: fc.Arbitrary<Shape> = fc.record({
  hash: fc.constantFrom(...HASHES),
  nullParameters: fc.boolean(),
  serials: fc.array(serialArbitrary, { minLength: 1, maxLength: 3 }),
  nonce: fc.option(fc.uint8Array({ minLength: 1, maxLength: 40 }), { nil: undefined }),
  otherExtension: fc.boolean(),
});

const hex = (parsed: ParsedOcspRequest) => ({
  certificates: parsed.certificates.map((c) => ({
    der: Buffer.from(c.der).toString('hex'),
    hashAlgorithm: c.hashAlgorithm,
    issuerNameHash: Buffer.from(c.issuerNameHash).toString('hex'),
    issuerKeyHash: Buffer.from(c.issuerKeyHash).toString('hex'),
    serialNumber: Buffer.from(c.serialNumber).toString('hex'),
  })),
  nonce: parsed.nonce === undefined ? undefined : Buffer.from(parsed.nonce).toString('hex'),
});

const libraryOrUndefined = (der: Uint8Array) => {
  try {
    return readOcspRequestWithLibrary(der);
  } catch {
    return undefined;
  }
};

describe('OCSP requests read by hand agree with @peculiar/asn1-ocsp', () => {
  it('reads every common-form request (hashes, NULL or absent parameters, several certificates, nonce, other extensions) as the library does', () => {
    fc.assert(
      fc.property(shapeArbitrary, (shape) => {
        const der = build(shape);
        const canonical = readCanonicalOcspRequest(der);
        expect(canonical).toBeDefined();
        expect(hex(canonical!)).toEqual(hex(readOcspRequestWithLibrary(der)));
        expect(canonical!.certificates).toHaveLength(shape.serials.length);
        expect(canonical!.nonce === undefined ? undefined : Buffer.from(canonical!.nonce).toString('hex')).toBe(shape.nonce === undefined ? undefined : Buffer.from(shape.nonce).toString('hex'));
      }),
      { numRuns: 300 },
    );
  });

  it('leaves the other forms to the library, which still reads them', () => {
    const shape: Shape = { hash: HASHES[0]!, nullParameters: true, serials: [Uint8Array.of(0x0a)] };
    // The library leaves out a version equal to the DEFAULT (v1): spliced in by hand.
    const plain = build(shape);
    const withVersion = Uint8Array.of(0x30, plain[1]! + 5, 0x30, plain[3]! + 5, 0xa0, 0x03, 0x02, 0x01, 0x00, ...plain.subarray(4));
    const others = {
      'version [0] written out': withVersion,
      'a requestor name [1]': build(shape, { requestorName: new GeneralName({ dNSName: 'client.example' }) }),
      'a signature [0]': build(shape, {}, { optionalSignature: new Signature({ signatureAlgorithm: new AlgorithmIdentifier({ algorithm: '1.2.840.10045.4.3.2' }), signature: new Uint8Array(8).buffer }) }),
      'a critical nonce': build({ ...shape, serials: [Uint8Array.of(1)] }, { requestExtensions: [new Extension({ extnID: id_pkix_ocsp_nonce, critical: true, extnValue: new OctetString(Uint8Array.of(4, 1, 7)) })] }),
      'a negative serial number': build({ ...shape, serials: [Uint8Array.of(0x80, 1)] }),
      'a serial number with a needless leading zero': build({ ...shape, serials: [Uint8Array.of(0, 1)] }),
      'an unknown hash': build({ ...shape, hash: '1.2.3.4' }),
    };
    for (const [what, der] of Object.entries(others)) {
      expect([what, readCanonicalOcspRequest(der)]).toEqual([what, undefined]);
      expect([what, readOcspRequestWithLibrary(der).certificates.length]).toEqual([what, 1]);
    }
  });

  it('on mutated and truncated requests: whatever the hand reading accepts, the library reads the same way', () => {
    const mutated = fc
      .tuple(shapeArbitrary, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean())
      .map(([shape, at, value, truncate]) => {
        const der = build(shape);
        const index = at % der.length;
        if (truncate) return der.subarray(0, index);
        const copy = new Uint8Array(der);
        copy[index] = value;
        return copy;
      });
    let accepted = 0;
    fc.assert(
      fc.property(mutated, (der) => {
        const canonical = readCanonicalOcspRequest(der);
        if (canonical === undefined) return;
        accepted++;
        const library = libraryOrUndefined(der);
        expect(library).toBeDefined();
        expect(hex(canonical)).toEqual(hex(library!));
      }),
      { numRuns: 2000 },
    );
    // Mutations inside hashes, serial numbers and nonces keep the form: the comparison above ran.
    expect(accepted).toBeGreaterThan(200);
  });
});

describe('OCSP ResponseData written by hand as the library writes it', () => {
  const reasons = Object.keys(REVOCATION_REASON_CODES) as RevocationReason[];
  const date = fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('9000-12-31T23:59:59.999Z'), noInvalidDate: true });
  const status: fc.Arbitrary<SingleResponseFields['status']> = fc.oneof(
    fc.constant({ status: 'good' as const }),
    fc.constant({ status: 'unknown' as const }),
    fc.record({ status: fc.constant('revoked' as const), revokedAt: date, reason: fc.option(fc.constantFrom(...reasons), { nil: undefined }) }).map((s) =>
      s.reason === undefined ? { status: s.status, revokedAt: s.revokedAt } : s,
    ),
  );

  const libraryStatus = (s: SingleResponseFields['status']) => {
    if (s.status === 'good') return new CertStatus({ good: null });
    if (s.status === 'unknown') return new CertStatus({ unknown: null });
    return new CertStatus({
      revoked: new RevokedInfo({ revocationTime: s.revokedAt, ...(s.reason === undefined ? {} : { revocationReason: new CRLReason(REVOCATION_REASON_CODES[s.reason]) }) }),
    });
  };

  it('byte for byte: statuses, reasons, times with and without milliseconds, several responses, with and without nonce', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(serialArbitrary, status, date), { minLength: 1, maxLength: 3 }),
        date,
        fc.option(fc.uint8Array({ minLength: 1, maxLength: 40 }), { nil: undefined }),
        (singles, producedAt, nonceBytes) => {
          const keyHash = randomBytes(20);
          const ids = singles.map(([serial]) => certId(HASHES[0]!, true, serial));
          const nonce = nonceBytes === undefined ? undefined : new Uint8Array(AsnConvert.serialize(new OctetString(nonceBytes)));
          const mine = encodeResponseData({
            responderKeyHash: keyHash,
            producedAt,
            responses: singles.map(([, s, thisUpdate], k) => ({ certIdDer: new Uint8Array(AsnConvert.serialize(ids[k]!)), status: s, thisUpdate, nextUpdate: new Date(thisUpdate.getTime() + 3_600_000) })),
            ...(nonce === undefined ? {} : { nonce }),
          });
          const library = new ResponseData({
            responderID: new ResponderID({ byKey: new OctetString(keyHash) }),
            producedAt,
            responses: singles.map(([, s, thisUpdate], k) => new SingleResponse({ certID: ids[k]!, certStatus: libraryStatus(s), thisUpdate, nextUpdate: new Date(thisUpdate.getTime() + 3_600_000) })),
            ...(nonce === undefined ? {} : { responseExtensions: [new Extension({ extnID: id_pkix_ocsp_nonce, critical: false, extnValue: new OctetString(nonce) })] }),
          });
          expect(Buffer.from(mine).toString('hex')).toBe(Buffer.from(AsnConvert.serialize(library)).toString('hex'));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('GeneralizedTime: milliseconds written without trailing zeros (.5, .05, .123), none when zero', () => {
    const text = (iso: string) => Buffer.from(encodeGeneralizedTime(new Date(iso)).subarray(2)).toString('latin1');
    expect(text('2026-03-01T12:00:00.000Z')).toBe('20260301120000Z');
    expect(text('2026-03-01T12:00:00.500Z')).toBe('20260301120000.5Z');
    expect(text('2026-03-01T12:00:00.050Z')).toBe('20260301120000.05Z');
    expect(text('2026-03-01T12:00:00.123Z')).toBe('20260301120000.123Z');
  });

  it('CertID of a pre-signed answer as the library writes it', () => {
    fc.assert(
      fc.property(serialArbitrary, (serial) => {
        const id = certId(HASHES[0]!, true, serial);
        const mine = encodeCertId(Uint8Array.of(0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a), new Uint8Array(id.issuerNameHash.buffer), new Uint8Array(id.issuerKeyHash.buffer), serial);
        expect(Buffer.from(mine).toString('hex')).toBe(Buffer.from(AsnConvert.serialize(id)).toString('hex'));
      }),
      { numRuns: 200 },
    );
  });
});
