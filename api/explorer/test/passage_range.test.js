// Multi-range proofs over a passage tree (SPEC14B section 3; verifier/src/range/proof.rs,
// `verify_ranges`): the leaves are `passage id || cid`, one range per passage id of a work, one
// proof for all. A work's passages found in several items, absent ones proven absent, and the
// forgeries a server could try on a whole work at once, each named after the attack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blake3 } from '@noble/hashes/blake3.js';
import { formatCid } from '../src/lib/set.js';
import { existsSync, readFileSync } from 'node:fs';
import { compare, fromHex, toHex, utf8 } from '../src/lib/bytes.js';
import { verifyRange, verifyRanges, passageLeaf, passageRange, splitPassage, prefixRange } from '../src/lib/range.js';
import { rangeTree, rangeMultiProof, rangeProof, proofOf } from './rangeprover.js';

const id = (s) => formatCid(blake3(utf8(s)));
const byId = (a, b) => compare(passageRange(a).lo, passageRange(b).lo);
// 40 passages of other works in 3 items each, and the work's passages 0..5 in some items.
const others = Array.from({ length: 40 }, (_, i) => id(`other ${i}`));
const work = Array.from({ length: 8 }, (_, i) => id(`work passage ${i}`)).sort(byId);
const items = Array.from({ length: 5 }, (_, i) => id(`item ${i}`));
const leaves = [];
for (const [k, p] of others.entries()) for (let j = 0; j < 3; j++) leaves.push(passageLeaf(p, items[(k + j) % 5]));
// work[0] in items 0 and 1, work[1..5] in item 2; work[6], work[7] nowhere.
leaves.push(passageLeaf(work[0], items[0]), passageLeaf(work[0], items[1]));
for (let k = 1; k < 6; k++) leaves.push(passageLeaf(work[k], items[2]));
const tree = rangeTree(leaves);
const ranges = work.map(passageRange);

test('a passage leaf is pid || cid and splits back', () => {
  const l = passageLeaf(work[0], items[3]);
  assert.equal(l.length, 64);
  assert.deepEqual(splitPassage(l), { pid: work[0], cid: items[3] });
  assert.equal(splitPassage(new Uint8Array(63)), null);
  const r = passageRange(work[0]);
  assert.equal(toHex(r.lo), work[0].slice('blake3:'.length));
});

test('one multi-range proof proves every passage of a work: counts, items, and absences', () => {
  const got = verifyRanges(tree.root, tree.size, ranges, rangeMultiProof(tree, ranges));
  assert.deepEqual(got.map((g) => g.count), [2n, 1n, 1n, 1n, 1n, 1n, 0n, 0n]);
  assert.deepEqual(got[0].revealed.map((x) => splitPassage(x.leaf).cid).sort(), [items[0], items[1]].sort());
  for (let k = 1; k < 6; k++) assert.deepEqual(got[k].revealed.map((x) => splitPassage(x.leaf)), [{ pid: work[k], cid: items[2] }]);
  // Each range alone gives the same answer as the multi-range proof.
  for (const [k, r] of ranges.entries()) assert.equal(verifyRange(tree.root, tree.size, r, rangeProof(tree, r)).count, got[k].count);
});

test('a multi-range proof reveals fewer leaves than one proof per passage', () => {
  const many = work.map((_, k) => rangeProof(tree, ranges[k]));
  const one = rangeMultiProof(tree, ranges);
  assert.ok(one.hashes.length < many.reduce((s, p) => s + p.hashes.length, 0));
});

test('an empty tree proves every passage absent; a tree without the work too', () => {
  const empty = rangeTree([]);
  assert.deepEqual(verifyRanges(empty.root, 0, ranges, { tree_size: 0, leaves: [], hashes: [] }).map((g) => g.count), ranges.map(() => 0n));
  const t = rangeTree(others.map((p) => passageLeaf(p, items[0])));
  assert.deepEqual(verifyRanges(t.root, t.size, ranges, rangeMultiProof(t, ranges)).map((g) => g.count), ranges.map(() => 0n));
});

test('a server that hides one passage of the work (an index left out) is caught, never a smaller count', () => {
  const honest = rangeMultiProof(tree, ranges);
  // Every revealed leaf that holds one of the work's passages, taken out in turn.
  const workLeaves = honest.leaves.filter((l) => work.includes(splitPassage(Uint8Array.from(l.leaf.match(/../g), (x) => parseInt(x, 16))).pid));
  assert.ok(workLeaves.length >= 7);
  for (const hidden of workLeaves) {
    const idx = honest.leaves.map((l) => l.index).filter((i) => i !== hidden.index);
    assert.throws(() => verifyRanges(tree.root, tree.size, ranges, proofOf(tree, idx)), /edge|gap/);
  }
});

