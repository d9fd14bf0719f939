// lib/stats.js against the owner of the rules, verifier/src/set/{meta,stats}.rs, on the vectors
// verifier/tests/js_vectors.rs writes (vectors/meta.json): each leaf's canonical metadata and
// digest, the shape the ledger stores, the source leaves and source tree, the host of each
// source key, and the statistics (consent arrays, sources and licences that are not strings,
// hosts whose keys interleave).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { blake3 } from '@noble/hashes/blake3.js';
import { canonicalize } from '../src/lib/jcs.js';
import { toHex, utf8 } from '../src/lib/bytes.js';
import { checkLeaves, computeStats, entriesOf, hostOfSourceKey, sourceTreeOf } from '../src/lib/stats.js';
import { setLeafHash } from '../src/lib/set.js';
import { Blake3Set, rootOfLeafHashes } from '../src/lib/merkle.js';

const v = JSON.parse(readFileSync(new URL('./vectors/meta.json', import.meta.url), 'utf8'));

test('each leaf: canonical metadata and its digest as Rust computes them', () => {
  for (const l of v.leaves) {
    assert.equal(canonicalize(l.metadata), l.canonical, l.cid);
    assert.equal(toHex(blake3(utf8(canonicalize(l.metadata)))), l.meta, l.cid);
  }
});

test('the shape the ledger stores: {"sources":[object, ...]}', () => {
  for (const s of v.shapes) assert.equal(entriesOf(s.metadata) !== null, s.ok, JSON.stringify(s.metadata));
});

test('the source leaves and the source tree as Rust derives them', () => {
  for (const l of v.leaves) {
    const keys = [...new Set(sourceTreeOf([l]).leaves.map((x) => x.key))];
    assert.deepEqual(keys, l.source_keys, l.cid);
  }
  const t = sourceTreeOf(v.leaves);
  assert.equal(t.root, v.source_tree.root);
  assert.equal(t.size, v.source_tree.size);
  assert.deepEqual(t.leaves.map((x) => toHex(x.bytes)), v.source_tree.leaves);
});

test('the host of each source key as Rust reads it (no port)', () => {
  for (const h of v.hosts) assert.equal(hostOfSourceKey(h.key), h.host, h.key);
});

test('the statistics as Rust computes them', () => {
  const root = toHex(rootOfLeafHashes(Blake3Set, v.leaves.map((l) => setLeafHash(l))));
  assert.deepEqual(checkLeaves(v.leaves, { manifestRoot: root, itemCount: v.leaves.length }), { ok: true, error: null });
  assert.deepEqual(computeStats(v.leaves), v.stats);
});
