import { z } from 'zod';
import { EventStoreError } from '../errors';
import type { SerializedEvent } from '../append-request';
import type { EventMetadata, StoredEvent } from '../event-store';
import type { LogPosition } from './log-position';

/**
 * How a ledger event sits in EventStoreDB: id, type and data as EventStoreDB's own fields
 * (so its UI and projections read them), and in the metadata what EventStoreDB has no
 * field for. $correlationId / $causationId are EventStoreDB's conventions; our metadata
 * travels whole under `devid`.
 */
export interface EventStoreDbEventData {
  id: string;
  type: string;
  data: unknown;
  metadata: {
    $correlationId: string;
    $causationId: string;
    devid: { version: number; occurredAt: string; metadata: EventMetadata; recordedAt?: string };
  };
}

/** What the adapter reads back of an EventStoreDB record (a subset of the client's RecordedEvent). */
export interface EventStoreDbRecord {
  id: string;
  type: string;
  streamId: string;
  revision: bigint;
  created: Date;
  isJson: boolean;
  data: unknown;
  metadata: unknown;
  position?: LogPosition;
}

/** A record in one of the ledger's streams that the ledger did not write: the log cannot be read as ledger events. */
export class ForeignEvent extends EventStoreError {
  readonly code = 'foreign-event';
  readonly status = 500;
  readonly retriable = false;
  constructor(streamId: string, revision: bigint, detail: string) {
    super(`event ${revision} of stream ${streamId} is not a DevID Ledger event: ${detail}`);
  }
}

const envelope = z.object({
  devid: z.object({
    version: z.number().int().positive(),
    occurredAt: z.string().min(1),
    metadata: z.record(z.string(), z.unknown()),
    recordedAt: z.iso.datetime().optional(),
  }),
});

/** `recordedAt` set: the store's clock was injected (a migration keeps the source's); else EventStoreDB's `created` is read back. */
export const toEventStoreDbEvent = (event: SerializedEvent, recordedAt?: string): EventStoreDbEventData => {
  const metadata = JSON.parse(event.metadataJson) as EventMetadata;
  return {
    id: event.id,
    type: event.type,
    data: JSON.parse(event.dataJson) as unknown,
    metadata: {
      $correlationId: String(metadata.correlationId),
      $causationId: String(metadata.causationId),
      devid: { version: event.version, occurredAt: event.occurredAt, metadata, ...(recordedAt === undefined ? {} : { recordedAt }) },
    },
  };
};

/** Reads a record of stream `<namespace><streamId>` back as the ledger's StoredEvent at `position`. */
export const fromEventStoreDbRecord = (record: EventStoreDbRecord, namespace: string, position: number): StoredEvent => {
  if (!record.streamId.startsWith(namespace)) throw new ForeignEvent(record.streamId, record.revision, `outside namespace ${namespace}`);
  if (!record.isJson) throw new ForeignEvent(record.streamId, record.revision, 'its content type is not JSON');
  const parsed = envelope.safeParse(record.metadata);
  if (!parsed.success) throw new ForeignEvent(record.streamId, record.revision, 'its metadata has no devid envelope');
  const { version, occurredAt, metadata, recordedAt } = parsed.data.devid;
  return {
    id: record.id,
    type: record.type,
    version,
    occurredAt,
    data: record.data,
    metadata: metadata as EventMetadata,
    streamId: record.streamId.slice(namespace.length),
    revision: Number(record.revision),
    position,
    recordedAt: recordedAt ?? record.created.toISOString(),
  };
};
