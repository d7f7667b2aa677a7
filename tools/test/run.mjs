#!/usr/bin/env node
// The one test command (README, .ci/run): type-check + module boundaries + every jest test,
// ending with the line `N passed, N failed` (counted over jest tests plus the two checks).
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const extra = process.argv.slice(2);
let passed = 0;
let failed = 0;
const step = (name, cmd, args) => {
  process.stdout.write(`\n== ${name}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status === 0) passed++;
  else {
    failed++;
    console.log(`FAILED: ${name} (exit ${r.status})`);
  }
};

if (extra.length === 0) {
  step('build (tsc strict, project references)', 'npm', ['run', '-s', 'build']);
  step('type-check tests (tsc --noEmit)', 'npx', ['tsc', '-p', 'tsconfig.json']);
  step('module boundaries (nx graph + eslint @nx/enforce-module-boundaries)', 'npm', ['run', '-s', 'lint']);
}

const out = join(mkdtempSync(join(tmpdir(), 'devid-jest-')), 'result.json');
process.stdout.write('\n== jest\n');
spawnSync('npx', ['jest', '--ci', '--json', `--outputFile=${out}`, ...extra], { stdio: 'inherit' });
try {
  const result = JSON.parse(readFileSync(out, 'utf8'));
  passed += result.numPassedTests;
  failed += result.numFailedTests + result.numRuntimeErrorTestSuites;
  const skipped = result.numPendingTests + result.numTodoTests;
  console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
} catch (e) {
  failed++;
  console.log(`\njest wrote no result (${e.message})`);
  console.log(`${passed} passed, ${failed} failed`);
}
process.exit(failed === 0 ? 0 : 1);
