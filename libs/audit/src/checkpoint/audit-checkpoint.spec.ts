import { MemoryEventStore, type EventStore } from '@devid/event-store';
import { openAuditDb } from '../chain/audit-db';
import { HashChain } from '../chain/hash-chain';
import { AuditKeyError } from '../errors';
import { testAuditKey } from '../testing/audit-log';
import { AUDIT_CHECKPOINT_STREAM, checkSignature, parseCheckpointData, signCheckpoint, statementBytes } from './audit-checkpoint';
import { AuditPublicKey } from './audit-public-key';
import { CheckpointScheduler } from './checkpoint-scheduler';

const head = { position: 41, hash: Buffer.alloc(32, 7) };
const at = new Date('2025-03-03T10:00:00.000Z');

describe('signed checkpoints', () => {
  it.each(['Ed25519', 'ECDSA-P256'] as const)('a %s checkpoint verifies with its key and no other', async (algorithm) => {
    const key = testAuditKey(algorithm);
    const signed = await signCheckpoint(key, head, at);
    const publicKey = AuditPublicKey.fromSpki(key.subjectPublicKeyInfo);
    expect(signed).toMatchObject({ position: 41, hash: '07'.repeat(32), time: '2025-03-03T10:00:00.000Z', algorithm, keyId: publicKey.keyId });
    expect(checkSignature(signed, publicKey)).toBeUndefined();
    expect(checkSignature(signed, AuditPublicKey.fromSpki(testAuditKey(algorithm).subjectPublicKeyInfo))).toMatch(/signed by key/);
  });

  it('a change to any signed member breaks the signature', async () => {
    const key = testAuditKey();
    const publicKey = AuditPublicKey.fromSpki(key.subjectPublicKeyInfo);
    const signed = await signCheckpoint(key, head, at);
    expect(checkSignature({ ...signed, position: 42 }, publicKey)).toBe('signature does not verify');
    expect(checkSignature({ ...signed, hash: '08'.repeat(32) }, publicKey)).toBe('signature does not verify');
    expect(checkSignature({ ...signed, time: '2025-03-03T10:00:00.001Z' }, publicKey)).toBe('signature does not verify');
    expect(checkSignature({ ...signed, algorithm: 'ECDSA-P256' }, publicKey)).toMatch(/does not match/);
    // Node decodes base64url leniently; a second spelling of the same bytes is refused.
    expect(checkSignature({ ...signed, signature: `${signed.signature}=` }, publicKey)).toMatch(/canonical/);
  });

  it('signs a purpose-bound statement, not the bare JSON of the checkpoint', () => {
    const statement = { position: 1, hash: '00'.repeat(32), time: at.toISOString(), keyId: 'k'.repeat(43), algorithm: 'Ed25519' as const };
    expect(statementBytes(statement).toString('utf8')).toBe(
      `{"algorithm":"Ed25519","hash":"${'00'.repeat(32)}","keyId":"${'k'.repeat(43)}","position":1,"purpose":"devid-audit-checkpoint-v1","time":"2025-03-03T10:00:00.000Z"}`,
    );
  });

  it('parses untrusted checkpoint data strictly', async () => {
    const signed = await signCheckpoint(testAuditKey(), head, at);
    expect(parseCheckpointData(signed)).toEqual(signed);
    expect(parseCheckpointData({ ...signed, extra: 1 })).toBeUndefined();
    expect(parseCheckpointData({ ...signed, hash: 'AB'.repeat(32) })).toBeUndefined();
    expect(parseCheckpointData({ ...signed, position: 0 })).toBeUndefined();
  });
});

