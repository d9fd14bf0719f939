// RFC 6962 / RFC 9162 Merkle tree verification, generic over the tree's hash (DESIGN.md, "Two
// trees, two hashes"): the log uses SHA-256, sets use BLAKE3, both with the leaf prefix 0x00 and
// the node prefix 0x01. Every function returns normally only when the proof holds; anything else
// throws ProofError or FormatError, so a caller cannot forget to look at a boolean.

import { sha256 } from '@noble/hashes/sha2.js';
import { blake3 } from '@noble/hashes/blake3.js';
import { FormatError, equal, toU64 } from './bytes.js';

export class ProofError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ProofError';
  }
}

function treeHasher(name, fn) {
  const one = new Uint8Array([1]);
  const zero = new Uint8Array([0]);
  return Object.freeze({
    name,
    emptyRoot: () => fn.create().digest(),
    leafHash(data) {
      return fn.create().update(zero).update(data).digest();
    },
    nodeHash(left, right) {
      return fn.create().update(one).update(left).update(right).digest();
    },
  });
}

/** The log's hash: SHA-256, exactly as RFC 6962 and C2SP tlog-tiles. */
export const Sha256Log = treeHasher('sha256', sha256);
/** The sets' hash: BLAKE3-256 with the same domain separation. */
export const Blake3Set = treeHasher('blake3', blake3);

function check32(h, what) {
  if (!(h instanceof Uint8Array) || h.length !== 32) {
    throw new FormatError(`${what} must be exactly 32 bytes`);
  }
}

/** The largest power of two strictly smaller than n (n >= 2). */
function splitPoint(n) {
  let k = 1n;
  while (k << 1n < n) k <<= 1n;
  return k;
}

/** The root of the tree whose leaf hashes are `leaves` (RFC 6962 MTH). H("") for none. */
export function rootOfLeafHashes(hasher, leaves) {
  if (leaves.length === 0) return hasher.emptyRoot();
  const rec = (lo, hi) => {
    if (hi - lo === 1) return leaves[lo];
    const k = Number(splitPoint(BigInt(hi - lo)));
    return hasher.nodeHash(rec(lo, lo + k), rec(lo + k, hi));
  };
  return rec(0, leaves.length);
}

/** The audit path of leaf `index` in the tree of `leaves` (for tests and local sets). */
export function inclusionProofOf(hasher, leaves, index) {
  const rec = (lo, hi, i) => {
    if (hi - lo === 1) return [];
    const k = Number(splitPoint(BigInt(hi - lo)));
    if (i < lo + k) return [...rec(lo, lo + k, i), rootOfLeafHashes(hasher, leaves.slice(lo + k, hi))];
    return [...rec(lo + k, hi, i), rootOfLeafHashes(hasher, leaves.slice(lo, lo + k))];
  };
  return rec(0, leaves.length, index);
}

/**
 * The root that `proof` implies for leaf hash `leafHash` at `index` in a tree of `size` leaves
 * (RFC 9162 section 2.1.3.2), or ProofError when the proof has the wrong shape.
 */
