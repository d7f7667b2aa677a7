import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CompactSign, importJWK } from 'jose';
import { z } from 'zod';
import { KafkaMessageBus, REVOKE_COMMANDS_TOPIC, revokeCommandPayload, type RevokeCommandPayload } from '@devid/messaging';
import { CliError } from '../cli-error';

export interface SendRevokeOptions {
  key: string;
  detector: string;
  device: string;
  reason: string;
  evidence: string;
  brokers: string;
  commandId?: string;
  topic: string;
}

const privateJwk = z.union([
  z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), d: z.string() }).passthrough(),
  z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string(), d: z.string() }).passthrough(),
]);

const readPrivateKey = (path: string) => {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(`cannot read the private JWK ${path}: ${(e as Error).message}`);
  }
  const parsed = privateJwk.safeParse(json);
  if (!parsed.success) throw new CliError(`${path} is not a private P-256 or Ed25519 JWK (devid detector keygen writes one)`);
  return { jwk: parsed.data, alg: parsed.data.kty === 'EC' ? 'ES256' : 'EdDSA' };
};

/** Builds, signs (JWS compact) and publishes one revoke command; resolves after the broker's ack. */
export const sendRevoke = async (options: SendRevokeOptions): Promise<RevokeCommandPayload> => {
  const parsed = revokeCommandPayload.safeParse({
    commandId: options.commandId ?? randomUUID(),
    deviceId: options.device,
    reason: options.reason,
    evidence: options.evidence,
    detectorId: options.detector,
    issuedAt: new Date().toISOString(),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const flag = { commandId: '--command-id', deviceId: '--device', reason: '--reason', evidence: '--evidence', detectorId: '--detector' }[String(issue.path[0])] ?? String(issue.path[0]);
    throw new CliError(`${flag}: ${issue.message}`);
  }
  const { jwk, alg } = readPrivateKey(options.key);
  const key = await importJWK(jwk, alg).catch((e: Error) => {
    throw new CliError(`${options.key}: ${e.message}`);
  });
  const jws = await new CompactSign(Buffer.from(JSON.stringify(parsed.data))).setProtectedHeader({ alg }).sign(key);
  const brokers = options.brokers.split(',').map((b) => b.trim()).filter(Boolean);
  const bus = new KafkaMessageBus({ brokers, clientId: 'devid-cli', connectionTimeoutMs: 3_000 });
  try {
    await bus.publish(options.topic, [{ key: parsed.data.deviceId, value: jws }]);
  } catch (e) {
    throw new CliError(`cannot publish to ${options.topic} at ${brokers.join(',')}: ${(e as Error).message}`);
  } finally {
    await bus.close();
  }
  return parsed.data;
};

export const DEFAULT_REVOKE_TOPIC = REVOKE_COMMANDS_TOPIC;
