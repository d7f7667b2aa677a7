// The ledger renews each CA's delegated OCSP signer by itself while it runs, once less than
// OCSP_SIGNER_RENEW_SECONDS of the signer's 365 days remain. Here that is 3 s after issuance,
// so that renewals happen during the test: each new signer is in the ledger (GET /cas) before
// the responder signs with it, and openssl verifies the answers it signs. A replaced signer's
// key is destroyed OCSP_SIGNER_KEY_RETENTION_SECONDS (here 1 s) after its replacement, then recorded.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caStreamId } from '@devid/domain';
import { SqliteEventStore } from '@devid/event-store';
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
    OCSP_SIGNER_KEY_RETENTION_SECONDS: '1',
  });
});
afterAll(async () => {
  if (ledger?.child.exitCode === null) await stopLedgerProcess(ledger);
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

/** The OCSP signer key files of a CA in DATA_DIR/ca-keys (its first signer's is `<caId>-ocsp.p8.pem`). */
const signerKeyFiles = (caId: string) => readdirSync(join(dataDir, 'ca-keys')).filter((name) => name.startsWith(`${caId}-ocsp`) && name.endsWith('.p8.pem'));

it("destroys each replaced signer's key after the retention, records it, and keeps the CA's key and the signer in use", async () => {
  const cas = ['devid-root', 'devid-issuing', 'devid-factory-1'];
  // The first signers were replaced in the test above: their keys go 1 s later.
  for (const deadline = Date.now() + 30_000; cas.some((caId) => existsSync(join(dataDir, 'ca-keys', `${caId}-ocsp.p8.pem`))) && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect(cas.filter((caId) => existsSync(join(dataDir, 'ca-keys', `${caId}-ocsp.p8.pem`)))).toEqual([]);
  // Renewed every 3 s, destroyed 1 s after: at no time more than the signer in use and the one it replaced.
  for (let k = 0; k < 12; k++) {
    for (const caId of cas) expect(signerKeyFiles(caId).length).toBeGreaterThanOrEqual(1);
    for (const caId of cas) expect(signerKeyFiles(caId).length).toBeLessThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const answer = await ask();
  expect(answer.out).toMatch(/Response verify OK/);
  const inUse = await Promise.all(cas.map(signerOf));
  // GET /cas/{caId} lists every signer: the one in use last, the first one's key destroyed.
  type Listed = { serialNumber: string; retiredAt: string | null; keyDestroyedAt: string | null };
  const listed = await Promise.all(cas.map(async (caId) => ((await (await fetch(`${ledger.url}/cas/${caId}`)).json()) as { ocspSigners: Listed[] }).ocspSigners));
  expect(ledger.output()).not.toMatch(/could not be (renewed|destroyed)/);
  await stopLedgerProcess(ledger);

  // The ledger says which keys went, each after the signer that replaced it was recorded.
  const store = await SqliteEventStore.open(join(dataDir, 'events.db'));
  try {
    for (const [k, caId] of cas.entries()) {
      const events = await store.readStream(caStreamId(caId));
      const issued = events.filter((e) => e.type === 'OcspSignerIssued').map((e) => (e.data as { certificate: { serialNumber: string }; keyRef: string }));
      const destroyed = events.filter((e) => e.type === 'OcspSignerKeyDestroyed').map((e) => e.data as { serialNumber: string; keyRef: string });
      expect(issued.length).toBeGreaterThanOrEqual(3);
      expect(destroyed.length).toBeGreaterThanOrEqual(1);
      // The signer listed in use before the stop, or one renewal later (every 3 s here): the last one keeps its key.
      const last = issued[issued.length - 1]!;
      expect(issued.slice(-2).map((signer) => signer.certificate.serialNumber)).toContain(inUse[k]);
      expect(destroyed.map((d) => d.serialNumber)).not.toContain(last.certificate.serialNumber);
      expect(existsSync(join(dataDir, 'ca-keys', `${last.keyRef.slice('file:'.length)}.p8.pem`))).toBe(true);
      expect(new Set(destroyed.map((d) => d.serialNumber)).size).toBe(destroyed.length);
      for (const { serialNumber, keyRef } of destroyed) {
        const at = issued.findIndex((signer) => signer.certificate.serialNumber === serialNumber);
        expect([at >= 0 && at < issued.length - 1, issued[at]?.keyRef]).toEqual([true, keyRef]);
        expect(existsSync(join(dataDir, 'ca-keys', `${keyRef.slice('file:'.length)}.p8.pem`))).toBe(false);
      }
      // As GET /cas listed them just before the stop (a renewal may have come in between).
      const signers = listed[k]!;
      expect(signers[0]?.keyDestroyedAt).toEqual(expect.any(String));
      expect(signers.filter((s) => s.retiredAt === null).map((s) => s.serialNumber)).toEqual([signers[signers.length - 1]!.serialNumber]);
      expect(signers.map((s) => s.serialNumber)).toEqual(issued.slice(0, signers.length).map((signer) => signer.certificate.serialNumber));
      for (const s of signers) expect(s.keyDestroyedAt === null || destroyed.some((d) => d.serialNumber === s.serialNumber)).toBe(true);
      // Every key still on disk is the signer in use or one replaced less than the retention before the stop.
      expect(signerKeyFiles(caId).length).toBeLessThanOrEqual(2);
      expect(existsSync(join(dataDir, 'ca-keys', `${caId}.p8.pem`))).toBe(true);
    }
  } finally {
    await store.close();
  }
});
