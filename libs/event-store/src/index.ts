export * from './event-store';
export * from './errors';
export { deriveEventId, EVENT_ID_NAMESPACE, uuidV5 } from './event-id';
export { MemoryEventStore, type MemoryEventStoreOptions } from './memory/memory-event-store';
export { SqliteEventStore, type SqliteEventStoreIndexStats, type SqliteEventStoreOptions, type SqliteEventStoreStats } from './sqlite/sqlite-event-store';
export { EventStoreDbEventStore, type EventStoreDbEventStoreOptions } from './eventstoredb/eventstoredb-event-store';
export { ForeignEvent } from './eventstoredb/event-envelope';
export { inCanonicalOrder, WALK } from './canonical-order';
export { BOUND_LIMIT } from './sqlite/bound-limit';
