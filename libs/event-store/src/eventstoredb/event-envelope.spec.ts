import { toAppendRequest } from '../append-request';
import { newEvent } from '../testing';
import { ForeignEvent, fromEventStoreDbRecord, toEventStoreDbEvent, type EventStoreDbRecord } from './event-envelope';

const recordOf = (streamId: string, data: unknown, metadata: unknown, overrides: Partial<EventStoreDbRecord> = {}): EventStoreDbRecord => ({
  id: '0b6a3c1e-5f0d-4c59-9d5e-6a8f1d2c3b4a',
  type: 'DeviceRegistered',
  streamId,
  revision: 7n,
  created: new Date('2030-05-06T07:08:09.123Z'),
  isJson: true,
  data,
  metadata,
  ...overrides,
});

describe('EventStoreDB event envelope', () => {
  it('round-trips a ledger event: id, type and data as EventStoreDB fields, the rest under metadata.devid', () => {
    const event = newEvent({ version: 3, data: { serial: 'SN-1', at: new Date('2025-01-01T00:00:00.000Z') } });
    const [serialized] = toAppendRequest('device-1', [event], 'any').events;

    const written = toEventStoreDbEvent(serialized!);
    // What EventStoreDB stores is JSON; it hands back the parsed JSON.
    const stored = fromEventStoreDbRecord(
      recordOf('ns.device-1', JSON.parse(JSON.stringify(written.data)), JSON.parse(JSON.stringify(written.metadata)), { id: event.id }),
      'ns.',
      42,
    );

    expect(written.metadata.$correlationId).toBe(event.metadata.correlationId);
    expect(written.metadata.$causationId).toBe(event.metadata.causationId);
    expect(stored).toEqual({
      id: event.id,
      type: event.type,
      version: 3,
      occurredAt: event.occurredAt,
      data: { serial: 'SN-1', at: '2025-01-01T00:00:00.000Z' },
      metadata: event.metadata,
      streamId: 'device-1',
      revision: 7,
      position: 42,
      recordedAt: '2030-05-06T07:08:09.123Z',
    });
  });

  it('refuses to read a record the ledger did not write as a ledger event', () => {
    const envelope = { devid: { version: 1, occurredAt: '2025-01-01T00:00:00.000Z', metadata: {} } };

    expect(() => fromEventStoreDbRecord(recordOf('device-1', {}, { $correlationId: 'x' }), '', 1)).toThrow(ForeignEvent);
    expect(() => fromEventStoreDbRecord(recordOf('device-1', {}, envelope, { isJson: false }), '', 1)).toThrow(ForeignEvent);
    expect(() => fromEventStoreDbRecord(recordOf('other.device-1', {}, envelope), 'ns.', 1)).toThrow(ForeignEvent);
    expect(fromEventStoreDbRecord(recordOf('device-1', {}, envelope), '', 1)).toMatchObject({ streamId: 'device-1', version: 1 });
  });

  it('reads back an injected recordedAt (a migration keeps the source log\'s) instead of the server commit time', () => {
    const [serialized] = toAppendRequest('device-1', [newEvent()], 'any').events;
    const written = toEventStoreDbEvent(serialized!, '2024-12-31T23:59:59.999Z');

    const stored = fromEventStoreDbRecord(recordOf('device-1', written.data, JSON.parse(JSON.stringify(written.metadata))), '', 5);

    expect(stored.recordedAt).toBe('2024-12-31T23:59:59.999Z');
    expect(toEventStoreDbEvent(serialized!).metadata.devid).not.toHaveProperty('recordedAt');
  });
});
