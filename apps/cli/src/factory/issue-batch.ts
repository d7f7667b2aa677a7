import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { baseUrlFromCertificate, csrDirOf, FactoryError, issueBatch, loadFactoryCa, readManifest } from '@devid/factory';
import { PkiError } from '@devid/pki';
import { CliError } from '../cli-error';

interface IssueOptions {
  ca: string;
  caCert: string;
  caId?: string;
  manifest: string;
  out: string;
  passphraseEnv: string;
  pkcs11Module?: string;
  keyOut?: string;
  keyPassphraseEnv: string;
  baseUrl?: string;
  progress: boolean;
}

const secretFrom = (variable: string, what: string): string => {
  const value = process.env[variable];
  if (!value) throw new CliError(`${what}: set the environment variable ${variable}`);
  return value;
};

export const registerFactoryIssue = (factory: Command) =>
  factory
    .command('issue')
    .description('issue the IDevIDs of a manifest offline and write a batch signed by the factory CA (resumable: re-run to continue)')
    .requiredOption('--ca <key>', 'factory CA key: encrypted PKCS#8 PEM file (DATA_DIR/ca-keys/<caId>.p8.pem) or PKCS#11 URI pkcs11:token=<label>;object=<label>')
    .requiredOption('--ca-cert <pem>', 'the factory CA certificate, optionally followed by its issuers (GET /cas/<caId>/certificate)')
    .option('--ca-id <caId>', "the ledger's id of the factory CA (default: the key file name or PKCS#11 object label)")
    .requiredOption('--manifest <file>', 'devices.csv (header serialNumber,model[,csr]) or devices.jsonl')
    .requiredOption('--out <file>', 'the batch to write, e.g. batch.devid (its journal is <file>.journal)')
    .option('--passphrase-env <VAR>', 'environment variable holding the CA key passphrase or the token PIN', 'CA_KEY_PASSPHRASE')
    .option('--pkcs11-module <path>', 'PKCS#11 module for a pkcs11: key', process.env.PKCS11_MODULE)
    .option('--key-out <dir>', 'per device <serial>.crt.pem, and <serial>.key.pem (encrypted PKCS#8) for gateway-generated keys')
    .option('--key-passphrase-env <VAR>', 'environment variable holding the passphrase of gateway-generated keys', 'DEVICE_KEY_PASSPHRASE')
    .option('--base-url <url>', "the ledger's public URL for CRL/OCSP in the IDevIDs (default: from the CA certificate's CRL distribution point)")
    .option('--no-progress', 'no progress bar')
    .action(async (opts: IssueOptions) => {
      try {
        const entries = await readManifest(opts.manifest);
        const ca = await loadFactoryCa({
          key: opts.ca,
          certificatePem: readFileSync(opts.caCert, 'utf8'),
          secret: secretFrom(opts.passphraseEnv, opts.ca.startsWith('pkcs11:') ? 'token PIN' : 'CA key passphrase'),
          ...(opts.caId ? { caId: opts.caId } : {}),
          ...(opts.pkcs11Module ? { pkcs11Module: opts.pkcs11Module } : {}),
        });
        const baseUrl = opts.baseUrl ?? baseUrlFromCertificate(ca.chain[0]!);
        if (!baseUrl) throw new CliError('the CA certificate has no CRL distribution point to take the ledger URL from: pass --base-url');
        const needsKeys = entries.some((e) => !e.csr);
        const bar = opts.progress ? new SingleBar({ format: 'issuing {bar} {value}/{total} devices  {eta_formatted} left', stream: process.stderr, hideCursor: true }) : undefined;
        let started = false;
        try {
          const result = await issueBatch({
            ca,
            entries,
            out: opts.out,
            baseUrl,
            csrDir: csrDirOf(opts.manifest),
            ...(opts.keyOut ? { keyOut: opts.keyOut } : {}),
            ...(needsKeys ? { keyPassphrase: secretFrom(opts.keyPassphraseEnv, 'gateway-generated keys need a passphrase') } : {}),
            onProgress: (done, total) => {
              if (!bar) return;
              if (!started) (bar.start(total, done), (started = true));
              else bar.update(done);
            },
          });
          bar?.stop();
          console.log(JSON.stringify(result));
        } finally {
          bar?.stop();
          ca.close();
        }
      } catch (error) {
        if (error instanceof FactoryError || error instanceof PkiError) throw new CliError(`${error.code}: ${error.message}`);
        throw error;
      }
    });
