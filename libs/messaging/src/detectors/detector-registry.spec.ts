import { DatabaseSync } from 'node:sqlite';
import { decideDetector, detectorStreamId, evolveDetector, initialDetectorState, type DetectorCommand, type DetectorState } from '@devid/domain';
import type { StoredEvent } from '@devid/event-store';
import { DetectorRegistry } from './detector-registry';

const P256 = { kty: 'EC', crv: 'P-256', x: 'ocMR4YUHlqHgWiz8Hw8EzUOzlQG3JQtuK-6rYpIRT1w', y: 'v4TVsxgH9nrWd1e1QL5BcG1-Sk_SyvxkfkAOAfE8t4I' };
const ED25519 = { kty: 'OKP', crv: 'Ed25519', x: 'dD6oSJNw71ULnB3fAKOfPJ0x-NqGCOhUBqqP-vLXLVs' };

/** Runs commands through the decider and numbers the events as the store would. */
const history = (detectorId: string, commands: Array<Omit<DetectorCommand, 'commandId' | 'now' | 'actor' | 'detectorId'>>, start = 1): StoredEvent[] => {
  let state: DetectorState = initialDetectorState;
  const out: StoredEvent[] = [];
  for (const [i, c] of commands.entries()) {
    const command = { ...c, detectorId, commandId: `c${i}`, now: `2026-01-0${i + 1}T00:00:00.000Z`, actor: 'admin' } as DetectorCommand;
    for (const event of decideDetector(command, state)) {
      state = evolveDetector(state, event);
      const n = out.length;
      out.push({
        ...event,
        id: `${detectorId}-${n}`,
        streamId: detectorStreamId(detectorId),
        revision: n,
        position: start + n,
        occurredAt: command.now,
        recordedAt: command.now,
        metadata: { commandId: command.commandId, causationId: command.commandId, correlationId: 'x', actor: 'admin' },
      });
    }
  }
  return out;
};

describe('DetectorRegistry', () => {
  it('shows each detector with its current key, status and scope; replays to the same rows', () => {
    const db = new DatabaseSync(':memory:');
    const registry = new DetectorRegistry(db);
    const a = history('a', [
      { type: 'RegisterDetector', data: { publicKey: P256, scope: { models: ['M1'] } } },
      { type: 'DisableDetector', data: {} },
      { type: 'RotateDetectorKey', data: { publicKey: ED25519 } },
    ]);
    const b = history('b', [{ type: 'RegisterDetector', data: { publicKey: P256, scope: { all: true }, enabled: false } }], 4);
    registry.apply([...a, ...b]);
    expect(registry.get('a')).toMatchObject({ status: 'disabled', keyVersion: 2, publicKey: { kty: 'OKP', alg: 'EdDSA' }, scope: { models: ['M1'] }, revision: 2 });
    expect(registry.list().map((d) => [d.detectorId, d.status])).toEqual([
      ['a', 'disabled'],
      ['b', 'disabled'],
    ]);
    const before = registry.list();
    registry.reset();
    expect(registry.list()).toEqual([]);
    registry.apply([...a, ...b]);
    expect(registry.list()).toEqual(before);
    expect(registry.checkpoint()).toBe(4);
  });
});
