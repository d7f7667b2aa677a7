import { createHash, hash } from 'node:crypto';

/**
 * RFC 6962 (§2.1) Merkle tree hashing with SHA-256, over the same canonical event bytes the
 * hash chain commits to: leaf = SHA-256(0x00 ‖ bytes), node = SHA-256(0x01 ‖ left ‖ right),
 * the empty tree's hash = SHA-256("").
 */
export const EMPTY_TREE_HASH: Buffer = hash('sha256', Buffer.alloc(0), 'buffer');

// One buffer for prefix ‖ bytes: a one-shot hash of it costs far less than createHash().update()….
let leafScratch = Buffer.allocUnsafe(1 << 16);
const nodeScratch = Buffer.alloc(65, 0x01);

export const merkleLeafHash = (canonical: string | Uint8Array): Buffer => {
  const room = 1 + (typeof canonical === 'string' ? canonical.length * 3 : canonical.length);
  if (room > leafScratch.length) leafScratch = Buffer.allocUnsafe(room);
  leafScratch[0] = 0x00;
  const written = typeof canonical === 'string' ? leafScratch.write(canonical, 1, 'utf8') : (leafScratch.set(canonical, 1), canonical.length);
  return hash('sha256', leafScratch.subarray(0, 1 + written), 'buffer');
};

export const merkleNodeHash = (left: Uint8Array, right: Uint8Array): Buffer => {
  if (left.length !== 32 || right.length !== 32) return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 33);
  return hash('sha256', nodeScratch, 'buffer');
};

const NODE_PREFIX = Buffer.from([0x01]);

/**
 * MTH over leaf hashes added in order, holding only the perfect subtrees not yet merged (one
 * per set bit of the count): their right-to-left fold is RFC 6962's left-balanced tree.
 */
export class MerkleAccumulator {
  private readonly stack: { hash: Buffer; size: number }[] = [];
  private count = 0;

  add(leafHash: Buffer): void {
    let top = { hash: leafHash, size: 1 };
    while (this.stack.length > 0 && this.stack[this.stack.length - 1]!.size === top.size) {
      const left = this.stack.pop()!;
      top = { hash: merkleNodeHash(left.hash, top.hash), size: left.size * 2 };
    }
    this.stack.push(top);
    this.count++;
  }

  size(): number {
    return this.count;
  }

  root(): Buffer {
    if (this.stack.length === 0) return EMPTY_TREE_HASH;
    let root = this.stack[this.stack.length - 1]!.hash;
    for (let i = this.stack.length - 2; i >= 0; i--) root = merkleNodeHash(this.stack[i]!.hash, root);
    return root;
  }
}

/**
 * The leaf ranges [from, to) whose subtree hashes form the inclusion path of leaf `index` in a
 * tree of `size` leaves (RFC 6962 §2.1.1 PATH(m, D[n])), in path order: nearest the leaf first.
 */
export const inclusionPathRanges = (index: number, size: number): [number, number][] => {
  const ranges: [number, number][] = [];
  let from = 0;
  let to = size;
  while (to - from > 1) {
    let k = 1;
    while (k * 2 < to - from) k *= 2;
    if (index < from + k) {
      ranges.push([from + k, to]);
      to = from + k;
    } else {
      ranges.push([from, from + k]);
      from += k;
    }
  }
  return ranges.reverse();
};

/**
 * RFC 9162 §2.1.3.2: does `path` prove that `leafHash` is leaf `index` of the tree of `size`
 * leaves whose hash is `root`? Pure: no access to the ledger.
 */
export const verifyInclusion = (leafHash: Uint8Array, index: number, size: number, path: readonly Uint8Array[], root: Uint8Array): boolean => {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leafHash;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = merkleNodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = merkleNodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(r).equals(root);
};
