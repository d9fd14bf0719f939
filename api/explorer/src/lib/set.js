// Sorted sets (DESIGN.md, "Set leaves and proofs"): a dataset version's manifest, a batch of
// opt-outs, a model's weight files. A leaf is cid (32) || size (u64 big-endian) || meta (32); leaves
// are strictly increasing by cid; the tree is RFC 6962's shape with BLAKE3.
//
// Inclusion of x: the leaf whose cid is x and its audit path. Exclusion of x from n leaves: n == 0;
// or the first leaf with x < cid_0; or the last with x > cid_{n-1}; or two adjacent leaves i, i+1
// with cid_i < x < cid_{i+1}. The verifier checks ordering, adjacency and both paths.

import { Blake3Set, ProofError, verifyInclusion } from './merkle.js';
import { FormatError, compare, concat, equal, fromHex, hashFromHex, toHex, toU64, u64be } from './bytes.js';

export const SET_LEAF_LEN = 72;
const CID_RE = /^blake3:([0-9a-f]{64})$/;

/** The 32 digest bytes of a `blake3:<64 lowercase hex>` content id (strict: no uppercase). */
export function parseCid(cid) {
  if (cid instanceof Uint8Array) {
    if (cid.length !== 32) throw new FormatError('content id must be 32 bytes');
    return cid;
  }
  const m = CID_RE.exec(String(cid));
  if (!m) throw new FormatError(`content id must look like blake3:<64 lowercase hex>: ${cid}`);
  return fromHex(m[1]);
}

export function formatCid(bytes) {
  return `blake3:${toHex(bytes)}`;
}

export function isCid(s) {
  return CID_RE.test(String(s));
}

/**
 * A set leaf from {cid, size, meta}: cid a content id string or 32 bytes, size a u64, meta 64 hex
 * digits or 32 bytes (absent or null: 32 zero bytes). Returns the 72 leaf bytes.
 */
export function setLeafBytes(leaf) {
  const cid = parseCid(leaf.cid);
  const size = u64be(toU64(leaf.size ?? 0, 'item size'));
  let meta;
  if (leaf.meta == null) meta = new Uint8Array(32);
  else if (leaf.meta instanceof Uint8Array) meta = leaf.meta;
  else meta = hashFromHex(leaf.meta);
  if (meta.length !== 32) throw new FormatError('meta must be 32 bytes');
  return concat(cid, size, meta);
}

/** BLAKE3(0x00 || leaf bytes). */
export function setLeafHash(leaf) {
  return Blake3Set.leafHash(leaf instanceof Uint8Array ? leaf : setLeafBytes(leaf));
}

/**
 * Verifies that `cid` is in the set with `root` of `size` leaves, given the leaf (its cid must be
 * `cid`), its index and its audit path. Throws unless it holds.
 */
export function verifySetInclusion({ root, size, cid, index, leaf, path }) {
  const want = parseCid(cid);
  if (!equal(parseCid(leaf.cid), want)) throw new ProofError('the proven leaf is not this content id');
  verifyInclusion(Blake3Set, index, size, setLeafHash(leaf), path, root);
}

/**
 * Verifies that `cid` is not in the set with `root` of `size` leaves. `left` and `right` are
 * {index, leaf, path} neighbours; which are required depends on the case:
 *   size == 0: neither (the root must then be BLAKE3("")); x before the first: right at index 0;
 *   x after the last: left at index size-1; otherwise left at i and right at i+1.
 * Returns the case's name: "empty", "before-first", "after-last" or "between".
 */
export function verifySetExclusion({ root, size, cid, left, right }) {
  const x = parseCid(cid);
  const n = toU64(size, 'set size');
  if (!(root instanceof Uint8Array) || root.length !== 32) throw new FormatError('root must be 32 bytes');
  if (n === 0n) {
    if (left || right) throw new ProofError('an empty set has no neighbours');
    if (!equal(root, Blake3Set.emptyRoot())) throw new ProofError('root is not the empty set root');
    return 'empty';
  }
  if (!left && !right) throw new ProofError('exclusion needs at least one neighbour');
  if (left) {
    const li = toU64(left.index, 'left index');
    if (compare(parseCid(left.leaf.cid), x) >= 0) throw new ProofError('left neighbour is not below the id');
    verifyInclusion(Blake3Set, li, n, setLeafHash(left.leaf), left.path, root);
  }
  if (right) {
    const ri = toU64(right.index, 'right index');
    if (compare(parseCid(right.leaf.cid), x) <= 0) throw new ProofError('right neighbour is not above the id');
    verifyInclusion(Blake3Set, ri, n, setLeafHash(right.leaf), right.path, root);
  }
  if (left && right) {
    if (toU64(right.index) !== toU64(left.index) + 1n) throw new ProofError('neighbours are not adjacent');
    return 'between';
  }
  if (right) {
    if (toU64(right.index) !== 0n) throw new ProofError('lone right neighbour is not the first leaf');
    return 'before-first';
  }
  if (toU64(left.index) !== n - 1n) throw new ProofError('lone left neighbour is not the last leaf');
  return 'after-last';
}

