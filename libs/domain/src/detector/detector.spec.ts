import { IllegalTransition, InvalidCommand } from '../errors';
import { decideDetector, evolveDetector, foldDetector } from './decide-detector';
import type { DetectorCommand } from './detector-commands';
import { DetectorAlreadyExists, DetectorNotFound } from './detector-errors';
import type { DetectorEvent } from './detector-events';
import { InvalidDetectorKey, parseDetectorPublicKey } from './detector-key';
import { inDetectorScope } from './detector-scope';
import { initialDetectorState, type DetectorState } from './detector-state';

// Fixed public keys (generated once with node:crypto).
const P256 = { kty: 'EC', crv: 'P-256', x: 'ocMR4YUHlqHgWiz8Hw8EzUOzlQG3JQtuK-6rYpIRT1w', y: 'v4TVsxgH9nrWd1e1QL5BcG1-Sk_SyvxkfkAOAfE8t4I' };
const P256_OTHER = { kty: 'EC', crv: 'P-256', x: 'Dtjap_HjWQ_tCBlKoRQP2jfJdGRQVFSSldKguynmRf0', y: 'ryz8S_tBVligv4SOdqfC_WTnksd8xW64tj9jCWeZETg' };
const ED25519 = { kty: 'OKP', crv: 'Ed25519', x: 'dD6oSJNw71ULnB3fAKOfPJ0x-NqGCOhUBqqP-vLXLVs' };

const ctx = (now = '2026-01-01T00:00:00.000Z') => ({ commandId: 'c', now, actor: 'admin', detectorId: 'anomaly-1' });
const register = (data: Partial<{ publicKey: unknown; scope: unknown; enabled: boolean; name: string }> = {}): DetectorCommand => ({
  type: 'RegisterDetector',
  ...ctx(),
  data: { publicKey: P256, scope: { all: true }, ...data },
});

/** given(events).when(command).then(events) — or .thenThrows(error class). */
const given = (...commands: DetectorCommand[]) => {
  const state = commands.reduce<DetectorState>((s, c) => decideDetector(c, s).reduce(evolveDetector, s), initialDetectorState);
  return {
    state,
    when: (command: DetectorCommand) => ({
      then: (expected: Array<Partial<DetectorEvent>>) => expect(decideDetector(command, state)).toEqual(expected.map((e) => expect.objectContaining(e))),
      thenThrows: (error: new (...args: never[]) => Error) => expect(() => decideDetector(command, state)).toThrow(error),
    }),
  };
};

