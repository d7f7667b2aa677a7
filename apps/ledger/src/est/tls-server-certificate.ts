import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  ExtendedKeyUsage,
  Extension,
  GeneralName,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_kp_serverAuth,
  KeyUsage,
  KeyUsageFlags,
  SubjectAlternativeName,
} from '@peculiar/asn1-x509';
import type { CaCertificate } from '@devid/domain';
import { issueCertificate, newSerialNumber, toPem, type CertificateAuthority, type CertificateProfile } from '@devid/pki';
import { describeCertificate } from '../pki/authorities';
import { createFileDurably, replaceFileDurably } from '../store/durable-file';

export interface TlsMaterial {
  /** PEM: the server certificate, then its issuing CA. */
  cert: string;
  /** PEM private key. */
  key: string;
}

const extension = (extnID: string, critical: boolean, value: object): Extension =>
  new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });

/** How long the issued certificate is valid (the CA/Browser Forum's limit for TLS server certificates). */
export const EST_TLS_VALIDITY_MS = 397 * 86_400_000;
/** Replaced once less than this remains, unless told otherwise. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

/** A TLS server certificate: serverAuth, the names the EST port is reached by, 397 days. */
export const tlsServerProfile = (hostnames: readonly string[]): CertificateProfile => ({
  name: 'EST-TLS-server',
  notAfter: (now) => new Date(now.getTime() + EST_TLS_VALIDITY_MS),
  apply: () => ({
    subject: [
      { type: 'CN', value: hostnames[0] ?? 'localhost' },
      { type: 'O', value: 'DevID Ledger EST' },
    ],
    extensions: [
      extension(id_ce_basicConstraints, true, new BasicConstraints()),
      extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyAgreement)),
      extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth])),
      extension(id_ce_subjectAltName, false, new SubjectAlternativeName(hostnames.map((h) => new GeneralName(isIP(h) ? { iPAddress: h } : { dNSName: h })))),
    ],
  }),
});

const stillGood = (certPem: string, issuer: Uint8Array, now: Date, renewBeforeMs: number): boolean => {
  try {
    const certificate = new X509Certificate(certPem);
    const ca = new X509Certificate(Buffer.from(issuer));
    const endsAt = new Date(certificate.validTo).getTime();
    // Renewed when less than renewBeforeMs is left, unless it ends with its CA: a new one could not last longer.
    const lastsLongEnough = endsAt - now.getTime() > renewBeforeMs || (endsAt >= new Date(ca.validTo).getTime() && endsAt > now.getTime());
    return certificate.checkIssued(ca) && certificate.verify(ca.publicKey) && lastsLongEnough;
  } catch {
    return false;
  }
};

/** Where the ledger keeps the certificates its CAs issue to its own services. */
export interface ServerCertificateRecord {
  /** True when the ledger already holds the certificate with this serial number. */
  has(serialNumber: string): boolean;
  /** True when the ledger holds it as revoked (ServerCertificateRevoked): it is never served again. */
  revoked(serialNumber: string): boolean;
  /** Appends it to the ledger (ServerCertificateIssued); resolves once it is stored. */
  record(certificate: CaCertificate): Promise<void>;
}

/** True when `key` (PEM) is the private key of `certPem`'s public key. */
const keyMatches = (certPem: string, key: string): boolean => {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(key));
  } catch {
    return false;
  }
};

/** The file's text, or undefined when there is none (another process may have just removed it). */
const readIfThere = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
};

