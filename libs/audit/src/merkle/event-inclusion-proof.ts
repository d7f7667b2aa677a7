import type { EventStore } from '@devid/event-store';
import { CheckpointCursor, type CheckpointEntry } from '../checkpoint/checkpoint-cursor';
import type { SignedCheckpoint } from '../checkpoint/audit-checkpoint';
import { EventNotInLog, InvalidEventId, RangeNotSealed } from '../errors';
import { inclusionProof } from './inclusion-proof';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface EventInclusionProof {
  eventId: string;
  position: number;
  /** 0-based leaf of the event (position - 1). */
  leafIndex: number;
  /** The tree covers positions 1..treeSize: the position the latest signed checkpoint covers. */
  treeSize: number;
  leafHash: string;
  path: string[];
  root: string;
  /** The latest signed checkpoint (its statement covers position treeSize of the hash chain). */
  checkpoint: SignedCheckpoint;
}

/**
 * The RFC 6962 inclusion proof of one event in the Merkle tree over the log up to the latest
 * signed checkpoint (leaf = SHA-256(0x00 ‖ RFC 8785 bytes of the event, as the chain hashes
 * them)). The root is computed, not signed: a checkpoint signs the chain hash at treeSize, so
 * an auditor ties the root to it by recomputing both from a bundle of 1..treeSize.
 */
export const eventInclusionProof = async (store: EventStore, eventId: string): Promise<EventInclusionProof> => {
  if (!UUID.test(eventId)) throw new InvalidEventId(eventId);
  const event = await store.getEvent(eventId);
  if (event === undefined) throw new EventNotInLog(eventId);
  const cursor = new CheckpointCursor(store);
  let latest: CheckpointEntry | undefined;
  for (let next = await cursor.next(); next !== undefined; next = await cursor.next()) latest = next;
  if (latest === undefined || latest.data.position < event.position) throw new RangeNotSealed(event.position);
  const proof = await inclusionProof(store, event.position, latest.data.position);
  const { publicKey: _publicKey, ...checkpoint } = latest.data;
  return {
    eventId,
    position: event.position,
    leafIndex: proof.leafIndex,
    treeSize: proof.treeSize,
    leafHash: proof.leafHash.toString('hex'),
    path: proof.path.map((p) => p.toString('hex')),
    root: proof.root.toString('hex'),
    checkpoint,
  };
};
