import { deviceStreamId, caIdOfStream } from '@devid/domain';
import type { StoredEvent } from '@devid/event-store';
import { chainHash } from '../chain/chain-hash';
import {
  AUDIT_CHECKPOINT_SIGNED,
  AUDIT_CHECKPOINT_STREAM,
  checkSignature,
  keyOfCheckpoint,
  parseCheckpointData,
} from '../checkpoint/audit-checkpoint';
import { AuditPublicKey } from '../checkpoint/audit-public-key';
import type { VerificationFailure, VerificationFailureCode } from '../verify/verification-failure';
import { BundleLineError, bundleLines } from './bundle-lines';
import { bundleRecord, eventRecordOrUndefined, headerRecord, type BundleRecord } from './bundle-records';

export interface VerifyBundleOptions {
  /** The key an auditor obtained from GET /audit/key; without it the bundle's own key is used (and reported). */
  trustedKey?: AuditPublicKey;
  onProgress?: (line: number) => void;
}

export interface BundleVerification {
  ok: boolean;
  failure?: VerificationFailure;
  deviceId: string | null;
  keyId?: string;
  runs: number;
  events: number;
  /** Events of the filtered device (all events when unfiltered). */
  selectedEvents: number;
  checkpoints: number;
  firstPosition: number;
  lastPosition: number;
  /** CA certificates found in CA events of the bundle (caId, subject, SHA-256 fingerprint). */
  caCertificates: { caId: string; subject: string; fingerprintSha256: string; position: number }[];
}

class BundleInvalid extends Error {
  constructor(
    readonly code: VerificationFailureCode,
    readonly position: number,
    message: string,
  ) {
    super(message);
  }
}

/** Positions covered by checkpoints anywhere in the bundle (first pass: only lines that name one). */
const coveredPositions = async (path: string): Promise<Set<number>> => {
  const covered = new Set<number>();
  for await (const { text } of bundleLines(path)) {
    if (!text.startsWith('{"kind":"checkpoint"') && !text.includes(`"${AUDIT_CHECKPOINT_SIGNED}"`)) continue;
    try {
      const value = JSON.parse(text) as { kind?: unknown; position?: unknown; event?: { data?: { position?: unknown } } };
      const position = value.kind === 'checkpoint' ? value.position : value.event?.data?.position;
      if (typeof position === 'number') covered.add(position);
    } catch {
      // the second pass reports the line
    }
  }
  return covered;
};

const caCertificateOf = (event: StoredEvent) => {
  const data = event.data as { caId?: unknown; certificate?: { subject?: unknown; fingerprintSha256?: unknown } } | null;
  const certificate = data?.certificate;
  if (typeof data?.caId !== 'string' || typeof certificate?.subject !== 'string' || typeof certificate.fingerprintSha256 !== 'string') return undefined;
  return { caId: data.caId, subject: certificate.subject, fingerprintSha256: certificate.fingerprintSha256, position: event.position };
};

/**
 * Verifies a bundle offline: every run recomputes from its starting hash to a checkpoint
 * signed by the audit key; inline checkpoint events are checked too; counts match the end
 * record; for a device bundle, the device's events have consecutive revisions. Memory: one
 * line, the run intervals, and the hashes of the positions checkpoints cover.
 */
