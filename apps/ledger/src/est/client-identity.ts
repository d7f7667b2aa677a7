import { X509Certificate } from 'node:crypto';
import type { CertificateProfile } from '@devid/domain';
import { normalizeSerialNumber } from '@devid/pki';
import type { CaDirectory, CertificateInventory } from '@devid/projections';
import { EstRefused } from './est-refused';

/** The device behind a TLS client certificate that the ledger issued and still holds good. */
export interface EstClient {
  deviceId: string;
  profile: CertificateProfile;
  serialNumber: string;
  caId: string;
}

/**
 * Authenticates an EST client by its certificate against the ledger's own CAs (not a TLS
 * trust store), so every refusal can say why: 401 when we cannot tell who the client is,
 * 403 when we can and the certificate may not be used.
 */
export function identifyClient(der: Buffer | undefined, cas: CaDirectory, inventory: CertificateInventory, now: Date): EstClient {
  if (!der || der.length === 0) throw new EstRefused(401, 'est-client-certificate-required', 'present the device IDevID or LDevID as the TLS client certificate');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(der);
  } catch {
    throw new EstRefused(401, 'est-client-certificate-untrusted', 'the client certificate cannot be parsed');
  }
  const issuer = cas
    .list()
    .filter((ca) => ca.role === 'factory' || ca.role === 'issuing')
    .find((ca) => {
      const caCertificate = new X509Certificate(Buffer.from(ca.certificate.der, 'base64'));
      return certificate.checkIssued(caCertificate) && certificate.verify(caCertificate.publicKey);
    });
  if (!issuer) throw new EstRefused(401, 'est-client-certificate-untrusted', `the client certificate (issuer ${certificate.issuer.replace(/\n/g, ', ')}) was not issued by a device CA of this ledger`);
  if (now < new Date(certificate.validFrom) || now > new Date(certificate.validTo)) {
    throw new EstRefused(401, 'est-client-certificate-expired', `the client certificate is valid from ${certificate.validFrom} to ${certificate.validTo}`);
  }
  const revokedCa = cas.chain(issuer.caId).find((ca) => ca.status !== 'active');
  if (revokedCa) throw new EstRefused(403, 'est-ca-revoked', `CA ${revokedCa.caId}, in the chain of the client certificate, is revoked`);
  const serialNumber = normalizeSerialNumber(certificate.serialNumber);
  const recorded = inventory.get(serialNumber, issuer.caId);
  if (!recorded) throw new EstRefused(403, 'est-client-certificate-unknown', `certificate ${serialNumber} of ${issuer.caId} is not recorded for any device (batch not imported?)`);
  if (recorded.status === 'revoked') throw new EstRefused(403, 'est-client-certificate-revoked', `certificate ${serialNumber} was revoked (${recorded.reason ?? 'unspecified'})`);
  if (recorded.status === 'superseded') throw new EstRefused(403, 'est-client-certificate-superseded', `certificate ${serialNumber} was replaced by a newer LDevID; re-enroll with that one`);
  return { deviceId: recorded.deviceId, profile: recorded.profile, serialNumber, caId: issuer.caId };
}
