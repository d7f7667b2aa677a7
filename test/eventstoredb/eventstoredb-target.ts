// Where the EventStoreDB integration tests run: EVENTSTORE_CONNECTION when set, else a
// KurrentDB container when a Docker engine answers, else nowhere (and they say why).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';

export const KURRENTDB_IMAGE = process.env['KURRENTDB_IMAGE'] ?? 'kurrentplatform/kurrentdb:26.1.1';
export const KAFKA_IMAGE = process.env['KAFKA_IMAGE'] ?? 'apache/kafka:4.4.0';

export type EventStoreTarget =
  | { kind: 'connection'; connection: string }
  | { kind: 'docker'; endpoint: string }
  | { kind: 'none'; reason: string };

/** The Docker endpoint testcontainers would use: DOCKER_HOST, else the usual sockets. */
const dockerEndpoint = (env: NodeJS.ProcessEnv): string | undefined => {
  if (env['DOCKER_HOST']) return env['DOCKER_HOST'];
  const sockets = ['/var/run/docker.sock', env['XDG_RUNTIME_DIR'] && join(env['XDG_RUNTIME_DIR'], 'docker.sock'), env['HOME'] && join(env['HOME'], '.docker/run/docker.sock')];
  const found = sockets.find((socket): socket is string => typeof socket === 'string' && existsSync(socket));
  return found && `unix://${found}`;
};

// GET /_ping with a 2 s budget, in a child so that the check can run while jest collects tests.
const PING = `
const http = require('node:http');
const url = new URL(process.argv[1]);
const options = url.protocol === 'unix:' ? { socketPath: url.pathname } : { host: url.hostname, port: url.port || 2375 };
const req = http.request({ ...options, path: '/_ping', timeout: 1500 }, (res) => process.exit(res.statusCode === 200 ? 0 : 1));
req.on('timeout', () => process.exit(2));
req.on('error', () => process.exit(3));
req.end();`;

/** Decides once, in well under a second or two: no 60 s wait for an engine that is not there. */
export const eventStoreTarget = (env: NodeJS.ProcessEnv = process.env): EventStoreTarget => {
  const connection = env['EVENTSTORE_CONNECTION'];
  if (connection) return { kind: 'connection', connection };
  const endpoint = dockerEndpoint(env);
  if (endpoint === undefined) return { kind: 'none', reason: 'EVENTSTORE_CONNECTION is not set and no Docker engine is configured (no DOCKER_HOST, no docker.sock)' };
  if (!/^(unix|tcp|http):\/\//.test(endpoint)) return { kind: 'none', reason: `EVENTSTORE_CONNECTION is not set and DOCKER_HOST ${endpoint} is not a unix:// or tcp:// endpoint this check can reach` };
  const ping = spawnSync(process.execPath, ['-e', PING, endpoint.replace(/^tcp:/, 'http:')], { timeout: 3000 });
  if (ping.status !== 0) return { kind: 'none', reason: `EVENTSTORE_CONNECTION is not set and the Docker engine at ${endpoint} does not answer` };
  return { kind: 'docker', endpoint };
};

/** A single-node KurrentDB, insecure, appends up to 8 MiB (the contract appends 6,000 events at once). */
export const startKurrentDb = async (): Promise<{ container: StartedTestContainer; connection: string }> => {
  const container = await new GenericContainer(KURRENTDB_IMAGE)
    .withEnvironment({
      KURRENTDB_CLUSTER_SIZE: '1',
      KURRENTDB_INSECURE: 'true',
      KURRENTDB_RUN_PROJECTIONS: 'None',
      KURRENTDB_MEM_DB: 'true',
      KURRENTDB_MAX_APPEND_SIZE: String(8 * 1024 * 1024),
    })
    .withExposedPorts(2113)
    .withWaitStrategy(Wait.forHttp('/health/live', 2113).forStatusCodeMatching((status) => status >= 200 && status < 300))
    .withStartupTimeout(120_000)
    .start();
  return { container, connection: `kurrentdb://${container.getHost()}:${container.getMappedPort(2113)}?tls=false` };
};

/** A single-node Kafka (KRaft) reachable from the host at the returned broker address. */
export const startKafka = async (): Promise<{ container: StartedTestContainer; broker: string }> => {
  const hostPort = 39092 + Math.floor(Math.random() * 1000);
  const container = await new GenericContainer(KAFKA_IMAGE)
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://localhost:${hostPort}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .withExposedPorts({ container: 9092, host: hostPort })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000)
    .start();
  return { container, broker: `localhost:${hostPort}` };
};
