import { decide } from './decide';
import { fold } from './evolve';
import type { DeviceCommand } from './device-commands';
import type { DeviceEvent } from './device-events';
import type { KnownDeviceState } from './device-state';
import { InvalidCommand, IllegalTransition } from '../errors';
import { cert, decommission, enrollWith, manufactureWithIdevid, reenroll, revoke, ship, transfer, DEVICE, ctx } from './testing';

const run = (...commands: DeviceCommand[]) => {
  const events: DeviceEvent[] = [];
  let last: DeviceEvent[] = [];
  for (const c of commands) {
    last = decide(c, fold(events));
    events.push(...last);
  }
  return { last, state: fold(events) as KnownDeviceState };
};
const statusOf = (state: KnownDeviceState) => Object.fromEntries(state.certificates.map((c) => [c.serialNumber, c.status]));

describe('certificates through the lifecycle', () => {
  it('records the IDevID with the manufacture and the LDevID with the enrollment, in the same append', () => {
    const made = run(manufactureWithIdevid('I1'));
    expect(made.last.map((e) => e.type)).toEqual(['DeviceManufactured', 'CertificateIssued']);
    const enrolled = run(manufactureWithIdevid('I1'), ship(), enrollWith('L1'));
    expect(enrolled.last.map((e) => e.type)).toEqual(['DeviceEnrolled', 'CertificateIssued']);
    expect(statusOf(enrolled.state)).toEqual({ I1: 'good', L1: 'good' });
  });

  it('transfer revokes every live LDevID (affiliationChanged) and keeps the IDevID', () => {
    const { last, state } = run(manufactureWithIdevid('I1'), ship(), enrollWith('L1'), reenroll('L2'), transfer('globex'));
    expect(last).toMatchObject([
      { type: 'DeviceTransferred' },
      { type: 'CertificateRevoked', data: { serialNumber: 'L2', reason: 'affiliationChanged', keyBlocked: false } },
    ]);
    expect(statusOf(state)).toEqual({ I1: 'good', L1: 'superseded', L2: 'revoked' });
  });

  it('revoke as keyCompromise revokes the LDevIDs and blocks their keys', () => {
    const { last } = run(manufactureWithIdevid('I1'), ship(), enrollWith('L1'), revoke('keyCompromise'));
    expect(last).toMatchObject([
      { type: 'DeviceRevoked' },
      { type: 'CertificateRevoked', data: { serialNumber: 'L1', reason: 'keyCompromise', keyBlocked: true, spkiSha256: 'spki-L1' } },
    ]);
  });

  it('decommission revokes every live certificate, the IDevID included (cessationOfOperation)', () => {
    const { last, state } = run(manufactureWithIdevid('I1'), ship(), enrollWith('L1'), decommission());
    expect(last.filter((e) => e.type === 'CertificateRevoked').map((e) => e.data)).toEqual([
      expect.objectContaining({ serialNumber: 'I1', reason: 'cessationOfOperation' }),
      expect.objectContaining({ serialNumber: 'L1', reason: 'cessationOfOperation' }),
    ]);
    expect(statusOf(state)).toEqual({ I1: 'revoked', L1: 'revoked' });
  });

  it('scrapping a never-shipped device revokes its birth certificate', () => {
    const { state } = run(manufactureWithIdevid('I1'), decommission('scrapped'));
    expect(statusOf(state)).toEqual({ I1: 'revoked' });
  });

  it('re-enrollment supersedes the current LDevID, or revokes it (superseded) when asked', () => {
    expect(statusOf(run(manufactureWithIdevid('I1'), ship(), enrollWith('L1'), reenroll('L2')).state)).toMatchObject({ L1: 'superseded', L2: 'good' });
    const revoked = run(manufactureWithIdevid('I1'), ship(), enrollWith('L1'), reenroll('L2', true));
    expect(revoked.last[0]).toMatchObject({ type: 'CertificateRevoked', data: { serialNumber: 'L1', reason: 'superseded' } });
  });

  it('refuses re-enrollment unless enrolled, a wrong profile, and a serial already recorded', () => {
    expect(() => run(manufactureWithIdevid('I1'), ship(), reenroll('L1'))).toThrow(IllegalTransition);
    const wrongProfile: DeviceCommand = { type: 'EnrollDevice', deviceId: DEVICE, data: { certificate: cert('IDevID', 'X') }, ...ctx() };
    expect(() => run(manufactureWithIdevid('I1'), ship(), wrongProfile)).toThrow(InvalidCommand);
    expect(() => run(manufactureWithIdevid('I1'), ship(), enrollWith('I1'))).toThrow(InvalidCommand);
  });
});
