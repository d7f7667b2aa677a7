// `npx devid` from the repository root: help on every subcommand, one clear line on bad input.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { buildProgram } from '../apps/cli/src/program';
import { ensureBuilt, ROOT } from './support/ledger-process';

const run = promisify(execFile);
const devid = (...args: string[]) =>
  run('npx', ['--no-install', 'devid', ...args], { cwd: ROOT }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

jest.setTimeout(60_000);
beforeAll(() => ensureBuilt());

it('answers --help for the program and for every subcommand', async () => {
  const top = await devid('--help');
  expect(top.code).toBe(0);
  expect(top.stdout).toMatch(/Usage: devid/);
  // Every subcommand the program defines, at every depth (so a new one is covered by itself).
  const paths = (command: Command, prefix: string[] = []): string[][] =>
    command.commands.flatMap((sub) => [[...prefix, sub.name()], ...paths(sub, [...prefix, sub.name()])]);
  const commands = paths(buildProgram());
  expect(commands.map((c) => c.join(' '))).toEqual(expect.arrayContaining(['ca create', 'factory import', 'audit verify-bundle', 'store migrate', 'detector send-revoke']));
  for (const c of commands) {
    const res = await devid(...c, '--help');
    expect([c.join(' '), res.code]).toEqual([c.join(' '), 0]);
    expect(res.stdout).toMatch(new RegExp(`Usage: devid ${c.join(' ')}`));
  }
});

it('exits non-zero with one line for an unknown command and for a missing data dir', async () => {
  const unknown = await devid('frobnicate');
  expect(unknown.code).not.toBe(0);
  expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
  const missing = await devid('read-models', 'rebuild', '--data-dir', '/nonexistent/devid');
  expect(missing.code).toBe(1);
  // npx itself may warn about the machine's npm config; the CLI's own output is one line.
  const lines = missing.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'));
  expect(lines).toEqual(['devid: no event log at /nonexistent/devid/events.db']);
});
