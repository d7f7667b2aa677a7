export { describeEventStoreContract, eventually, newEvent, type EventStoreFactory, type EventStoreUnderTest } from './event-store-contract';
