// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { X509Certificate } from '@peculiar/x509';
import type { IssuedCertificate } from '@devid/domain';
import { normalizeSerialNumber, NO_WELL_DEFINED_EXPIRATION, sha256Hex, spkiSha256 } from '@devid/pki';
import type { BatchRecord } from './batch-format';
import { deviceIdFor } from './device-id';
import { RecordRejected } from './errors';

const OID_SERIAL_NUMBER = '2.5.4.5';
const OID_COMMON_NAME = '2.5.4.3';

/**
 * Checks one device record of a verified batch against the factory CA that signed it and
 * returns the IDevID as the domain records it. Throws RecordRejected naming what is wrong.
 */
export function checkRecord(record: BatchRecord, factoryCa: NodeCertificate, caId: string): IssuedCertificate {
  const der = Buffer.from(record.certificate, 'base64');
  let native: NodeCertificate;
  let parsed: X509Certificate;
  try {
    native = new NodeCertificate(der);
    parsed = new X509Certificate(der);
  } catch {
    throw new RecordRejected('record-certificate-malformed', 'the certificate is not DER X.509');
  }
  if (!native.checkIssued(factoryCa) || !native.verify(factoryCa.publicKey)) {
    throw new RecordRejected('record-not-issued-by-ca', 'the certificate was not issued by the batch factory CA');
  }
  if (native.ca || parsed.notAfter.getTime() !== NO_WELL_DEFINED_EXPIRATION.getTime()) {
    throw new RecordRejected('record-not-idevid', 'not an IDevID (end-entity certificate with no well-defined expiration)');
  }
  const serials = parsed.subjectName.getField(OID_SERIAL_NUMBER);
  if (serials.length !== 1 || serials[0] !== record.serialNumber) {
    throw new RecordRejected('record-serial-mismatch', `the certificate names serial ${serials.join(',') || '(none)'}, the record ${record.serialNumber}`);
  }
  const commonNames = parsed.subjectName.getField(OID_COMMON_NAME);
  if (record.deviceId !== deviceIdFor(record.model, record.serialNumber) || commonNames.length !== 1 || commonNames[0] !== record.deviceId) {
    throw new RecordRejected('record-device-id-mismatch', 'the device id is not the one of this model and serial number, or not the certificate CN');
  }
  return {
    serialNumber: normalizeSerialNumber(parsed.serialNumber),
    caId,
    profile: 'IDevID',
    der: record.certificate,
    subject: parsed.subject,
    notBefore: parsed.notBefore.toISOString(),
    notAfter: parsed.notAfter.toISOString(),
    spkiSha256: spkiSha256(new Uint8Array(parsed.publicKey.rawData)),
    fingerprintSha256: sha256Hex(der),
  };
}
