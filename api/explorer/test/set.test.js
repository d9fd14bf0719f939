// BLAKE3 sets: leaf layout, inclusion, and the four exclusion cases of DESIGN.md, each with the
// ways a forged proof must fail (ordering, adjacency, a path for the wrong index, a flipped bit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blake3 } from '@noble/hashes/blake3.js';
import { Blake3Set, rootOfLeafHashes, inclusionProofOf } from '../src/lib/merkle.js';
import { setLeafBytes, setLeafHash, verifySetInclusion, verifySetExclusion, formatCid, parseCid } from '../src/lib/set.js';
import { toHex } from '../src/lib/bytes.js';

const cidWithFirstByte = (b, salt = 0) => {
  const x = blake3(new Uint8Array([b, salt]));
  x[0] = b;
  return formatCid(x);
};

function makeSet(firstBytes) {
  const leaves = firstBytes.map((b, i) => ({ cid: cidWithFirstByte(b), size: 100 + i, meta: i % 2 ? toHex(blake3(new Uint8Array([i]))) : null }));
  const hashes = leaves.map(setLeafHash);
  const root = rootOfLeafHashes(Blake3Set, hashes);
  const at = (i) => ({ index: i, leaf: leaves[i], path: inclusionProofOf(Blake3Set, hashes, i) });
  return { leaves, root, size: leaves.length, at };
}

test('a set leaf is cid || size u64 BE || meta, 72 bytes', () => {
  const cid = 'blake3:' + 'ab'.repeat(32);
  const b = setLeafBytes({ cid, size: 258, meta: null });
  assert.equal(b.length, 72);
  assert.equal(toHex(b.slice(0, 32)), 'ab'.repeat(32));
  assert.equal(toHex(b.slice(32, 40)), '0000000000000102');
  assert.equal(toHex(b.slice(40)), '00'.repeat(32));
  assert.equal(toHex(setLeafHash({ cid, size: 258 })), toHex(blake3(new Uint8Array([0, ...b]))));
});

test('content ids are strict', () => {
  assert.throws(() => parseCid('blake3:' + 'AB'.repeat(32)));
  assert.throws(() => parseCid('sha256:' + 'ab'.repeat(32)));
  assert.throws(() => parseCid('blake3:abc'));
});

const set = makeSet([0x10, 0x20, 0x30, 0x40, 0x50]);

test('inclusion verifies for every leaf and fails for a wrong id or a flipped bit', () => {
  for (let i = 0; i < set.size; i++) {
    const p = set.at(i);
    verifySetInclusion({ root: set.root, size: set.size, cid: p.leaf.cid, ...p });
    assert.throws(() => verifySetInclusion({ root: set.root, size: set.size, cid: cidWithFirstByte(0x11), ...p }));
    const bad = p.path.map((h) => h.slice());
    bad[0][3] ^= 4;
    assert.throws(() => verifySetInclusion({ root: set.root, size: set.size, cid: p.leaf.cid, ...p, path: bad }));
    assert.throws(() => verifySetInclusion({ root: set.root, size: set.size, cid: p.leaf.cid, ...p, leaf: { ...p.leaf, size: 1 } }));
  }
});

test('exclusion: the empty set', () => {
  const x = cidWithFirstByte(0x33);
  assert.equal(verifySetExclusion({ root: Blake3Set.emptyRoot(), size: 0, cid: x }), 'empty');
  assert.throws(() => verifySetExclusion({ root: set.root, size: 0, cid: x }));
});

test('exclusion: before the first leaf', () => {
  const x = cidWithFirstByte(0x05);
  assert.equal(verifySetExclusion({ root: set.root, size: set.size, cid: x, right: set.at(0) }), 'before-first');
  // a right neighbour that is not the first leaf proves nothing about the ids before it
  assert.throws(() => verifySetExclusion({ root: set.root, size: set.size, cid: x, right: set.at(1) }), /first/);
});

test('exclusion: after the last leaf', () => {
  const x = cidWithFirstByte(0x60);
  assert.equal(verifySetExclusion({ root: set.root, size: set.size, cid: x, left: set.at(4) }), 'after-last');
  assert.throws(() => verifySetExclusion({ root: set.root, size: set.size, cid: x, left: set.at(3) }), /last/);
});

test('exclusion: between two adjacent leaves', () => {
  const x = cidWithFirstByte(0x25);
  assert.equal(verifySetExclusion({ root: set.root, size: set.size, cid: x, left: set.at(1), right: set.at(2) }), 'between');
  // not adjacent
  assert.throws(() => verifySetExclusion({ root: set.root, size: set.size, cid: x, left: set.at(0), right: set.at(2) }), /adjacent/);
  // ordering: x is not between them
  assert.throws(() => verifySetExclusion({ root: set.root, size: set.size, cid: cidWithFirstByte(0x35), left: set.at(1), right: set.at(2) }), /above/);
  // an id that is in the set cannot be excluded
  assert.throws(() => verifySetExclusion({ root: set.root, size: set.size, cid: set.leaves[2].cid, left: set.at(1), right: set.at(2) }));
  // a path moved to another index
  assert.throws(() => verifySetExclusion({ root: set.root, size: set.size, cid: x, left: { ...set.at(1), index: 0 }, right: { ...set.at(2), index: 1 } }));
  // a flipped bit in either path
  for (const side of ['left', 'right']) {
    const p = { left: set.at(1), right: set.at(2) };
    p[side] = { ...p[side], path: p[side].path.map((h, k) => (k === 0 ? h.map((v, j) => (j === 0 ? v ^ 1 : v)) : h)) };
    assert.throws(() => verifySetExclusion({ root: set.root, size: set.size, cid: x, ...p }));
  }
});

test('exactly one of inclusion and exclusion verifies, for sets of 1..20 leaves and every gap', () => {
  for (let n = 1; n <= 20; n++) {
    const s = makeSet(Array.from({ length: n }, (_, i) => 10 * (i + 1)));
    for (let b = 5; b <= 10 * n + 5; b += 5) {
      const i = s.leaves.findIndex((l) => parseCid(l.cid)[0] === b);
      const cid = i >= 0 ? s.leaves[i].cid : cidWithFirstByte(b, 1);
      const lo = s.leaves.filter((l) => parseCid(l.cid)[0] < b).length;
      const ex = {};
      if (lo > 0) ex.left = s.at(lo - 1);
      if (lo < n && i < 0) ex.right = s.at(lo);
      if (i >= 0 && lo + 1 < n) ex.right = s.at(lo + 1);
      const inc = i >= 0 ? () => verifySetInclusion({ root: s.root, size: n, cid, ...s.at(i) }) : () => { throw new Error('no leaf'); };
      const exc = () => verifySetExclusion({ root: s.root, size: n, cid, ...ex });
      const okInc = (() => { try { inc(); return true; } catch { return false; } })();
      const okExc = (() => { try { exc(); return true; } catch { return false; } })();
      assert.equal(okInc, i >= 0, `n=${n} b=${b} inclusion`);
      assert.equal(okExc, i < 0, `n=${n} b=${b} exclusion`);
    }
  }
});