export function rootFromInclusionProof(hasher, index, size, leafHash, proof) {
  const idx = toU64(index, 'leaf index');
  const n = toU64(size, 'tree size');
  if (idx >= n) throw new ProofError(`leaf index ${idx} is not below tree size ${n}`);
  check32(leafHash, 'leaf hash');
  if (!Array.isArray(proof)) throw new FormatError('proof must be a list of hashes');
  let fn = idx;
  let sn = n - 1n;
  let r = leafHash;
  for (const p of proof) {
    check32(p, 'proof hash');
    if (sn === 0n) throw new ProofError('proof has the wrong number of hashes');
    if ((fn & 1n) === 1n || fn === sn) {
      r = hasher.nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = hasher.nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError('proof has the wrong number of hashes');
  return r;
}

/** Verifies an inclusion proof; throws unless leaf `leafHash` is at `index` under `root`. */
export function verifyInclusion(hasher, index, size, leafHash, proof, root) {
  check32(root, 'root');
  const r = rootFromInclusionProof(hasher, index, size, leafHash, proof);
  if (!equal(r, root)) throw new ProofError('computed root does not match the expected root');
}

/**
 * Verifies a consistency proof between a tree of `size1` leaves with root `root1` and one of
 * `size2` with root `root2` (RFC 9162 section 2.1.4.2). A proof from the empty tree is an error.
 */
export function verifyConsistency(hasher, size1, size2, proof, root1, root2) {
  const n1 = toU64(size1, 'old tree size');
  const n2 = toU64(size2, 'new tree size');
  check32(root1, 'old root');
  check32(root2, 'new root');
  if (!Array.isArray(proof)) throw new FormatError('proof must be a list of hashes');
  for (const p of proof) check32(p, 'proof hash');
  if (n1 === 0n) throw new ProofError('consistency proof from an empty tree is not defined');
  if (n1 > n2) throw new ProofError(`old tree size ${n1} is larger than new tree size ${n2}`);
  if (n1 === n2) {
    if (proof.length !== 0) throw new ProofError('proof has the wrong number of hashes');
    if (!equal(root1, root2)) throw new ProofError('roots differ for equal sizes');
    return;
  }
  if (proof.length === 0) throw new ProofError('proof has the wrong number of hashes');
  let path = proof;
  if ((n1 & (n1 - 1n)) === 0n) path = [root1, ...proof];
  let fn = n1 - 1n;
  let sn = n2 - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new ProofError('proof has the wrong number of hashes');
    if ((fn & 1n) === 1n || fn === sn) {
      fr = hasher.nodeHash(c, fr);
      sr = hasher.nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = hasher.nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError('proof has the wrong number of hashes');
  if (!equal(fr, root1)) throw new ProofError('computed old root does not match');
  if (!equal(sr, root2)) throw new ProofError('computed new root does not match');
}

/**
 * The root a multi-proof implies (the rs_merkle layout of the set multi-proofs and range proofs,
 * verifier/src/set/multi.rs): `revealed` is [[index (BigInt), leaf hash]] with strictly
 * increasing indices below `size`, `hashes` the helper hashes in rs_merkle's order (level by
 * level from the leaves, left to right). Each node's sibling is known, computed, or the next
 * helper hash; a last node without a sibling is carried up unchanged (the RFC 6962 shape). Throws
 * ProofError unless the hashes are exactly those the revealed positions need.
 */
export function rootFromMultiProof(hasher, size, revealed, hashes) {
  const n = toU64(size, 'tree size');
  for (const h of hashes) check32(h, 'proof hash');
  if (revealed.length === 0 || n === 0n) throw new ProofError('multi-proof reveals no leaf');
  for (let k = 0; k < revealed.length; k++) {
    check32(revealed[k][1], 'leaf hash');
    if (k > 0 && revealed[k - 1][0] >= revealed[k][0]) throw new ProofError('multi-proof is malformed: leaf indices not increasing');
  }
  if (revealed[revealed.length - 1][0] >= n) throw new ProofError('leaf index beyond the tree');
  let cur = revealed;
  let width = n;
  let used = 0;
  while (width > 1n) {
    const next = [];
    for (let k = 0; k < cur.length; k++) {
      const [x, hx] = cur[k];
      let parent;
      if ((x & 1n) === 0n && k + 1 < cur.length && cur[k + 1][0] === x + 1n) {
        parent = hasher.nodeHash(hx, cur[k + 1][1]);
        k++;
      } else if ((x ^ 1n) < width) {
        if (used >= hashes.length) throw new ProofError('multi-proof is malformed: wrong number of hashes');
        const sib = hashes[used++];
        parent = (x & 1n) === 0n ? hasher.nodeHash(hx, sib) : hasher.nodeHash(sib, hx);
      } else {
        parent = hx;
      }
      const p = x >> 1n;
      if (!next.length || next[next.length - 1][0] !== p) next.push([p, parent]);
    }
    cur = next;
    width = (width + 1n) >> 1n;
  }
  if (used !== hashes.length) throw new ProofError('multi-proof is malformed: wrong number of hashes');
  return cur[0][1];
}