export const verifyBundle = async (path: string, options: VerifyBundleOptions = {}): Promise<BundleVerification> => {
  const report: BundleVerification = { ok: true, deviceId: null, runs: 0, events: 0, selectedEvents: 0, checkpoints: 0, firstPosition: 0, lastPosition: 0, caCertificates: [] };
  let lineNumber = 0;
  try {
    const covered = await coveredPositions(path);
    const knownHashes = new Map<number, string>();
    const runIntervals: [number, number][] = [];
    let key: AuditPublicKey | undefined;
    let deviceStream: string | undefined;
    let run: { start: number; last: number; hash: Buffer } | undefined;
    let lastEnd = -1;
    let lastEndHash = '';
    let deviceRevision: number | undefined;
    let ended = false;

    for await (const line of bundleLines(path)) {
      lineNumber = line.number;
      if (ended) throw new BundleInvalid('bundle-malformed', 0, 'a line follows the end record');
      let value: unknown;
      try {
        value = JSON.parse(line.text);
      } catch {
        throw new BundleInvalid('bundle-malformed', run ? run.last + 1 : 0, 'the line is not JSON');
      }
      if (line.number === 1) {
        const header = headerRecord.safeParse(value);
        if (!header.success) throw new BundleInvalid('bundle-malformed', 0, 'the first line is not a bundle header of a supported version');
        try {
          key = AuditPublicKey.fromJwk(header.data.auditKey.jwk);
        } catch (error) {
          throw new BundleInvalid('checkpoint-key-mismatch', 0, (error as Error).message);
        }
        if (header.data.auditKey.spkiPem !== key.pem()) throw new BundleInvalid('checkpoint-key-mismatch', 0, 'the PEM and the JWK of the audit key differ');
        if (options.trustedKey && !options.trustedKey.equals(key)) {
          throw new BundleInvalid('checkpoint-key-mismatch', 0, `the bundle is signed with key ${key.keyId}, not the trusted key ${options.trustedKey.keyId}`);
        }
        report.deviceId = header.data.deviceId;
        report.keyId = key.keyId;
        deviceStream = header.data.deviceId === null ? undefined : deviceStreamId(header.data.deviceId);
        continue;
      }
      // Event lines (all but a handful) are checked by hand; anything else, or an event line
      // that check does not accept, goes through zod, which also names what is wrong.
      let record: BundleRecord | undefined = eventRecordOrUndefined(value);
      if (record === undefined) {
        const parsed = bundleRecord.safeParse(value);
        if (!parsed.success) throw new BundleInvalid('bundle-malformed', run ? run.last + 1 : 0, `not a bundle record: ${parsed.error.issues[0]?.message ?? ''}`);
        record = parsed.data;
      }
      switch (record.kind) {
        case 'header':
          throw new BundleInvalid('bundle-malformed', 0, 'a second header');
        case 'run': {
          if (run) throw new BundleInvalid('bundle-run-unsealed', run.last, `the run ending at ${run.last} has no checkpoint`);
          if (record.after < lastEnd) throw new BundleInvalid('bundle-run-discontinuous', record.after + 1, `a run starts at ${record.after + 1}, inside the previous run`);
          if (record.after === lastEnd && record.hash !== lastEndHash) {
            throw new BundleInvalid('hash-mismatch', record.after, `the run starts from a hash that differs from the one at ${record.after}`);
          }
          run = { start: record.after + 1, last: record.after, hash: Buffer.from(record.hash, 'hex') };
          report.runs++;
          break;
        }
        case 'event': {
          if (!run) throw new BundleInvalid('bundle-malformed', record.event.position, 'an event outside a run');
          const event = record.event as StoredEvent;
          if (event.position !== run.last + 1) {
            throw new BundleInvalid('bundle-run-discontinuous', run.last + 1, `expected position ${run.last + 1}, found ${event.position}`);
          }
          let hash: Buffer;
          try {
            hash = chainHash(run.hash, event);
          } catch (error) {
            throw new BundleInvalid('event-unreadable', event.position, (error as Error).message);
          }
          if (hash.toString('hex') !== record.hash) {
            throw new BundleInvalid('hash-mismatch', event.position, `the event hashes to ${hash.toString('hex')}, the bundle says ${record.hash}`);
          }
          if (covered.has(event.position)) knownHashes.set(event.position, record.hash);
          if (event.streamId === AUDIT_CHECKPOINT_STREAM && event.type === AUDIT_CHECKPOINT_SIGNED) {
            const data = parseCheckpointData(event.data);
            const named = data && keyOfCheckpoint(data);
            if (!data || !named) throw new BundleInvalid('checkpoint-malformed', event.position, 'the checkpoint event does not parse');
            if (!named.equals(key!)) throw new BundleInvalid('checkpoint-key-mismatch', event.position, `signed with key ${named.keyId}, the bundle names ${key!.keyId}`);
            const bad = checkSignature(data, key!);
            if (bad) throw new BundleInvalid('checkpoint-signature-invalid', event.position, bad);
            if (data.position >= event.position) throw new BundleInvalid('checkpoint-not-before-itself', event.position, `covers ${data.position}`);
            const inBundle = runIntervals.some(([a, b]) => data.position >= a && data.position <= b) || data.position >= run.start;
            if (inBundle && knownHashes.get(data.position) !== data.hash) {
              throw new BundleInvalid('checkpoint-hash-mismatch', data.position, `the checkpoint at ${event.position} signed ${data.hash} for position ${data.position}`);
            }
          }
          if (deviceStream === undefined || event.streamId === deviceStream) {
            report.selectedEvents++;
            if (deviceStream !== undefined) {
              if (deviceRevision !== undefined && event.revision !== deviceRevision + 1) {
                throw new BundleInvalid('bundle-device-incomplete', event.position, `device revision ${event.revision} follows ${deviceRevision}: events of the device are missing`);
              }
              deviceRevision = event.revision;
            }
          }
          if (caIdOfStream(event.streamId) !== undefined) {
            const certificate = caCertificateOf(event);
            if (certificate) report.caCertificates.push(certificate);
          }
          run.last = event.position;
          run.hash = hash;
          report.events++;
          if (report.firstPosition === 0) report.firstPosition = event.position;
          report.lastPosition = event.position;
          if ((report.events & 0x3fff) === 0) options.onProgress?.(line.number);
          break;
        }
        case 'checkpoint': {
          if (!run || run.last < run.start) throw new BundleInvalid('bundle-malformed', run?.start ?? 0, 'a checkpoint that closes no run');
          const { kind: _kind, ...checkpoint } = record;
          const bad = checkSignature(checkpoint, key!);
          if (bad) throw new BundleInvalid('checkpoint-signature-invalid', checkpoint.position, bad);
          if (checkpoint.position !== run.last) throw new BundleInvalid('bundle-run-unsealed', run.last, `the run ends at ${run.last} but its checkpoint covers ${checkpoint.position}`);
          if (checkpoint.hash !== run.hash.toString('hex')) throw new BundleInvalid('checkpoint-hash-mismatch', run.last, `the run hashes to ${run.hash.toString('hex')}, the checkpoint signed ${checkpoint.hash}`);
          runIntervals.push([run.start, run.last]);
          lastEnd = run.last;
          lastEndHash = checkpoint.hash;
          run = undefined;
          report.checkpoints++;
          break;
        }
        case 'end': {
          if (run) throw new BundleInvalid('bundle-run-unsealed', run.last, `the run ending at ${run.last} has no checkpoint`);
          if (record.runs !== report.runs || record.events !== report.events || record.checkpoints !== report.checkpoints) {
            throw new BundleInvalid('bundle-count-mismatch', 0, `the end record counts ${record.runs} runs / ${record.events} events / ${record.checkpoints} checkpoints, the bundle holds ${report.runs} / ${report.events} / ${report.checkpoints}`);
          }
          ended = true;
          break;
        }
      }
    }
    if (lineNumber === 0) throw new BundleInvalid('bundle-malformed', 0, 'the bundle is empty');
    if (!ended) throw new BundleInvalid('bundle-count-mismatch', 0, 'the bundle has no end record (truncated?)');
    if (deviceStream !== undefined && report.selectedEvents === 0) throw new BundleInvalid('bundle-device-incomplete', 0, `no event of device ${report.deviceId}`);
    return report;
  } catch (error) {
    if (error instanceof BundleInvalid) {
      report.ok = false;
      report.failure = { position: error.position, code: error.code, reason: error.message, line: lineNumber };
      return report;
    }
    if (error instanceof BundleLineError) {
      report.ok = false;
      report.failure = { position: 0, code: 'bundle-malformed', reason: error.message, line: error.line };
      return report;
    }
    throw error;
  }
};
