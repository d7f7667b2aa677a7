// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { CRLDistributionPointsExtension, X509Certificate } from '@peculiar/x509';
import { Pkcs11Token, SoftwareKeyProvider, spkiSha256, type CertificateAuthority, type KeyProvider } from '@devid/pki';
import { GatewayError } from './errors';

/** The factory CA as the offline gateway holds it: its signing key and its chain up to the root. */
export interface FactoryCa {
  authority: CertificateAuthority;
  /** DER, the factory CA first. */
  chain: Uint8Array[];
  close(): void;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;

/** Every certificate of a PEM file, in file order. */
export const certificatesFromPem = (pem: string): Uint8Array[] =>
  [...pem.matchAll(PEM_CERTIFICATE)].map((m) => new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));

/** The key file of a ledger CA is `<caId>.p8.pem` (DATA_DIR/ca-keys), its PKCS#11 object label is the caId. */
export const caIdFromKeyReference = (reference: string): string | undefined => {
  const pkcs11 = /(?:^|;)object=([^;?]+)/.exec(reference);
  const name = reference.startsWith('pkcs11:') ? (pkcs11 ? decodeURIComponent(pkcs11[1]!) : undefined) : basename(reference).replace(/\.p8\.pem$|\.pem$/, '');
  return name && /^[a-z0-9][a-z0-9-]{0,62}$/.test(name) ? name : undefined;
};

export interface FactoryCaSource {
  /** A PKCS#8 PEM file encrypted with `passphrase`, or a PKCS#11 URI `pkcs11:token=<label>;object=<label>`. */
  key: string;
  /** PEM: the factory CA certificate, optionally followed by its issuers. */
  certificatePem: string;
  /** Key file passphrase, or the token PIN. */
  secret: string;
  /** The ledger's id of the CA; default: the key file name or the PKCS#11 object label. */
  caId?: string;
  /** PKCS#11 module path (for a URI key). */
  pkcs11Module?: string;
}

export async function loadFactoryCa(source: FactoryCaSource): Promise<FactoryCa> {
  const chain = certificatesFromPem(source.certificatePem);
  if (chain.length === 0) throw new GatewayError('gateway-ca-unusable', 'the CA certificate file holds no PEM CERTIFICATE');
  const caId = source.caId ?? caIdFromKeyReference(source.key);
  if (!caId) throw new GatewayError('gateway-ca-unusable', 'cannot tell the CA id from the key reference: pass --ca-id');
  let key: KeyProvider;
  let close = () => {};
  if (source.key.startsWith('pkcs11:')) {
    const token = /(?:^pkcs11:|;)token=([^;?]+)/.exec(source.key);
    const object = /(?:^pkcs11:|;)object=([^;?]+)/.exec(source.key);
    if (!token || !object || !source.pkcs11Module) throw new GatewayError('gateway-ca-unusable', 'a PKCS#11 key needs token= and object= in the URI and a module path');
    const opened = Pkcs11Token.open({ module: source.pkcs11Module, tokenLabel: decodeURIComponent(token[1]!), pin: source.secret });
    close = () => opened.close();
    key = await opened.findKey(decodeURIComponent(object[1]!));
  } else {
    let pem: string;
    try {
      pem = await readFile(source.key, 'utf8');
    } catch (error) {
      throw new GatewayError('gateway-ca-unusable', `cannot read the CA key file ${source.key}`, { cause: error });
    }
    key = SoftwareKeyProvider.fromEncryptedPkcs8Pem(pem, source.secret);
  }
  const certificates = chain.map((der) => new NodeCertificate(der));
  if (spkiSha256(key.subjectPublicKeyInfo) !== spkiSha256(new Uint8Array(certificates[0]!.publicKey.export({ type: 'spki', format: 'der' })))) {
    close();
    throw new GatewayError('gateway-ca-unusable', 'the CA key does not match the first certificate of the CA certificate file');
  }
  for (let i = 0; i + 1 < certificates.length; i++) {
    if (!certificates[i]!.checkIssued(certificates[i + 1]!) || !certificates[i]!.verify(certificates[i + 1]!.publicKey)) {
      close();
      throw new GatewayError('gateway-ca-unusable', `certificate ${i + 2} of the CA certificate file did not issue certificate ${i + 1}`);
    }
  }
  return { authority: { caId, certificateDer: chain[0]!, key }, chain, close };
}

/** The ledger's public base URL, read from the CRL distribution point the root put in the factory CA certificate. */
export function baseUrlFromCertificate(der: Uint8Array): string | undefined {
  const extension = new X509Certificate(Buffer.from(der)).getExtension(CRLDistributionPointsExtension);
  for (const point of extension?.distributionPoints ?? []) {
    for (const name of point.distributionPoint?.fullName ?? []) {
      const url = name.uniformResourceIdentifier;
      const m = url ? /^(https?:\/\/.+?)\/crl\/[^/]+\.crl$/.exec(url) : null;
      if (m) return m[1];
    }
  }
  return undefined;
}
