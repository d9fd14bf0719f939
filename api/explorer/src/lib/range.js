// Range trees and range proofs (docs/formats.md, "Range trees"; the same rules as
// verifier/src/range/, held equal by test/vectors/sources.json). A range tree is a sorted tree
// of byte-string leaves, strictly increasing, hashed like a set tree (BLAKE3, RFC 6962 shape). A
// dataset version's source tree has one leaf `source key || 0x00 || cid (32)` per distinct
// (source key, item), so every item of a site lies in one byte range [prefix, succ(prefix)).
//
// A range proof reveals some leaves (with their indices) and the helper hashes that rebuild the
// root (the rs_merkle multi-proof layout of the set multi-proofs). It proves how many leaves lie
// in the range by its two edges: the first in-range leaf is leaf 0 or has its left neighbour
// (below the range) revealed at the index just before it, and likewise on the right. An empty
// range is proven by two revealed adjacent leaves on either side of it (or the first / last
// leaf, or an empty tree). Sortedness between revealed leaves is what the ledger checked when
// it took the manifest in, and what the committed root binds.
//
//   verifyRange(root, size, range, proof) -> {start, count, revealed: [{index, leaf}]}
//   verifyRanges(root, size, ranges, proof) -> one of those per range (a multi-range proof)
//   (throws FormatError / ProofError for anything that does not verify)

import { Blake3Set, ProofError, rootFromMultiProof } from './merkle.js';
import { FormatError, compare, concat, equal, fromUtf8, hashFromHex, toU64, utf8 } from './bytes.js';
import { formatCid, parseCid } from './set.js';

export const MAX_LEAF_LEN = 2048;

/** The byte range of source keys that start with `prefix`: [prefix, succ(prefix)). */
export function prefixRange(prefix) {
  const lo = typeof prefix === 'string' ? utf8(prefix) : prefix;
  return { lo, hi: succ(lo) };
}

/** The range of a Site's items (lib/source.js): every leaf whose key starts with its prefix. */
export function siteRange(site) {
  return prefixRange(site.prefix());
}

/** The smallest byte string above every string with prefix `p` (null: none, for "" or 0xFF..). */
export function succ(p) {
  let end = p.length;
  while (end > 0 && p[end - 1] === 0xff) end--;
  if (end === 0) return null;
  const out = p.slice(0, end);
  out[end - 1] += 1;
  return out;
}

/** The leaf of item `cid` with source key `key`: key bytes || 0x00 || cid (32). */
export function sourceLeaf(key, cid) {
  return concat(utf8(key), new Uint8Array([0]), parseCid(cid));
}

/** {key, cid} of a source leaf, or null when it does not have that shape. */
export function splitSource(leaf) {
  if (leaf.length < 33 || leaf[leaf.length - 33] !== 0) return null;
  const k = leaf.slice(0, leaf.length - 33);
  if (k.includes(0)) return null;
  for (const b of k) if (b > 0x7f) return null;
  return { key: fromUtf8(k), cid: formatCid(leaf.slice(leaf.length - 32)) };
}

export function rangeLeafHash(leaf) {
  return Blake3Set.leafHash(leaf);
}

function onlyFields(o, allowed, what) {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new FormatError(`${what} is not an object`);
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new FormatError(`${what} has an unknown field "${k}"`);
  for (const k of allowed) if (!(k in o)) throw new FormatError(`${what} has no "${k}"`);
}

