import { decide } from './decide';
import { fold } from './evolve';
import type { DeviceCommand } from './device-commands';
import type { DeviceEvent } from './device-events';
import { DeviceAlreadyExists, DeviceNotFound, IllegalTransition, InvalidCommand } from '../errors';
import { decommission, enroll, manufacture, reinstate, revoke, ship, transfer } from './testing';

/** given(commands that already happened).when(command).then(events) — STYLE.md §1. */
const given = (...history: DeviceCommand[]) => {
  const events: DeviceEvent[] = [];
  for (const c of history) events.push(...decide(c, fold(events)));
  const state = fold(events);
  return {
    when: (command: DeviceCommand) => ({
      then: (expected: Partial<DeviceEvent>[]) => {
        const produced = decide(command, state);
        expect(produced).toMatchObject(expected);
        return fold(produced, state);
      },
      thenRefused: (error: new (...args: never[]) => Error) => expect(() => decide(command, state)).toThrow(error),
    }),
  };
};

describe('device decider', () => {
  it('manufactures a new device', () => {
    const state = given().when(manufacture()).then([{ type: 'DeviceManufactured', version: 1 }]);
    expect(state).toMatchObject({ status: 'manufactured', serialNumber: 'SN-1', model: 'M1', factoryId: 'F1' });
  });

  it('refuses to manufacture the same device twice', () => {
    given(manufacture()).when(manufacture()).thenRefused(DeviceAlreadyExists);
  });

  it('refuses any command on a device that does not exist', () => {
    given().when(ship()).thenRefused(DeviceNotFound);
  });

  it('ships, enrolls, transfers back to shipped under the new owner', () => {
    const state = given(manufacture(), ship('acme'), enroll())
      .when(transfer('globex'))
      .then([{ type: 'DeviceTransferred', data: expect.objectContaining({ previousOwner: 'acme', newOwner: 'globex' }) }]);
    expect(state).toMatchObject({ status: 'shipped', owner: 'globex', transfers: 1 });
  });

  it('enrolls only a shipped device', () => {
    given(manufacture()).when(enroll()).thenRefused(IllegalTransition);
    given(manufacture(), ship(), enroll()).when(enroll()).thenRefused(IllegalTransition);
  });

  it('revokes an enrolled device with an RFC 5280 reason and reinstates it', () => {
    given(manufacture(), ship(), enroll()).when(revoke('privilegeWithdrawn')).then([
      { type: 'DeviceRevoked', version: 2, data: expect.objectContaining({ reason: 'privilegeWithdrawn' }) },
    ]);
    const state = given(manufacture(), ship(), enroll(), revoke()).when(reinstate()).then([{ type: 'DeviceReinstated' }]);
    expect(state.status).toBe('enrolled');
  });

  it('refuses a revocation reason that is not an RFC 5280 name', () => {
    const bad = { ...revoke(), data: { reason: 'looks odd' } } as unknown as DeviceCommand;
    given(manufacture(), ship(), enroll()).when(bad).thenRefused(InvalidCommand);
  });

  it('refuses to transfer to the current owner', () => {
    given(manufacture(), ship('acme'), enroll()).when(transfer('acme')).thenRefused(InvalidCommand);
  });

  it('scraps a device that was never shipped, and nothing follows decommission', () => {
    const state = given(manufacture()).when(decommission('scrapped')).then([
      { type: 'DeviceDecommissioned', data: expect.objectContaining({ previousStatus: 'manufactured' }) },
    ]);
    expect(state.status).toBe('decommissioned');
    for (const next of [ship(), enroll(), transfer(), revoke(), reinstate(), decommission()]) {
      given(manufacture(), decommission()).when(next).thenRefused(IllegalTransition);
    }
  });

  it('refuses blank and control-character input', () => {
    given(manufacture()).when(ship('  ')).thenRefused(InvalidCommand);
    given(manufacture()).when(ship('a\u0000b')).thenRefused(InvalidCommand);
  });
});
