import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import { DETECTOR_ALGORITHMS, inDetectorScope, type DetectorAlgorithm, type KnownDetectorState } from '@devid/domain';
import { RevokeCommandRejected } from './command-rejected';
import { payloadFingerprint, revokeCommandPayload, type RevokeCommandPayload } from './revoke-command';

export interface RevokeCommandLookups {
  /** The detector folded from its stream (current key and status); undefined when not registered. */
  detector(detectorId: string): Promise<KnownDetectorState | undefined>;
  /** The device's owner and model; undefined when it does not exist. */
  device(deviceId: string): Promise<{ owner?: string | null; model: string } | undefined>;
}

export interface VerifyOptions {
  /** Largest message accepted (default 16 KiB). */
  maxBytes?: number;
  /** How far issuedAt may be from now, either way (default 300 s). */
  freshnessMs?: number;
  now: Date;
}

export interface VerifiedRevokeCommand {
  payload: RevokeCommandPayload;
  /** sha256 of the signed payload bytes, base64url. */
  fingerprint: string;
  keyVersion: number;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const reject = (code: ConstructorParameters<typeof RevokeCommandRejected>[0], message: string) => new RevokeCommandRejected(code, message);

/**
 * Every check a revoke command passes before it reaches the domain, in a fixed order, each
 * failure a stable code. The payload is read before the signature is checked only to learn
 * which detector's key to check it with; nothing of it is trusted until then.
 */
export const verifyRevokeCommand = async (value: Buffer | null, lookups: RevokeCommandLookups, options: VerifyOptions): Promise<VerifiedRevokeCommand> => {
  const maxBytes = options.maxBytes ?? 16 * 1024;
  if (value !== null && value.length > maxBytes) throw reject('oversized', `message of ${value.length} bytes exceeds ${maxBytes}`);
  const jws = value?.toString('latin1').trim() ?? '';
  if (!COMPACT_JWS.test(jws)) throw reject('not-jws', 'the message is not a compact JWS (header.payload.signature, base64url)');
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(jws).alg;
  } catch {
    throw reject('not-jws', 'the JWS protected header is not base64url JSON');
  }
  if (!DETECTOR_ALGORITHMS.includes(alg as DetectorAlgorithm)) throw reject('unsupported-alg', `alg ${JSON.stringify(alg)} is not one of ${DETECTOR_ALGORITHMS.join(', ')}`);

  const payloadBytes = Buffer.from(jws.split('.')[1]!, 'base64url');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payloadBytes));
  } catch {
    throw reject('malformed-json', 'the JWS payload is not UTF-8 JSON');
  }
  const parsed = revokeCommandPayload.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw reject('invalid-command', `payload /${issue.path.join('/')}: ${issue.message}`);
  }
  const payload = parsed.data;

  const detector = await lookups.detector(payload.detectorId);
  if (!detector) throw reject('unknown-detector', `detector ${payload.detectorId} is not registered`);
  if (detector.status !== 'enabled') throw reject('detector-disabled', `detector ${payload.detectorId} is disabled`);
  if (alg !== detector.publicKey.alg) throw reject('bad-signature', `detector ${payload.detectorId} signs with ${detector.publicKey.alg}, not ${String(alg)}`);
  try {
    const { alg: keyAlg, ...jwk } = detector.publicKey;
    await compactVerify(jws, await importJWK(jwk, keyAlg), { algorithms: [keyAlg] });
  } catch {
    throw reject('bad-signature', `the signature does not verify with the current key (version ${detector.keyVersion}) of detector ${payload.detectorId}`);
  }

  const freshnessMs = options.freshnessMs ?? 300_000;
  const skew = options.now.getTime() - Date.parse(payload.issuedAt);
  if (Math.abs(skew) > freshnessMs) {
    throw reject('stale-command', `issuedAt ${payload.issuedAt} is ${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? 'old' : 'in the future'} (window ±${freshnessMs / 1000} s)`);
  }

  const device = await lookups.device(payload.deviceId);
  if (!device) throw reject('device-not-found', `device ${payload.deviceId} does not exist`);
  if (!inDetectorScope(detector.scope, device)) throw reject('out-of-scope', `device ${payload.deviceId} is outside the scope of detector ${payload.detectorId}`);

  return { payload, fingerprint: payloadFingerprint(payloadBytes), keyVersion: detector.keyVersion };
};
