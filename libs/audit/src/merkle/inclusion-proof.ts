import type { EventStore } from '@devid/event-store';
import { canonicalEvent } from '../chain/canonical-event';
import { ChainDiscontinuity } from '../errors';
import { logPages } from '../log/log-pages';
import { inclusionPathRanges, MerkleAccumulator, merkleLeafHash } from './merkle-tree';

export interface InclusionProof {
  /** 0-based: the event at global position p is leaf p - 1. */
  leafIndex: number;
  /** Leaves of the tree: the events at positions 1..treeSize. */
  treeSize: number;
  leafHash: Buffer;
  /** Sibling subtree hashes, nearest the leaf first (RFC 6962 §2.1.1). */
  path: Buffer[];
  root: Buffer;
}

/**
 * The RFC 6962 inclusion proof of the event at `position` in the tree over positions
 * 1..treeSize, in one pass over the log: memory holds one page, the accumulator of the whole
 * tree and one per path range (a few dozen hashes for any log size).
 */
export const inclusionProof = async (store: EventStore, position: number, treeSize: number): Promise<InclusionProof> => {
  const index = position - 1;
  const ranges = inclusionPathRanges(index, treeSize).map(([from, to]) => ({ from, to, tree: new MerkleAccumulator() }));
  const whole = new MerkleAccumulator();
  let leafHash: Buffer | undefined;
  let next = 0;
  pages: for await (const page of logPages(store, 0)) {
    for (const event of page) {
      if (next === treeSize) break pages;
      if (event.position !== next + 1) throw new ChainDiscontinuity(next + 1, event.position);
      const leaf = merkleLeafHash(canonicalEvent(event));
      whole.add(leaf);
      if (next === index) leafHash = leaf;
      for (const range of ranges) if (next >= range.from && next < range.to) range.tree.add(leaf);
      next++;
    }
  }
  if (next < treeSize || leafHash === undefined) throw new ChainDiscontinuity(next + 1, next);
  return { leafIndex: index, treeSize, leafHash, path: ranges.map((range) => range.tree.root()), root: whole.root() };
};
