#!/usr/bin/env node
// Regenerates bad-csrs/ and good-csrs/ (test fixtures for csr-policy). Keys are made in a temp
// dir and deleted; only the CSRs and the manifests are kept.
// Usage (from the repo root, Node 24): npx node libs/pki/testdata/make-bad-csrs.mjs
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';

const here = dirname(fileURLToPath(import.meta.url));
const badDir = join(here, 'bad-csrs');
const goodDir = join(here, 'good-csrs');
const work = mkdtempSync(join(tmpdir(), 'devid-csr-'));
rmSync(badDir, { recursive: true, force: true });
rmSync(goodDir, { recursive: true, force: true });
mkdirSync(badDir);
mkdirSync(goodDir);

const DEVICE_ID = 'device-0001';
const SERIAL = 'SN-0001';
const MAX_BYTES = 8192;

const openssl = (...args) => execFileSync('openssl', args, { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
let keyCounter = 0;
/** A private key file made by `openssl genpkey` with the given arguments. */
function key(...genpkeyArgs) {
  const file = join(work, `k${keyCounter++}.pem`);
  openssl('genpkey', ...genpkeyArgs, '-out', file);
  return file;
}
/** DER CSR signed by keyFile; subject in openssl -subj form ('/' = empty subject). */
function csr(keyFile, subject = `/CN=${DEVICE_ID}`, ...extra) {
  return new Uint8Array(openssl('req', '-new', '-key', keyFile, '-subj', subject, '-outform', 'DER', ...extra));
}
const pem = (der, label = 'CERTIFICATE REQUEST') =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
const spkiSha256 = (der) => {
  const parsed = AsnConvert.parse(der, CertificationRequest);
  const spki = Buffer.from(AsnConvert.serialize(parsed.certificationRequestInfo.subjectPKInfo));
  return createHash('sha256').update(createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' })).digest('hex');
};
const reencode = (der, mutate) => {
  const parsed = AsnConvert.parse(der, CertificationRequest);
  mutate(parsed);
  return new Uint8Array(AsnConvert.serialize(parsed));
};
/** Offset of the first occurrence of `needle` in `haystack` (throws when absent). */
const indexOf = (haystack, needle) => {
  const at = Buffer.from(haystack).indexOf(Buffer.from(needle));
  if (at < 0) throw new Error('needle not found');
  return at;
};
const flip = (der, offset) => {
  const copy = new Uint8Array(der);
  copy[offset] ^= 0x01;
  return copy;
};

const cases = [];
function bad(file, code, description, content) {
  writeFileSync(join(badDir, file), content);
  cases.push({ file, code, description });
}
const good = [];
function ok(file, keyAlgorithm, description, content) {
  writeFileSync(join(goodDir, file), content);
  good.push({ file, keyAlgorithm, description });
}

// --- keys and valid CSRs ----------------------------------------------------------------
const p256 = key('-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256');
const p384 = key('-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384');
const ed25519 = key('-algorithm', 'ED25519');
const rsa2048 = key('-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048');
const rsa3072 = key('-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072');
const rsa4096 = key('-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:4096');
const goodP256 = csr(p256);
const goodP384 = csr(p384, `/CN=${DEVICE_ID}`, '-sha384');
const goodEd = csr(ed25519);
const goodRsa = csr(rsa2048);
ok('p256.der', 'ECDSA-P256', 'P-256, CN = deviceId, ecdsa-with-SHA256', goodP256);
ok('p256.pem', 'ECDSA-P256', 'the same as PEM', pem(goodP256));
ok('p384.der', 'ECDSA-P384', 'P-384, ecdsa-with-SHA384', goodP384);
ok('ed25519.der', 'Ed25519', 'Ed25519', goodEd);
ok('rsa2048.der', 'RSA-2048', 'RSA 2048, e = 65537, sha256WithRSAEncryption', goodRsa);
ok('rsa3072.der', 'RSA-3072', 'RSA 3072', csr(rsa3072));
ok('rsa4096.der', 'RSA-4096', 'RSA 4096, sha512WithRSAEncryption', csr(rsa4096, `/CN=${DEVICE_ID}`, '-sha512'));
ok('serial-only.der', 'ECDSA-P256', 'no CN; serialNumber attribute = device serial', csr(p256, `/serialNumber=${SERIAL}`));
ok('other-cn-right-serial.der', 'ECDSA-P256', 'CN of a product name, serialNumber = device serial', csr(p256, `/CN=Widget 3000/serialNumber=${SERIAL}`));
const compressedKey = join(work, 'compressed.pem');
openssl('ec', '-in', p256, '-conv_form', 'compressed', '-out', compressedKey);
ok('p256-compressed-point.der', 'ECDSA-P256', 'P-256 with a compressed point (valid; canonicalized before hashing)', csr(compressedKey));

// --- size and framing -------------------------------------------------------------------
bad('empty.der', 'csr-malformed', 'zero bytes', new Uint8Array());
bad('empty.pem', 'csr-malformed', 'PEM armour with no body', '-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n');
for (let index = 0; index < 4; index++) bad(`garbage-${index}.der`, 'csr-malformed', `${[1, 16, 200, 1000][index]} random bytes`, randomBytes([1, 16, 200, 1000][index]));
bad('garbage-sequence.der', 'csr-malformed', 'a DER SEQUENCE header followed by random bytes', Buffer.concat([Buffer.from([0x30, 0x81, 0xc8]), randomBytes(200)]));
bad('text.pem', 'csr-malformed', 'plain text, not PEM', 'hello, I am a device\n');
bad('nul-bytes.der', 'csr-malformed', '64 zero bytes', new Uint8Array(64));
for (const cut of [1, 2, 3, 10, 40, 80, 120, goodP256.length - 72, goodP256.length - 10, goodP256.length - 1]) {
  bad(`truncated-at-${cut}.der`, 'csr-malformed', `a valid P-256 CSR cut after ${cut} of ${goodP256.length} bytes`, goodP256.subarray(0, cut));
}
bad('truncated-rsa-half.der', 'csr-malformed', 'a valid RSA CSR cut in half', goodRsa.subarray(0, goodRsa.length >> 1));
bad('trailing-bytes.der', 'csr-malformed', 'a valid CSR followed by 4 extra bytes', Buffer.concat([goodP256, Buffer.from([0, 1, 2, 3])]));
bad('two-csrs.der', 'csr-malformed', 'two valid CSRs back to back', Buffer.concat([goodP256, goodP256]));
const indefinite = Buffer.concat([Buffer.from([0x30, 0x80]), goodP256.subarray(goodP256[1] & 0x80 ? 2 + (goodP256[1] & 0x7f) : 2), Buffer.from([0, 0])]);
bad('ber-indefinite-length.der', 'csr-malformed', 'the outer SEQUENCE re-framed with BER indefinite length', indefinite);
const longForm = Buffer.concat([Buffer.from([0x30, 0x82, 0x00, goodP256.length - 3]), goodP256.subarray(3)]);
bad('non-minimal-length.der', 'csr-malformed', 'the outer length in a non-minimal long form', longForm);
const goodPem = pem(goodP256);
bad('pem-bad-char.pem', 'csr-malformed', 'PEM body with a "!" in the base64', goodPem.replace(/(\n.{10})./, '$1!'));
bad('pem-bad-padding.pem', 'csr-malformed', 'PEM base64 with a stray "=" in the middle', goodPem.replace(/(\n.{20})./, '$1='));
bad('pem-no-end.pem', 'csr-malformed', 'PEM without its END line', goodPem.replace(/-----END[^\n]*\n/, ''));
bad('pem-certificate-label.pem', 'csr-malformed', 'a CSR body under a CERTIFICATE label', pem(goodP256, 'CERTIFICATE'));
bad('pem-truncated-base64.pem', 'csr-malformed', 'PEM whose base64 was cut mid-quantum', goodPem.replace(/(\n.{5}).*?\n-----END/s, '$1\n-----END'));
const cert = openssl('req', '-x509', '-new', '-key', p256, '-subj', `/CN=${DEVICE_ID}`, '-days', '1', '-outform', 'DER');
bad('certificate-not-csr.der', 'csr-malformed', 'an X.509 certificate instead of a CSR', cert);
bad('version-2.der', 'csr-malformed', 'PKCS#10 version field set to 1', reencode(goodP256, (c) => { c.certificationRequestInfo.version = 1; }));
bad('oversized.pem', 'csr-too-large', `${MAX_BYTES + 1} bytes of PEM-looking text`, `-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(MAX_BYTES)}`);
bad('oversized-valid.der', 'csr-too-large', 'a correctly signed CSR carrying a 9000-byte extension',
  csr(p256, `/CN=${DEVICE_ID}`, '-addext', `subjectAltName=URI:urn:x:${'a'.repeat(9000)}`));

// --- proof of possession ----------------------------------------------------------------
const sigOffset = goodP256.length - 20;
bad('sig-flip-end.der', 'csr-signature-invalid', 'P-256 CSR with a flipped bit near the end of the signature', flip(goodP256, sigOffset));
bad('sig-flip-r.der', 'csr-signature-invalid', 'P-256 CSR with a flipped bit in r', flip(goodP256, goodP256.length - 60));
bad('tbs-flip-cn.der', 'csr-signature-invalid', 'one bit of the CN changed after signing (device-0001 -> device-0000)', flip(goodP256, indexOf(goodP256, DEVICE_ID) + DEVICE_ID.length - 1));
bad('rsa-sig-flip.der', 'csr-signature-invalid', 'RSA CSR with a flipped bit in the signature', flip(goodRsa, goodRsa.length - 30));
bad('rsa-tbs-flip-modulus.der', 'csr-signature-invalid', 'RSA CSR with a flipped bit in the modulus (another valid key)', flip(goodRsa, indexOf(goodRsa, [0x02, 0x82, 0x01, 0x01, 0x00]) + 100));
bad('ed25519-sig-flip.der', 'csr-signature-invalid', 'Ed25519 CSR with a flipped bit in the signature', flip(goodEd, goodEd.length - 5));
const otherP256 = csr(key('-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'));
bad('sig-from-other-key.der', 'csr-signature-invalid', 'the TBS of one CSR with the signature of another key',
  reencode(goodP256, (c) => { c.signature = AsnConvert.parse(otherP256, CertificationRequest).signature; }));
bad('sig-empty.der', 'csr-signature-invalid', 'a zero-length signature', reencode(goodP256, (c) => { c.signature = new ArrayBuffer(0); }));
bad('sig-garbage.der', 'csr-signature-invalid', 'a signature that is not an Ecdsa-Sig-Value', reencode(goodP256, (c) => { c.signature = randomBytes(70).buffer; }));
bad('sig-alg-rsa-on-ec-key.der', 'csr-signature-invalid', 'sha256WithRSAEncryption claimed for an EC key',
  reencode(goodP256, (c) => { c.signatureAlgorithm = AsnConvert.parse(goodRsa, CertificationRequest).signatureAlgorithm; }));
bad('sig-alg-sha1-rsa.der', 'csr-signature-algorithm-not-allowed', 'RSA CSR signed with SHA-1', csr(rsa2048, `/CN=${DEVICE_ID}`, '-sha1'));
bad('sig-alg-ecdsa-sha1.der', 'csr-signature-algorithm-not-allowed', 'P-256 CSR signed with ecdsa-with-SHA1', csr(p256, `/CN=${DEVICE_ID}`, '-sha1'));
bad('sig-alg-md5-rsa.der', 'csr-signature-algorithm-not-allowed', 'md5WithRSAEncryption in the signature algorithm',
  reencode(goodRsa, (c) => { c.signatureAlgorithm.algorithm = '1.2.840.113549.1.1.4'; }));

// --- key policy -------------------------------------------------------------------------
for (const curve of ['secp256k1', 'secp521r1', 'brainpoolP256r1', 'brainpoolP384r1', 'secp224r1', 'prime192v1']) {
  bad(`curve-${curve}.der`, 'csr-curve-not-allowed', `EC key on ${curve}`, csr(key('-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`)));
}
const explicitKey = join(work, 'explicit.pem');
openssl('ec', '-in', p256, '-param_enc', 'explicit', '-out', explicitKey);
bad('curve-explicit-parameters.der', 'csr-curve-not-allowed', 'P-256 key with explicit curve parameters instead of a named curve', csr(explicitKey));
bad('rsa-1024.der', 'csr-rsa-too-small', 'RSA 1024', csr(key('-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024')));
bad('rsa-1536.der', 'csr-rsa-too-small', 'RSA 1536', csr(key('-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1536')));
bad('rsa-2047.der', 'csr-rsa-too-small', 'RSA with a 2047-bit modulus', csr(key('-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2047')));
bad('rsa-8192.der', 'csr-rsa-too-large', 'RSA 8192 (above the 4096 limit)', csr(key('-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:8192')));
bad('rsa-e3.der', 'csr-rsa-exponent', 'RSA 2048 with e = 3', csr(key('-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-pkeyopt', 'rsa_keygen_pubexp:3')));
bad('rsa-e17.der', 'csr-rsa-exponent', 'RSA 2048 with e = 17', csr(key('-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-pkeyopt', 'rsa_keygen_pubexp:17')));
bad('rsa-e65539.der', 'csr-rsa-exponent', 'RSA 2048 with e = 65539', csr(key('-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-pkeyopt', 'rsa_keygen_pubexp:65539')));
bad('dsa-2048.der', 'csr-key-algorithm-not-allowed', 'DSA 2048 key', csr(key('-paramfile', (() => { const f = join(work, 'dsa.param'); openssl('genpkey', '-genparam', '-algorithm', 'DSA', '-pkeyopt', 'dsa_paramgen_bits:2048', '-out', f); return f; })())));
bad('ed448.der', 'csr-key-algorithm-not-allowed', 'Ed448 key', csr(key('-algorithm', 'ED448')));
bad('rsa-pss-key.der', 'csr-key-algorithm-not-allowed', 'RSASSA-PSS key (id-RSASSA-PSS SPKI)', csr(key('-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048')));
const pointOffset = indexOf(goodP256, [0x03, 0x42, 0x00, 0x04]) + 4;
bad('p256-off-curve-y.der', 'csr-ec-point-invalid', 'P-256 point with the last byte of y changed (not on the curve)', flip(goodP256, pointOffset + 63));
bad('p256-off-curve-x.der', 'csr-ec-point-invalid', 'P-256 point with a bit of x changed (not on the curve)', flip(goodP256, pointOffset + 5));
bad('p256-x-all-ff.der', 'csr-ec-point-invalid', 'P-256 point with x = 2^256 - 1 (not a field element)', (() => { const c = new Uint8Array(goodP256); c.fill(0xff, pointOffset, pointOffset + 32); return c; })());
bad('p256-zero-point.der', 'csr-ec-point-invalid', 'P-256 point (0, 0)', (() => { const c = new Uint8Array(goodP256); c.fill(0, pointOffset, pointOffset + 64); return c; })());
bad('p256-infinity.der', 'csr-ec-point-invalid', 'P-256 point at infinity (a single 0x00 octet)',
  reencode(goodP256, (c) => { c.certificationRequestInfo.subjectPKInfo.subjectPublicKey = new Uint8Array([0]).buffer; }));
bad('p256-hybrid-bad-prefix.der', 'csr-ec-point-invalid', 'P-256 point with prefix 0x05 (no such encoding)', (() => { const c = new Uint8Array(goodP256); c[pointOffset - 1] = 0x05; return c; })());
const curveOidOffset = indexOf(goodP256, [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
bad('p256-curve-not-an-oid.der', 'csr-malformed', 'P-256 key whose curve parameter is tagged UTCTime instead of OID (@peculiar/asn1-csr parses it, cannot re-encode it)',
  (() => { const c = new Uint8Array(goodP256); c[curveOidOffset] = 0x17; return c; })());
const p384Offset = indexOf(goodP384, [0x03, 0x62, 0x00, 0x04]) + 4;
bad('p384-off-curve-y.der', 'csr-ec-point-invalid', 'P-384 point with the last byte of y changed', flip(goodP384, p384Offset + 95));

// --- subject policy ---------------------------------------------------------------------
bad('subject-other-device.der', 'csr-subject-mismatch', 'CN names another device', csr(p256, '/CN=device-9999'));
bad('subject-other-serial.der', 'csr-subject-mismatch', 'serialNumber of another device and no CN', csr(p256, '/serialNumber=SN-9999'));
bad('subject-empty.der', 'csr-subject-mismatch', 'empty subject', csr(p256, '/'));
bad('subject-case.der', 'csr-subject-mismatch', 'CN differs in case only', csr(p256, `/CN=${DEVICE_ID.toUpperCase()}`));
bad('subject-two-cns.der', 'csr-subject-mismatch', 'two CNs: this device and another', csr(p256, `/CN=${DEVICE_ID}/CN=device-9999`));
bad('subject-prefix.der', 'csr-subject-mismatch', 'CN = deviceId with a suffix', csr(p256, `/CN=${DEVICE_ID}x`));
bad('subject-only-org.der', 'csr-subject-mismatch', 'only an O attribute', csr(p256, '/O=ACME'));

// --- block list -------------------------------------------------------------------------
const blockedKey = key('-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256');
const blockedCsr = csr(blockedKey);
bad('blocked-key.der', 'csr-key-blocked', 'a valid CSR for a key revoked as compromised', blockedCsr);
const blockedCompressed = join(work, 'blocked-compressed.pem');
openssl('ec', '-in', blockedKey, '-conv_form', 'compressed', '-out', blockedCompressed);
bad('blocked-key-compressed.der', 'csr-key-blocked', 'the blocked key again, with its point compressed', csr(blockedCompressed));
bad('blocked-key-serial-subject.der', 'csr-key-blocked', 'the blocked key under a serialNumber subject', csr(blockedKey, `/serialNumber=${SERIAL}`));
bad('blocked-key.pem', 'csr-key-blocked', 'the blocked key as PEM', pem(blockedCsr));

const options = { expectedDeviceId: DEVICE_ID, expectedSerialNumber: SERIAL, maxBytes: MAX_BYTES, blockedKeys: [spkiSha256(blockedCsr)] };
writeFileSync(join(badDir, 'index.json'), `${JSON.stringify({ options, cases }, null, 2)}\n`);
writeFileSync(join(goodDir, 'index.json'), `${JSON.stringify({ options, cases: good }, null, 2)}\n`);
rmSync(work, { recursive: true, force: true });
console.log(`${cases.length} bad CSRs, ${good.length} good CSRs`);
