// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Name, Pkcs10CertificateRequestGenerator } from '@peculiar/x509';
import { createRootCaCertificate, createSubordinateCaCertificate, newSerialNumber, SoftwareKeyProvider, toPem, type CertificateAuthority } from '@devid/pki';
import type { FactoryCa } from '../factory-ca';

export const TEST_BASE_URL = 'http://127.0.0.1:3000';

/** A root and a factory CA made through the public PKI API. */
export async function testFactoryCa(caId = 'factory-test', now = new Date()): Promise<FactoryCa & { root: CertificateAuthority }> {
  const rootKey = await SoftwareKeyProvider.generate('ECDSA-P256');
  const root: CertificateAuthority = {
    caId: 'root-test',
    key: rootKey,
    certificateDer: await createRootCaCertificate({ subject: [{ type: 'CN', value: 'Factory Test Root' }], key: rootKey, serialNumber: newSerialNumber(), now }),
  };
  const key = await SoftwareKeyProvider.generate('ECDSA-P256');
  const certificateDer = await createSubordinateCaCertificate({
    role: 'factory',
    subject: [{ type: 'CN', value: `Factory Test ${caId}` }],
    subjectPublicKeyInfo: key.subjectPublicKeyInfo,
    parent: root,
    serialNumber: newSerialNumber(),
    now,
    baseUrl: TEST_BASE_URL,
  });
  return { authority: { caId, certificateDer, key }, chain: [certificateDer, root.certificateDer], close: () => undefined, root };
}

export const chainPem = (ca: FactoryCa) => ca.chain.map((der) => toPem('CERTIFICATE', der)).join('');

const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/**
 * Device CSRs with `/serialNumber=<serial>`, written as `<dir>/<serial>.csr`. Key pairs are
 * reused round-robin (`keys` of them): making a P-256 key is the slow part, and the
 * gateway only needs each CSR to prove possession of its key.
 */
export async function writeDeviceCsrs(dir: string, serials: readonly string[], keys = 16): Promise<void> {
  const pairs = await Promise.all(Array.from({ length: Math.min(keys, serials.length) }, () => webcrypto.subtle.generateKey(ecdsa, false, ['sign', 'verify']) as Promise<CryptoKeyPair>));
  const chunk = 256;
  for (let i = 0; i < serials.length; i += chunk) {
    await Promise.all(
      serials.slice(i, i + chunk).map(async (serial, j) => {
        const csr = await Pkcs10CertificateRequestGenerator.create({ name: new Name([{ '2.5.4.5': [serial] }]), keys: pairs[(i + j) % pairs.length]!, signingAlgorithm: ecdsa });
        await writeFile(join(dir, `${serial}.csr`), csr.toString('pem'));
      }),
    );
  }
}
