import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicOCSPResponse, OCSPResponse, OCSPResponseStatus } from '@peculiar/asn1-ocsp';
import fc from 'fast-check';
import { issueCertificate } from './issue-certificate';
import { decodeOcspGetPath, OcspResponder, type CertificateStatus } from './ocsp-responder';
import { ldevidProfile } from './profiles';
import { newSerialNumber } from './serial-number';
import { SoftwareKeyProvider } from './software-key-provider';
import { BASE_URL, createTestHierarchy } from './testing/hierarchy';
import { OCSPRequest, TBSRequest, Request, CertID } from '@peculiar/asn1-ocsp';
import { AlgorithmIdentifier, Extension, GeneralName, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { id_pkix_ocsp_nonce } from '@peculiar/asn1-ocsp';
import { readCanonicalOcspRequest } from './ocsp-request-der';
import { OctetString } from '@peculiar/asn1-schema';
import { createHash } from 'node:crypto';
import { authorityDetails } from './certificate-authority';
import { serialNumberToInteger } from './serial-number';
import { toArrayBuffer } from './sign-certificate';

const now = new Date('2026-03-01T12:00:00Z');

describe('OcspResponder', () => {
  let responder: OcspResponder;
  let request: (serial: string) => Uint8Array;
  const statuses = new Map<string, CertificateStatus>();
  let lookups = 0;
  let hierarchy: Awaited<ReturnType<typeof createTestHierarchy>>;
  let requestFor: (issuerDer: Uint8Array, serial: string) => Uint8Array;

  beforeAll(async () => {
    hierarchy = await createTestHierarchy(now);
    responder = new OcspResponder({
      authorities: [{ ca: hierarchy.issuing, signer: hierarchy.issuingOcspSigner }],
      lookup: (_caId, serial) => {
        lookups++;
        return statuses.get(serial) ?? { status: 'unknown' };
      },
    });
    requestFor = (issuerDer, serial) => {
      const issuer = authorityDetails(issuerDer);
      const spki = AsnConvert.parse(issuer.subjectPublicKeyInfo, SubjectPublicKeyInfo);
      return new Uint8Array(
        AsnConvert.serialize(
          new OCSPRequest({
            tbsRequest: new TBSRequest({
              requestList: [
                new Request({
                  reqCert: new CertID({
                    hashAlgorithm: new AlgorithmIdentifier({ algorithm: '2.16.840.1.101.3.4.2.1', parameters: null }),
                    issuerNameHash: new OctetString(createHash('sha256').update(issuer.nameDer).digest()),
                    issuerKeyHash: new OctetString(createHash('sha256').update(new Uint8Array(spki.subjectPublicKey)).digest()),
                    serialNumber: toArrayBuffer(serialNumberToInteger(serial)),
                  }),
                }),
              ],
            }),
          }),
        ),
      );
    };
    request = (serial) => requestFor(hierarchy.issuing.certificateDer, serial);
    const key = await SoftwareKeyProvider.generate('ECDSA-P256');
    const issued = await issueCertificate({ authority: hierarchy.issuing, profile: ldevidProfile(), device: { deviceId: 'd' }, subjectPublicKeyInfo: key.subjectPublicKeyInfo, serialNumber: newSerialNumber(), now, baseUrl: BASE_URL });
    statuses.set(issued.serialNumber, { status: 'good' });
  });

  const statusOf = (der: Uint8Array): { status: OCSPResponseStatus; certStatus?: string } => {
    const response = AsnConvert.parse(der, OCSPResponse);
    if (!response.responseBytes) return { status: response.responseStatus };
    const basic = AsnConvert.parse(response.responseBytes.response, BasicOCSPResponse);
    const certStatus = basic.tbsResponseData.responses[0]!.certStatus;
    return { status: response.responseStatus, certStatus: certStatus.good === null ? 'good' : certStatus.revoked ? 'revoked' : 'unknown' };
  };

  it('answers from the cache until the entry is invalidated on revocation', async () => {
    const serial = [...statuses.keys()][0]!;
    const before = lookups;
    expect(statusOf(await responder.respond(request(serial), now))).toEqual({ status: OCSPResponseStatus.successful, certStatus: 'good' });
    expect(lookups).toBe(before + 1);
    await responder.respond(request(serial), now);
    expect(lookups).toBe(before + 1);
    statuses.set(serial, { status: 'revoked', revokedAt: now, reason: 'superseded' });
    expect(statusOf(await responder.respond(request(serial), now)).certStatus).toBe('good');
    responder.invalidate('issuing-1', serial);
    expect(statusOf(await responder.respond(request(serial), now)).certStatus).toBe('revoked');
    statuses.set(serial, { status: 'good' });
  });

  it('re-signs a cached response once half its validity has passed', async () => {
    const serial = [...statuses.keys()][0]!;
    responder.invalidate('issuing-1', serial);
    await responder.respond(request(serial), now);
    const before = lookups;
    await responder.respond(request(serial), new Date(now.getTime() + 1_700_000));
    expect(lookups).toBe(before);
    await responder.respond(request(serial), new Date(now.getTime() + 1_800_000));
    expect(lookups).toBe(before + 1);
  });

  it('answers a request in a form the hand-written reader leaves to the library (a requestor name) as it answers the common form', async () => {
    const serial = [...statuses.keys()][0]!;
    const nonce = Uint8Array.of(0x04, 0x04, 1, 2, 3, 4);
    const variant = (extra: Partial<TBSRequest>) => {
      const parsed = AsnConvert.parse(request(serial), OCSPRequest);
      Object.assign(parsed.tbsRequest, { requestExtensions: [new Extension({ extnID: id_pkix_ocsp_nonce, extnValue: new OctetString(nonce) })] }, extra);
      return new Uint8Array(AsnConvert.serialize(parsed));
    };
    const common = variant({});
    const other = variant({ requestorName: new GeneralName({ dNSName: 'client.example' }) });
    expect(readCanonicalOcspRequest(common)).toBeDefined();
    expect(readCanonicalOcspRequest(other)).toBeUndefined();
    const hex = (bytes: ArrayBuffer | Uint8Array) => Buffer.from(bytes as Uint8Array).toString('hex');
    const answers = await Promise.all(
      [common, other].map(async (der) => {
        const response = AsnConvert.parse(await responder.respond(der, now), OCSPResponse);
        const data = AsnConvert.parse(response.responseBytes!.response, BasicOCSPResponse).tbsResponseData;
        return { certId: hex(AsnConvert.serialize(data.responses[0]!.certID)), status: statusOf(await responder.respond(der, now)).certStatus, nonce: hex(data.responseExtensions![0]!.extnValue.buffer) };
      }),
    );
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[0]).toEqual({ certId: hex(AsnConvert.serialize(AsnConvert.parse(request(serial), OCSPRequest).tbsRequest.requestList[0]!.reqCert)), status: 'good', nonce: hex(nonce) });
  });

  it("loads a CA's signer on the first request about that CA: a failed load fails that CA's requests only, and the next request loads it again", async () => {
    let loads = 0;
    const lazy = new OcspResponder({
      authorities: [
        {
          ca: { caId: 'issuing', certificateDer: hierarchy.issuing.certificateDer },
          signer: async () => {
            if (++loads === 1) throw new Error('token not present');
            return hierarchy.issuingOcspSigner;
          },
        },
        { ca: hierarchy.factory, signer: hierarchy.factoryOcspSigner },
      ],
      lookup: () => ({ status: 'good' }),
    });
    const statusOf = (der: Uint8Array) => AsnConvert.parse(der, OCSPResponse).responseStatus;
    expect(loads).toBe(0);
    await expect(lazy.respond(request('01'), now)).rejects.toThrow('token not present');
    expect(statusOf(await lazy.respond(requestFor(hierarchy.factory.certificateDer, '01'), now))).toBe(OCSPResponseStatus.successful);
    expect(statusOf(await lazy.respond(request('01'), now))).toBe(OCSPResponseStatus.successful);
    expect(statusOf(await lazy.respond(request('02'), now))).toBe(OCSPResponseStatus.successful);
    expect(loads).toBe(2);
  });

  it('answers unknown for a serial it never issued', async () => {
    expect(statusOf(await responder.respond(request(newSerialNumber()), now)).certStatus).toBe('unknown');
  });

  it('decodes the GET form: URL-encoded base64 and base64url', () => {
    const der = request('0a');
    const base64 = Buffer.from(der).toString('base64');
    expect(decodeOcspGetPath(encodeURIComponent(base64))).toEqual(der);
    expect(decodeOcspGetPath(Buffer.from(der).toString('base64url'))).toEqual(der);
    expect(decodeOcspGetPath('%E0%A4%A')).toBeUndefined();
    expect(decodeOcspGetPath('not base64!')).toBeUndefined();
  });

  it('never throws: random bytes and mutated requests get a response', async () => {
    const valid = request('0a');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }),
          fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, value]) => {
            const copy = new Uint8Array(valid);
            copy[at] = value;
            return copy;
          }),
        ),
        async (bytes) => {
          const status = statusOf(await responder.respond(bytes, now)).status;
          return [OCSPResponseStatus.successful, OCSPResponseStatus.malformedRequest, OCSPResponseStatus.unauthorized].includes(status);
        },
      ),
      { numRuns: 500 },
    );
  });
});