/** PEM blocks of one kind, in order. */
const pemBlocks = (pem: string, label: string): string[] =>
  pem.match(new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----\\n?`, 'g')) ?? [];

/**
 * The EST server's certificate when none is configured: issued once by the ledger's issuing
 * CA and kept in DATA_DIR/est (key 0600), re-issued when less than `renewBeforeMs` remains, the
 * CA changed or the ledger revoked it.
 * Like every certificate a CA of the ledger signs, it is in the ledger before it is used: a new
 * one is recorded before its files are written, and one found on disk that the ledger does not
 * hold yet (written by an older version) is recorded before it is served. Returns the PEM
 * material and the served certificate as the ledger records it (serial, expiry).
 *
 * A new one is first written, key and chain together, to tls.pending.pem (0600); then recorded;
 * then written as tls.key.pem and tls.crt.pem, and the pending file removed. A process stopped
 * in between (a stop while the record was on its way, a crash) leaves the pending file: the next
 * call records it if the ledger does not hold it yet (the record is idempotent) and serves it,
 * so the ledger never holds a certificate whose key is lost, and a second one is not issued.
 * The pending file is created exclusively: ledgers started together on one data dir issue one
 * certificate (another start finding it pending records it if need be and serves it too, and
 * drops its own, never recorded nor used). A served pair whose key does not match its
 * certificate (read while another process replaced them) is not served.
 */
export async function demoTlsMaterial(
  dataDir: string,
  authority: CertificateAuthority,
  baseUrl: string,
  hostnames: readonly string[],
  ledger: ServerCertificateRecord,
  now = new Date(),
  renewBeforeMs = RENEW_BEFORE_MS,
): Promise<TlsMaterial & { certificate: CaCertificate }> {
  const dir = join(dataDir, 'est');
  const certFile = join(dir, 'tls.crt.pem');
  const keyFile = join(dir, 'tls.key.pem');
  const pendingFile = join(dir, 'tls.pending.pem');
  /** A certificate on disk that may be served (this CA's, lasting, not revoked), as the ledger records it; else undefined. */
  const servable = (cert: string, key: string): CaCertificate | undefined => {
    if (!stillGood(cert, authority.certificateDer, now, renewBeforeMs) || !keyMatches(cert, key)) return undefined;
    const certificate = describeCertificate(new Uint8Array(new X509Certificate(cert).raw));
    return ledger.revoked(certificate.serialNumber) ? undefined : certificate;
  };
  const recordIfMissing = async (certificate: CaCertificate) => {
    if (!ledger.has(certificate.serialNumber)) await ledger.record(certificate);
  };
  /** The served pair on disk when it may still be served. */
  const servedPair = (): (TlsMaterial & { certificate: CaCertificate }) | undefined => {
    const cert = readIfThere(certFile);
    const key = readIfThere(keyFile);
    const certificate = cert !== undefined && key !== undefined ? servable(cert, key) : undefined;
    return certificate && { cert: cert!, key: key!, certificate };
  };
  /** Records it unless the ledger holds it, then makes it the served pair. */
  const install = async (material: TlsMaterial, certificate: CaCertificate) => {
    await recordIfMissing(certificate);
    replaceFileDurably(keyFile, material.key, 0o600);
    replaceFileDurably(certFile, material.cert, 0o644);
    rmSync(pendingFile, { force: true });
  };
  // A few looks: each ends when another process is issuing one at the same moment.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const pending = readIfThere(pendingFile);
    if (pending !== undefined) {
      const [key] = pemBlocks(pending, 'PRIVATE KEY');
      const cert = pemBlocks(pending, 'CERTIFICATE').join('');
      const certificate = key && cert ? servable(cert, key) : undefined;
      if (key && certificate) {
        await install({ cert, key }, certificate);
        return { cert, key, certificate };
      }
      rmSync(pendingFile, { force: true }); // not to be served: another CA's, expired, unreadable or revoked
    }
    const kept = servedPair();
    if (kept) {
      await recordIfMissing(kept.certificate);
      return kept;
    }
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const issued = await issueCertificate({
      authority,
      profile: tlsServerProfile(hostnames),
      device: { deviceId: 'est-server' },
      subjectPublicKeyInfo: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
      serialNumber: newSerialNumber(),
      now,
      baseUrl,
    });
    const certificate = describeCertificate(issued.der);
    const material = { cert: issued.pem + toPem('CERTIFICATE', authority.certificateDer), key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Taken: another process is issuing one at this moment; this one was neither recorded nor used, look again.
    if (!createFileDurably(pendingFile, material.key + material.cert, 0o600)) continue;
    // Another process may have installed one since this one looked (its pending file gone by then): that one is served.
    const installed = servedPair();
    if (installed) {
      rmSync(pendingFile, { force: true });
      await recordIfMissing(installed.certificate);
      return installed;
    }
    await install(material, certificate);
    return { ...material, certificate };
  }
  throw new Error(`${pendingFile} is being replaced by another process; try again`);
}
