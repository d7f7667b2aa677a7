import type { SQLOutputValue } from 'node:sqlite';
import type { EventMetadata, StoredEvent, StoredEventText } from '../event-store';

/** Column list shared by every SELECT that turns rows into events (order matters). */
export const EVENT_COLUMNS = 'position, id, stream_id, revision, type, version, occurred_at, recorded_at, data, metadata';

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
