import fc from 'fast-check';
import { decide } from './decide';
import { evolve, fold } from './evolve';
import { initialState, type DeviceState } from './device-state';
import type { DeviceCommand } from './device-commands';
import type { DeviceEvent } from './device-events';
import { DomainError } from '../errors';
import { upcast } from '../events/upcasters';
import { cert } from './testing';

const certArb = (profile: 'IDevID' | 'LDevID') => fc.integer({ min: 1, max: 30 }).map((n) => cert(profile, `${profile}-${n}`));
const owner = fc.constantFrom('acme', 'globex', 'initech', ' ', '');
const commandArb: fc.Arbitrary<DeviceCommand> = fc
  .tuple(
    fc.oneof(
      fc.record({ type: fc.constant('ManufactureDevice' as const), data: fc.record({ serialNumber: fc.constantFrom('SN', ''), model: fc.constant('M'), factoryId: fc.constant('F'), idevid: certArb('IDevID') }) }),
      fc.record({ type: fc.constant('ShipDevice' as const), data: fc.record({ owner }) }),
      fc.record({ type: fc.constant('EnrollDevice' as const), data: fc.option(certArb('LDevID'), { nil: undefined }).map((c) => (c ? { certificate: c } : {})) }),
      fc.record({ type: fc.constant('ReenrollDevice' as const), data: fc.record({ certificate: certArb('LDevID'), revokePrevious: fc.boolean() }) }),
      fc.record({ type: fc.constant('TransferDevice' as const), data: fc.record({ newOwner: owner }) }),
      fc.record({ type: fc.constant('RevokeDevice' as const), data: fc.record({ reason: fc.constantFrom('keyCompromise', 'privilegeWithdrawn', 'bogus') }) }),
      fc.record({ type: fc.constant('ReinstateDevice' as const), data: fc.constant({}) }),
      fc.record({ type: fc.constant('DecommissionDevice' as const), data: fc.record({ reason: fc.constantFrom('eol', '') }) }),
    ),
    fc.integer({ min: 0, max: 1e12 }),
  )
  .map(([c, t]) => ({ ...c, deviceId: 'd', commandId: `c${t}`, now: new Date(t).toISOString(), actor: 'prop' }) as DeviceCommand);

/** The rules of DESIGN.md, stated on the state alone. */
const allowed = (s: DeviceState) => {
  if (s.status === 'unknown') return true;
  if (!['manufactured', 'shipped', 'enrolled', 'revoked', 'decommissioned'].includes(s.status)) return false;
  if (['shipped', 'enrolled', 'revoked'].includes(s.status) && !s.owner) return false;
  if (s.status === 'manufactured' && s.owner !== undefined) return false;
  if (s.status === 'revoked' && !s.revocation) return false;
  if (s.status === 'decommissioned' && !s.decommission) return false;
  const live = s.certificates.filter((c) => c.status === 'good');
  // Nothing outlives decommission; a revoked or transferred device holds no live LDevID.
  if (s.status === 'decommissioned' && live.length > 0) return false;
  if (['revoked', 'shipped', 'manufactured'].includes(s.status) && live.some((c) => c.profile === 'LDevID')) return false;
  if (live.filter((c) => c.profile === 'LDevID').length > 1) return false;
  if (new Set(s.certificates.map((c) => c.serialNumber)).size !== s.certificates.length) return false;
  return true;
};

describe('device decider properties', () => {
  it('any sequence of commands leaves an allowed state; refused commands emit nothing; replay equals live', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 40 }), (commands) => {
        let live: DeviceState = initialState;
        const stored: string[] = [];
        for (const command of commands) {
          let events: DeviceEvent[];
          try {
            events = decide(command, live);
          } catch (e) {
            expect(e).toBeInstanceOf(DomainError);
            continue; // refused: nothing emitted, state unchanged
          }
          expect(events.length).toBeGreaterThan(0);
          const before = live;
          live = events.reduce(evolve, live);
          expect(allowed(live)).toBe(true);
          if (before.status === 'decommissioned') throw new Error('decommissioned is terminal');
          stored.push(...events.map((e) => JSON.stringify(e)));
        }
        // Folding the stored (serialised, then upcast) events gives the live state.
        expect(fold(stored.map((json) => upcast(JSON.parse(json))))).toEqual(live);
      }),
      { numRuns: 500 },
    );
  });

  it('decide never mutates the state it is given', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 20 }), commandArb, (history, command) => {
        let state: DeviceState = initialState;
        for (const c of history) {
          try {
            state = decide(c, state).reduce(evolve, state);
          } catch {
            /* refused */
          }
        }
        const snapshot = JSON.stringify(state);
        try {
          decide(command, state);
        } catch {
          /* refused */
        }
        expect(JSON.stringify(state)).toBe(snapshot);
      }),
    );
  });
});
