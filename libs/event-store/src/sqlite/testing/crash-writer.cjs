// Child process of the crash tests (sqlite-event-store.int.spec.ts): appends to the store at
// argv[2] in a loop from 16 concurrent writers and prints one line per acknowledged event
// ("position revision streamId eventId") the moment its append resolves, with a synchronous
// write, so that the parent knows exactly what was acknowledged when it kills this process.
// argv[3] is a JSON object: { flushThreshold, flushIntervalMs, streams, dieInFlush }.
// dieInFlush: n > 0 makes the process SIGKILL itself inside its n-th index flush, after the
// index rows are written and before COMMIT.
'use strict';
const { writeSync } = require('node:fs');
const { randomUUID } = require('node:crypto');
const ts = require('typescript');

// The library is TypeScript: transpile it on require (CommonJS, no type check).
require.extensions['.ts'] = (module, filename) => {
  const source = require('node:fs').readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: filename,
  });
  module._compile(outputText, filename);
};
const { SqliteEventStore } = require('../sqlite-event-store.ts');

const [path, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson ?? '{}');

const main = async () => {
  const store = await SqliteEventStore.open(path, {
    indexFlushThreshold: config.flushThreshold ?? 20_000,
    indexFlushIntervalMs: config.flushIntervalMs ?? 0,
    faultModule: require('node:path').join(__dirname, 'fault-hooks.cjs'),
  });
  if (config.dieInFlush) require('node:fs').writeFileSync(`${path}.die-in-flush`, String(config.dieInFlush));
  writeSync(1, 'ready\n');
  const streams = config.streams ?? 50;
  const writer = async () => {
    for (;;) {
      const streamId = `device-${Math.floor(Math.random() * streams)}`;
      const events = Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => ({
        id: randomUUID(),
        type: 'DeviceRegistered',
        version: 1,
        occurredAt: '2025-03-03T10:00:00.000Z',
        data: { n: Math.random() },
        metadata: { commandId: randomUUID(), causationId: randomUUID(), correlationId: randomUUID(), actor: 'crash-test' },
      }));
      const result = await store.append(streamId, events, { expectedRevision: 'any' });
      writeSync(1, result.events.map((event) => `${event.position} ${event.revision} ${event.streamId} ${event.id}\n`).join(''));
    }
  };
  await Promise.all(Array.from({ length: 16 }, writer));
};
main().catch((error) => {
  writeSync(2, `${error.stack ?? error}\n`);
  process.exit(1);
});
