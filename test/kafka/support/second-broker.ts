// A broker of the test's own (own run dir and ports), so killing it disturbs no shared broker.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../support/ledger-process';

const run = promisify(execFile);

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

export interface OwnBroker {
  brokers: string;
  start(): Promise<void>;
  kill(): Promise<void>;
  /** Stops it and deletes its data. */
  remove(): Promise<void>;
}

export const ownBroker = async (): Promise<OwnBroker> => {
  const runDir = mkdtempSync(join(tmpdir(), 'devid-kafka-broker-'));
  const env = { ...process.env, KAFKA_RUN_DIR: runDir, KAFKA_PORT: String(await freePort()), KAFKA_CONTROLLER_PORT: String(await freePort()), KAFKA_HEAP_OPTS: '-Xms128m -Xmx384m' };
  const script = (name: string) => run('bash', [join(ROOT, 'tools', 'kafka', name)], { env, maxBuffer: 16 * 1024 * 1024 });
  return {
    brokers: `127.0.0.1:${env.KAFKA_PORT}`,
    start: async () => void (await script('start.sh')),
    kill: async () => void (await script('kill.sh')),
    remove: async () => {
      await script('stop.sh').catch(() => undefined);
      rmSync(runDir, { recursive: true, force: true });
    },
  };
};
