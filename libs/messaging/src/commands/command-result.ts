import type { OutgoingMessage } from '../bus/message-bus';

/** What the ledger did with a verified revoke command (devid.commands.results, key = commandId). */
export interface CommandResult {
  commandId: string;
  detectorId: string;
  deviceId: string;
  outcome: 'accepted' | 'duplicate' | 'rejected';
  /** For rejected: the domain error's stable code and its message. */
  code?: string;
  reason?: string;
  /** The stored events (accepted, and duplicate: those the first one wrote). */
  eventIds?: string[];
  at: string;
}

export const toResultMessage = (result: CommandResult): OutgoingMessage => ({ key: result.commandId, value: JSON.stringify(result) });
