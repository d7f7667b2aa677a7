/** The command topics (DESIGN.md "Kafka contracts"). */
export const REVOKE_COMMANDS_TOPIC = 'devid.commands.revoke';
export const COMMAND_RESULTS_TOPIC = 'devid.commands.results';
export const COMMAND_DLQ_TOPIC = 'devid.commands.dlq';

export interface CommandTopics {
  revoke: string;
  results: string;
  dlq: string;
}

/** The command topics, optionally under a prefix (tests and shared clusters: `<prefix>devid.commands.revoke`). */
export const commandTopics = (prefix = ''): CommandTopics => ({
  revoke: `${prefix}${REVOKE_COMMANDS_TOPIC}`,
  results: `${prefix}${COMMAND_RESULTS_TOPIC}`,
  dlq: `${prefix}${COMMAND_DLQ_TOPIC}`,
});
