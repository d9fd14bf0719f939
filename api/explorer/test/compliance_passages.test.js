// Passage opt-outs in the explorer's compliance check (SPEC14B section 5, checkPassages): the
// opt-out's passage leaves checked against the root its entry names, each (opt-out, version with
// a passage tree) decided by one multi-range proof, a version without a tree "unchecked" (never a
// violation, never an error), and every way a bundle could hide a passage refused. The
// whole-bundle cases against Rust are in compliance.test.js (test/vectors/compliance.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blake3 } from '@noble/hashes/blake3.js';
import { checkPassages, conclude } from '../src/lib/compliance.js';
import { passageLeaf, passageRange } from '../src/lib/range.js';
import { formatCid } from '../src/lib/set.js';
import { compare, toHex, utf8 } from '../src/lib/bytes.js';
import { rangeTree, rangeMultiProof, proofOf } from './rangeprover.js';

const id = (s) => formatCid(blake3(utf8(s)));
const essay = id('the essay file');
const pids = Array.from({ length: 6 }, (_, i) => id(`essay passage ${i}`));
// The opt-out's tree: one leaf per passage of the essay.
const optTree = rangeTree(pids.map((p) => passageLeaf(p, essay)));
const sortedPids = optTree.leaves.map((l) => formatCid(l.slice(0, 32)));
// The version: other text in items 0..3, and two of the essay's passages re-wrapped in item 9.
const item9 = id('a web page quoting the essay');
const leaves = [];
for (let i = 0; i < 30; i++) leaves.push(passageLeaf(id(`other ${i}`), id(`item ${i % 4}`)));
leaves.push(passageLeaf(sortedPids[1], item9), passageLeaf(sortedPids[4], item9), passageLeaf(sortedPids[4], id('item 2')));
const vTree = rangeTree(leaves);
const versions = [
  { label: 'acme/web@1', passages: { root: toHex(vTree.root), size: vTree.size } },
  { label: 'acme/code@1', passages: null },
];
const named = [{ index: 7n, passages: { root: toHex(optTree.root), size: optTree.size } }];
const optLeaves = { optout: 7, leaves: optTree.leaves.map(toHex) };
const ranges = sortedPids.map(passageRange);
const proofFor = (p = rangeMultiProof(vTree, ranges)) => ({ optout: 7, dataset: 'acme/web@1', proof: p });
const check = (bundle) => checkPassages({ passage_optouts: [optLeaves], passage_proofs: [proofFor()], ...bundle }, versions, named);

test('passages of an opted-out work found in a version are violations naming the work, the passage and the items', () => {
  const r = check({});
  assert.deepEqual(r.passageViolations, [
    { optout_index: 7, dataset: 'acme/web@1', work: essay, passage: sortedPids[1], items: [item9], count: 1 },
    { optout_index: 7, dataset: 'acme/web@1', work: essay, passage: sortedPids[4], items: [item9, id('item 2')].sort(), count: 2 },
  ].sort((a, b) => (a.passage < b.passage ? -1 : 1)));
  assert.deepEqual(r.passagesUnchecked, [{ optout_index: 7, dataset: 'acme/code@1' }]);
});

test('a work absent from a version: verified exclusions, no violation', () => {
  const clean = rangeTree(leaves.slice(0, 30));
  const vs = [{ label: 'acme/web@1', passages: { root: toHex(clean.root), size: clean.size } }];
  const r = checkPassages({ passage_optouts: [optLeaves], passage_proofs: [proofFor(rangeMultiProof(clean, ranges))] }, vs, named);
  assert.deepEqual(r.passageViolations, []);
  assert.deepEqual(r.passagesUnchecked, []);
});

test('a version without a passage tree leaves the pair unchecked and the verdict unchanged', () => {
  const r = checkPassages({ passage_optouts: [optLeaves] }, [versions[1]], named);
  assert.deepEqual(r.passageViolations, []);
  assert.deepEqual(r.passagesUnchecked, [{ optout_index: 7, dataset: 'acme/code@1' }]);
  const base = { violations: [], siteViolations: [], sitesUnproven: [], horizon: 5n, passageViolations: [], passagesUnchecked: r.passagesUnchecked };
  assert.equal(conclude(base, { complete: true }), 'compliant');
  assert.equal(conclude({ ...base, passageViolations: [{}] }, { complete: true }), 'violated');
});

test('a bundle that leaves out the passage proof is invalid, never compliant', () => {
  assert.throws(() => check({ passage_proofs: [] }), /no passage proof/);
});

test('a bundle that hides a passage from its multi-range proof is invalid, never fewer violations', () => {
  const honest = rangeMultiProof(vTree, ranges);
  const keep = honest.leaves.filter((l) => !l.leaf.startsWith(sortedPids[4].slice(7))).map((l) => l.index);
  assert.throws(() => check({ passage_proofs: [proofFor(proofOf(vTree, keep))] }), /passage proof/);
  const q = structuredClone(honest);
  q.hashes[0] = q.hashes[0].replace(/^./, (c) => (c === '0' ? '1' : '0'));
  assert.throws(() => check({ passage_proofs: [proofFor(q)] }), /root/);
});

test('an opt-out whose carried leaves do not hash to its passages root is invalid (a passage dropped)', () => {
  assert.throws(() => check({ passage_optouts: [{ optout: 7, leaves: optLeaves.leaves.slice(1) }] }), /do not hash/);
  assert.throws(() => check({ passage_optouts: [] }), /missing/);
  const swapped = [...optLeaves.leaves];
  [swapped[0], swapped[1]] = [swapped[1], swapped[0]];
  assert.throws(() => check({ passage_optouts: [{ optout: 7, leaves: swapped }] }), /sorted/);
});

test('passage proofs and leaves: duplicates, unknown versions, extra proofs and bad JSON are refused', () => {
  assert.throws(() => check({ passage_proofs: [proofFor(), proofFor()] }), /two passage proofs/);
  assert.throws(() => check({ passage_proofs: [proofFor(), { ...proofFor(), dataset: 'x/y@z' }] }), /does not name/);
  assert.throws(() => check({ passage_proofs: [proofFor(), { ...proofFor(), dataset: 'acme/code@1' }] }), /does not ask for/);
  assert.throws(() => check({ passage_proofs: [{ ...proofFor(), extra: 1 }] }), /unknown field/);
  assert.throws(() => check({ passage_optouts: [optLeaves, optLeaves] }), /two passage leaf lists/);
  assert.throws(() => check({ passage_optouts: [optLeaves, { optout: 8, leaves: [] }] }), /not a signed opt-out/);
  assert.throws(() => check({ passage_optouts: [{ optout: 7, leaves: ['AB'] }] }), /lowercase hex/);
  assert.throws(() => check({ passage_optouts: [{ optout: 7, leaves: ['ab'] }] }), /do not hash/);
});

test('the multi-range proof must cover every passage of the opt-out: a proof for fewer does not verify', () => {
  const fewer = rangeMultiProof(vTree, ranges.slice(0, 3));
  assert.throws(() => check({ passage_proofs: [proofFor(fewer)] }));
  assert.ok(compare(ranges[0].lo, ranges[1].lo) < 0);
});