/** A range leaf from lowercase hex (1 to 2,048 bytes), or FormatError. */
export function leafFromHex(s) {
  if (typeof s !== 'string' || !/^([0-9a-f]{2})+$/.test(s)) throw new FormatError('a range leaf is lowercase hex');
  const b = new Uint8Array(s.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  if (b.length > MAX_LEAF_LEN) throw new FormatError(`a range leaf is at most ${MAX_LEAF_LEN} bytes`);
  return b;
}

/**
 * Parses a range proof's JSON ({tree_size, leaves: [{index, leaf}], hashes}) strictly, as the
 * verifier crate does (unknown fields refused, hashes 64 lowercase hex, leaves 1..=2,048 bytes).
 */
export function parseRangeProof(proof) {
  onlyFields(proof, ['tree_size', 'leaves', 'hashes'], 'range proof');
  if (!Array.isArray(proof.leaves) || !Array.isArray(proof.hashes)) throw new FormatError('range proof needs leaves and hashes lists');
  const leaves = proof.leaves.map((l) => {
    onlyFields(l, ['index', 'leaf'], 'range proof leaf');
    return { index: toU64(l.index, 'leaf index'), leaf: leafFromHex(l.leaf) };
  });
  const hashes = proof.hashes.map((x) => {
    if (typeof x !== 'string' || !/^[0-9a-f]{64}$/.test(x)) throw new FormatError('a proof hash is 64 lowercase hex');
    return hashFromHex(x);
  });
  return { treeSize: toU64(proof.tree_size, 'tree size'), leaves, hashes };
}

function rootBytes(root) {
  if (root instanceof Uint8Array) {
    if (root.length !== 32) throw new FormatError('root must be 32 bytes');
    return root;
  }
  if (typeof root !== 'string' || !/^[0-9a-f]{64}$/.test(root)) throw new FormatError('root must be 64 lowercase hex');
  return hashFromHex(root);
}

/**
 * Verifies `proof` (JSON) against the trusted `root` and `size` (from the dataset version entry,
 * never from the proof) for `range` ({lo, hi}: bytes, hi null for "no upper bound"). Returns
 * {start, count, revealed}: the index of the first in-range leaf (or where one would be), how
 * many leaves lie in the range, and the in-range leaves the proof shows ([{index, leaf}]).
 */
export function verifyRange(root, size, range, proof) {
  return verifyRanges(root, size, [range], proof)[0];
}

/**
 * A multi-range proof (verifier/src/range/proof.rs, `verify_ranges`): one set of revealed leaves
 * and helper hashes for several ranges, strictly increasing and disjoint (each `hi` at most the
 * next `lo`). One root rebuild, then each range's edges and count from all the revealed leaves,
 * as `verifyRange` decides one. Returns one {start, count, revealed} per range, in order.
 */
export function verifyRanges(root, size, ranges, proof) {
  const r = rootBytes(root);
  const n = toU64(size, 'tree size');
  if (!Array.isArray(ranges)) throw new FormatError('ranges is a list of {lo, hi}');
  for (let k = 0; k < ranges.length; k++) {
    const { lo, hi } = ranges[k] ?? {};
    if (!(lo instanceof Uint8Array) || (hi != null && !(hi instanceof Uint8Array))) throw new FormatError('a range is {lo, hi} bytes');
    if (hi != null && compare(lo, hi) >= 0) throw new FormatError('a range needs lo < hi');
    if (k > 0) {
      const prevHi = ranges[k - 1].hi;
      if (prevHi == null || compare(prevHi, lo) > 0) throw new ProofError('ranges are not strictly increasing and disjoint');
    }
  }
  const p = parseRangeProof(proof);
  // No range asks nothing of the proof (as verify_ranges in Rust).
  if (ranges.length === 0) return [];
  if (p.treeSize !== n) throw new ProofError(`proof is for a tree of ${p.treeSize} leaves, expected ${n}`);
  const L = p.leaves;
  for (let k = 0; k < L.length; k++) {
    if (L[k].leaf.length === 0) throw new FormatError('a range leaf is at least one byte');
    if (k > 0 && L[k - 1].index >= L[k].index) throw new ProofError('leaf indices are not increasing');
    if (k > 0 && compare(L[k - 1].leaf, L[k].leaf) >= 0) throw new ProofError('leaves are not strictly increasing');
  }
  if (L.length && L[L.length - 1].index >= n) throw new ProofError('leaf index beyond the tree');

  // The root first: nothing about the leaves means anything until they are shown to be there.
  if (n === 0n) {
    if (L.length || p.hashes.length) throw new ProofError('an empty tree has no leaves or hashes');
    if (!equal(r, Blake3Set.emptyRoot())) throw new ProofError('root is not the empty tree root');
    return ranges.map(() => ({ start: 0n, count: 0n, revealed: [] }));
  }
  if (L.length === 0) throw new ProofError('the proof reveals no leaf');
  const computed = rootFromMultiProof(Blake3Set, n, L.map((l) => [l.index, rangeLeafHash(l.leaf)]), p.hashes);
  if (!equal(computed, r)) throw new ProofError('computed root does not match the expected root');
  return ranges.map((range) => members(range, L, n));
}

/** The edges and count of `range` from revealed leaves that are sorted, in the tree, and authentic. */
function members({ lo, hi }, L, n) {
  // Revealed leaves are sorted, so the in-range ones are one run [a, b) of them (found by binary
  // search: a work's thousands of ranges share one proof).
  const a = lowerBound(L, lo, 0);
  const b = hi == null ? L.length : lowerBound(L, hi, a);
  const left = a > 0 ? L[a - 1] : null; // the last revealed leaf below the range
  const right = b < L.length ? L[b] : null; // the first revealed leaf above it

  if (b > a) {
    const s = L[a].index;
    const last = L[b - 1].index;
    if (!(s === 0n || (left && left.index + 1n === s))) throw new ProofError('the left edge of the range is not proven: a leaf in range may be hidden before the first one shown');
    if (!(last === n - 1n || (right && last + 1n === right.index))) throw new ProofError('the right edge of the range is not proven: a leaf in range may be hidden after the last one shown');
    return { start: s, count: last + 1n - s, revealed: L.slice(a, b) };
  }
  // Nothing in range is shown: the range must be provably empty.
  let at;
  if (left && right && left.index + 1n === right.index) at = right.index;
  else if (!left && right && right.index === 0n) at = 0n;
  else if (left && !right && left.index === n - 1n) at = n;
  else throw new ProofError('the proof leaves a gap that could hide a leaf in the range');
  return { start: at, count: 0n, revealed: [] };
}

/** The first position at or after `from` whose leaf is not below `x`. */
function lowerBound(L, x, from) {
  let lo = from;
  let hi = L.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compare(L[mid].leaf, x) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The leaf of a passage-tree: passage id (32) || content id of the item holding it (32). */
export function passageLeaf(pid, cid) {
  return concat(parseCid(pid), parseCid(cid));
}

/** {pid, cid} of a passage-tree leaf, or null unless it is 64 bytes. */
export function splitPassage(leaf) {
  if (leaf.length !== 64) return null;
  return { pid: formatCid(leaf.slice(0, 32)), cid: formatCid(leaf.slice(32)) };
}

/** The passage-tree leaves of one passage: those that start with its id. */
export function passageRange(pid) {
  return prefixRange(parseCid(pid));
}

/**
 * The unique content ids of revealed source leaves, sorted (what a site violation names); a
 * leaf that is not a source leaf names none.
 */
export function revealedCids(revealed) {
  const out = new Set();
  for (const { leaf } of revealed) {
    const s = splitSource(leaf);
    if (s) out.add(s.cid);
  }
  return [...out].sort();
}
