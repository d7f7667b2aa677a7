// Kafka for the e2e tests: the broker under test, kcat as an independent client, a ledger child process on it.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startLedgerProcess, type LedgerProcess } from '../../support/ledger-process';
import { request, type Reply } from '../../support/http';
import { deviceCsr, openssl } from '../../support/openssl';

export { describeWithKafka, kafkaAvailable, kafkaBrokers } from '../../../libs/messaging/src/testing/kafka-broker';
export { detectorKeyPair, signCommand, type DetectorKeyPair } from '../../../libs/messaging/src/testing/detector-keys';

const run = promisify(execFile);

/** One message as kcat -J prints it. */
export interface KcatMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
}

/** A topic prefix per test file, so runs never see each other's messages. */
export const topicPrefix = (): string => `t${randomBytes(5).toString('hex')}.`;

/** Everything in the topic now (kcat -C -e: stop at the end of each partition). */
export const readTopic = async (brokers: string, topic: string): Promise<KcatMessage[]> => {
  try {
    const { stdout } = await run('kcat', ['-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-J', '-q', '-m', '10'], { maxBuffer: 256 * 1024 * 1024 });
    return stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as KcatMessage);
  } catch (error) {
    // The topic may not exist yet: nothing in it.
    if (/Unknown topic|UNKNOWN_TOPIC/i.test(String((error as { stderr?: string }).stderr ?? error))) return [];
    throw error;
  }
};

/** Polls the topic with kcat until `done` says so (no timing assertion: jest's timeout bounds it). */
export const readTopicUntil = async (brokers: string, topic: string, done: (messages: KcatMessage[]) => boolean): Promise<KcatMessage[]> => {
  for (;;) {
    const messages = await readTopic(brokers, topic);
    if (done(messages)) return messages;
    await new Promise((r) => setTimeout(r, 200));
  }
};

/** Publishes each value as one message with kcat (values must not contain newlines). */
export const produceWithKcat = (brokers: string, topic: string, key: string, values: string[]): Promise<void> =>
  new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-P', '-b', brokers, '-t', topic, '-k', key, '-X', 'message.max.bytes=2000000'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kcat -P exited ${code}: ${stderr}`))));
    child.stdin.end(values.map((v) => `${v}\n`).join(''));
  });

export const ADMIN_KEY = 'kafka-e2e-admin-key-0123456789';

export interface LedgerOnKafka extends LedgerProcess {
  dataDir: string;
  api: (method: string, path: string, body?: unknown) => Promise<Reply>;
}

export const startLedgerOnKafka = async (env: Record<string, string>, dataDir = mkdtempSync(join(tmpdir(), 'devid-kafka-'))): Promise<LedgerOnKafka> => {
  const ledger = await startLedgerProcess({ DATA_DIR: dataDir, ADMIN_API_KEY: ADMIN_KEY, ...env });
  return { ...ledger, dataDir, api: (method, path, body) => request(ledger.url, method, path, { key: ADMIN_KEY, ...(body === undefined ? {} : { body }) }) };
};

/** Enrolls with an openssl-made CSR and saves the LDevID and the chain in `dir` (for openssl ocsp). */
export const enrollWithCsr = async (ledger: LedgerOnKafka, dir: string): Promise<{ deviceId: string; certFile: string }> => {
  const made = await ledger.api('POST', '/devices', { serialNumber: `SN-${process.pid}-${Date.now()}-${++serial}`, model: 'gw-100', factoryId: 'fab-1' });
  const deviceId = made.body.deviceId as string;
  await ledger.api('POST', `/devices/${deviceId}/ship`, { owner: 'acme' });
  await deviceCsr(dir, deviceId, `/CN=${deviceId}`);
  const enrolled = await ledger.api('POST', `/devices/${deviceId}/enroll`, { csr: readFileSync(join(dir, `${deviceId}.csr`), 'utf8') });
  if (enrolled.status !== 200) throw new Error(`enroll: ${enrolled.status} ${JSON.stringify(enrolled.body)}`);
  writeFileSync(join(dir, `${deviceId}.pem`), (enrolled.body.certificate as { pem: string }).pem);
  for (const ca of ['devid-root', 'devid-issuing']) writeFileSync(join(dir, `${ca}.pem`), await (await fetch(`${ledger.url}/cas/${ca}/certificate`)).text());
  return { deviceId, certFile: `${deviceId}.pem` };
};

/** What the ledger's OCSP responder says of a certificate, read by openssl. */
export const ocspStatus = async (ledger: LedgerOnKafka, dir: string, certFile: string): Promise<string> =>
  (await openssl(['ocsp', '-issuer', 'devid-issuing.pem', '-cert', certFile, '-url', `${ledger.url}/ocsp`, '-CAfile', 'devid-root.pem', '-VAfile', 'devid-issuing.pem'], dir)).out;

let serial = 0;
/** manufacture → ship(owner) → enroll over REST; returns the device id. */
export const enrolledDevice = async (ledger: LedgerOnKafka, owner = 'acme', model = 'gw-100'): Promise<string> => {
  const made = await ledger.api('POST', '/devices', { serialNumber: `SN-${process.pid}-${Date.now()}-${++serial}`, model, factoryId: 'fab-1' });
  if (made.status !== 201) throw new Error(`manufacture: ${made.status} ${JSON.stringify(made.body)}`);
  const deviceId = made.body.deviceId as string;
  for (const [action, body] of [
    ['ship', { owner }],
    ['enroll', {}],
  ] as const) {
    const res = await ledger.api('POST', `/devices/${deviceId}/${action}`, body);
    if (res.status !== 200) throw new Error(`${action}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return deviceId;
};
