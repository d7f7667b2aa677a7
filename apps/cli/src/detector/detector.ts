import type { Command } from 'commander';
import { keygen } from './keygen';
import { DEFAULT_REVOKE_TOPIC, sendRevoke } from './send-revoke';

/** `devid detector …`: tools for anomaly-detector authors. */
export const registerDetector = (program: Command): void => {
  const detector = program.command('detector').description('for anomaly-detector authors: key pairs and signed revoke commands');
  detector
    .command('keygen')
    .description('create a detector key pair; prints the public JWK to register with POST /detectors')
    .option('--alg <alg>', 'ES256 (P-256) or EdDSA (Ed25519)', 'ES256')
    .requiredOption('--out <dir>', 'directory for detector-private.jwk.json (mode 0600) and detector-public.jwk.json')
    .action(async (opts: { alg: string; out: string }) => {
      const { publicJwk, privatePath } = await keygen(opts);
      console.error(`private key: ${privatePath} (keep it secret)`);
      console.log(JSON.stringify(publicJwk));
    });
  detector
    .command('send-revoke')
    .description('sign a revoke command with the detector key (JWS) and publish it to Kafka')
    .requiredOption('--key <file>', 'private JWK file written by keygen')
    .requiredOption('--detector <id>', 'registered detector id')
    .requiredOption('--device <id>', 'device to revoke')
    .requiredOption('--reason <reason>', 'RFC 5280 reason, e.g. keyCompromise, privilegeWithdrawn')
    .option('--evidence <text>', 'why (kept as the revocation comment)', '')
    .option('--brokers <list>', 'Kafka brokers host:port[,host:port]', process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')
    .option('--command-id <id>', 'command id (default: a random UUID); resending the same id is answered duplicate')
    .option('--topic <topic>', 'revoke command topic', DEFAULT_REVOKE_TOPIC)
    .action(async (opts: { key: string; detector: string; device: string; reason: string; evidence: string; brokers: string; commandId?: string; topic: string }) => {
      const sent = await sendRevoke(opts);
      console.log(JSON.stringify({ sent: sent.commandId, topic: opts.topic, deviceId: sent.deviceId }));
    });
};