test('a server that proves the passages out of order, or overlapping ranges, is refused', () => {
  const p = rangeMultiProof(tree, ranges);
  assert.throws(() => verifyRanges(tree.root, tree.size, [...ranges].reverse(), p), /strictly increasing and disjoint/);
  assert.throws(() => verifyRanges(tree.root, tree.size, [ranges[0], ranges[0]], p), /strictly increasing and disjoint/);
  assert.throws(() => verifyRanges(tree.root, tree.size, [prefixRange(new Uint8Array([0x10])), prefixRange(new Uint8Array([0x10, 0x20]))], p), /strictly increasing and disjoint/);
});

test('a flipped bit anywhere in a multi-range proof does not verify', () => {
  const p = rangeMultiProof(tree, ranges);
  const flip = (hex, k) => hex.slice(0, k) + ((parseInt(hex[k], 16) ^ 1).toString(16)) + hex.slice(k + 1);
  for (let i = 0; i < p.leaves.length; i++) {
    const q = structuredClone(p);
    q.leaves[i].leaf = flip(q.leaves[i].leaf, 70);
    assert.throws(() => verifyRanges(tree.root, tree.size, ranges, q));
  }
  for (let i = 0; i < p.hashes.length; i++) {
    const q = structuredClone(p);
    q.hashes[i] = flip(q.hashes[i], 5);
    assert.throws(() => verifyRanges(tree.root, tree.size, ranges, q), /root/);
  }
  assert.throws(() => verifyRanges(tree.root, tree.size + 1, ranges, p), /tree of/);
});

test('a proof for another work does not prove this one absent', () => {
  const otherRanges = others.slice(0, 5).sort(byId).map(passageRange);
  const p = rangeMultiProof(tree, otherRanges);
  assert.throws(() => verifyRanges(tree.root, tree.size, ranges, p));
});

// The Rust side's vectors (verifier/tests/data/range_multi.json, copied to test/vectors/): the
// same members, or the same refusal, for every case.
const ERRORS = {
  LeftEdgeUnproven: /left edge/,
  RightEdgeUnproven: /right edge/,
  ExclusionUnproven: /gap|reveals no leaf/,
  RootMismatch: /root/,
  RangesNotSorted: /strictly increasing and disjoint/,
  SizeMismatch: /tree of/,
  IndicesNotIncreasing: /indices/,
  LeavesNotIncreasing: /leaves are not strictly increasing/,
  IndexOutOfRange: /beyond the tree/,
  Malformed: /malformed|wrong number/,
};

test('the Rust multi-range vectors (test/vectors/range_multi.json): same members, same refusals', () => {
  const v = JSON.parse(readFileSync(new URL('./vectors/range_multi.json', import.meta.url), 'utf8'));
  const rust = new URL('../../../verifier/tests/data/range_multi.json', import.meta.url);
  if (existsSync(rust)) assert.equal(readFileSync(new URL('./vectors/range_multi.json', import.meta.url), 'utf8'), readFileSync(rust, 'utf8'), 'the copy is the Rust file');
  const { root, size } = v.tree;
  const t = rangeTree(v.tree.leaves.map(fromHex));
  assert.equal(toHex(t.root), root);
  assert.ok(v.cases.length >= 10);
  for (const c of v.cases) {
    const ranges = c.ranges.map((r) => ({ lo: fromHex(r.lo), hi: r.hi == null ? null : fromHex(r.hi) }));
    if (c.expect.members) {
      const got = verifyRanges(root, size, ranges, c.proof);
      assert.deepEqual(
        got.map((m) => ({ start: Number(m.start), count: Number(m.count), revealed: m.revealed.map((x) => ({ index: Number(x.index), leaf: toHex(x.leaf) })) })),
        c.expect.members.map((m) => ({ start: m.start, count: m.count, revealed: m.revealed })),
        c.name,
      );
    } else {
      const re = ERRORS[c.expect.error];
      assert.ok(re, `a JS message for ${c.expect.error}`);
      assert.throws(() => verifyRanges(root, size, ranges, c.proof), re, c.name);
    }
  }
});
