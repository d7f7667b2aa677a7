import { Controller, Get, Param } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HttpProblem } from './problem';

/** Human-readable descriptions behind each problem `type` URI. */
const DESCRIPTIONS: Record<string, string> = {
  'validation-failed': 'The body, path or query failed schema validation; `errors` lists each JSON pointer.',
  'malformed-json': 'The body is not valid JSON.',
  'unsupported-media-type': 'Writes take application/json.',
  'body-too-large': 'Bodies are limited to 64 KiB.',
  unauthenticated: 'Writes need Authorization: Bearer <admin key>.',
  'invalid-credentials': 'The bearer key is not valid.',
  'device-not-found': 'No device with this id.',
  'device-exists': 'A device with this model and serial number is already registered.',
  'illegal-transition': 'The command does not fit the current status of what it names (a device, a CA, a certificate); nothing was written.',
  'invalid-command': 'The command breaks a domain rule about its content.',
  'precondition-failed': 'If-Match named a revision that is no longer current; re-read and retry.',
  'idempotency-key-reused': 'The Idempotency-Key was used before for a different request.',
  'invalid-idempotency-key': 'Idempotency-Key must be 1-255 visible ASCII characters.',
  'invalid-if-match': 'If-Match must be a device revision.',
  'invalid-cursor': 'The cursor was not issued by this server.',
  'wrong-expected-revision': 'Another write reached the stream first.',
  'store-unavailable': 'The event store could not make the write durable; nothing was written. Retry.',
  'internal-error': 'An unexpected failure; it was logged.',
  'detector-not-found': 'No anomaly detector with this id.',
  'detector-exists': 'A detector with this id is already registered.',
  'invalid-detector-key': 'Detector keys are public JWKs: EC P-256 (ES256) or OKP Ed25519 (EdDSA), without a private part.',
  'ca-not-found': 'No certificate authority with this id.',
  'ca-exists': 'A certificate authority with this id is already recorded (ids are never reused, even of a revoked CA); nothing was written.',
  'key-name-taken': 'The key store already holds a key of the name this CA or OCSP signer needs: another create of it is under way, or an earlier one failed and left its key. Nothing was made; if no CA of that id exists, an operator removes the key (DATA_DIR/ca-keys/<name>.p8.pem, or the token object) and retries.',
  'certificate-not-found': 'No certificate with this serial number.',
  'server-certificate-not-found': "The CA issued no certificate with this serial number to one of the ledger's services.",
  'csr-malformed': 'The CSR is not a well-formed PKCS#10 request (PEM or base64 DER).',
  'csr-signature-invalid': 'The CSR signature does not verify: no proof of possession.',
  'csr-key-algorithm-not-allowed': 'Allowed keys: ECDSA P-256/P-384, Ed25519, RSA 2048-4096.',
  'csr-curve-not-allowed': 'Allowed curves: P-256, P-384 (and Ed25519).',
  'csr-rsa-too-small': 'RSA keys must have 2048 to 4096 bits.',
  'csr-rsa-too-large': 'RSA keys must have 2048 to 4096 bits.',
  'csr-signature-algorithm-not-allowed': 'The CSR is signed with an algorithm this CA does not accept.',
  'csr-rsa-exponent': 'RSA keys must use e = 65537.',
  'csr-ec-point-invalid': 'The EC public key is not a point on its curve.',
  'csr-subject-mismatch': 'The CSR must name the device: CN = deviceId, or serialNumber = its serial number.',
  'csr-key-blocked': 'This public key was revoked as compromised and can never be certified again.',
  'csr-too-large': 'CSRs are limited to 8 KiB.',
  'key-unavailable': 'The CA key could not be opened (key store or HSM).',
  'key-not-found': 'The CA key is not on the token (no key pair has its label).',
  'key-mismatch': "The key found for the CA (or its OCSP signer) is not the key pair of its certificate: what it signed would not verify, so it signs nothing. Nothing was written; an operator must put the CA's own key back (the key file in DATA_DIR/ca-keys, or the token object).",
  'key-label-ambiguous': 'Several key pairs on the token share the label, and nothing says which one is meant.',
  'ca-certificate-expired': "The CA's own certificate has expired: it signs nothing more (no certificate it signed would verify). Nothing was written; an operator must create a CA to take its place.",
  'ca-certificate-not-yet-valid': "The CA's own certificate is not valid yet: it signs nothing before its notBefore. Nothing was written.",
  'no-active-ca': 'No active CA of the role this certificate needs (issuing for LDevIDs, factory for IDevIDs) is registered. Nothing was written; an operator must create one.',
  'ca-revoked': 'Every CA that could sign this certificate is under a revoked CA (e.g. a revoked root): nothing it signed would be trusted. Nothing was written; an operator must create a CA under an active root.',
  'batch-malformed': 'The factory batch is not a devid-batch/1 file (header, device records, signature trailer); nothing was imported.',
  'batch-too-large': 'Factory batches are limited to 128 MiB; split the manifest.',
  'batch-signature-invalid': 'The batch content does not match the digest its factory CA signed (altered or truncated); nothing was imported.',
  'batch-chain-invalid': 'The certificate chain in the batch header does not hold; nothing was imported.',
  'batch-ca-unknown': 'The factory CA that signed the batch is not registered in this ledger; nothing was imported.',
  'batch-ca-not-active': 'The factory CA of the batch, or a CA above it, is revoked; nothing was imported.',
  'batch-ca-mismatch': 'The batch names a ledger CA that is not a factory CA, or whose certificate differs from the one in the batch; nothing was imported.',
  'est-client-certificate-required': 'EST enrollment needs the device IDevID (or, to re-enroll, its LDevID) as the TLS client certificate.',
  'est-client-certificate-untrusted': 'The TLS client certificate was not issued by a device CA of this ledger.',
  'est-client-certificate-expired': 'The TLS client certificate is outside its validity period.',
  'est-client-certificate-unknown': 'The TLS client certificate is not recorded for any device (e.g. its factory batch was not imported).',
  'est-client-certificate-revoked': 'The TLS client certificate was revoked.',
  'est-client-certificate-superseded': 'The LDevID was replaced by a newer one; re-enroll with the newer one.',
  'est-ca-revoked': 'The CA that issued the TLS client certificate, or one above it, is revoked.',
  'est-identity-mismatch': 'The CSR names another device than the TLS client certificate.',
  'est-idevid-required': 'simpleenroll is authenticated by the IDevID.',
  'est-ldevid-required': 'simplereenroll is authenticated by the current LDevID.',
  'audit-invalid-point-in-time': 'asOf must be an RFC 3339 date-time with a time zone (e.g. 2026-03-03T10:00:00Z).',
  'certificate-not-issued-yet': 'The certificate was not yet issued at the asOf time asked for.',
  'audit-range-not-sealed': 'The end of the range asked for is not yet covered by a signed audit checkpoint; retry after the next one or export a range that ends earlier.',
  'audit-invalid-event-id': 'eventId must be an event id: a lowercase canonical UUID.',
  'audit-event-not-found': 'No event of the log has this id.',
};

@ApiExcludeController()
@Controller('problems')
export class ProblemsController {
  @Get()
  all() {
    return DESCRIPTIONS;
  }

  @Get(':code')
  one(@Param('code') code: string) {
    const description = DESCRIPTIONS[code];
    if (!description) throw new HttpProblem(404, 'not-found', `no problem type ${code}`);
    return { type: `/problems/${code}`, description };
  }
}
