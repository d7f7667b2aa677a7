export { describeEventStoreContract, newEvent, type EventStoreFactory, type EventStoreUnderTest } from './event-store-contract';