describe('detector decider', () => {
  it('registers a detector with its normalised public key, scope and enabled flag', () => {
    given()
      .when(register({ publicKey: { ...P256, kid: 'k1', use: 'sig' }, scope: { owners: ['acme', 'acme'] }, name: 'Fleet anomaly model' }))
      .then([
        {
          type: 'DetectorRegistered',
          data: {
            detectorId: 'anomaly-1',
            name: 'Fleet anomaly model',
            publicKey: { ...P256, alg: 'ES256' },
            keyVersion: 1,
            scope: { owners: ['acme'] },
            enabled: true,
            registeredAt: '2026-01-01T00:00:00.000Z',
          },
        } as Partial<DetectorEvent>,
      ]);
  });

  it('refuses a second registration, a bad id and a bad scope', () => {
    given(register()).when(register()).thenThrows(DetectorAlreadyExists);
    given().when({ ...register(), detectorId: 'Not An Id' }).thenThrows(InvalidCommand);
    for (const scope of [{}, { owners: [] }, { all: false }, { owners: ['a'], models: ['b'] }, { models: ['\u0000'] }, null]) {
      given().when(register({ scope })).thenThrows(InvalidCommand);
    }
  });

  it('accepts only public P-256 and Ed25519 JWKs', () => {
    expect(parseDetectorPublicKey(ED25519)).toEqual({ ...ED25519, alg: 'EdDSA' });
    const bad: unknown[] = [
      { ...P256, d: 'secret' },
      { ...P256, crv: 'P-384' },
      { ...P256, alg: 'ES384' },
      { ...P256, x: P256.x.slice(1) },
      { ...P256, y: undefined },
      { ...P256, x: `${P256.x.slice(0, 42)}B` }, // 43rd char with bits past the 32nd byte
      { kty: 'RSA', n: 'x', e: 'AQAB' },
      { ...ED25519, crv: 'Ed448' },
      { ...ED25519, y: P256.y },
      'a string',
      [],
    ];
    for (const publicKey of bad) given().when(register({ publicKey })).thenThrows(InvalidDetectorKey);
  });

  it('disables and enables, refusing a command that does not change the status', () => {
    const registered = given(register());
    registered.when({ type: 'DisableDetector', ...ctx(), data: { reason: 'false positives' } }).then([{ type: 'DetectorDisabled', data: { reason: 'false positives', disabledAt: '2026-01-01T00:00:00.000Z' } }]);
    registered.when({ type: 'EnableDetector', ...ctx(), data: {} }).thenThrows(IllegalTransition);
    const disabled = given(register(), { type: 'DisableDetector', ...ctx(), data: {} });
    expect(disabled.state.status).toBe('disabled');
    disabled.when({ type: 'DisableDetector', ...ctx(), data: {} }).thenThrows(IllegalTransition);
    disabled.when({ type: 'EnableDetector', ...ctx(), data: {} }).then([{ type: 'DetectorEnabled' }]);
    given(register({ enabled: false })).when({ type: 'EnableDetector', ...ctx(), data: {} }).then([{ type: 'DetectorEnabled' }]);
  });

  it('rotates to a new key (also across algorithms) and bumps the key version; the same key is refused', () => {
    const rotated = given(register(), { type: 'RotateDetectorKey', ...ctx('2026-02-01T00:00:00.000Z'), data: { publicKey: ED25519 } });
    expect(rotated.state).toMatchObject({ status: 'enabled', publicKey: { kty: 'OKP', alg: 'EdDSA' }, keyVersion: 2, updatedAt: '2026-02-01T00:00:00.000Z' });
    rotated.when({ type: 'RotateDetectorKey', ...ctx(), data: { publicKey: P256_OTHER } }).then([{ type: 'DetectorKeyRotated', data: { publicKey: { ...P256_OTHER, alg: 'ES256' }, keyVersion: 3, rotatedAt: '2026-01-01T00:00:00.000Z' } } as Partial<DetectorEvent>]);
    rotated.when({ type: 'RotateDetectorKey', ...ctx(), data: { publicKey: ED25519 } }).thenThrows(InvalidCommand);
  });

  it('refuses commands for a detector that is not registered', () => {
    for (const command of [
      { type: 'DisableDetector', ...ctx(), data: {} },
      { type: 'EnableDetector', ...ctx(), data: {} },
      { type: 'RotateDetectorKey', ...ctx(), data: { publicKey: P256 } },
    ] as DetectorCommand[]) {
      given().when(command).thenThrows(DetectorNotFound);
    }
  });

  it('replaying the events gives the live state', () => {
    const commands: DetectorCommand[] = [register(), { type: 'DisableDetector', ...ctx(), data: {} }, { type: 'RotateDetectorKey', ...ctx(), data: { publicKey: ED25519 } }];
    const events: DetectorEvent[] = [];
    let live: DetectorState = initialDetectorState;
    for (const c of commands) {
      const produced = decideDetector(c, live);
      events.push(...produced);
      live = produced.reduce(evolveDetector, live);
    }
    expect(foldDetector(events)).toEqual(live);
  });
});

describe('detector scope', () => {
  it('matches all devices, or by owner, or by model', () => {
    const device = { owner: 'acme', model: 'M1' };
    expect(inDetectorScope({ all: true }, device)).toBe(true);
    expect(inDetectorScope({ owners: ['acme'] }, device)).toBe(true);
    expect(inDetectorScope({ owners: ['globex'] }, device)).toBe(false);
    expect(inDetectorScope({ owners: ['acme'] }, { owner: null, model: 'M1' })).toBe(false);
    expect(inDetectorScope({ models: ['M1'] }, device)).toBe(true);
    expect(inDetectorScope({ models: ['M2'] }, device)).toBe(false);
  });
});
