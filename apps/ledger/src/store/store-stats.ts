import type { EventStore, SqliteEventStoreIndexStats, SqliteEventStoreStats } from '@devid/event-store';

type StatsReader<K extends string, T> = Partial<Record<K, () => T>>;

/** The SQLite store's group-commit counters (SqliteEventStore.stats), when the store has them. */
export const commitStatsOf = (store: EventStore): (() => SqliteEventStoreStats) | undefined =>
  (store as StatsReader<'stats', SqliteEventStoreStats>).stats?.bind(store);

/** The SQLite store's index counters (SqliteEventStore.indexStats), when the store has them. */
export const indexStatsOf = (store: EventStore): (() => SqliteEventStoreIndexStats) | undefined =>
  (store as StatsReader<'indexStats', SqliteEventStoreIndexStats>).indexStats?.bind(store);
