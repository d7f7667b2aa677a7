import { renameSync, rmSync } from 'node:fs';
import { caIdOfStream, deviceStreamId } from '@devid/domain';
import type { EventStore, StoredEvent } from '@devid/event-store';
import { canonicalEvent } from '../chain/canonical-event';
import { chainStep, GENESIS_HASH } from '../chain/chain-hash';
import { keyOfCheckpoint } from '../checkpoint/audit-checkpoint';
import { CheckpointCursor, type CheckpointEntry } from '../checkpoint/checkpoint-cursor';
import { InvalidExportRange, LogTampered, RangeNotSealed } from '../errors';
import { logPages } from '../log/log-pages';
import { BUNDLE_FORMAT, BUNDLE_VERSION, type CheckpointRecord, type HeaderRecord, type RunRecord } from './bundle-records';
import type { RangeBound } from './export-range';
import { LineWriter } from './line-writer';

export interface ExportOptions {
  from: RangeBound;
  to: RangeBound;
  /** Only this device's events (plus the CA events, which prove its certificates). */
  deviceId?: string;
  out: string;
  onProgress?: (position: number) => void;
}

export interface ExportSummary {
  runs: number;
  /** Event lines written (selected events and the events linking them to a checkpoint). */
  events: number;
  /** Events the range and filter selected. */
  selected: number;
  checkpoints: number;
  firstPosition: number;
  lastPosition: number;
  keyId: string;
}

/**
 * Writes an audit bundle (see bundle-records.ts) in one pass over the log.
 *
 * The chain step needs the whole previous event, so an event is provable only together with
 * every event after it up to a signed checkpoint. Each selected event therefore opens (or
 * extends) a run of consecutive events that ends at the position the next checkpoint covers;
 * overlapping runs merge. Unfiltered, a range becomes back-to-back runs, one per checkpoint. With --device, the events of
 * other devices between a selected event and its checkpoint are in the bundle as links (at
 * most the checkpoint interval's worth per selected event). CA events up to the end of the
 * range are always selected: they carry the CA certificates.
 *
 * The chain is recomputed from position 1 and checked against every sealing checkpoint, so
 * a tampered log is refused rather than exported.
 */
export const exportBundle = async (store: EventStore, options: ExportOptions): Promise<ExportSummary> => {
  const deviceStream = options.deviceId === undefined ? undefined : deviceStreamId(options.deviceId);
  const { from, to } = options;
  if ('position' in from && 'position' in to && from.position > to.position) throw new InvalidExportRange(`--from ${from.position} is after --to ${to.position}`);
  if ('time' in from && 'time' in to && from.time > to.time) throw new InvalidExportRange('--from is after --to');
  const atOrAfterFrom = (e: StoredEvent) => ('position' in from ? e.position >= from.position : Date.parse(e.recordedAt) >= from.time.getTime());
  const pastTo = (e: StoredEvent) => ('position' in to ? e.position > to.position : Date.parse(e.recordedAt) > to.time.getTime());
  const selected = (e: StoredEvent) =>
    !pastTo(e) && (caIdOfStream(e.streamId) !== undefined || (atOrAfterFrom(e) && (deviceStream === undefined || e.streamId === deviceStream)));

  const cursor = new CheckpointCursor(store);
  const first = await cursor.peek();
  const key = first && keyOfCheckpoint(first.data);
  if (!first || !key) throw new RangeNotSealed(1);

  const partial = `${options.out}.partial`;
  const writer = new LineWriter(partial);
  const summary: ExportSummary = { runs: 0, events: 0, selected: 0, checkpoints: 0, firstPosition: 0, lastPosition: 0, keyId: key.keyId };
  let deviceSelected = 0;
  try {
    const header: HeaderRecord = {
      kind: 'header',
      format: BUNDLE_FORMAT,
      version: BUNDLE_VERSION,
      deviceId: options.deviceId ?? null,
      auditKey: { jwk: key.jwk, spkiPem: key.pem() },
    };
    writer.line(header);
    let previous = GENESIS_HASH;
    let runEnd = 0;
    let sealing: CheckpointEntry | undefined;
    let done = false;
    for await (const page of logPages(store, 0)) {
      for (const event of page) {
        const canonical = canonicalEvent(event);
        const hash = chainStep(previous, canonical);
        const open = sealing !== undefined;
        if (!open && pastTo(event)) {
          done = true;
          break;
        }
        if (selected(event)) {
          summary.selected++;
          if (event.streamId === deviceStream) deviceSelected++;
          if (!open) {
            const run: RunRecord = { kind: 'run', after: event.position - 1, hash: previous.toString('hex') };
            writer.line(run);
            summary.runs++;
            if (summary.firstPosition === 0) summary.firstPosition = event.position;
          }
          const covering = await cursor.firstCovering(event.position);
          if (!covering) throw new RangeNotSealed(event.position);
          if (covering.data.position > runEnd || sealing === undefined) {
            runEnd = covering.data.position;
            sealing = covering;
          }
        }
        if (sealing !== undefined) {
          // The event member is written as the very bytes that were hashed: its RFC 8785 form
          // (the ten stored fields, as eventRecord expects them) rather than a second stringify.
          writer.text(`{"kind":"event","event":${canonical},"hash":"${hash.toString('hex')}"}`);
          summary.events++;
          summary.lastPosition = event.position;
          if (event.position === runEnd) {
            if (hash.toString('hex') !== sealing.data.hash) {
              throw new LogTampered(event.position, `the log hashes to ${hash.toString('hex')} but checkpoint ${sealing.event.position} signed ${sealing.data.hash}`);
            }
            const { publicKey: _publicKey, ...statement } = sealing.data;
            const record: CheckpointRecord = { kind: 'checkpoint', ...statement };
            writer.line(record);
            summary.checkpoints++;
            sealing = undefined;
          }
        }
        previous = hash;
      }
      options.onProgress?.(page[page.length - 1]!.position);
      if (done) break;
    }
    if (sealing !== undefined) throw new LogTampered(runEnd, 'a checkpoint covers a position beyond the end of the log');
    if (summary.selected === 0) throw new InvalidExportRange('the range selects no event');
    if (deviceStream !== undefined && deviceSelected === 0) throw new InvalidExportRange(`device ${options.deviceId} has no event in the range`);
    writer.line({ kind: 'end', runs: summary.runs, events: summary.events, checkpoints: summary.checkpoints });
    writer.close();
    renameSync(partial, options.out);
    return summary;
  } catch (error) {
    try {
      writer.close();
    } catch {
      // the write error itself is the one to report
    }
    rmSync(partial, { force: true });
    throw error;
  }
};
