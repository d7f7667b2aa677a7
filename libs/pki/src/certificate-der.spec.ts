import 'reflect-metadata';
import { createHash, createPublicKey, ECDH, X509Certificate } from 'node:crypto';
import { X509Certificate as PeculiarCertificate } from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AttributeTypeAndValue, AttributeValue, Certificate, Name, RelativeDistinguishedName, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { authorityDetails, type CertificateAuthority } from './certificate-authority';
import { buildName, encodeName, type NameAttribute } from './distinguished-name';
import { PkiConfigurationError } from './errors';
import { authorityInfoAccessExtension, authorityKeyIdentifierExtension, crlDistributionPointsExtension, revocationUrls, subjectKeyIdentifierExtension } from './extensions';
import { canonicalSubjectPublicKeyInfo, keyIdentifier, spkiSha256 } from './fingerprints';
import { issueCertificate, type IssueCertificateInput } from './issue-certificate';
import type { KeyAlgorithm } from './key-provider';
import { idevidProfile, ldevidProfile, profileFromTemplate } from './profiles';
import { normalizeSerialNumber } from './serial-number';
import { signCertificate } from './sign-certificate';
import { SoftwareKeyProvider } from './software-key-provider';
import { BASE_URL, createTestHierarchy, type TestHierarchy } from './testing/hierarchy';

// issueCertificate frames the TBSCertificate from hand-written DER (certificate-der.ts); these
// tests hold it to the bytes the library path (signCertificate over @peculiar/asn1-x509 objects,
// as issueCertificate was written before) produces for the same input.

const now = new Date('2026-03-01T12:00:00.250Z');

/** Reference: the certificate content built with library objects only. */
const libraryCertificate = (input: IssueCertificateInput): Promise<Uint8Array> => {
  const issuer = authorityDetails(input.authority.certificateDer);
  const decision = input.profile.apply(input.device, input.now);
  const urls = revocationUrls(input.baseUrl, input.authority.caId);
  const keyBits = new Uint8Array(AsnConvert.parse(input.subjectPublicKeyInfo, SubjectPublicKeyInfo).subjectPublicKey);
  // No certificate outlives its CA's: the profile's notAfter, cut to the CA's (read by node:crypto here).
  const caNotAfter = new Date(new X509Certificate(Buffer.from(input.authority.certificateDer)).validToDate);
  return signCertificate(
    {
      serialNumber: normalizeSerialNumber(input.serialNumber),
      issuer: issuer.name,
      subject: buildName(decision.subject),
      notBefore: new Date(Math.floor(input.now.getTime() / 1000) * 1000),
      notAfter: input.profile.notAfter(input.now) > caNotAfter ? caNotAfter : input.profile.notAfter(input.now),
      subjectPublicKeyInfo: input.subjectPublicKeyInfo,
      extensions: [
        ...decision.extensions,
        subjectKeyIdentifierExtension(new Uint8Array(createHash('sha1').update(keyBits).digest())),
        authorityKeyIdentifierExtension(issuer.keyIdentifier),
        crlDistributionPointsExtension(urls.crl),
        authorityInfoAccessExtension(urls.ocsp, urls.caIssuers),
      ],
    },
    input.authority.key,
  );
};

const tbsOf = (der: Uint8Array) => Buffer.from(AsnConvert.serialize(AsnConvert.parse(der, Certificate).tbsCertificate));

