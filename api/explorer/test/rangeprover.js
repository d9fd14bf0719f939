// A range prover for the tests (the service's is verifier/src/range/ in Rust): the in-range
// leaves (or the first and last reveal/2 of them), the bracketing leaves, and the helper hashes
// in rs_merkle's order. Test code only: the explorer verifies, it never proves.
import { Blake3Set, rootOfLeafHashes } from '../src/lib/merkle.js';
import { compare, toHex } from '../src/lib/bytes.js';

export function rangeTree(leaves) {
  const sorted = [...leaves].sort(compare);
  for (let i = 1; i < sorted.length; i++) if (compare(sorted[i - 1], sorted[i]) === 0) throw new Error('duplicate leaf');
  const hashes = sorted.map((l) => Blake3Set.leafHash(l));
  return { leaves: sorted, hashes, size: sorted.length, root: rootOfLeafHashes(Blake3Set, hashes) };
}

/** The hash of the node at (level, index): the root of leaves [index * 2^level, ...). */
function nodeHash(tree, level, index) {
  const lo = index * 2 ** level;
  const hi = Math.min(tree.size, (index + 1) * 2 ** level);
  return rootOfLeafHashes(Blake3Set, tree.hashes.slice(lo, hi));
}

/** The helper hashes for revealed `indices` (sorted, unique), in rs_merkle's order. */
export function helpers(tree, indices) {
  const out = [];
  let cur = [...indices];
  let width = tree.size;
  let level = 0;
  while (width > 1 && cur.length) {
    for (let i = 0; i < cur.length; i++) {
      const x = cur[i];
      if (x % 2 === 0 && cur[i + 1] === x + 1) {
        i++;
        continue;
      }
      if ((x ^ 1) < width) out.push(nodeHash(tree, level, x ^ 1));
    }
    cur = [...new Set(cur.map((x) => x >> 1))];
    width = Math.ceil(width / 2);
    level++;
  }
  return out;
}

/** A proof revealing exactly `indices` (for forging tests). */
export function proofOf(tree, indices) {
  return {
    tree_size: tree.size,
    leaves: indices.map((i) => ({ index: i, leaf: toHex(tree.leaves[i]) })),
    hashes: helpers(tree, indices).map(toHex),
  };
}

/** The honest proof of `range` ({lo, hi}) revealing at most `reveal` in-range leaves. */
export function rangeProof(tree, { lo, hi }, reveal = 100) {
  const inRange = (l) => compare(l, lo) >= 0 && (hi == null || compare(l, hi) < 0);
  let s = 0;
  while (s < tree.size && compare(tree.leaves[s], lo) < 0) s++;
  let e = s;
  while (e < tree.size && inRange(tree.leaves[e])) e++;
  const idx = new Set();
  if (e - s <= reveal) for (let i = s; i < e; i++) idx.add(i);
  else {
    const half = Math.floor(reveal / 2);
    for (let i = s; i < s + Math.max(1, half); i++) idx.add(i);
    for (let i = e - Math.max(1, half); i < e; i++) idx.add(i);
  }
  if (s > 0) idx.add(s - 1);
  if (e < tree.size) idx.add(e);
  return proofOf(tree, [...idx].sort((a, b) => a - b));
}

/**
 * The honest multi-range proof of `ranges` (sorted, disjoint): the union of the indices each
 * range's proof would reveal, one set of helper hashes (verifier/src/range/proof.rs,
 * `range_multi_proof`).
 */
export function rangeMultiProof(tree, ranges, reveal = 16) {
  const idx = new Set();
  for (const r of ranges) for (const l of rangeProof(tree, r, reveal).leaves) idx.add(l.index);
  return proofOf(tree, [...idx].sort((a, b) => a - b));
}
