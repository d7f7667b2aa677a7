import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { assertValidAt, checkCsr, CsrRejected, idevidProfile, issueCertificate, newSerialNumber, toPem, type CertificateProfile } from '@devid/pki';
import { BATCH_FORMAT, batchRecordSchema, type BatchRecord } from './batch-format';
import { BatchJournal } from './batch-journal';
import { deviceIdFor } from './device-id';
import { GatewayError } from './errors';
import type { FactoryCa } from './factory-ca';
import { generateGatewayKey } from './gateway-key';
import type { ManifestEntry } from './manifest';

export interface IssueBatchOptions {
  ca: FactoryCa;
  entries: readonly ManifestEntry[];
  out: string;
  /** Ledger base URL for the CRL and OCSP URLs in every IDevID. */
  baseUrl: string;
  /** Relative CSR paths are resolved against it (the manifest's folder). */
  csrDir: string;
  /** Per device `<serial>.crt.pem`, and `<serial>.key.pem` for gateway-generated keys. */
  keyOut?: string;
  /** Encrypts gateway-generated keys; required when the manifest has devices without a CSR. */
  keyPassphrase?: string;
  profile?: CertificateProfile;
  now?: () => Date;
  /** Devices signed concurrently between two journal syncs. */
  chunkSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface IssueBatchResult {
  batchId: string;
  out: string;
  total: number;
  /** Issued by this run. */
  issued: number;
  /** Already in the journal of an interrupted run. */
  resumed: number;
  /** The output existed and already held every device of the manifest: nothing done. */
  alreadyComplete: boolean;
}

const serialsOfBatch = async (path: string): Promise<Set<string>> => {
  const lines = (await readFile(path, 'utf8')).split('\n').slice(1, -2);
  return new Set(lines.map((line) => batchRecordSchema.parse(JSON.parse(line)).serialNumber));
};

const writeSynced = async (path: string, content: string) => {
  const file = await open(path, 'w', 0o600);
  try {
    await file.writeFile(content);
    await file.datasync();
  } finally {
    await file.close();
  }
};

/**
 * Issues the IDevIDs of a manifest offline and writes the signed batch. Resumable: re-run
 * with the same output and it continues after the last device synced to the journal;
 * idempotent per serial number (a device already in the batch is never issued twice).
 */
export async function issueBatch(options: IssueBatchOptions): Promise<IssueBatchResult> {
  const { ca, entries, out } = options;
  const caId = ca.authority.caId;
  if (existsSync(out)) {
    const present = await serialsOfBatch(out);
    const missing = entries.filter((e) => !present.has(e.serialNumber)).length;
    if (missing > 0) throw new GatewayError('gateway-output-exists', `${out} is a finished batch without ${missing} device(s) of this manifest; write them to another --out`);
    const batchId = (JSON.parse((await readFile(out, 'utf8')).slice(0, 1 << 20).split('\n')[0]!) as { batchId: string }).batchId;
    return { batchId, out, total: entries.length, issued: 0, resumed: entries.length, alreadyComplete: true };
  }
  if (!options.keyPassphrase && entries.some((e) => !e.csr)) {
    throw new GatewayError('gateway-key-passphrase-missing', 'devices without a CSR get gateway-generated keys: a key passphrase (and --key-out) is required');
  }
  if (entries.some((e) => !e.csr) && !options.keyOut) throw new GatewayError('gateway-key-passphrase-missing', 'gateway-generated keys need --key-out');
  if (options.keyOut) await mkdir(options.keyOut, { recursive: true, mode: 0o700 });
  const now = options.now ?? (() => new Date());
  const profile = options.profile ?? idevidProfile();
  // A factory CA whose certificate has expired signs nothing: refused before the output exists.
  assertValidAt(ca.authority, now());
  const journal = await BatchJournal.open(out, {
    format: BATCH_FORMAT,
    batchId: randomUUID(),
    caId,
    factoryCaSha256: createHash('sha256').update(ca.chain[0]!).digest('hex'),
    chain: ca.chain.map((der) => Buffer.from(der).toString('base64')),
    createdAt: now().toISOString(),
  });
  const resumed = entries.filter((e) => journal.done.has(e.serialNumber)).length;
  const todo = entries.filter((e) => !journal.done.has(e.serialNumber));
  const chunkSize = options.chunkSize ?? 256;
  let issued = 0;

  const issueOne = async (entry: ManifestEntry): Promise<{ record: BatchRecord; files: Array<[string, string]> }> => {
    const deviceId = deviceIdFor(entry.model, entry.serialNumber);
    let subjectPublicKeyInfo: Uint8Array;
    let subjectPublicKeyInfoSha256: string | undefined;
    let keyPem: string | undefined;
    if (entry.csr) {
      const path = isAbsolute(entry.csr) ? entry.csr : join(options.csrDir, entry.csr);
      let csr: string;
      try {
        csr = await readFile(path, 'utf8');
      } catch (error) {
        throw new GatewayError('gateway-csr-unreadable', `${entry.serialNumber}: cannot read CSR ${path}`, { cause: error });
      }
      try {
        const checked = checkCsr(csr, { expectedDeviceId: deviceId, expectedSerialNumber: entry.serialNumber, blockedKeys: () => false });
        subjectPublicKeyInfo = checked.subjectPublicKeyInfo;
        subjectPublicKeyInfoSha256 = checked.subjectPublicKeyInfoSha256;
      } catch (error) {
        if (error instanceof CsrRejected) throw new GatewayError('gateway-csr-rejected', `${entry.serialNumber}: ${error.code}: ${error.message}`, { cause: error });
        throw error;
      }
    } else {
      const key = await generateGatewayKey();
      subjectPublicKeyInfo = key.subjectPublicKeyInfo;
      keyPem = key.encryptedPkcs8Pem(options.keyPassphrase!);
    }
    const certificate = await issueCertificate({
      authority: ca.authority,
      profile,
      device: { deviceId, serialNumber: entry.serialNumber },
      subjectPublicKeyInfo,
      ...(subjectPublicKeyInfoSha256 ? { subjectPublicKeyInfoSha256 } : {}),
      serialNumber: newSerialNumber(),
      now: now(),
      baseUrl: options.baseUrl,
    });
    const files: Array<[string, string]> = [];
    if (options.keyOut) {
      files.push([join(options.keyOut, `${entry.serialNumber}.crt.pem`), toPem('CERTIFICATE', certificate.der)]);
      if (keyPem) files.push([join(options.keyOut, `${entry.serialNumber}.key.pem`), keyPem]);
    }
    const record: BatchRecord = {
      serialNumber: entry.serialNumber,
      model: entry.model,
      deviceId,
      certificate: Buffer.from(certificate.der).toString('base64'),
      keyOrigin: entry.csr ? 'device' : 'gateway',
    };
    return { record, files };
  };

  try {
    options.onProgress?.(resumed, entries.length);
    for (let start = 0; start < todo.length; start += chunkSize) {
      const settled = await Promise.allSettled(todo.slice(start, start + chunkSize).map(issueOne));
      const ok = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      // Key files reach the disk before the journal names their device, so a synced record always has its key.
      await Promise.all(ok.flatMap((o) => o.files.map(([path, content]) => writeSynced(path, content))));
      await journal.append(ok.map((o) => o.record));
      issued += ok.length;
      options.onProgress?.(resumed + issued, entries.length);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
    }
    await journal.finalize(ca.authority.key);
  } catch (error) {
    await journal.close();
    throw error;
  }
  return { batchId: journal.header.batchId, out, total: entries.length, issued, resumed, alreadyComplete: false };
}

export const csrDirOf = (manifestPath: string) => dirname(manifestPath);
