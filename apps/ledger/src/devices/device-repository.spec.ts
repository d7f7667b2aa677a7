// The repository's cache of folded device states: a kept state is used only while the stream is
// still at the revision it folds up to, and the least recently used states make room for new ones.
import { randomUUID } from 'node:crypto';
import { deviceStreamId } from '@devid/domain';
import { MemoryEventStore, type NewEvent } from '@devid/event-store';
import { DEVICE_STATE_CACHE_SIZE, DeviceRepository } from './device-repository';

const at = '2026-11-30T08:00:00.000Z';
const event = (type: string, data: unknown): NewEvent => ({
  id: randomUUID(),
  type,
  version: 1,
  occurredAt: at,
  data,
  metadata: { commandId: randomUUID(), causationId: randomUUID(), correlationId: randomUUID(), actor: 'spec' },
});
const manufactured = (deviceId: string) => event('DeviceManufactured', { deviceId, serialNumber: `SN-${deviceId}`, model: 'gw-7', factoryId: 'fab-1', manufacturedAt: at });

/** A MemoryEventStore that counts the stream reads the repository makes. */
const countingStore = () => {
  const store = new MemoryEventStore();
  const reads = new Map<string, number>();
  const readStream = store.readStream.bind(store);
  store.readStream = (streamId, options) => {
    reads.set(streamId, (reads.get(streamId) ?? 0) + 1);
    return readStream(streamId, options);
  };
  return { store, readsOf: (deviceId: string) => reads.get(deviceStreamId(deviceId)) ?? 0 };
};

describe('DeviceRepository.current()', () => {
  it('folds a device once, then answers from the kept state until another writer appends to its stream', async () => {
    const { store, readsOf } = countingStore();
    const repository = new DeviceRepository(store);
    await store.append(deviceStreamId('dev-1'), [manufactured('dev-1')], { expectedRevision: 'no_stream' });

    expect(await repository.current('dev-1')).toMatchObject({ revision: 0, state: { status: 'manufactured' } });
    expect(await repository.current('dev-1')).toMatchObject({ revision: 0, state: { status: 'manufactured' } });
    expect(readsOf('dev-1')).toBe(1);

    // Written past the repository (another process, another code path): read and folded afresh.
    await store.append(deviceStreamId('dev-1'), [event('DeviceShipped', { owner: 'acme', shippedAt: at })], { expectedRevision: 0 });
    expect(await repository.current('dev-1')).toMatchObject({ revision: 1, state: { status: 'shipped', owner: 'acme' } });
    expect(readsOf('dev-1')).toBe(2);
  });

  it('keeps the most recently used states when more devices pass than it holds, and reads the others again', async () => {
    const { store, readsOf } = countingStore();
    const repository = new DeviceRepository(store);
    const devices = Array.from({ length: DEVICE_STATE_CACHE_SIZE + (DEVICE_STATE_CACHE_SIZE >> 3) }, (_, k) => `dev-${k}`);
    for (const deviceId of devices) await store.append(deviceStreamId(deviceId), [manufactured(deviceId)], { expectedRevision: 'no_stream' });

    // As many as it holds; then dev-0, the first of them, is used again and becomes the most recent.
    for (const deviceId of devices.slice(0, DEVICE_STATE_CACHE_SIZE)) await repository.current(deviceId);
    await repository.current('dev-0');
    // More devices than there is room for: the least recently used make room.
    for (const deviceId of devices.slice(DEVICE_STATE_CACHE_SIZE)) await repository.current(deviceId);

    const last = devices[devices.length - 1]!;
    for (const deviceId of ['dev-0', 'dev-1', last]) expect(await repository.current(deviceId)).toMatchObject({ revision: 0, state: { status: 'manufactured', deviceId } });
    expect(readsOf('dev-0')).toBe(1); // kept: used again before the others came
    expect(readsOf('dev-1')).toBe(2); // the least recently used: out, and read again when asked for
    expect(readsOf(last)).toBe(1); // the most recent
  });
});