describe('issueCertificate writes the bytes the ASN.1 library writes', () => {
  let ecdsa: TestHierarchy;
  let ed25519: TestHierarchy;
  const deviceKeys = new Map<KeyAlgorithm, SoftwareKeyProvider>();
  beforeAll(async () => {
    ecdsa = await createTestHierarchy(now);
    ed25519 = await createTestHierarchy(now, undefined, { root: 'Ed25519', issuing: 'Ed25519', factory: 'Ed25519' });
    for (const algorithm of ['ECDSA-P256', 'ECDSA-P384', 'Ed25519', 'RSA-2048'] as const) deviceKeys.set(algorithm, await SoftwareKeyProvider.generate(algorithm));
  });

  const template = profileFromTemplate({
    name: 'plant',
    base: 'LDevID',
    validityDays: 30,
    subject: [{ type: 'O', value: 'ACME Gerätebau' }, { type: 'OU', value: 'Line {serialNumber}' }, { type: 'C', value: 'DE' }],
    sanUris: ['urn:dev:ops:acme-{deviceId}', 'https://acme.example/devices/{serialNumber}'],
    policies: ['1.3.6.1.4.1.99999.1.2', '2.23.140.1.2.1'],
    extendedKeyUsages: ['1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.1'],
  });
  const cases: [string, () => IssueCertificateInput['profile'], KeyAlgorithm, Partial<IssueCertificateInput>][] = [
    ['LDevID, P-256 device key', () => ldevidProfile(), 'ECDSA-P256', {}],
    ['LDevID, P-384 device key, serial with the top bit set', () => ldevidProfile(), 'ECDSA-P384', { serialNumber: 'ff00000000000000000000000000000001' }],
    ['LDevID, Ed25519 device key, short serial with leading zeros', () => ldevidProfile(), 'Ed25519', { serialNumber: '0001' }],
    ['LDevID, RSA device key', () => ldevidProfile(), 'RSA-2048', {}],
    ['LDevID valid past 2050 (GeneralizedTime with milliseconds)', () => ldevidProfile({ validityDays: 36_500 }), 'ECDSA-P256', {}],
    ['LDevID valid past 2050, whole seconds', () => ldevidProfile({ validityDays: 36_500 }), 'ECDSA-P256', { now: new Date('2026-03-01T12:00:00Z') }],
    ['IDevID (99991231235959Z)', () => idevidProfile(), 'ECDSA-P256', {}],
    ['template: subject attributes, SAN URIs, policies, EKUs', () => template, 'ECDSA-P256', {}],
    ['IDevID with a template subject', () => idevidProfile({ subject: [{ type: 'O', value: 'ACME' }, { type: 'dnQualifier', value: 'fab-7' }] }), 'ECDSA-P256', {}],
  ];

  it.each(cases)('%s (Ed25519 CA: whole certificate)', async (_label, profile, keyAlgorithm, overrides) => {
    const input: IssueCertificateInput = {
      authority: ed25519.issuing,
      profile: profile(),
      device: { deviceId: 'Gerät-0001 𝄞', serialNumber: 'SN-0001' },
      subjectPublicKeyInfo: deviceKeys.get(keyAlgorithm)!.subjectPublicKeyInfo,
      serialNumber: '4a1f00000000000000000000000000ee',
      now,
      baseUrl: BASE_URL,
      ...overrides,
    };
    const issued = await issueCertificate(input);
    expect(Buffer.from(issued.der).toString('hex')).toBe(Buffer.from(await libraryCertificate(input)).toString('hex'));
  });

  it.each(cases)('%s (P-256 CA: TBS, and the signature verifies)', async (_label, profile, keyAlgorithm, overrides) => {
    const input: IssueCertificateInput = {
      authority: ecdsa.issuing,
      profile: profile(),
      device: { deviceId: 'device-0001', serialNumber: 'SN-0001' },
      subjectPublicKeyInfo: deviceKeys.get(keyAlgorithm)!.subjectPublicKeyInfo,
      serialNumber: '4a1f00000000000000000000000000ee',
      now,
      baseUrl: `${BASE_URL}/`,
      ...overrides,
    };
    const issued = await issueCertificate(input);
    expect(tbsOf(issued.der).toString('hex')).toBe(tbsOf(await libraryCertificate(input)).toString('hex'));
    const issuer = new X509Certificate(Buffer.from(ecdsa.issuing.certificateDer));
    expect(new X509Certificate(Buffer.from(issued.der)).verify(issuer.publicKey)).toBe(true);
    // The PEM, framed when asked for, is the same certificate.
    expect(new X509Certificate(issued.pem).raw.equals(Buffer.from(issued.der))).toBe(true);
    expect(issued.pem).toMatch(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/);
  });

  it('keeps the per-CA extensions apart when one CA is used with two base URLs, and two CAs with one', async () => {
    const input = (authority: CertificateAuthority, baseUrl: string): IssueCertificateInput => ({
      authority,
      profile: ldevidProfile(),
      device: { deviceId: 'device-0001' },
      subjectPublicKeyInfo: deviceKeys.get('ECDSA-P256')!.subjectPublicKeyInfo,
      serialNumber: '01',
      now,
      baseUrl,
    });
    for (const [authority, baseUrl] of [
      [ed25519.issuing, 'https://a.example'],
      [ed25519.issuing, 'https://b.example'],
      [ed25519.factory, 'https://b.example'],
      [ed25519.issuing, 'https://a.example'],
    ] as const) {
      const issued = await issueCertificate(input(authority, baseUrl));
      expect(Buffer.from(issued.der).equals(Buffer.from(await libraryCertificate(input(authority, baseUrl))))).toBe(true);
    }
  });
});

