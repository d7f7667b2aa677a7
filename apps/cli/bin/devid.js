#!/usr/bin/env node
// `npx devid`: the compiled CLI (built by `npm install` via the root `prepare` script).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`devid needs Node 24 (this is ${process.version}); run it as \`npx devid\` or \`npm run devid --\` from the repository, which use the project's Node 24.`);
  process.exit(2);
}
const entry = join(__dirname, '..', 'dist', 'main.js');
if (!existsSync(entry)) {
  console.error('devid is not built yet: run `npm run build` in the repository root.');
  process.exit(2);
}
require(entry);
