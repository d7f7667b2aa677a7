// `devid ca create|list|revoke|renew-ocsp-signer|revoke-server-certificate` against a running ledger: a CA made from the command line is an
// event, signed by its parent, served at /cas; bad input is one line, a non-zero exit and nothing written.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureBuilt, ROOT, startLedgerProcess, stopLedgerProcess, type LedgerProcess } from './support/ledger-process';
import { openssl } from './support/openssl';

const run = promisify(execFile);
const KEY = 'ca-cli-admin-key-0123456789';
jest.setTimeout(90_000);

let ledger: LedgerProcess;
let dataDir: string;
const devid = (...args: string[]) =>
  run(process.execPath, [join(ROOT, 'apps', 'cli', 'bin', 'devid.js'), ...args, '--url', ledger.url], { cwd: ROOT, env: { ...process.env, ADMIN_API_KEY: KEY } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
const caIds = async () => ((await (await fetch(`${ledger.url}/cas`)).json()) as { cas: Array<{ caId: string }> }).cas.map((c) => c.caId).sort();
const head = async () => ((await (await fetch(`${ledger.url}/devices/00000000-0000-5000-8000-000000000000/events`)).status, await caIds()));

beforeAll(async () => {
  ensureBuilt();
  dataDir = mkdtempSync(join(tmpdir(), 'devid-ca-cli-'));
  // EST on: its TLS certificate is the server certificate revoke-server-certificate revokes.
  ledger = await startLedgerProcess({ DATA_DIR: dataDir, ADMIN_API_KEY: KEY, CA_KEY_PASSPHRASE: 'test-passphrase-0123', EST_PORT: '0' });
});
afterAll(async () => {
  await stopLedgerProcess(ledger);
  rmSync(dataDir, { recursive: true, force: true });
});

it("creates a factory CA signed by the root, which openssl verifies, lists it, and revokes it: on the root's CRL and OCSP revoked", async () => {
  const created = await devid('ca', 'create', '--id', 'fab-7', '--role', 'factory', '--parent', 'devid-root', '--algorithm', 'Ed25519', '--common-name', 'Fab 7 line 2');
  expect(created).toMatchObject({ code: 0 });
  expect(JSON.parse(created.stdout)).toMatchObject({ caId: 'fab-7', role: 'factory', parentId: 'devid-root', status: 'active' });

  const work = mkdtempSync(join(tmpdir(), 'devid-ca-cli-work-'));
  try {
    for (const ca of ['devid-root', 'devid-issuing', 'fab-7']) writeFileSync(join(work, `${ca}.pem`), await (await fetch(`${ledger.url}/cas/${ca}/certificate`)).text());
    const verified = await openssl(['verify', '-CAfile', 'devid-root.pem', 'fab-7.pem'], work);
    expect(verified.out).toMatch(/fab-7.pem: OK/);
    expect((await openssl(['x509', '-in', 'fab-7.pem', '-noout', '-subject'], work)).out).toMatch(/CN ?= ?Fab 7 line 2/);
    const ocsp = (cert: string) =>
      openssl(['ocsp', '-issuer', 'devid-root.pem', '-cert', cert, '-url', `${ledger.url}/ocsp`, '-CAfile', 'devid-root.pem', '-VAfile', 'devid-root.pem'], work);
    expect((await ocsp('fab-7.pem')).out).toMatch(/fab-7\.pem: good/);

    const listed = await devid('ca', 'list');
    expect(JSON.parse(listed.stdout).cas.map((c: { caId: string }) => c.caId)).toContain('fab-7');
    const revoked = await devid('ca', 'revoke', 'fab-7', '--reason', 'cessationOfOperation');
    expect(JSON.parse(revoked.stdout)).toMatchObject({ caId: 'fab-7', status: 'revoked' });

    // The root's CRL lists the revoked CA, openssl refuses it with that CRL, and the root's OCSP responder says revoked.
    const serial = ((await (await fetch(`${ledger.url}/cas/fab-7`)).json()) as { serialNumber: string }).serialNumber;
    writeFileSync(join(work, 'root.crl'), Buffer.from(await (await fetch(`${ledger.url}/crl/devid-root.crl`)).arrayBuffer()));
    const crl = await openssl(['crl', '-inform', 'DER', '-in', 'root.crl', '-noout', '-text'], work);
    expect(crl.out).toMatch(new RegExp(`Serial Number: ${serial.toUpperCase()}\\s+Revocation Date: [^\\n]+\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Cessation Of Operation`));
    await openssl(['crl', '-inform', 'DER', '-in', 'root.crl', '-out', 'root.crl.pem'], work);
    const refused = await openssl(['verify', '-crl_check', '-CAfile', 'devid-root.pem', '-CRLfile', 'root.crl.pem', 'fab-7.pem'], work);
    expect(refused.out).toMatch(/certificate revoked/);
    const answer = await ocsp('fab-7.pem');
    expect(answer.out).toMatch(/fab-7\.pem: revoked/);
    expect(answer.out).toMatch(/Reason: cessationOfOperation/);
    expect(answer.out).toMatch(/Response verify OK/);
    // The other CAs under the root stay good.
    expect((await ocsp('devid-issuing.pem')).out).toMatch(/devid-issuing\.pem: good/);
    expect((await openssl(['verify', '-crl_check', '-CAfile', 'devid-root.pem', '-CRLfile', 'root.crl.pem', 'devid-issuing.pem'], work)).out).toMatch(/devid-issuing\.pem: OK/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

it('refuses bad input with one line and a non-zero exit, and writes nothing', async () => {
  const before = await head();
  const cases: Array<[string[], RegExp]> = [
    [['ca', 'create', '--id', 'x-1', '--role', 'nope'], /--role must be one of root, issuing, factory: nope/],
    [['ca', 'create', '--id', 'x-2', '--role', 'issuing'], /issuing CA x-2 needs --parent/],
    [['ca', 'create', '--id', 'x-3', '--role', 'issuing', '--parent', 'no-such-ca'], /^devid: 4\d\d \S+: .+/],
    [['ca', 'create', '--id', 'Bad_Id', '--role', 'root'], /^devid: 400 \S+: .+/],
    [['ca', 'create', '--id', 'x-4', '--role', 'root', '--algorithm', 'DSA-1024'], /--algorithm must be one of/],
    [['ca', 'revoke', 'devid-issuing', '--reason', 'because'], /--reason must be one of/],
    [['ca', 'revoke-server-certificate', 'devid-issuing', 'ab'.repeat(16), '--reason', 'superseded'], /^devid: 404 \S+server-certificate-not-found: .+/],
    [['ca', 'revoke-server-certificate', 'devid-issuing', 'ab'.repeat(16), '--reason', 'cACompromise'], /--reason must be one of/],
  ];
  for (const [args, message] of cases) {
    const res = await devid(...args);
    const lines = res.stderr.trim().split('\n');
    expect({ args, code: res.code === 0 ? 0 : 'non-zero', lines: lines.length, matches: message.test(lines[0] ?? '') }).toEqual({ args, code: 'non-zero', lines: 1, matches: true });
  }
  const withoutKey = await run(process.execPath, [join(ROOT, 'apps', 'cli', 'bin', 'devid.js'), 'ca', 'create', '--id', 'x-5', '--role', 'root', '--url', ledger.url], {
    cwd: ROOT,
    env: { ...process.env, ADMIN_API_KEY: '' },
  }).catch((e: { code: number; stderr: string }) => e);
  expect((withoutKey as { code: number }).code).toBe(2);
  expect((withoutKey as { stderr: string }).stderr).toMatch(/an admin key is needed/);
  expect(await head()).toEqual(before);
});

it("revokes the EST port's certificate from the command line; a second revocation is one line and writes nothing", async () => {
  const issuing = () => devid('ca', 'list').then((listed) => (JSON.parse(listed.stdout).cas as Array<{ caId: string; serverCertificates: Array<{ serialNumber: string; status: string }> }>).find((c) => c.caId === 'devid-issuing')!);
  const [served] = (await issuing()).serverCertificates;
  expect(served).toMatchObject({ status: 'good' });

  const revoked = await devid('ca', 'revoke-server-certificate', 'devid-issuing', served!.serialNumber, '--reason', 'superseded');
  expect(revoked.code).toBe(0);
  expect(JSON.parse(revoked.stdout).serverCertificates).toContainEqual(expect.objectContaining({ serialNumber: served!.serialNumber, status: 'revoked', revocationReason: 'superseded' }));

  const listedBefore = JSON.stringify((await issuing()).serverCertificates.filter((c) => c.serialNumber === served!.serialNumber));
  const again = await devid('ca', 'revoke-server-certificate', 'devid-issuing', served!.serialNumber, '--reason', 'keyCompromise');
  expect(again.code).not.toBe(0);
  expect(again.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^devid: 409 /)]);
  expect(JSON.stringify((await issuing()).serverCertificates.filter((c) => c.serialNumber === served!.serialNumber))).toBe(listedBefore);
});

it("renews a CA's OCSP signer from the command line: the responder then signs with the new signer, which openssl verifies; a revoked or unknown CA is refused and no key is made", async () => {
  const signerOf = async (caId: string) => ((await (await fetch(`${ledger.url}/cas/${caId}`)).json()) as { ocspSigner: { serialNumber: string; notAfter: string } }).ocspSigner;
  const keys = () => readdirSync(join(dataDir, 'ca-keys')).sort();
  const work = mkdtempSync(join(tmpdir(), 'devid-ca-cli-ocsp-'));
  try {
    for (const ca of ['devid-root', 'devid-issuing']) writeFileSync(join(work, `${ca}.pem`), await (await fetch(`${ledger.url}/cas/${ca}/certificate`)).text());
    // The root's responder answers for the issuing CA's certificate; -resp_text shows the signer certificate it sent.
    const ask = async () => {
      const answer = await openssl(['ocsp', '-issuer', 'devid-root.pem', '-cert', 'devid-issuing.pem', '-url', `${ledger.url}/ocsp`, '-CAfile', 'devid-root.pem', '-resp_text'], work);
      const signer = /Certificate:\s+Data:[\s\S]*?Serial Number:\s*([0-9a-f:]+)/i.exec(answer.out)?.[1]?.replace(/:/g, '').toLowerCase();
      return { ...answer, signer };
    };
    const before = await signerOf('devid-root');
    const first = await ask();
    expect(first.out).toMatch(/Response verify OK/);
    expect(first.signer).toBe(before.serialNumber);

    const notAfterLines = async () =>
      (await (await fetch(`${ledger.url}/metrics`)).text()).split('\n').filter((line) => line.startsWith('devid_certificate_not_after_seconds{'));
    const rootSignerLines = (lines: string[]) => lines.filter((line) => line.includes('ca="devid-root"') && line.includes('kind="ocsp-signer"'));
    expect(rootSignerLines(await notAfterLines())).toEqual([expect.stringContaining(`serial="${before.serialNumber}"`)]);

    const keysBefore = keys();
    const renewed = await devid('ca', 'renew-ocsp-signer', 'devid-root');
    expect(renewed.code).toBe(0);
    const after = JSON.parse(renewed.stdout).ocspSigner as { serialNumber: string; notAfter: string };
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(await signerOf('devid-root')).toEqual(after);
    expect(keys()).toHaveLength(keysBefore.length + 1);

    // /metrics reports the signer in use, with its expiry, and no longer the replaced one.
    const lines = await notAfterLines();
    const signerLines = rootSignerLines(lines);
    expect(signerLines).toEqual([expect.stringContaining(`serial="${after.serialNumber}"`)]);
    expect(Number(signerLines[0]!.split(' ').at(-1))).toBe(Date.parse(after.notAfter) / 1000);
    expect(lines.filter((line) => line.includes('ca="devid-issuing"') && line.includes('kind="est-tls"'))).toHaveLength(1);

    const second = await ask();
    expect(second.out).toMatch(/devid-issuing\.pem: good/);
    expect(second.out).toMatch(/Response verify OK/);
    expect(second.signer).toBe(after.serialNumber);
    expect(second.out).toMatch(/Extended Key Usage:\s+OCSP Signing/);
    expect(second.out).toMatch(/OCSP No Check/);

    // fab-7 was revoked by the first test: a revoked CA signs nothing more, not even a signer.
    const fab7 = await signerOf('fab-7');
    const refused = await devid('ca', 'renew-ocsp-signer', 'fab-7');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^devid: 409 \S+illegal-transition: .*revoked/)]);
    const unknown = await devid('ca', 'renew-ocsp-signer', 'no-such-ca');
    expect(unknown.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^devid: 404 \S+ca-not-found: /)]);
    expect(await signerOf('fab-7')).toEqual(fab7);
    expect(keys()).toHaveLength(keysBefore.length + 1);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