describe('issueCertificate gives the subject as text, as @peculiar/x509 reads it from the certificate', () => {
  it.each<[string, NameAttribute[]]>([
    ['CN and O with characters to escape', [{ type: 'O', value: 'ACME, Inc. + "Sons" <x>;\\' }, { type: 'CN', value: 'device-0001' }]],
    ['leading # and spaces, trailing space', [{ type: 'OU', value: '#7 line ' }, { type: 'L', value: ' Köln' }, { type: 'CN', value: 'd' }]],
    ['control characters (the first one hex-escaped)', [{ type: 'CN', value: 'a\nb\tc\nd' }]],
    ['types without a short name', [{ type: 'C', value: 'DE' }, { type: 'ST', value: 'NRW' }, { type: 'dnQualifier', value: 'q-1' }, { type: '1.3.6.1.4.1.99999.7', value: 'x' }, { type: 'CN', value: 'Gerät 𝄞' }, { type: 'serialNumber', value: 'SN 1' }]],
  ])('%s', async (_label, subject) => {
    const hierarchy = await createTestHierarchy(now);
    const issued = await issueCertificate({
      authority: hierarchy.issuing,
      profile: idevidProfile({ subject: subject.slice(0, -1) }),
      device: { deviceId: subject[subject.length - 1]!.value, serialNumber: 'SN-1' },
      subjectPublicKeyInfo: hierarchy.issuing.key.subjectPublicKeyInfo,
      serialNumber: '01',
      now,
      baseUrl: BASE_URL,
    });
    expect(issued.subject).toBe(new PeculiarCertificate(Buffer.from(issued.der)).subject);
  });
});

