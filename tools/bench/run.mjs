#!/usr/bin/env node
// `npm run bench -- <name>` runs tools/bench/<name>.mjs against the built libs (npm run build first).
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((file) => file.endsWith('.mjs') && file !== 'run.mjs')
  .map((file) => file.slice(0, -'.mjs'.length))
  .sort();

const [name, ...rest] = process.argv.slice(2);
if (name === undefined || !available.includes(name)) {
  console.error(`${name === undefined ? 'no bench named' : `unknown bench: ${name}`}\nusage: npm run bench -- <name> [args]\navailable: ${available.join(', ')}`);
  process.exit(2);
}
const bench = await import(pathToFileURL(join(here, `${name}.mjs`)).href);
await bench.run(rest);
