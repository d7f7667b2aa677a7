import { X509Certificate } from 'node:crypto';
import { createOcspSignerCertificate, createRootCaCertificate, createSubordinateCaCertificate } from './ca-certificate';
import type { CertificateAuthority } from './certificate-authority';
import { CaCertificateNotValid, PkiError } from './errors';
import { issueCertificate, type IssueCertificateInput } from './issue-certificate';
import { idevidProfile, ldevidProfile } from './profiles';
import { newSerialNumber } from './serial-number';
import { SoftwareKeyProvider } from './software-key-provider';
import { addDays } from './validity';

// No certificate outlives its CA's (RFC 5280 §6.1.3 checks the validity of every certificate of
// the path): what a CA signs is cut to the CA's own notAfter, and a CA whose certificate is not
// valid at the time of signing signs nothing. Dates are read back with node:crypto's parser.

const T0 = new Date('2026-03-01T00:00:00Z');
const BASE_URL = 'http://127.0.0.1:3000';
const validTo = (der: Uint8Array) => new X509Certificate(Buffer.from(der)).validToDate.toISOString();

let root: CertificateAuthority;
let issuing: CertificateAuthority;
let factory: CertificateAuthority;
let device: SoftwareKeyProvider;

beforeAll(async () => {
  const rootKey = await SoftwareKeyProvider.generate('ECDSA-P256');
  // The root itself ends after 400 days.
  root = { caId: 'root', key: rootKey, certificateDer: await createRootCaCertificate({ subject: [{ type: 'CN', value: 'Validity Root' }], key: rootKey, serialNumber: newSerialNumber(), now: T0, notAfter: addDays(T0, 400) }) };
  const subordinate = async (caId: string, role: 'issuing' | 'factory', notAfter: Date | undefined): Promise<CertificateAuthority> => {
    const key = await SoftwareKeyProvider.generate('ECDSA-P256');
    const certificateDer = await createSubordinateCaCertificate({ role, subject: [{ type: 'CN', value: caId }], subjectPublicKeyInfo: key.subjectPublicKeyInfo, parent: root, serialNumber: newSerialNumber(), now: T0, baseUrl: BASE_URL, ...(notAfter ? { notAfter } : {}) });
    return { caId, key, certificateDer };
  };
  issuing = await subordinate('issuing', 'issuing', addDays(T0, 30));
  // Asked for 99991231235959Z, as factory CAs are by default: cut to the root's end.
  factory = await subordinate('factory', 'factory', undefined);
  device = await SoftwareKeyProvider.generate('ECDSA-P256');
});

const issue = (authority: CertificateAuthority, now: Date, profile = ldevidProfile({ validityDays: 365 })) => {
  const input: IssueCertificateInput = { authority, profile, device: { deviceId: 'device-1', serialNumber: 'SN-1' }, subjectPublicKeyInfo: device.subjectPublicKeyInfo, serialNumber: newSerialNumber(), now, baseUrl: BASE_URL };
  return issueCertificate(input);
};

it("cuts a subordinate CA's notAfter to its parent's", () => {
  expect(validTo(factory.certificateDer)).toBe(addDays(T0, 400).toISOString());
  expect(validTo(issuing.certificateDer)).toBe(addDays(T0, 30).toISOString());
});

it("cuts an LDevID or IDevID to the CA's notAfter, in the certificate and in what issueCertificate answers, and leaves a shorter one as the profile makes it", async () => {
  const cut = await issue(issuing, addDays(T0, 1));
  expect(validTo(cut.der)).toBe(addDays(T0, 30).toISOString());
  expect(cut.notAfter.toISOString()).toBe(addDays(T0, 30).toISOString());
  expect(new X509Certificate(Buffer.from(cut.der)).verify(new X509Certificate(Buffer.from(issuing.certificateDer)).publicKey)).toBe(true);

  // Issued at a time with milliseconds: what issueCertificate answers (and the ledger records) is the certificate's whole second.
  const short = await issue(issuing, new Date(addDays(T0, 1).getTime() + 250), ldevidProfile({ validityDays: 10 }));
  expect(validTo(short.der)).toBe(addDays(T0, 11).toISOString());
  expect(short.notAfter.toISOString()).toBe(addDays(T0, 11).toISOString());
  expect(short.notBefore.toISOString()).toBe(addDays(T0, 1).toISOString());

  const idevid = await issue(factory, addDays(T0, 1), idevidProfile());
  expect(validTo(idevid.der)).toBe(addDays(T0, 400).toISOString());
});

it("cuts an OCSP signer's 365 days to the CA's notAfter", async () => {
  const key = await SoftwareKeyProvider.generate('ECDSA-P256');
  const der = await createOcspSignerCertificate({ subject: [{ type: 'CN', value: 'signer' }], subjectPublicKeyInfo: key.subjectPublicKeyInfo, ca: issuing, serialNumber: newSerialNumber(), now: addDays(T0, 20) });
  expect(validTo(der)).toBe(addDays(T0, 30).toISOString());
});

it('refuses to sign with a CA whose certificate has expired or is not yet valid: a typed 409, not retriable', async () => {
  const expired = await issue(issuing, new Date(addDays(T0, 30).getTime() + 1000)).catch((error: unknown) => error);
  expect(expired).toBeInstanceOf(CaCertificateNotValid);
  expect(expired).toBeInstanceOf(PkiError);
  expect(expired).toMatchObject({ code: 'ca-certificate-expired', status: 409, retriable: false, caId: 'issuing' });
  expect((expired as Error).message).toContain('2026-03-31T00:00:00.000Z');

  const early = await issue(issuing, new Date(T0.getTime() - 1000)).catch((error: unknown) => error);
  expect(early).toMatchObject({ code: 'ca-certificate-not-yet-valid', status: 409 });

  // Its last second still signs (RFC 5280 §4.1.2.5: the validity period includes notAfter).
  expect(validTo((await issue(issuing, addDays(T0, 30))).der)).toBe(addDays(T0, 30).toISOString());
});

it('refuses a subordinate CA or an OCSP signer under an expired CA', async () => {
  const key = await SoftwareKeyProvider.generate('ECDSA-P256');
  const late = addDays(T0, 401);
  await expect(
    createSubordinateCaCertificate({ role: 'issuing', subject: [{ type: 'CN', value: 'late' }], subjectPublicKeyInfo: key.subjectPublicKeyInfo, parent: root, serialNumber: newSerialNumber(), now: late, baseUrl: BASE_URL }),
  ).rejects.toMatchObject({ code: 'ca-certificate-expired', caId: 'root' });
  await expect(
    createOcspSignerCertificate({ subject: [{ type: 'CN', value: 'late' }], subjectPublicKeyInfo: key.subjectPublicKeyInfo, ca: issuing, serialNumber: newSerialNumber(), now: addDays(T0, 31) }),
  ).rejects.toMatchObject({ code: 'ca-certificate-expired', caId: 'issuing' });
});