describe('AuditPublicKey', () => {
  // RFC 8037 Appendix A.2/A.3: the Ed25519 example key and its RFC 7638 thumbprint.
  const rfc8037 = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' } as const;
  it('names an Ed25519 key by its RFC 7638 thumbprint (RFC 8037 A.3)', () => {
    const key = AuditPublicKey.fromJwk({ ...rfc8037, kid: 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k' });
    expect(key.keyId).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
    expect(AuditPublicKey.parse(key.pem()).equals(key)).toBe(true);
    expect(AuditPublicKey.parse(JSON.stringify(key.jwk)).equals(key)).toBe(true);
  });

  it('refuses a JWK whose kid is not its thumbprint, and text that is no key', () => {
    expect(() => AuditPublicKey.fromJwk({ ...rfc8037, kid: 'x' })).toThrow(AuditKeyError);
    expect(() => AuditPublicKey.parse('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----')).toThrow(AuditKeyError);
    expect(() => AuditPublicKey.parse('hello')).toThrow(AuditKeyError);
  });
});

describe('CheckpointScheduler', () => {
  /** The positions the stored checkpoints cover, in stream order. */
  const checkpoints = async (store: EventStore) => (await store.readStream(AUDIT_CHECKPOINT_STREAM)).map((e) => parseCheckpointData(e.data)!.position);
  const setup = async (everyEvents: number) => {
    const store = new MemoryEventStore();
    const chain = new HashChain(openAuditDb(':memory:'));
    const key = testAuditKey();
    const scheduler = new CheckpointScheduler(store, chain, key, { everyEvents, intervalMs: 0 });
    await scheduler.start();
    const append = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await store.append(`device-d${i}`, [{ id: crypto.randomUUID(), type: 'DeviceShipped', version: 1, occurredAt: at.toISOString(), data: { i }, metadata: { commandId: 'c', causationId: 'c', correlationId: 'c', actor: 'a' } }], { expectedRevision: 'any' });
      }
      // Feed the chain the way ProjectionRunner does, checkpoints included.
      for (;;) {
        const fresh = await store.readAll({ after: chain.checkpoint() });
        if (fresh.length === 0) break;
        chain.apply(fresh);
        await scheduler.signNow().then(() => undefined, () => undefined);
        if (everyEvents > 0) await new Promise((r) => setImmediate(r));
      }
    };
    return { store, chain, scheduler, append, checkpoints: () => checkpoints(store) };
  };

  it('signs the head once per N events, never for its own checkpoints', async () => {
    const { store, chain, scheduler, checkpoints } = await setup(5);
    for (let i = 0; i < 12; i++) {
      await store.append(`device-d${i}`, [{ id: crypto.randomUUID(), type: 'DeviceShipped', version: 1, occurredAt: at.toISOString(), data: { i }, metadata: { commandId: 'c', causationId: 'c', correlationId: 'c', actor: 'a' } }], { expectedRevision: 'any' });
      chain.apply(await store.readAll({ after: chain.checkpoint() }));
      await new Promise((r) => setImmediate(r));
      chain.apply(await store.readAll({ after: chain.checkpoint() }));
    }
    await scheduler.stop();
    // 5 events → checkpoint covering 5 (stored at 6); 5 more (7..11) → covering 11 (stored at 12).
    expect(await checkpoints()).toEqual([5, 11]);
    const idle = await checkpoints();
    await scheduler.signNow();
    expect(await checkpoints()).toEqual(idle);
  });

  it('signs the same positions as another ledger following the same log, so each checkpoint is stored once', async () => {
    const store = new MemoryEventStore();
    const key = testAuditKey();
    // Two ledgers on one log: each its own chain, fed in batches of its own size, each signing every 10 events.
    const ledgers = [3, 7].map((batch) => {
      const chain = new HashChain(openAuditDb(':memory:'));
      return { batch, chain, scheduler: new CheckpointScheduler(store, chain, key, { everyEvents: 10, intervalMs: 0 }) };
    });
    for (const { scheduler } of ledgers) await scheduler.start();
    const devicePositions: number[] = [];
    for (let i = 0; i < 95; i++) {
      const { events } = await store.append(`device-d${i}`, [{ id: crypto.randomUUID(), type: 'DeviceShipped', version: 1, occurredAt: at.toISOString(), data: { i }, metadata: { commandId: 'c', causationId: 'c', correlationId: 'c', actor: 'a' } }], { expectedRevision: 'any' });
      devicePositions.push(events[0]!.position);
      for (const { batch, chain } of ledgers) {
        if (i % batch !== batch - 1) continue;
        chain.apply(await store.readAll({ after: chain.checkpoint() }));
        await new Promise((r) => setImmediate(r));
      }
    }
    for (const { chain, scheduler } of ledgers) {
      chain.apply(await store.readAll({ after: chain.checkpoint() }));
      await scheduler.stop();
    }
    // The 10th, 20th, … 90th device event, each once; the last 5 wait for the next 10 (or the interval).
    expect(await checkpoints(store)).toEqual(devicePositions.filter((_, k) => k % 10 === 9));
  });

  it('signNow while a checkpoint by count is being signed signs the head after it', async () => {
    const store = new MemoryEventStore();
    const chain = new HashChain(openAuditDb(':memory:'));
    const key = testAuditKey();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const scheduler = new CheckpointScheduler(store, chain, { ...key, sign: async (data) => (await gate, key.sign(data)) }, { everyEvents: 5, intervalMs: 0 });
    await scheduler.start();
    const positions: number[] = [];
    for (let i = 0; i < 7; i++) {
      const { events } = await store.append(`device-d${i}`, [{ id: crypto.randomUUID(), type: 'DeviceShipped', version: 1, occurredAt: at.toISOString(), data: { i }, metadata: { commandId: 'c', causationId: 'c', correlationId: 'c', actor: 'a' } }], { expectedRevision: 'any' });
      positions.push(events[0]!.position);
    }
    chain.apply(await store.readAll({ after: 0 }));
    const signed = scheduler.signNow();
    release();
    await signed;
    await scheduler.stop();
    // The 5th event by count, then the head (the 7th) as signNow asked.
    expect(await checkpoints(store)).toEqual([positions[4], positions[6]]);
  });

  it('learns the last checkpoint on start and signs only what is past it', async () => {
    const { store, chain, append, scheduler, checkpoints } = await setup(1000);
    await append(3);
    await scheduler.signNow();
    chain.apply(await store.readAll({ after: chain.checkpoint() }));
    await scheduler.stop();
    expect(await checkpoints()).toEqual([3]);
    const restarted = new CheckpointScheduler(store, chain, testAuditKey(), { everyEvents: 1000, intervalMs: 0 });
    await restarted.start();
    await restarted.signNow();
    expect(await checkpoints()).toEqual([3]);
  });
});
