import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AuditError, deviceAsOf, exportBundle, parsePointInTime, parseRangeBound, verifyBundle, verifyLog, type VerificationFailure } from '@devid/audit';
import { CliError } from '../cli-error';
import { openLedgerFiles, trustedKeyFrom } from './open-store';
import { progressBar } from './progress';

const dataDirOption = ['--data-dir <dir>', 'ledger data directory', process.env.DATA_DIR ?? './data'] as const;

/** Library errors become one line and exit 2 (bad input) or 1. */
const asCliError = (error: unknown): never => {
  if (error instanceof AuditError) throw new CliError(`${error.code}: ${error.message}`, error.status < 500 ? 2 : 1);
  throw error;
};

const failureLine = (failure: VerificationFailure) =>
  `FAILED at position ${failure.position}${failure.line ? ` (line ${failure.line})` : ''}: ${failure.code}: ${failure.reason}`;

export const registerAudit = (program: Command) => {
  const audit = program.command('audit').description('audit the log: point-in-time replay, chain verification, verifiable export');

  audit
    .command('replay')
    .description('the device as the ledger knew it at a recorded time (old events upcast)')
    .requiredOption('--device <id>', 'device id')
    .requiredOption('--at <time>', 'RFC 3339 date-time with a time zone')
    .option(...dataDirOption)
    .action(async (opts: { device: string; at: string; dataDir: string }) => {
      const at = (() => {
        try {
          return parsePointInTime(opts.at);
        } catch (error) {
          return asCliError(error);
        }
      })();
      const files = await openLedgerFiles(resolve(opts.dataDir));
      try {
        const known = await deviceAsOf(files.store, opts.device, at);
        if (known.state.status === 'unknown') throw new CliError(`device ${opts.device} was not known at ${at.toISOString()}`, 3);
        console.log(JSON.stringify({ asOf: at.toISOString(), revision: known.revision, position: known.position, device: known.state }, null, 2));
      } finally {
        await files.close();
      }
    });

  audit
    .command('verify')
    .description('recompute the hash chain over the store, compare it with the stored chain and the signed checkpoints')
    .option(...dataDirOption)
    .option('--key <file>', 'audit public key to trust (PEM or JWK); default DATA_DIR/audit-key.pub.pem')
    .action(async (opts: { dataDir: string; key?: string }) => {
      const dataDir = resolve(opts.dataDir);
      const trustedKey = trustedKeyFrom(opts.key, dataDir);
      const files = await openLedgerFiles(dataDir);
      try {
        const bar = progressBar('verify', await files.store.headPosition());
        const report = await verifyLog(files.store, { ...(files.chainDb ? { chainDb: files.chainDb } : {}), ...(trustedKey ? { trustedKey } : {}), onProgress: bar.update });
        bar.stop();
        if (!report.ok) throw new CliError(failureLine(report.failure!), 1);
        console.log(`ok: ${report.events} events, head ${report.head} ${report.headHash}`);
        console.log(`chained up to ${report.chainedUpTo}${files.chainDb ? '' : ' (no audit.db)'}; ${report.checkpoints} signed checkpoints up to ${report.sealedUpTo}, key ${report.keyId ?? 'none'}${trustedKey ? ' (pinned)' : ' (taken from the log: pin one with --key)'}`);
        if (report.unvouched > 0) console.log(`note: the last ${report.unvouched} events are not yet chained or signed (appended since the ledger's last batch/checkpoint)`);
      } finally {
        await files.close();
      }
    });

  audit
    .command('export')
    .description('write a bundle: the events as stored, the checkpoints that seal them, CA events, the audit public key')
    .requiredOption('--from <bound>', 'global position or RFC 3339 time (by recordedAt)')
    .requiredOption('--to <bound>', 'global position or RFC 3339 time (must be covered by a checkpoint)')
    .requiredOption('--out <file>', 'bundle file to write')
    .option('--device <id>', 'only this device (plus CA events and the links to its checkpoints)')
    .option(...dataDirOption)
    .action(async (opts: { from: string; to: string; out: string; device?: string; dataDir: string }) => {
      let from, to;
      try {
        from = parseRangeBound(opts.from, 'from');
        to = parseRangeBound(opts.to, 'to');
      } catch (error) {
        asCliError(error);
      }
      const files = await openLedgerFiles(resolve(opts.dataDir));
      try {
        const bar = progressBar('export', await files.store.headPosition());
        const summary = await exportBundle(files.store, { from: from!, to: to!, out: resolve(opts.out), ...(opts.device ? { deviceId: opts.device } : {}), onProgress: bar.update }).catch(asCliError);
        bar.stop();
        console.log(`wrote ${opts.out}: ${summary.events} events (${summary.selected} selected) in ${summary.runs} runs, ${summary.checkpoints} checkpoints, positions ${summary.firstPosition}..${summary.lastPosition}, key ${summary.keyId}`);
      } finally {
        await files.close();
      }
    });

  audit
    .command('verify-bundle <bundle>')
    .description('verify a bundle offline (no ledger access): every event hashes into a run sealed by a signed checkpoint')
    .option('--key <file>', 'audit public key to trust (PEM or JWK); without it the key named in the bundle is reported')
    .action(async (bundle: string, opts: { key?: string }) => {
      const trustedKey = trustedKeyFrom(opts.key);
      const report = await verifyBundle(resolve(bundle), trustedKey ? { trustedKey } : {});
      if (!report.ok) throw new CliError(failureLine(report.failure!), 1);
      console.log(`ok: ${report.events} events (${report.selectedEvents} selected${report.deviceId ? ` of device ${report.deviceId}` : ''}) in ${report.runs} runs, ${report.checkpoints} signed checkpoints, positions ${report.firstPosition}..${report.lastPosition}`);
      console.log(`audit key ${report.keyId}${trustedKey ? ' (pinned)' : ' (from the bundle: compare it with GET /audit/key or pin it with --key)'}; ${report.caCertificates.length} CA certificates`);
      for (const ca of report.caCertificates) console.log(`  ${ca.caId} ${ca.subject} SHA-256 ${ca.fingerprintSha256}`);
    });
};
