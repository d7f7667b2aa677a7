import type { Command } from 'commander';
import { CA_ROLES, SERVER_CERTIFICATE_REVOCATION_REASONS } from '@devid/domain';
import { KEY_ALGORITHMS } from '@devid/pki';
import { CliError } from '../cli-error';

const REVOCATION_REASONS = ['cACompromise', 'keyCompromise', 'cessationOfOperation', 'superseded', 'affiliationChanged', 'unspecified'] as const;

interface LedgerOptions {
  url: string;
  key?: string;
}

/** One call of the ledger's CA API; a refusal becomes one line with its problem type. */
const callLedger = async (opts: LedgerOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> => {
  const url = `${opts.url.replace(/\/$/, '')}${path}`;
  if (method === 'POST' && !opts.key) throw new CliError('an admin key is needed: --key or ADMIN_API_KEY', 2);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { accept: 'application/json', ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  } catch (e) {
    throw new CliError(`cannot reach the ledger at ${url}: ${(e as Error).message}`);
  }
  const answer = (await res.json().catch(() => ({}))) as { type?: string; detail?: string };
  if (!res.ok) throw new CliError(`${res.status} ${answer.type ?? ''}: ${answer.detail ?? res.statusText}`.replace(' :', ':'));
  return answer;
};

const oneOf = <T extends string>(what: string, allowed: readonly T[]) => (value: string): T => {
  if (!(allowed as readonly string[]).includes(value)) throw new CliError(`${what} must be one of ${allowed.join(', ')}: ${value}`, 2);
  return value as T;
};

const validityDays = (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 36_500) throw new CliError(`--validity-days must be a whole number of days from 1 to 36500: ${value}`, 2);
  return Number(value);
};

const ledgerOptions = (command: Command): Command =>
  command
    .option('--url <url>', 'ledger base URL', process.env.LEDGER_URL ?? 'http://127.0.0.1:3000')
    .option('--key <adminKey>', 'admin API key (default: $ADMIN_API_KEY)', process.env.ADMIN_API_KEY);

/** `devid ca create|list|revoke|renew-ocsp-signer|revoke-server-certificate`: the CA hierarchy through the ledger's admin API (POST /cas), so every CA is an event. */
export const registerCa = (program: Command) => {
  const ca = program.command('ca').description("certificate authorities: create (root, issuing, factory), list, revoke, renew the OCSP signer; revoke a certificate issued to the ledger's services");
  ledgerOptions(
    ca
      .command('create')
      .description('create a CA; its key is generated in software or on the PKCS#11 token, its certificate signed by --parent (a root signs itself)')
      .requiredOption('--id <caId>', 'CA id: lowercase letters, digits and dashes')
      .requiredOption('--role <role>', `one of ${CA_ROLES.join(', ')}`, oneOf('--role', CA_ROLES))
      .option('--parent <caId>', 'the CA that signs it (required for issuing and factory CAs)')
      .option('--common-name <cn>', 'subject CN (default: the CA id)')
      .option('--algorithm <alg>', `${KEY_ALGORITHMS.join(', ')} (default: the ledger's)`, oneOf('--algorithm', KEY_ALGORITHMS))
      .option('--key-backend <backend>', 'software or pkcs11 (default: the ledger\'s CA_KEY_BACKEND)', oneOf('--key-backend', ['software', 'pkcs11'] as const))
      .option('--validity-days <days>', 'days to the certificate\'s notAfter, 1-36500, cut to the parent\'s (default: root and factory CAs 99991231235959Z, issuing CAs 10 years)', validityDays),
  ).action(async (opts: LedgerOptions & { id: string; role: string; parent?: string; commonName?: string; algorithm?: string; keyBackend?: string; validityDays?: number }) => {
    if (opts.role !== 'root' && !opts.parent) throw new CliError(`${opts.role} CA ${opts.id} needs --parent (the CA that signs it)`, 2);
    const created = await callLedger(opts, 'POST', '/cas', {
      caId: opts.id,
      role: opts.role,
      ...(opts.parent ? { parentId: opts.parent } : {}),
      ...(opts.commonName ? { commonName: opts.commonName } : {}),
      ...(opts.algorithm ? { algorithm: opts.algorithm } : {}),
      ...(opts.keyBackend ? { keyBackend: opts.keyBackend } : {}),
      ...(opts.validityDays === undefined ? {} : { validityDays: opts.validityDays }),
    });
    console.log(JSON.stringify(created, null, 2));
  });
  ledgerOptions(ca.command('list').description('list the CAs (GET /cas)')).action(async (opts: LedgerOptions) => {
    console.log(JSON.stringify(await callLedger(opts, 'GET', '/cas'), null, 2));
  });
  ledgerOptions(
    ca
      .command('revoke <caId>')
      .description('revoke a CA: it signs nothing more, and factory batches under it are refused')
      .requiredOption('--reason <reason>', REVOCATION_REASONS.join(', '), oneOf('--reason', REVOCATION_REASONS)),
  ).action(async (caId: string, opts: LedgerOptions & { reason: string }) => {
    console.log(JSON.stringify(await callLedger(opts, 'POST', `/cas/${encodeURIComponent(caId)}/revoke`, { reason: opts.reason }), null, 2));
  });
  ledgerOptions(
    ca
      .command('renew-ocsp-signer <caId>')
      .description("replace the CA's delegated OCSP signer now: a new key and a certificate the CA signs, recorded in the ledger before OCSP answers are signed with it (the ledger also renews each signer by itself before it expires)"),
  ).action(async (caId: string, opts: LedgerOptions) => {
    console.log(JSON.stringify(await callLedger(opts, 'POST', `/cas/${encodeURIComponent(caId)}/ocsp-signer/renew`, {}), null, 2));
  });
  ledgerOptions(
    ca
      .command('revoke-server-certificate <caId> <serialNumber>')
      .description("revoke a certificate the CA issued to one of the ledger's services (listed under serverCertificates by `devid ca list`): it goes on the CA's CRL, OCSP answers revoked, and the EST port takes a new one")
      .requiredOption('--reason <reason>', SERVER_CERTIFICATE_REVOCATION_REASONS.join(', '), oneOf('--reason', SERVER_CERTIFICATE_REVOCATION_REASONS)),
  ).action(async (caId: string, serialNumber: string, opts: LedgerOptions & { reason: string }) => {
    const path = `/cas/${encodeURIComponent(caId)}/server-certificates/${encodeURIComponent(serialNumber)}/revoke`;
    console.log(JSON.stringify(await callLedger(opts, 'POST', path, { reason: opts.reason }), null, 2));
  });
};
