import type { SQLOutputValue } from 'node:sqlite';
import type { EventMetadata, ProjectedEvent, StoredEvent, StoredEventText } from '../event-store';

/** Column list shared by every SELECT that turns rows into events (order matters). */
export const EVENT_COLUMNS = 'position, id, stream_id, revision, type, version, occurred_at, recorded_at, data, metadata';
/** The same without metadata: the first nine, in the same order. */
export const PROJECTED_EVENT_COLUMNS = 'position, id, stream_id, revision, type, version, occurred_at, recorded_at, data';

/**
 * A row read with returnArrays (cheaper than one object per row on replay), in
 * EVENT_COLUMNS order. The store wrote and validated these values, so they are trusted.
 */
export const rowToEvent = (row: readonly SQLOutputValue[]): StoredEvent => ({
  id: row[1] as string,
  type: row[4] as string,
  version: row[5] as number,
  streamId: row[2] as string,
  revision: row[3] as number,
  position: row[0] as number,
  occurredAt: row[6] as string,
  recordedAt: row[7] as string,
  data: JSON.parse(row[8] as string) as unknown,
  metadata: JSON.parse(row[9] as string) as EventMetadata,
});

/** A row of PROJECTED_EVENT_COLUMNS: the event without its metadata (not read, not parsed). */
export const rowToProjectedEvent = (row: readonly SQLOutputValue[]): ProjectedEvent => ({
  id: row[1] as string,
  type: row[4] as string,
  version: row[5] as number,
  streamId: row[2] as string,
  revision: row[3] as number,
  position: row[0] as number,
  occurredAt: row[6] as string,
  recordedAt: row[7] as string,
  data: JSON.parse(row[8] as string) as unknown,
});

/** The same row with data and metadata left as the stored JSON text. */
export const rowToEventText = (row: readonly SQLOutputValue[]): StoredEventText => ({
  id: row[1] as string,
  type: row[4] as string,
  version: row[5] as number,
  streamId: row[2] as string,
  revision: row[3] as number,
  position: row[0] as number,
  occurredAt: row[6] as string,
  recordedAt: row[7] as string,
  dataJson: row[8] as string,
  metadataJson: row[9] as string,
});
