// The EventStore contract on a real EventStoreDB / KurrentDB: EVENTSTORE_CONNECTION, or a
// testcontainers KurrentDB when a Docker engine answers. Elsewhere it prints why it did not run.
import { randomUUID } from 'node:crypto';
import type { StartedTestContainer } from 'testcontainers';
import { EventStoreDbEventStore, type EventStore } from '@devid/event-store';
import { describeEventStoreContract, newEvent } from '../../libs/event-store/src/testing';
import { eventStoreTarget, startKurrentDb } from './eventstoredb-target';

const target = eventStoreTarget();

if (target.kind === 'none') {
  describe('EventStoreDB contract', () => {
    beforeAll(() => console.log(`EventStoreDB contract skipped: ${target.reason}`));

    it('runs only where EventStoreDB can be reached: the target check found none', () => {
      expect(eventStoreTarget()).toEqual(target);
      expect(process.env['EVENTSTORE_CONNECTION'] ?? '').toBe('');
    });
  });
} else {
  let container: StartedTestContainer | undefined;
  let connection = target.kind === 'connection' ? target.connection : '';

  beforeAll(async () => {
    if (target.kind === 'docker') ({ container, connection } = await startKurrentDb());
  }, 180_000);
  afterAll(async () => {
    await container?.stop();
  });

  // Each test gets a namespace of its own in the one server, so it starts from an empty log.
  describeEventStoreContract('eventstoredb', async () => {
    const options = { namespace: `t${randomUUID().slice(0, 8)}.`, pollIntervalMs: 50 };
    const opened: EventStore[] = [await EventStoreDbEventStore.open(connection, options)];
    return {
      store: opened[0]!,
      reopen: async () => {
        const again = await EventStoreDbEventStore.open(connection, options);
        opened.push(again);
        return again;
      },
      cleanup: async () => {
        for (const store of opened) await store.close();
      },
    };
  });

  describe('EventStoreDbEventStore', () => {
    it('numbers the log alike in two stores on the same server (replicas agree on positions)', async () => {
      const options = { namespace: `t${randomUUID().slice(0, 8)}.` };
      const a = await EventStoreDbEventStore.open(connection, options);
      const b = await EventStoreDbEventStore.open(connection, options);
      try {
        await a.append('device-1', [newEvent(), newEvent()], { expectedRevision: 'no_stream' });
        const fromB = await b.append('device-2', [newEvent()], { expectedRevision: 'no_stream' });
        await a.append('device-1', [newEvent()], { expectedRevision: 1 });

        expect(fromB.events[0]!.position).toBe(3);
        expect(await b.readAll()).toEqual(await a.readAll());
        await expect(b.append('device-1', [newEvent()], { expectedRevision: 1 })).rejects.toMatchObject({ code: 'wrong-expected-revision', actual: 2 });
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('refuses, without a namespace, a stream outside the ledger prefixes (the $all filter would not read it back)', async () => {
      const store = await EventStoreDbEventStore.open(connection, { streamPrefixes: [`p${randomUUID().slice(0, 8)}-`] });
      try {
        await expect(store.append('elsewhere-1', [newEvent()], { expectedRevision: 'any' })).rejects.toMatchObject({ code: 'invalid-append' });
      } finally {
        await store.close();
      }
    });
  });
}