describe('hand-written DER pieces match the library', () => {
  const rdn = (type: string, value: AttributeValue) => new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value })]);
  const outcome = (encode: () => Uint8Array): string => {
    try {
      return Buffer.from(encode()).toString('hex');
    } catch (error) {
      return `${(error as Error).constructor.name}: ${(error as Error).message}`;
    }
  };

  it.each<[string, NameAttribute[]]>([
    ['a CN', [{ type: 'CN', value: '3f2a8c1e-0000-4000-8000-000000000001' }]],
    ['every short name', [{ type: 'C', value: 'DE' }, { type: 'ST', value: 'Bayern' }, { type: 'L', value: 'München' }, { type: 'O', value: 'ACME' }, { type: 'OU', value: 'Line 7' }, { type: 'CN', value: 'dev' }, { type: 'serialNumber', value: 'SN-1' }, { type: 'dnQualifier', value: 'q' }]],
    ['a dotted OID with long arcs', [{ type: '1.3.6.1.4.1.311.60.2.1.3', value: 'x' }, { type: '2.999.16384', value: 'y' }]],
    ['non-ASCII and astral characters', [{ type: 'CN', value: 'Gerät-€-𝄞-日本' }]],
    ['64 characters', [{ type: 'CN', value: 'x'.repeat(64) }]],
    ['a long UTF-8 value (multi-octet length)', [{ type: 'CN', value: '€'.repeat(60) }]],
    ['no attributes', []],
    ['65 characters (refused)', [{ type: 'CN', value: 'x'.repeat(65) }]],
    ['a non-printable serialNumber (refused)', [{ type: 'serialNumber', value: 'SN_1' }]],
    ['an unknown short name (refused)', [{ type: 'XX', value: 'v' }]],
    ['a lone surrogate', [{ type: 'CN', value: 'a\ud800b' }]],
  ])('encodeName: %s', (_label, attributes) => {
    expect(outcome(() => encodeName(attributes))).toBe(outcome(() => new Uint8Array(AsnConvert.serialize(buildName(attributes)))));
  });

  it('encodeName refuses with the same typed error as buildName', () => {
    expect(() => encodeName([{ type: 'CN', value: '' }])).toThrow(PkiConfigurationError);
  });

  it('keyIdentifier is SHA-1 of the subjectPublicKey bits for every key type, and for a non-DER SPKI too', async () => {
    const reference = (spki: Uint8Array) => createHash('sha1').update(new Uint8Array(AsnConvert.parse(spki, SubjectPublicKeyInfo).subjectPublicKey)).digest('hex');
    for (const algorithm of ['ECDSA-P256', 'ECDSA-P384', 'Ed25519', 'RSA-2048'] as const) {
      const spki = (await SoftwareKeyProvider.generate(algorithm)).subjectPublicKeyInfo;
      expect(Buffer.from(keyIdentifier(spki)).toString('hex')).toBe(reference(spki));
    }
    // The same P-256 SPKI with a non-minimal (BER) outer length: read by the library, same bits.
    const spki = (await SoftwareKeyProvider.generate('ECDSA-P256')).subjectPublicKeyInfo;
    const ber = Uint8Array.from([0x30, 0x81, spki[1]!, ...spki.subarray(2)]);
    expect(Buffer.from(keyIdentifier(ber)).toString('hex')).toBe(reference(spki));
  });

  it('spkiSha256 hashes an already canonical key as is, and any other encoding after canonicalising it', async () => {
    const reference = (spki: Uint8Array) => createHash('sha256').update(canonicalSubjectPublicKeyInfo(createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }))).digest('hex');
    for (const algorithm of ['ECDSA-P256', 'ECDSA-P384', 'Ed25519', 'RSA-2048'] as const) {
      const spki = (await SoftwareKeyProvider.generate(algorithm)).subjectPublicKeyInfo;
      expect(spkiSha256(spki)).toBe(reference(spki));
    }
    const uncompressed = (await SoftwareKeyProvider.generate('ECDSA-P256')).subjectPublicKeyInfo;
    const point = uncompressed.subarray(26);
    const compressedPoint = ECDH.convertKey(Buffer.from(point), 'prime256v1', undefined, undefined, 'compressed') as Buffer;
    const compressed = Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), compressedPoint]);
    expect(spkiSha256(compressed)).toBe(spkiSha256(uncompressed));
    const offCurve = Uint8Array.from(uncompressed);
    offCurve[offCurve.length - 1]! ^= 1;
    expect(() => spkiSha256(offCurve)).toThrow();
  });

  it('a library Name object and the hand-written one decode to the same subject', () => {
    const name = new Name([rdn('2.5.4.3', new AttributeValue({ utf8String: 'device-0001' }))]);
    expect(Buffer.from(encodeName([{ type: 'CN', value: 'device-0001' }])).equals(Buffer.from(AsnConvert.serialize(name)))).toBe(true);
  });
});
