import { randomUUID } from 'node:crypto';
import { IllegalTransition, parseDetectorPublicKey, type KnownDetectorState } from '@devid/domain';
import type { IncomingMessage } from '../bus/message-bus';
import { InProcessMessageBus } from '../in-process/in-process-message-bus';
import { detectorKeyPair, signCommand, type DetectorKeyPair } from '../testing/detector-keys';
import { RevokeCommandRejected } from './command-rejected';
import type { CommandResult } from './command-result';
import type { DeadLetter } from './dead-letter';
import { RevokeCommandConsumer, type AppliedRevoke } from './revoke-command-consumer';
import { commandTopics } from './topics';
import type { VerifiedRevokeCommand } from './verify-revoke-command';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const topics = commandTopics('unit.');

const detector = (id: string, key: DetectorKeyPair, rest: Partial<KnownDetectorState> = {}): KnownDetectorState => ({
  status: 'enabled',
  detectorId: id,
  name: id,
  publicKey: parseDetectorPublicKey(key.publicJwk),
  keyVersion: 1,
  scope: { all: true },
  registeredAt: NOW.toISOString(),
  updatedAt: NOW.toISOString(),
  ...rest,
});

describe('RevokeCommandConsumer', () => {
  const es256 = detectorKeyPair('ES256');
  const ed25519 = detectorKeyPair('EdDSA');
  const stranger = detectorKeyPair('ES256');
  const detectors = new Map<string, KnownDetectorState>([
    ['det-a', detector('det-a', es256)],
    ['det-ed', detector('det-ed', ed25519, { scope: { owners: ['acme'] } })],
    ['det-off', detector('det-off', es256, { status: 'disabled' })],
  ]);
  const devices = new Map([
    ['dev-1', { owner: 'acme', model: 'M1' }],
    ['dev-2', { owner: 'globex', model: 'M1' }],
    ['dev-revoked', { owner: 'acme', model: 'M1' }],
  ]);

  let bus: InProcessMessageBus;
  let consumer: RevokeCommandConsumer;
  let applied: VerifiedRevokeCommand[];
  let fingerprints: Map<string, string>;
  let failNext: number;

  const apply = async (command: VerifiedRevokeCommand): Promise<AppliedRevoke> => {
    if (failNext > 0) {
      failNext--;
      throw new Error('store unavailable');
    }
    if (command.payload.deviceId === 'dev-revoked') throw new IllegalTransition('revoked', 'RevokeDevice');
    const seen = fingerprints.get(command.payload.commandId);
    if (seen !== undefined && seen !== command.fingerprint) throw new RevokeCommandRejected('replayed-command-id', 'commandId reused with another body');
    fingerprints.set(command.payload.commandId, command.fingerprint);
    if (seen === undefined) applied.push(command);
    return { replayed: seen !== undefined, eventIds: [`event-of-${command.payload.commandId}`] };
  };

  beforeEach(async () => {
    bus = new InProcessMessageBus();
    applied = [];
    fingerprints = new Map();
    failNext = 0;
    consumer = new RevokeCommandConsumer(bus, {
      topics,
      groupId: 'ledger',
      lookups: { detector: async (id) => detectors.get(id), device: async (id) => devices.get(id) },
      apply,
      clock: () => NOW,
    });
    await consumer.start();
  });
  afterEach(async () => {
    await consumer.stop();
    await bus.close();
  });

  const payload = (rest: Record<string, unknown> = {}) => ({
    commandId: randomUUID(),
    deviceId: 'dev-1',
    reason: 'keyCompromise',
    evidence: 'beaconing to a known C2 host',
    detectorId: 'det-a',
    issuedAt: NOW.toISOString(),
    ...rest,
  });

  /** Publishes raw values and waits until each one produced a result or a DLQ record. */
  const send = async (...values: Array<string | Buffer>) => {
    const before = (await drain(topics.results)).length + (await drain(topics.dlq)).length;
    await bus.publish(topics.revoke, values.map((value) => ({ key: 'dev-1', value })));
    for (let i = 0; i < 500; i++) {
      const now = (await drain(topics.results)).length + (await drain(topics.dlq)).length;
      if (now >= before + values.length) return;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('consumer did not answer');
  };
  const drain = async (topic: string): Promise<IncomingMessage[]> => {
    const seen: IncomingMessage[] = [];
    const sub = await bus.subscribe(topic, `reader-${randomUUID()}`, async (m) => void seen.push(m));
    await new Promise((r) => setTimeout(r, 1));
    await sub.stop();
    return seen;
  };
  const results = async () => (await drain(topics.results)).map((m) => JSON.parse(m.value!.toString()) as CommandResult);
  const dlq = async () => (await drain(topics.dlq)).map((m) => JSON.parse(m.value!.toString()) as DeadLetter);

  it('applies a valid ES256 or EdDSA command and reports it accepted, keyed by commandId', async () => {
    const a = payload();
    const b = payload({ detectorId: 'det-ed' });
    await send(await signCommand(es256, a), await signCommand(ed25519, b));
    expect(applied.map((c) => c.payload.commandId)).toEqual([a.commandId, b.commandId]);
    expect(await results()).toEqual([
      { commandId: a.commandId, detectorId: 'det-a', deviceId: 'dev-1', outcome: 'accepted', eventIds: [`event-of-${a.commandId}`], at: NOW.toISOString() },
      expect.objectContaining({ commandId: b.commandId, outcome: 'accepted' }),
    ]);
    expect((await drain(topics.results))[0]!.key!.toString()).toBe(a.commandId);
  });

  it('answers duplicate for the same signed command sent again, and rejected when the domain refuses', async () => {
    const jws = await signCommand(es256, payload());
    await send(jws, jws, jws, await signCommand(es256, payload({ deviceId: 'dev-revoked' })));
    expect(applied).toHaveLength(1);
    expect((await results()).map((r) => [r.outcome, r.code])).toEqual([
      ['accepted', undefined],
      ['duplicate', undefined],
      ['duplicate', undefined],
      ['rejected', 'illegal-transition'],
    ]);
    expect(await dlq()).toEqual([]);
  });

  it('dead-letters each kind of bad message with its code and the original, and keeps going', async () => {
    const replayed = payload();
    const cases: Array<[string, string | Buffer]> = [
      ['oversized', 'x'.repeat(16 * 1024 + 1)],
      ['not-jws', 'hello'],
      ['not-jws', Buffer.from([0xff, 0xfe, 0x00])],
      ['unsupported-alg', `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.c2ln`],
      ['unsupported-alg', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.c2ln`],
      ['malformed-json', await signCommand(es256, '{"commandId": ')],
      ['invalid-command', await signCommand(es256, payload({ reason: 'because' }))],
      ['invalid-command', await signCommand(es256, payload({ extra: 1 }))],
      ['unknown-detector', await signCommand(es256, payload({ detectorId: 'det-nobody' }))],
      ['detector-disabled', await signCommand(es256, payload({ detectorId: 'det-off' }))],
      ['bad-signature', await signCommand(stranger, payload())],
      ['bad-signature', await signCommand(ed25519, payload())],
      ['stale-command', await signCommand(es256, payload({ issuedAt: new Date(NOW.getTime() - 301_000).toISOString() }))],
      ['stale-command', await signCommand(es256, payload({ issuedAt: new Date(NOW.getTime() + 301_000).toISOString() }))],
      ['device-not-found', await signCommand(es256, payload({ deviceId: 'dev-nobody' }))],
      ['out-of-scope', await signCommand(ed25519, payload({ detectorId: 'det-ed', deviceId: 'dev-2' }))],
      ['replayed-command-id', ''],
    ];
    await send(await signCommand(es256, replayed));
    cases[cases.length - 1]![1] = await signCommand(es256, { ...replayed, evidence: 'something else' });
    const valid = payload();
    await send(...cases.map(([, value]) => value), await signCommand(es256, valid));
    const records = await dlq();
    expect(records.map((r) => r.error.code)).toEqual(cases.map(([code]) => code));
    expect(records[1]!.original).toMatchObject({ topic: topics.revoke, partition: 0, key: 'dev-1', value: 'hello' });
    expect(records[2]!.original).toMatchObject({ value: Buffer.from([0xff, 0xfe, 0x00]).toString('base64'), valueEncoding: 'base64' });
    expect(records.every((r) => r.at === NOW.toISOString() && r.error.message.length > 0)).toBe(true);
    expect(applied.map((c) => c.payload.commandId)).toEqual([replayed.commandId, valid.commandId]);
  });

  it('retries a message the ledger failed on, and dead-letters it as processing-failed when it keeps failing', async () => {
    failNext = 2;
    const first = payload();
    await send(await signCommand(es256, first));
    expect((await results()).map((r) => r.commandId)).toEqual([first.commandId]);
    failNext = 1_000;
    await send(await signCommand(es256, payload()));
    expect((await dlq()).map((r) => r.error.code)).toEqual(['processing-failed']);
  }, 30_000);
});
