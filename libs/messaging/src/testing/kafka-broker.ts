// Test-only: where the tests' Kafka broker is, and whether to run, skip or fail without one.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const kafkaBrokers = (): string[] =>
  (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);

const PROBE = `
const net = require('node:net');
const [host, port] = process.argv[1].split(/:(?=\\d+$)/);
const s = net.connect({ host, port: Number(port), timeout: 1500 });
s.on('connect', () => { s.destroy(); process.exit(0); });
s.on('timeout', () => process.exit(1));
s.on('error', () => process.exit(1));
`;

let cached: boolean | undefined;

/**
 * True when a broker of KAFKA_BROKERS accepts a TCP connection. Synchronous, so a spec can
 * pick describe or describe.skip at load time. Without a broker: one printed line and a
 * skip, unless REQUIRE_KAFKA=1 (CI), where the suite fails instead.
 */
export const kafkaAvailable = (): boolean => {
  if (cached !== undefined) return cached;
  const brokers = kafkaBrokers();
  cached = brokers.some((broker) => spawnSync(process.execPath, ['-e', PROBE, broker], { timeout: 5_000 }).status === 0);
  if (!cached) {
    const why = `no Kafka broker answers at ${brokers.join(',')} (KAFKA_BROKERS); start one with npm run kafka:start`;
    if (process.env.REQUIRE_KAFKA === '1') throw new Error(`REQUIRE_KAFKA=1 but ${why}`);
    console.log(`skipping Kafka tests: ${why}`);
  }
  return cached;
};

/** `describe` when a broker is there, `describe.skip` (after one printed line) when not. */
export const describeWithKafka = (name: string, body: () => void): void => {
  (kafkaAvailable() ? describe : describe.skip)(name, body);
};

export const randomTopic = (what: string): string => `test.${what}.${randomBytes(6).toString('hex')}`;
