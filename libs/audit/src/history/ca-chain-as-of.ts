import { caStreamId, evolveCa, firstChainRevocation, initialCaState, readCaEvent, type CaState, type ChainRevocation } from '@devid/domain';
import type { EventStore } from '@devid/event-store';
import { streamAsOf } from './stream-as-of';

/** How many CAs a chain may hold before the walk stops (the ledger makes two tiers). */
const MAX_CHAIN = 8;

/** A CA as its stream had recorded it by `at` (unknown if it did not exist yet). */
export const caAsOf = async (store: EventStore, caId: string, at: Date): Promise<CaState> =>
  (await streamAsOf(store, caStreamId(caId), at)).map(readCaEvent).reduce(evolveCa, initialCaState);

/**
 * The first revocation on the chain of what `caId` signed, as the ledger knew it at `at`: of the
 * CA itself or of a CA above it, folded from their streams up to then (never from read models).
 * Undefined when every CA on the chain was active then.
 */
export const caChainRevocationAsOf = async (store: EventStore, caId: string, at: Date): Promise<ChainRevocation | undefined> => {
  const revocations: ChainRevocation[] = [];
  const seen = new Set<string>();
  for (let id: string | null = caId; id !== null && !seen.has(id) && seen.size < MAX_CHAIN; ) {
    seen.add(id);
    const ca = await caAsOf(store, id, at);
    if (ca.status === 'unknown') break;
    if (ca.revocation) revocations.push({ caId: ca.caId, revokedAt: ca.revocation.revokedAt, reason: ca.revocation.reason });
    id = ca.parentId;
  }
  return firstChainRevocation(revocations);
};
