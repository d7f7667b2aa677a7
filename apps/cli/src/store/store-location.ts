import { resolve } from 'node:path';
import { CA_STREAM_PREFIX, DETECTOR_STREAM_PREFIX, DEVICE_STREAM_PREFIX } from '@devid/domain';
import { AUDIT_CHECKPOINT_STREAM } from '@devid/audit';
import { EventStoreDbEventStore, SqliteEventStore, type EventStore } from '@devid/event-store';
import { CliError } from '../cli-error';

/** Where a log lives: `sqlite:<path>` or `eventstoredb:<connection string>`. */
export type StoreLocation = { kind: 'sqlite'; path: string } | { kind: 'eventstoredb'; connection: string };

/** The streams the ledger writes: the $all filter of an EventStoreDB target (as in the ledger's wiring). */
const LEDGER_STREAM_PREFIXES = [DEVICE_STREAM_PREFIX, CA_STREAM_PREFIX, DETECTOR_STREAM_PREFIX, AUDIT_CHECKPOINT_STREAM];

export const parseStoreLocation = (option: string, text: string): StoreLocation => {
  const colon = text.indexOf(':');
  const scheme = colon < 0 ? '' : text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (scheme === 'sqlite' && rest.length > 0) return { kind: 'sqlite', path: resolve(rest) };
  if (scheme === 'eventstoredb' && /^(kurrentdb|kurrent|kdb|esdb)(\+discover)?:\/\/\S+$/.test(rest)) return { kind: 'eventstoredb', connection: rest };
  throw new CliError(`${option} must be sqlite:<path> or eventstoredb:<kurrentdb://… connection string>, got ${JSON.stringify(text)}`);
};

export const describeLocation = (location: StoreLocation): string =>
  location.kind === 'sqlite' ? `sqlite:${location.path}` : `eventstoredb:${location.connection.replace(/\/\/[^@/]*@/, '//***@')}`;

export const openStoreAt = (location: StoreLocation, options: { clock?: () => Date; namespace?: string } = {}): Promise<EventStore> =>
  location.kind === 'sqlite'
    ? SqliteEventStore.open(location.path, options.clock ? { clock: options.clock } : {})
    : EventStoreDbEventStore.open(location.connection, { namespace: options.namespace ?? '', streamPrefixes: LEDGER_STREAM_PREFIXES, ...(options.clock ? { clock: options.clock } : {}) });
