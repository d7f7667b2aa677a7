export { PkiError, PkiConfigurationError, KeyProviderError, CaCertificateNotValid, validityRefusal } from './errors';
export { KEY_ALGORITHMS, signatureAlgorithmIdentifier, type KeyAlgorithm, type KeyProvider } from './key-provider';
export { proveKeyPair } from './key-proof';
export { SoftwareKeyProvider } from './software-key-provider';
export { Pkcs11KeyProvider, Pkcs11Token, type Pkcs11TokenOptions } from './pkcs11-key-provider';
export { newSerialNumber, normalizeSerialNumber } from './serial-number';
export { spkiSha256, sha256Hex, keyIdentifier } from './fingerprints';
export { buildName, type NameAttribute } from './distinguished-name';
export { revocationUrls } from './extensions';
export { NO_WELL_DEFINED_EXPIRATION, addDays, wholeSeconds } from './validity';
export { assertValidAt, authorityDetails, notAfterUnder, type CaRole, type CertificateAuthority, type AuthorityDetails } from './certificate-authority';
export {
  createRootCaCertificate,
  createSubordinateCaCertificate,
  createOcspSignerCertificate,
  type RootCaInput,
  type SubordinateCaInput,
  type OcspSignerInput,
} from './ca-certificate';
export {
  idevidProfile,
  ldevidProfile,
  profileFromTemplate,
  certificateTemplateSchema,
  type CertificateProfile,
  type CertificateTemplate,
  type DeviceIdentity,
  type ProfileDecision,
  type BaseProfileOptions,
} from './profiles';
export { issueCertificate, type IssueCertificateInput, type IssuedCertificate } from './issue-certificate';
export { issueCertificateForCsr, type CertificateForCsrInput } from './issue-certificate-for-csr';
export { toPem } from './sign-certificate';
export { checkCsr, checkCsrAsync, type CsrPolicyOptions, type CheckedCsr } from './csr-policy';
export { CsrRejected, CSR_REJECTION_CODES, type CsrRejectionCode } from './csr-rejected';
export { REVOCATION_REASON_CODES, type RevocationReason, type RevokedEntry } from './revocation-reason';
export { buildCrl, type CrlInput, type BuiltCrl } from './crl-builder';
export { OcspResponder, decodeOcspGetPath, type OcspAnswer, type OcspResponderOptions, type CertificateStatus, type CertificateStatusLookup } from './ocsp-responder';
