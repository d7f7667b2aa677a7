import { hash } from 'node:crypto';
import { HashChain } from '../chain/hash-chain';
import { openAuditDb } from '../chain/audit-db';
import { canonicalEvent } from '../chain/canonical-event';
import { MemoryEventStore } from '@devid/event-store';
import { buildAuditLog, steppingClock, testAuditKey } from '../testing/audit-log';
import { inclusionProof } from './inclusion-proof';
import { EMPTY_TREE_HASH, inclusionPathRanges, MerkleAccumulator, merkleLeafHash, merkleNodeHash, verifyInclusion } from './merkle-tree';

// RFC 6962 §2.1 written out literally, as the reference.
const sha = (...parts: Uint8Array[]) => hash('sha256', Buffer.concat(parts), 'buffer');
const mth = (leaves: Buffer[]): Buffer => {
  if (leaves.length === 0) return sha();
  if (leaves.length === 1) return sha(Buffer.from([0]), leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha(Buffer.from([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
};
const pathOf = (m: number, leaves: Buffer[]): Buffer[] => {
  if (leaves.length <= 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k ? [...pathOf(m, leaves.slice(0, k)), mth(leaves.slice(k))] : [...pathOf(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
};
const data = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`leaf ${i}`));
const treeOf = (leaves: Buffer[]) => {
  const tree = new MerkleAccumulator();
  for (const leaf of leaves) tree.add(merkleLeafHash(leaf));
  return tree;
};
const proofOf = (m: number, leaves: Buffer[]) => inclusionPathRanges(m, leaves.length).map(([from, to]) => treeOf(leaves.slice(from, to)).root());

describe('RFC 6962 Merkle tree', () => {
  it('hashes the empty tree as SHA-256 of nothing, and any size as the §2.1 recursion does', () => {
    expect(EMPTY_TREE_HASH.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    for (let n = 0; n <= 40; n++) expect(treeOf(data(n)).root()).toEqual(mth(data(n)));
    expect(merkleNodeHash(Buffer.alloc(32, 1), Buffer.alloc(32, 2))).toEqual(sha(Buffer.from([1]), Buffer.alloc(32, 1), Buffer.alloc(32, 2)));
  });

  it('builds the §2.1.1 path for every leaf of every size up to 33, and the path verifies', () => {
    for (let n = 1; n <= 33; n++) {
      const leaves = data(n);
      const root = mth(leaves);
      for (let m = 0; m < n; m++) {
        const path = proofOf(m, leaves);
        expect(path).toEqual(pathOf(m, leaves));
        expect(verifyInclusion(merkleLeafHash(leaves[m]!), m, n, path, root)).toBe(true);
      }
    }
  });

  // Not the tree size: RFC 9162 verification takes it as given, and a neighbouring size whose
  // path has the same shape verifies too; the root is what commits to the tree.
  it('refuses a changed leaf, a changed path element, another index, a cut or padded path, another root', () => {
    const leaves = data(21);
    const root = mth(leaves);
    const refused: string[] = [];
    for (let m = 0; m < 21; m++) {
      const leaf = merkleLeafHash(leaves[m]!);
      const path = proofOf(m, leaves);
      const flip = (b: Buffer) => Buffer.from(b.map((x, i) => (i === 5 ? x ^ 1 : x)));
      const tries: [string, boolean][] = [
        ['leaf', verifyInclusion(flip(leaf), m, 21, path, root)],
        ['other leaf', verifyInclusion(merkleLeafHash(leaves[(m + 1) % 21]!), m, 21, path, root)],
        ...path.map((_, i): [string, boolean] => [`path[${i}]`, verifyInclusion(leaf, m, 21, path.map((p, j) => (j === i ? flip(p) : p)), root)]),
        ['index + 1', verifyInclusion(leaf, m + 1, 21, path, root)],
        ['index - 1', verifyInclusion(leaf, m - 1, 21, path, root)],
        ['cut', verifyInclusion(leaf, m, 21, path.slice(0, -1), root)],
        ['padded', verifyInclusion(leaf, m, 21, [...path, root], root)],
        ['root', verifyInclusion(leaf, m, 21, path, flip(root))],
      ];
      for (const [name, ok] of tries) if (ok) refused.push(`leaf ${m}: ${name} accepted`);
    }
    expect(refused).toEqual([]);
  });

  it('proves an event of the log over the canonical bytes the chain hashes, in one pass', async () => {
    const store = new MemoryEventStore({ clock: steppingClock() });
    await buildAuditLog(store, new HashChain(openAuditDb(':memory:')), testAuditKey(), { deviceEvents: 90, devices: 5, checkpointEvery: 20 });
    const events = await store.readAll({ maxCount: 1000 });
    const size = events.length - 3;
    const leaves = events.slice(0, size).map((e) => Buffer.from(canonicalEvent(e)));
    for (const position of [1, 2, 17, size - 1, size]) {
      const proof = await inclusionProof(store, position, size);
      expect(proof).toMatchObject({ leafIndex: position - 1, treeSize: size, root: mth(leaves), path: pathOf(position - 1, leaves) });
      expect(verifyInclusion(proof.leafHash, proof.leafIndex, proof.treeSize, proof.path, proof.root)).toBe(true);
    }
  });
});
