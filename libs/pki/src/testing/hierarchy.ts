import { createOcspSignerCertificate, createRootCaCertificate, createSubordinateCaCertificate } from '../ca-certificate';
import type { CertificateAuthority } from '../certificate-authority';
import type { KeyAlgorithm, KeyProvider } from '../key-provider';
import { newSerialNumber } from '../serial-number';
import { SoftwareKeyProvider } from '../software-key-provider';

export interface TestHierarchy {
  root: CertificateAuthority;
  issuing: CertificateAuthority;
  factory: CertificateAuthority;
  issuingOcspSigner: CertificateAuthority;
  factoryOcspSigner: CertificateAuthority;
}

export const BASE_URL = 'http://127.0.0.1:3000';

/** A root, an issuing CA, a factory CA and an OCSP signer per CA, keys from `newKey`. */
export async function createTestHierarchy(
  now: Date,
  newKey: (role: string, algorithm: KeyAlgorithm) => Promise<KeyProvider> = (_role, algorithm) => SoftwareKeyProvider.generate(algorithm),
  algorithms: { root: KeyAlgorithm; issuing: KeyAlgorithm; factory: KeyAlgorithm } = { root: 'ECDSA-P384', issuing: 'ECDSA-P256', factory: 'ECDSA-P256' },
): Promise<TestHierarchy> {
  const rootKey = await newKey('root', algorithms.root);
  const root: CertificateAuthority = {
    caId: 'root',
    key: rootKey,
    certificateDer: await createRootCaCertificate({ subject: [{ type: 'O', value: 'DevID Test' }, { type: 'CN', value: 'DevID Test Root' }], key: rootKey, serialNumber: newSerialNumber(), now }),
  };
  const subordinate = async (caId: string, role: 'issuing' | 'factory', algorithm: KeyAlgorithm): Promise<CertificateAuthority> => {
    const key = await newKey(caId, algorithm);
    const certificateDer = await createSubordinateCaCertificate({
      role,
      subject: [{ type: 'O', value: 'DevID Test' }, { type: 'CN', value: `DevID Test ${caId}` }],
      subjectPublicKeyInfo: key.subjectPublicKeyInfo,
      parent: root,
      serialNumber: newSerialNumber(),
      now,
      baseUrl: BASE_URL,
    });
    return { caId, key, certificateDer };
  };
  const issuing = await subordinate('issuing-1', 'issuing', algorithms.issuing);
  const factory = await subordinate('factory-1', 'factory', algorithms.factory);
  const ocspSigner = async (ca: CertificateAuthority): Promise<CertificateAuthority> => {
    const key = await newKey(`${ca.caId}-ocsp`, 'ECDSA-P256');
    const certificateDer = await createOcspSignerCertificate({
      subject: [{ type: 'CN', value: `OCSP signer ${ca.caId}` }],
      subjectPublicKeyInfo: key.subjectPublicKeyInfo,
      ca,
      serialNumber: newSerialNumber(),
      now,
    });
    return { caId: ca.caId, key, certificateDer };
  };
  return { root, issuing, factory, issuingOcspSigner: await ocspSigner(issuing), factoryOcspSigner: await ocspSigner(factory) };
}
