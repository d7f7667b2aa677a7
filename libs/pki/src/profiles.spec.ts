import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, CertificatePolicies, ExtendedKeyUsage, SubjectAlternativeName, id_ce_certificatePolicies, id_ce_extKeyUsage, id_ce_subjectAltName } from '@peculiar/asn1-x509';
import { issueCertificate } from './issue-certificate';
import { idevidProfile, ldevidProfile, profileFromTemplate } from './profiles';
import { newSerialNumber } from './serial-number';
import { SoftwareKeyProvider } from './software-key-provider';
import { BASE_URL, createTestHierarchy } from './testing/hierarchy';
import { spkiSha256 } from './fingerprints';

const now = new Date('2026-03-01T12:00:00Z');

describe('certificate profiles', () => {
  let hierarchy: Awaited<ReturnType<typeof createTestHierarchy>>;
  let deviceKey: SoftwareKeyProvider;
  beforeAll(async () => {
    hierarchy = await createTestHierarchy(now);
    deviceKey = await SoftwareKeyProvider.generate('ECDSA-P256');
  });
  const issue = (profile: ReturnType<typeof ldevidProfile>, device = { deviceId: 'device-0001', serialNumber: 'SN-0001' }) =>
    issueCertificate({ authority: hierarchy.issuing, profile, device, subjectPublicKeyInfo: deviceKey.subjectPublicKeyInfo, serialNumber: newSerialNumber(), now, baseUrl: BASE_URL });
  const extension = <T>(der: Uint8Array, oid: string, type: new () => T): T | undefined => {
    const found = AsnConvert.parse(der, Certificate).tbsCertificate.extensions?.find((candidate) => candidate.extnID === oid);
    return found ? AsnConvert.parse(found.extnValue, type) : undefined;
  };

  it('LDevID lasts a year by default, or the configured number of days', async () => {
    expect((await issue(ldevidProfile())).notAfter.toISOString()).toBe('2027-03-01T12:00:00.000Z');
    expect((await issue(ldevidProfile({ validityDays: 30 }))).notAfter.toISOString()).toBe('2026-03-31T12:00:00.000Z');
  });

  it('IDevID needs the device serial number', async () => {
    await expect(issue(idevidProfile(), { deviceId: 'd', serialNumber: undefined as unknown as string })).rejects.toMatchObject({ code: 'pki-configuration-invalid' });
  });

  it('a JSON template adds subject attributes, SAN URIs, policies and EKUs', async () => {
    const profile = profileFromTemplate({
      name: 'plant-ldevid',
      base: 'LDevID',
      validityDays: 90,
      subject: [{ type: 'O', value: 'ACME Plant 7' }],
      sanUris: ['urn:dev:ops:acme-{serialNumber}'],
      policies: ['1.3.6.1.4.1.99999.1.1'],
      extendedKeyUsages: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'],
    });
    const issued = await issue(profile);
    expect(extension(issued.der, id_ce_subjectAltName, SubjectAlternativeName)?.[0]?.uniformResourceIdentifier).toBe('urn:dev:ops:acme-SN-0001');
    expect(extension(issued.der, id_ce_certificatePolicies, CertificatePolicies)?.[0]?.policyIdentifier).toBe('1.3.6.1.4.1.99999.1.1');
    expect([...(extension(issued.der, id_ce_extKeyUsage, ExtendedKeyUsage) ?? [])]).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(issued.subjectPublicKeyInfoSha256).toBe(spkiSha256(deviceKey.subjectPublicKeyInfo));
    expect(issued.notAfter.toISOString()).toBe('2026-05-30T12:00:00.000Z');
    // What the template asks for, before any CA is chosen (the ledger picks a CA that lasts that long).
    expect(profile.notAfter(now).toISOString()).toBe('2026-05-30T12:00:00.000Z');
  });

  it('tells the notAfter it asks for without a device: LDevID its days, IDevID 99991231235959Z', () => {
    expect(ldevidProfile({ validityDays: 30 }).notAfter(now).toISOString()).toBe('2026-03-31T12:00:00.000Z');
    expect(idevidProfile().notAfter(now).toISOString()).toBe('9999-12-31T23:59:59.000Z');
    expect(profileFromTemplate({ name: 'plant-idevid', base: 'IDevID' }).notAfter(now).toISOString()).toBe('9999-12-31T23:59:59.000Z');
  });

  it('names every invalid template field', () => {
    expect(() => profileFromTemplate({ name: 'x', base: 'Other', policies: ['not-an-oid'], surprise: 1 })).toThrow(/base.*policies\.0|policies\.0.*base/s);
  });
});
