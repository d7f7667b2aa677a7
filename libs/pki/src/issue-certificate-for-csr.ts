import { checkCsrAsync, checkCsrUpToProof, type CheckedCsr, type CsrPolicyOptions } from './csr-policy';
import { checkSignatureOffThread } from './crypto-worker';
import { draftCertificate, issueCertificate, type CertificateDraft, type IssueCertificateInput, type IssuedCertificate } from './issue-certificate';

/** What `issueCertificate` needs besides the key, which comes from the CSR. */
export type CertificateForCsrInput = Omit<IssueCertificateInput, 'subjectPublicKeyInfo' | 'subjectPublicKeyInfoSha256'>;

/**
 * `checkCsrAsync` then `issueCertificate` with the CSR's key, with the same answer and the same
 * errors in the same order, in one round trip to the crypto worker where the CA key allows it
 * (`KeyProvider.signIfVerified`): the TBS is framed first, and the worker signs it only once the
 * CSR's proof of possession verified. Nothing is signed for a CSR that fails any check.
 */
export async function issueCertificateForCsr(
  csr: string | Uint8Array,
  policy: CsrPolicyOptions,
  input: CertificateForCsrInput,
): Promise<{ checked: CheckedCsr; issued: IssuedCertificate }> {
  const { der, awaitingProof } = checkCsrUpToProof(csr, policy);
  const key = input.authority.key;
  if (!awaitingProof || !key.signIfVerified) {
    const checked = await checkCsrAsync(der, policy);
    return { checked, issued: await issueCertificate(certificateInput(input, checked)) };
  }
  // The checks that follow the proof run first here, but their errors wait for its outcome: no proof, no other answer.
  let checked: CheckedCsr;
  let draft: CertificateDraft;
  try {
    checked = awaitingProof.afterProof();
    draft = draftCertificate(certificateInput(input, checked));
  } catch (error) {
    const outcome = await checkSignatureOffThread(awaitingProof.proof);
    if (outcome !== 'verified') awaitingProof.refuse(outcome);
    throw error;
  }
  const signature = await key.signIfVerified(draft.tbs, awaitingProof.proof);
  if (typeof signature === 'string') return awaitingProof.refuse(signature);
  return { checked, issued: draft.signed(signature) };
}

function certificateInput(input: CertificateForCsrInput, checked: CheckedCsr): IssueCertificateInput {
  return { ...input, subjectPublicKeyInfo: checked.subjectPublicKeyInfo, subjectPublicKeyInfoSha256: checked.subjectPublicKeyInfoSha256 };
}
