import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { AUDIT_CHECKPOINT_STREAM } from '@devid/audit';
import { CA_STREAM_PREFIX, DETECTOR_STREAM_PREFIX, DEVICE_STREAM_PREFIX } from '@devid/domain';
import { EventStoreDbEventStore, SqliteEventStore, type EventStore } from '@devid/event-store';
import type { LedgerConfig } from '../config/config';

/** Every stream the ledger writes starts with one of these: the $all filter of the EventStoreDB adapter. */
export const LEDGER_STREAM_PREFIXES: readonly string[] = [DEVICE_STREAM_PREFIX, CA_STREAM_PREFIX, DETECTOR_STREAM_PREFIX, AUDIT_CHECKPOINT_STREAM];

export type EventStoreSettings = Pick<LedgerConfig, 'EVENT_STORE' | 'EVENTSTORE_CONNECTION' | 'EVENTSTORE_NAMESPACE' | 'DATA_DIR'>;

/** Opens the store EVENT_STORE names: the SQLite file in DATA_DIR, or EventStoreDB at EVENTSTORE_CONNECTION. */
export const openEventStore = async (config: EventStoreSettings): Promise<EventStore> => {
  if (config.EVENT_STORE === 'eventstoredb') {
    // loadConfig refuses eventstoredb without a connection string; this guards other callers.
    if (config.EVENTSTORE_CONNECTION === undefined) throw new Error('EVENT_STORE=eventstoredb needs EVENTSTORE_CONNECTION');
    return EventStoreDbEventStore.open(config.EVENTSTORE_CONNECTION, { namespace: config.EVENTSTORE_NAMESPACE, streamPrefixes: LEDGER_STREAM_PREFIXES });
  }
  mkdirSync(config.DATA_DIR, { recursive: true });
  return SqliteEventStore.open(join(config.DATA_DIR, 'events.db'));
};
