// The ledger renews each CA's delegated OCSP signer by itself while it runs, once less than
// OCSP_SIGNER_RENEW_SECONDS of the signer's 365 days remain. Here that is 3 s after issuance,
// so that renewals happen during the test: each new signer is in the ledger (GET /cas) before
// the responder signs with it, and openssl verifies the answers it signs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, NO_AUDIT_CHECKPOINTS, startLedgerProcess, stopLedgerProcess, type LedgerProcess } from '../support/ledger-process';
import { openssl } from '../support/openssl';

jest.setTimeout(90_000);

let ledger: LedgerProcess;
let dataDir: string;
let work: string;

beforeAll(async () => {
  ensureBuilt();
  dataDir = mkdtempSync(join(tmpdir(), 'devid-ocsp-renewal-'));
  work = mkdtempSync(join(tmpdir(), 'devid-ocsp-renewal-work-'));
  ledger = await startLedgerProcess({
    ...NO_AUDIT_CHECKPOINTS,
    DATA_DIR: dataDir,
    ADMIN_API_KEY: 'ocsp-renewal-admin-key-0123456789',
    CA_KEY_PASSPHRASE: 'test-passphrase-0123',
    EST_PORT: 'off',
    OCSP_SIGNER_RENEW_SECONDS: String(365 * 86_400 - 3),
  });
});
afterAll(async () => {
  if (ledger) await stopLedgerProcess(ledger);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

const signerOf = async (caId: string) => ((await (await fetch(`${ledger.url}/cas/${caId}`)).json()) as { ocspSigner: { serialNumber: string } }).ocspSigner.serialNumber;

/** The root's responder on the issuing CA's certificate: the answer, and the serial of the signer certificate it carries. */
const ask = async () => {
  const answer = await openssl(['ocsp', '-issuer', 'root.pem', '-cert', 'issuing.pem', '-url', `${ledger.url}/ocsp`, '-CAfile', 'root.pem', '-resp_text'], work);
  return { ...answer, signer: /Certificate:\s+Data:[\s\S]*?Serial Number:\s*([0-9a-f:]+)/i.exec(answer.out)?.[1]?.replace(/:/g, '').toLowerCase() };
};

it('replaces a signer that is due without a restart, records it first, and signs OCSP answers openssl verifies with it', async () => {
  writeFileSync(join(work, 'root.pem'), await (await fetch(`${ledger.url}/cas/devid-root/certificate`)).text());
  writeFileSync(join(work, 'issuing.pem'), await (await fetch(`${ledger.url}/cas/devid-issuing/certificate`)).text());
  const cas = ['devid-root', 'devid-issuing', 'devid-factory-1'];
  const firsts = await Promise.all(cas.map(signerOf));
  const first = firsts[0];
  // Every CA's signer is renewed, not only the root's.
  let renewed = false;
  for (const deadline = Date.now() + 30_000; !renewed && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    renewed = (await Promise.all(cas.map(signerOf))).every((serial, k) => serial !== firsts[k]);
  }
  expect(renewed).toBe(true);

  // Renewals go on every 3 s here: an answer is signed by the signer listed just before or just after it, never by the first one.
  const listedBefore = await signerOf('devid-root');
  const answer = await ask();
  const listedAfter = await signerOf('devid-root');
  expect(answer.out).toMatch(/issuing\.pem: good/);
  expect(answer.out).toMatch(/Response verify OK/);
  expect([listedBefore, listedAfter]).toContain(answer.signer);
  expect(answer.signer).not.toBe(first);
  expect(ledger.output()).not.toMatch(/could not be renewed/);
});
