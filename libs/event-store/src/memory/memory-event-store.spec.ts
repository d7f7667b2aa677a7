import { describeEventStoreContract, newEvent } from '../testing';
import { MemoryEventStore } from './memory-event-store';

describeEventStoreContract('memory', async () => {
  const store = new MemoryEventStore();
  return { store, cleanup: () => store.close() };
});

describe('MemoryEventStore', () => {
  it('stamps recordedAt from the injected clock', async () => {
    const store = new MemoryEventStore({ clock: () => new Date('2030-01-01T00:00:00.000Z') });

    const result = await store.append('device-1', [newEvent()], { expectedRevision: 'no_stream' });

    expect(result.events[0]!.recordedAt).toBe('2030-01-01T00:00:00.000Z');
  });
});
