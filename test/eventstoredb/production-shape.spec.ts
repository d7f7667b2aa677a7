// docker-compose.yml and the Dockerfile cannot be run here (no Docker engine): this checks
// what can be checked without one — the compose file parses, has every service the README
// names with healthchecks and volumes, and its ledger settings pass the ledger's own
// validation; the Dockerfile installs every workspace and only production dependencies.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../apps/ledger/src/config/config';
import { loadMessagingConfig } from '../../apps/ledger/src/messaging/messaging-config';

const root = join(__dirname, '..', '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; build?: string; environment?: Record<string, string>; healthcheck?: { test: string[] }; volumes?: string[]; depends_on?: Record<string, { condition: string }> }>;
  volumes: Record<string, unknown>;
};
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** What `docker compose` makes of ${VAR:-default} and ${VAR:?error} with nothing set (a stand-in value for required ones). */
const interpolate = (value: string): string =>
  value.replace(/\$\{([A-Z_]+)(:-([^}]*)|:\?[^}]*)?\}/g, (_, name: string, _rest, fallback: string | undefined) =>
    fallback ?? (name === 'ADMIN_API_KEY' ? 'compose-admin-key-0123456789' : name === 'CA_KEY_PASSPHRASE' ? 'compose-passphrase-0123' : ''),
  );
const environmentOf = (service: string): Record<string, string> =>
  Object.fromEntries(Object.entries(compose.services[service]!.environment ?? {}).map(([name, value]) => [name, interpolate(String(value))]));

describe('docker-compose.yml', () => {
  const readmeSection = readme.slice(readme.indexOf('## Running in production'), readme.indexOf('\n## ', readme.indexOf('## Running in production') + 3));

  it('has every service the README section names, each with a healthcheck', () => {
    const named = [...readmeSection.matchAll(/^\| `([a-z-]+)` \|/gm)].map((match) => match[1]!);

    expect(named).toEqual(['kurrentdb', 'kafka', 'ledger', 'worker']);
    expect(Object.keys(compose.services).sort()).toEqual([...named].sort());
    const withoutHealthcheck = named.filter((service) => (compose.services[service]!.healthcheck?.test.length ?? 0) === 0);
    expect(withoutHealthcheck).toEqual([]);
  });

  it('keeps the state of every service in a declared named volume', () => {
    const services = Object.keys(compose.services);
    const volumesOf = (service: string) => (compose.services[service]!.volumes ?? []).map((volume) => volume.split(':')[0]!);

    expect(services.filter((service) => volumesOf(service).length === 0)).toEqual([]);
    expect(services.flatMap(volumesOf).filter((volume) => !(volume in compose.volumes))).toEqual([]);
  });

  it('builds the ledger and the worker from the Dockerfile: the API relays nothing, the worker relays and consumes', () => {
    expect(compose.services['ledger']!.build).toBe('.');
    expect(compose.services['worker']!.build).toBe('.');
    expect(compose.services['ledger']!.image).toBe(compose.services['worker']!.image);
    expect(loadMessagingConfig(environmentOf('ledger'))).toMatchObject({ RELAY_ENABLED: false, REVOKE_CONSUMER_ENABLED: false, KAFKA_BROKERS: ['kafka:9092'] });
    expect(loadMessagingConfig(environmentOf('worker'))).toMatchObject({ RELAY_ENABLED: true, REVOKE_CONSUMER_ENABLED: true, KAFKA_BROKERS: ['kafka:9092'] });
    expect(compose.services['worker']!.depends_on).toMatchObject({ kurrentdb: { condition: 'service_healthy' }, kafka: { condition: 'service_healthy' } });
  });

  it('gives the ledger settings its own validation accepts, on EventStoreDB in the compose network', () => {
    for (const service of ['ledger', 'worker']) {
      expect(loadConfig(environmentOf(service))).toMatchObject({
        EVENT_STORE: 'eventstoredb',
        EVENTSTORE_CONNECTION: 'kurrentdb://kurrentdb:2113?tls=false',
        HOST: '0.0.0.0',
        DATA_DIR: '/data',
      });
    }
  });
});

describe('Dockerfile', () => {
  it('installs every workspace of the monorepo (libs/*, apps/*) before building', () => {
    const workspaces = ['libs', 'apps'].flatMap((parent) =>
      readdirSync(join(root, parent), { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && readdirSync(join(root, parent, entry.name)).includes('package.json'))
        .map((entry) => `${parent}/${entry.name}`),
    );

    expect(workspaces.length).toBeGreaterThan(5);
    for (const workspace of workspaces) expect(dockerfile).toContain(`COPY ${workspace}/package.json ${workspace}/`);
  });

  it('runs on a Node 24 base image with production dependencies only', () => {
    const stages = dockerfile.split(/^FROM /m).slice(1);
    const runtime = stages[stages.length - 1]!;

    for (const stage of stages) expect(stage).toMatch(/^node:24[-.\w]*(\s|$)/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(runtime).toContain('COPY --from=deps');
    expect(runtime).not.toMatch(/npm (ci|install)(?! --omit=dev)/);
    expect(runtime).toMatch(/CMD \["node", "apps\/ledger\/dist\/main\.js"\]/);
  });
});

describe('the ledger configuration', () => {
  it('refuses EVENT_STORE=eventstoredb without a connection string, or with a malformed one, in one line', () => {
    expect(() => loadConfig({ EVENT_STORE: 'eventstoredb' })).toThrow(
      'invalid configuration: EVENTSTORE_CONNECTION: is required with EVENT_STORE=eventstoredb (e.g. kurrentdb://localhost:2113?tls=false)',
    );
    expect(() => loadConfig({ EVENT_STORE: 'eventstoredb', EVENTSTORE_CONNECTION: 'http://localhost:2113' })).toThrow(/EVENTSTORE_CONNECTION: must be a kurrentdb:\/\//);
    expect(() => loadConfig({ EVENT_STORE: 'postgres' })).toThrow(/EVENT_STORE/);
    expect(loadConfig({})).toMatchObject({ EVENT_STORE: 'sqlite' });
  });
});
