// `devid detector keygen` and `devid detector send-revoke`, as a detector author runs them.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureBuilt, ROOT, stopLedgerProcess } from '../support/ledger-process';
import { describeWithKafka, enrolledDevice, kafkaBrokers, readTopicUntil, startLedgerOnKafka, topicPrefix, type LedgerOnKafka } from './support/kafka';

const run = promisify(execFile);
const devid = (...args: string[]) =>
  run(process.execPath, [join(ROOT, 'apps', 'cli', 'bin', 'devid.js'), ...args], { cwd: ROOT }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

jest.setTimeout(90_000);

describe('devid detector (no broker needed)', () => {
  beforeAll(() => ensureBuilt());

  it('answers --help on both subcommands', async () => {
    for (const sub of ['keygen', 'send-revoke']) {
      const res = await devid('detector', sub, '--help');
      expect([sub, res.code]).toEqual([sub, 0]);
      expect(res.stdout).toMatch(new RegExp(`Usage: devid detector ${sub}`));
    }
  });

  it('writes the private JWK with mode 0600 and prints the public JWK only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'devid-keygen-'));
    try {
      const res = await devid('detector', 'keygen', '--alg', 'EdDSA', '--out', dir);
      expect(res.code).toBe(0);
      const printed = JSON.parse(res.stdout) as Record<string, string>;
      expect(printed).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
      expect(printed.d).toBeUndefined();
      const privatePath = join(dir, 'detector-private.jwk.json');
      expect(statSync(privatePath).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(privatePath, 'utf8'))).toMatchObject({ x: printed.x, d: expect.any(String) });
      const again = await devid('detector', 'keygen', '--out', dir);
      expect(again.code).not.toBe(0);
      expect(again.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^devid: .*exists; not overwriting/)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad input with one line and a non-zero exit', async () => {
    const badAlg = await devid('detector', 'keygen', '--alg', 'RS256', '--out', tmpdir());
    expect(badAlg.code).not.toBe(0);
    expect(badAlg.stderr.trim()).toBe('devid: --alg must be ES256 or EdDSA, not RS256');
    const badReason = await devid('detector', 'send-revoke', '--key', '/nonexistent', '--detector', 'd', '--device', 'x', '--reason', 'because');
    expect(badReason.code).not.toBe(0);
    expect(badReason.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^devid: --reason: /)]);
    const noKey = await devid('detector', 'send-revoke', '--key', '/nonexistent', '--detector', 'd', '--device', 'x', '--reason', 'keyCompromise');
    expect(noKey.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^devid: cannot read the private JWK \/nonexistent/)]);
  });
});

describeWithKafka('devid detector send-revoke against the ledger on Kafka', () => {
  const brokers = kafkaBrokers().join(',');
  const prefix = topicPrefix();
  let ledger: LedgerOnKafka;
  let dir: string;

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'devid-detector-'));
    ledger = await startLedgerOnKafka({ KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: prefix });
  });
  afterAll(async () => {
    if (ledger) await stopLedgerProcess(ledger);
    if (ledger) rmSync(ledger.dataDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('keygen → register → send-revoke revokes the device', async () => {
    const keygen = await devid('detector', 'keygen', '--out', dir);
    expect(keygen.code).toBe(0);
    expect((await ledger.api('POST', '/detectors', { detectorId: 'cli-detector', publicKey: JSON.parse(keygen.stdout), scope: { all: true } })).status).toBe(201);
    const deviceId = await enrolledDevice(ledger);
    const sent = await devid(
      'detector', 'send-revoke', '--key', join(dir, 'detector-private.jwk.json'), '--detector', 'cli-detector', '--device', deviceId,
      '--reason', 'keyCompromise', '--evidence', 'exfiltration pattern', '--brokers', brokers, '--topic', `${prefix}devid.commands.revoke`, '--command-id', 'cli-cmd-1',
    );
    expect(sent).toMatchObject({ code: 0 });
    expect(JSON.parse(sent.stdout)).toEqual({ sent: 'cli-cmd-1', topic: `${prefix}devid.commands.revoke`, deviceId });
    const results = await readTopicUntil(brokers, `${prefix}devid.commands.results`, (all) => all.some((m) => m.key === 'cli-cmd-1'));
    expect(JSON.parse(results.find((m) => m.key === 'cli-cmd-1')!.payload!)).toMatchObject({ outcome: 'accepted', detectorId: 'cli-detector' });
    expect((await ledger.api('GET', `/devices/${deviceId}`)).body).toMatchObject({ status: 'revoked', revocation: { comment: 'detector cli-detector: exfiltration pattern' } });
  });
});
