import { upcast } from './upcasters';
import { UnknownEvent } from '../errors';

describe('upcasters', () => {
  it('reads a v1 DeviceRevoked (free-text reason) as v2 (RFC 5280 reason + comment)', () => {
    const v1 = { type: 'DeviceRevoked', version: 1, data: { reason: 'tampering detected', revokedAt: '2020-01-01T00:00:00.000Z' } };
    expect(upcast(v1)).toEqual({
      type: 'DeviceRevoked',
      version: 2,
      data: { reason: 'unspecified', comment: 'tampering detected', revokedAt: '2020-01-01T00:00:00.000Z' },
    });
  });

  it('keeps a v1 reason that already is an RFC 5280 name', () => {
    const v1 = { type: 'DeviceRevoked', version: 1, data: { reason: 'keyCompromise', revokedAt: 't' } };
    expect(upcast(v1).data).toEqual({ reason: 'keyCompromise', revokedAt: 't' });
  });

  it('leaves current versions untouched and does not mutate the stored data', () => {
    const stored = { type: 'DeviceRevoked', version: 1, data: { reason: 'x', revokedAt: 't' } };
    upcast(stored);
    expect(stored.data).toEqual({ reason: 'x', revokedAt: 't' });
    const shipped = { type: 'DeviceShipped', version: 1, data: { owner: 'o', shippedAt: 't' } };
    expect(upcast(shipped)).toEqual(shipped);
  });

  it('refuses unknown types and versions from the future', () => {
    expect(() => upcast({ type: 'Nope', version: 1, data: {} })).toThrow(UnknownEvent);
    expect(() => upcast({ type: 'DeviceShipped', version: 9, data: {} })).toThrow(UnknownEvent);
  });
});
