// Acceptance: signed revoke commands published with kcat, as an anomaly detector would.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, stopLedgerProcess } from '../support/ledger-process';
import {
  describeWithKafka,
  detectorKeyPair,
  enrolledDevice,
  kafkaBrokers,
  produceWithKcat,
  readTopicUntil,
  signCommand,
  startLedgerOnKafka,
  topicPrefix,
  type DetectorKeyPair,
  type KcatMessage,
  type LedgerOnKafka,
  enrollWithCsr,
  ocspStatus,
} from './support/kafka';

jest.setTimeout(120_000);

describeWithKafka('revoke commands on Kafka', () => {
  const brokers = kafkaBrokers().join(',');
  const prefix = topicPrefix();
  const topics = { revoke: `${prefix}devid.commands.revoke`, results: `${prefix}devid.commands.results`, dlq: `${prefix}devid.commands.dlq` };
  const key = detectorKeyPair('ES256');
  const edKey = detectorKeyPair('EdDSA');
  const forger = detectorKeyPair('ES256');
  let ledger: LedgerOnKafka;

  beforeAll(async () => {
    ensureBuilt();
    ledger = await startLedgerOnKafka({ KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: prefix });
    for (const [detectorId, k, scope, enabled] of [
      ['acme-anomaly', key, { owners: ['acme'] }, true],
      ['ed-anomaly', edKey, { all: true }, true],
      ['retired-anomaly', key, { all: true }, false],
    ] as Array<[string, DetectorKeyPair, unknown, boolean]>) {
      const res = await ledger.api('POST', '/detectors', { detectorId, publicKey: k.publicJwk, scope, enabled });
      expect(res.status).toBe(201);
    }
  });
  afterAll(async () => {
    if (ledger) await stopLedgerProcess(ledger);
    if (ledger) rmSync(ledger.dataDir, { recursive: true, force: true });
  });

  const command = (deviceId: string, rest: Record<string, unknown> = {}) => ({
    commandId: randomUUID(),
    deviceId,
    reason: 'keyCompromise',
    evidence: 'TLS fingerprint drift and beaconing to a sinkholed domain',
    detectorId: 'acme-anomaly',
    issuedAt: new Date().toISOString(),
    ...rest,
  });
  const resultsFor = (commandId: string, count: number) =>
    readTopicUntil(brokers, topics.results, (all) => all.filter((m) => m.key === commandId).length >= count).then((all) =>
      all.filter((m) => m.key === commandId).map((m) => JSON.parse(m.payload!) as { outcome: string; eventIds?: string[]; reason?: string; code?: string }),
    );
  const dlqRecords = (atLeast: number) =>
    readTopicUntil(brokers, topics.dlq, (all) => all.length >= atLeast).then((all: KcatMessage[]) =>
      all.sort((a, b) => a.offset - b.offset).map((m) => ({ key: m.key, ...(JSON.parse(m.payload!) as { error: { code: string }; original: { value: string; topic: string } }) })),
    );

  it('revokes the device with a kcat-published signed command, with the detector as the actor', async () => {
    const deviceId = await enrolledDevice(ledger);
    const revoke = command(deviceId);
    await produceWithKcat(brokers, topics.revoke, deviceId, [await signCommand(key, revoke)]);
    const [result] = await resultsFor(revoke.commandId, 1);
    expect(result).toMatchObject({ commandId: revoke.commandId, detectorId: 'acme-anomaly', deviceId, outcome: 'accepted' });
    const device = await ledger.api('GET', `/devices/${deviceId}`);
    expect(device.body).toMatchObject({ status: 'revoked', revocation: { reason: 'keyCompromise', comment: expect.stringContaining('detector acme-anomaly: TLS fingerprint drift') } });
    const events = (await ledger.api('GET', `/devices/${deviceId}/events`)).body.events as Array<{ id: string; type: string; metadata: { actor: string; correlationId: string } }>;
    const revoked = events.filter((e) => e.type === 'DeviceRevoked');
    expect(revoked).toHaveLength(1);
    expect(revoked[0]!.metadata).toMatchObject({ actor: 'detector:acme-anomaly', correlationId: revoke.commandId });
    expect(result!.eventIds).toContain(revoked[0]!.id);
  });

  it('makes the OCSP responder answer "revoked" once a signed command is applied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'devid-kafka-ocsp-'));
    const { deviceId, certFile } = await enrollWithCsr(ledger, dir);
    expect(await ocspStatus(ledger, dir, certFile)).toMatch(/: good/);
    const revoke = command(deviceId);
    await produceWithKcat(brokers, topics.revoke, deviceId, [await signCommand(key, revoke)]);
    expect((await resultsFor(revoke.commandId, 1))[0]).toMatchObject({ outcome: 'accepted' });
    const answer = await ocspStatus(ledger, dir, certFile);
    expect(answer).toMatch(/: revoked/);
    expect(answer).toMatch(/Reason: keyCompromise/);
    expect(answer).toMatch(/Response verify OK/);
  });

  it('revokes once when the same signed command arrives 100 times; the other 99 results say duplicate', async () => {
    const deviceId = await enrolledDevice(ledger);
    const revoke = command(deviceId, { detectorId: 'ed-anomaly' });
    const jws = await signCommand(edKey, revoke);
    await produceWithKcat(brokers, topics.revoke, deviceId, Array.from({ length: 100 }, () => jws));
    const results = await resultsFor(revoke.commandId, 100);
    expect(results.filter((r) => r.outcome === 'accepted')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'duplicate')).toHaveLength(99);
    const events = (await ledger.api('GET', `/devices/${deviceId}/events`)).body.events as Array<{ type: string }>;
    expect(events.filter((e) => e.type === 'DeviceRevoked')).toHaveLength(1);
  });

  it('dead-letters every kind of bad command with its code, and still applies a valid one right after', async () => {
    const inScope = await enrolledDevice(ledger, 'acme');
    const otherOwner = await enrolledDevice(ledger, 'globex');
    const next = await enrolledDevice(ledger, 'acme');
    const first = command(inScope);
    await produceWithKcat(brokers, topics.revoke, inScope, [await signCommand(key, first)]);
    await resultsFor(first.commandId, 1);

    const ten = new Date(Date.now() - 10 * 60_000).toISOString();
    const bad: Array<[string, string]> = [
      ['bad-signature', await signCommand(forger, command(inScope))],
      ['unknown-detector', await signCommand(key, command(inScope, { detectorId: 'nobody' }))],
      ['detector-disabled', await signCommand(key, command(inScope, { detectorId: 'retired-anomaly' }))],
      ['out-of-scope', await signCommand(key, command(otherOwner))],
      ['stale-command', await signCommand(key, command(inScope, { issuedAt: ten }))],
      ['replayed-command-id', await signCommand(key, { ...first, evidence: 'a different body' })],
      ['malformed-json', await signCommand(key, '{"commandId": "x", ')],
      ['not-jws', 'this is not a JWS'],
      ['oversized', 'A'.repeat(17 * 1024)],
    ];
    const valid = command(next);
    await produceWithKcat(brokers, topics.revoke, 'poison', bad.map(([, value]) => value));
    await produceWithKcat(brokers, topics.revoke, next, [await signCommand(key, valid)]);

    const [applied] = await resultsFor(valid.commandId, 1);
    expect(applied!.outcome).toBe('accepted');
    expect((await ledger.api('GET', `/devices/${next}`)).body.status).toBe('revoked');
    const records = await dlqRecords(bad.length);
    expect(records.map((r) => r.error.code)).toEqual(bad.map(([code]) => code));
    expect(records.every((r) => r.key === 'poison' && r.original.topic === topics.revoke)).toBe(true);
    expect(records[7]!.original.value).toBe('this is not a JWS');
    expect((await ledger.api('GET', `/devices/${otherOwner}`)).body.status).toBe('enrolled');
  });

  it('answers rejected, with the reason, for a device that is not enrolled', async () => {
    const deviceId = await enrolledDevice(ledger);
    await ledger.api('POST', `/devices/${deviceId}/decommission`, { reason: 'scrapped' });
    const revoke = command(deviceId);
    await produceWithKcat(brokers, topics.revoke, deviceId, [await signCommand(key, revoke)]);
    const [result] = await resultsFor(revoke.commandId, 1);
    expect(result).toMatchObject({ outcome: 'rejected', code: 'illegal-transition', reason: expect.stringContaining('decommissioned') });
  });
});