function pathFromJson(path) {
  if (!Array.isArray(path)) throw new FormatError('path must be a list of hashes');
  return path.map((h) => (h instanceof Uint8Array ? h : hashFromLowerHex(h)));
}

function hashFromLowerHex(s) {
  if (typeof s !== 'string' || !/^[0-9a-f]{64}$/.test(s)) throw new FormatError('hash must be 64 lowercase hex');
  return fromHex(s);
}

function leafProofFromJson(p) {
  if (p == null) return undefined;
  if (typeof p !== 'object' || !p.leaf) throw new FormatError('malformed leaf proof');
  return { index: p.index, leaf: p.leaf, path: pathFromJson(p.path) };
}

// The fields each object of the JSON form may have: as the verifier crate, which refuses
// unknown fields (serde deny_unknown_fields), a proof with any other field does not parse.
function onlyFields(o, allowed, what) {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new FormatError(`${what} is not an object`);
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new FormatError(`${what} has an unknown field "${k}"`);
  }
}

/** Checks the shape of a set leaf in JSON: {cid, size, meta}, the cid strict. */
export function checkSetLeafJson(leaf) {
  onlyFields(leaf, ['cid', 'size', 'meta'], 'set leaf');
  parseCid(leaf.cid);
}

function checkLeafProofJson(p, what) {
  if (p === undefined) return;
  onlyFields(p, ['index', 'leaf', 'path'], what);
  checkSetLeafJson(p.leaf);
}

/**
 * Checks the shape of a set membership proof in JSON as the verifier crate parses it: exactly
 * one of "included" or "excluded", no unknown field anywhere, strict content ids. Throws
 * FormatError otherwise; says nothing about whether the proof verifies.
 */
export function checkMembershipJson(proof) {
  onlyFields(proof, ['included', 'excluded'], 'set proof');
  const keys = Object.keys(proof);
  if (keys.length !== 1) throw new FormatError('proof is neither "included" nor "excluded"');
  if (keys[0] === 'included') {
    onlyFields(proof.included, ['tree_size', 'index', 'leaf', 'path'], 'inclusion proof');
    checkSetLeafJson(proof.included.leaf);
  } else {
    const p = proof.excluded;
    onlyFields(p, ['id', 'tree_size', 'left', 'right'], 'exclusion proof');
    parseCid(p.id);
    checkLeafProofJson(p.left, 'left neighbour');
    checkLeafProofJson(p.right, 'right neighbour');
  }
}

/** Checks the shape of a set multi-proof in JSON: {tree_size, leaves: [{index, leaf}], hashes}. */
export function checkMultiProofJson(proof) {
  onlyFields(proof, ['tree_size', 'leaves', 'hashes'], 'multi-proof');
  if (!Array.isArray(proof.leaves) || !Array.isArray(proof.hashes)) throw new FormatError('multi-proof needs leaves and hashes');
  for (const l of proof.leaves) {
    onlyFields(l, ['index', 'leaf'], 'multi-proof leaf');
    checkSetLeafJson(l.leaf);
  }
}

/**
 * Verifies a set membership proof in the ledger's JSON form (ledger/src/set/proof.rs):
 * `{"included":{tree_size,index,leaf,path}}` or `{"excluded":{id,tree_size,left?,right?}}`,
 * hashes as lowercase hex, against the trusted `root` (bytes or hex) and `size` (from the dataset
 * version, never from the proof). Returns {membership: "included"|"excluded", case?}; throws
 * unless it holds.
 */
export function verifyMembershipJson(proof, { cid, root, size }) {
  checkMembershipJson(proof);
  const r = root instanceof Uint8Array ? root : hashFromLowerHex(root);
  const n = toU64(size, 'set size');
  if (proof && proof.included) {
    const p = proof.included;
    if (toU64(p.tree_size, 'proof tree size') !== n) throw new ProofError('proof is for another set size');
    verifySetInclusion({ root: r, size: n, cid, index: p.index, leaf: p.leaf, path: pathFromJson(p.path) });
    return { membership: 'included' };
  }
  if (proof && proof.excluded) {
    const p = proof.excluded;
    if (toU64(p.tree_size, 'proof tree size') !== n) throw new ProofError('proof is for another set size');
    if (p.id !== undefined && p.id !== (typeof cid === 'string' ? cid : formatCid(cid))) {
      throw new ProofError('proof is about another content id');
    }
    const c = verifySetExclusion({ root: r, size: n, cid, left: leafProofFromJson(p.left), right: leafProofFromJson(p.right) });
    return { membership: 'excluded', case: c };
  }
  throw new FormatError('proof is neither "included" nor "excluded"');
}
