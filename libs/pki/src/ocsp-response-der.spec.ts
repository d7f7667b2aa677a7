import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  BasicOCSPResponse,
  CertID,
  CertStatus,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  Request,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
  TBSRequest,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
} from '@peculiar/asn1-ocsp';
import { AlgorithmIdentifier, Certificate, CRLReason, Extension, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { authorityDetails } from './certificate-authority';
import { signatureAlgorithmIdentifier } from './key-provider';
import { encodeSuccessfulOcspResponse } from './ocsp-response-der';
import { OcspResponder, type CertificateStatus } from './ocsp-responder';
import { serialNumberToInteger } from './serial-number';
import { toArrayBuffer } from './sign-certificate';
import { createTestHierarchy, type TestHierarchy } from './testing/hierarchy';

const now = new Date('2026-03-01T12:00:00Z');

/** Reference: the same OCSPResponse composed from @peculiar/asn1-ocsp objects. */
const libraryResponse = (tbs: Uint8Array, algorithm: AlgorithmIdentifier, signature: Uint8Array, signerDer: Uint8Array) => {
  const basic = new BasicOCSPResponse({
    tbsResponseData: AsnConvert.parse(tbs, ResponseData),
    signatureAlgorithm: algorithm,
    signature: toArrayBuffer(signature),
    certs: [AsnConvert.parse(signerDer, Certificate)],
  });
  const response = new OCSPResponse({
    responseStatus: OCSPResponseStatus.successful,
    responseBytes: new ResponseBytes({ responseType: id_pkix_ocsp_basic, response: new OctetString(AsnConvert.serialize(basic)) }),
  });
  return Buffer.from(AsnConvert.serialize(response));
};

describe('the OCSP response envelope is written as the library writes it', () => {
  let hierarchy: TestHierarchy;
  beforeAll(async () => {
    hierarchy = await createTestHierarchy(now);
  });

  const single = (serial: number, certStatus: CertStatus) =>
    new SingleResponse({
      certID: new CertID({
        hashAlgorithm: new AlgorithmIdentifier({ algorithm: '1.3.14.3.2.26', parameters: null }),
        issuerNameHash: new OctetString(randomBytes(20)),
        issuerKeyHash: new OctetString(randomBytes(20)),
        serialNumber: toArrayBuffer(serialNumberToInteger(serial.toString(16))),
      }),
      certStatus,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + 3_600_000),
    });

  it.each([
    ['one good answer', 1, false, 72],
    ['sixteen answers of every status, a nonce (long lengths)', 16, true, 72],
    ['a P-384-sized signature', 2, false, 104],
    ['an Ed25519-sized signature', 1, true, 64],
  ])('%s', (_label, count, withNonce, signatureLength) => {
    const statuses = [
      new CertStatus({ good: null }),
      new CertStatus({ unknown: null }),
      new CertStatus({ revoked: new RevokedInfo({ revocationTime: now, revocationReason: new CRLReason(1) }) }),
      new CertStatus({ revoked: new RevokedInfo({ revocationTime: now }) }),
    ];
    const tbs = new Uint8Array(
      AsnConvert.serialize(
        new ResponseData({
          responderID: new ResponderID({ byKey: new OctetString(randomBytes(20)) }),
          producedAt: now,
          responses: Array.from({ length: count }, (_, i) => single(i + 1, statuses[i % statuses.length]!)),
          ...(withNonce ? { responseExtensions: [new Extension({ extnID: id_pkix_ocsp_nonce, critical: false, extnValue: new OctetString(randomBytes(18)) })] } : {}),
        }),
      ),
    );
    const signature = randomBytes(signatureLength);
    for (const algorithm of ['ECDSA-P256', 'ECDSA-P384', 'Ed25519'] as const) {
      const algorithmIdentifier = signatureAlgorithmIdentifier(algorithm);
      const ours = encodeSuccessfulOcspResponse(tbs, new Uint8Array(AsnConvert.serialize(algorithmIdentifier)), signature, hierarchy.issuingOcspSigner.certificateDer);
      expect(Buffer.from(ours).toString('hex')).toBe(libraryResponse(tbs, algorithmIdentifier, signature, hierarchy.issuingOcspSigner.certificateDer).toString('hex'));
    }
  });

  it.each<[string, CertificateStatus, boolean]>([
    ['good, no nonce', { status: 'good' }, false],
    ['revoked with a reason, nonce', { status: 'revoked', revokedAt: now, reason: 'keyCompromise' }, true],
    ['unknown, nonce', { status: 'unknown' }, true],
  ])('OcspResponder answers (%s) round-trip through the library unchanged, and verify with the signer key', async (_label, status, withNonce) => {
    const responder = new OcspResponder({ authorities: [{ ca: hierarchy.issuing, signer: hierarchy.issuingOcspSigner }], lookup: () => status });
    const issuer = authorityDetails(hierarchy.issuing.certificateDer);
    const keyBits = new Uint8Array(AsnConvert.parse(issuer.subjectPublicKeyInfo, SubjectPublicKeyInfo).subjectPublicKey);
    const request = new OCSPRequest({
      tbsRequest: new TBSRequest({
        requestList: [
          new Request({
            reqCert: new CertID({
              hashAlgorithm: new AlgorithmIdentifier({ algorithm: '1.3.14.3.2.26', parameters: null }),
              issuerNameHash: new OctetString(createHash('sha1').update(issuer.nameDer).digest()),
              issuerKeyHash: new OctetString(createHash('sha1').update(keyBits).digest()),
              serialNumber: toArrayBuffer(serialNumberToInteger('4a1f')),
            }),
          }),
        ],
        ...(withNonce ? { requestExtensions: [new Extension({ extnID: id_pkix_ocsp_nonce, critical: false, extnValue: new OctetString(Buffer.from('0410000102030405060708090a0b0c0d0e0f', 'hex')) })] } : {}),
      }),
    });
    const der = await responder.respond(new Uint8Array(AsnConvert.serialize(request)), now);
    const parsed = AsnConvert.parse(der, OCSPResponse);
    expect(Buffer.from(AsnConvert.serialize(parsed)).equals(Buffer.from(der))).toBe(true);
    const basic = AsnConvert.parse(parsed.responseBytes!.response.buffer, BasicOCSPResponse);
    expect(Buffer.from(AsnConvert.serialize(basic.certs![0]!)).equals(Buffer.from(hierarchy.issuingOcspSigner.certificateDer))).toBe(true);
    const tbs = Buffer.from(AsnConvert.serialize(basic.tbsResponseData));
    const signerKey = createPublicKey({ key: Buffer.from(hierarchy.issuingOcspSigner.key.subjectPublicKeyInfo), format: 'der', type: 'spki' });
    expect(verify('sha256', tbs, signerKey, Buffer.from(basic.signature))).toBe(true);
  });
});
