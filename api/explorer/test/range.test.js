// Range proofs in JavaScript: a source tree built here, honest proofs for inclusion ranges and
// exclusions of every shape, and the forgeries a dishonest server could try, each named after
// the attack (a skipped index hiding a leaf, a bracket that is in range, a flipped bit, a lookalike
// domain). The same rules as verifier/src/range/ (held equal by test/sources.test.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blake3 } from '@noble/hashes/blake3.js';
import { Blake3Set } from '../src/lib/merkle.js';
import { formatCid } from '../src/lib/set.js';
import { toHex, utf8 } from '../src/lib/bytes.js';
import { sourceKey, Site } from '../src/lib/source.js';
import { verifyRange, siteRange, prefixRange, sourceLeaf, splitSource, revealedCids, succ } from '../src/lib/range.js';
import { rangeTree, rangeProof, proofOf } from './rangeprover.js';

const cid = (i) => formatCid(blake3(utf8(`item ${i}`)));
const URLS = [
  null,
  null,
  'https://a.org/x',
  'https://example.com/',
  'https://example.com/blog/1',
  'https://www.example.com/a',
  'https://shop.example.com:8080/cart?x=1',
  'https://notexample.com/',
  'https://example.com.evil/',
  'https://zeta.net/',
  'http://1.2.3.4/',
];
const tree = rangeTree(URLS.map((u, i) => sourceLeaf(u ? sourceKey(u) : '', cid(i))));
const site = (s) => siteRange(Site.parse(s));
const verify = (range, proof) => verifyRange(tree.root, tree.size, range, proof);

test('source leaves are key || 0x00 || cid and split back', () => {
  const l = sourceLeaf('com.example./', cid(1));
  assert.equal(l.length, 'com.example./'.length + 33);
  assert.equal(l[13], 0);
  assert.deepEqual(splitSource(l), { key: 'com.example./', cid: cid(1) });
  assert.deepEqual(splitSource(sourceLeaf('', cid(2))), { key: '', cid: cid(2) });
  assert.equal(splitSource(new Uint8Array(10)), null);
  assert.deepEqual([...succ(utf8('com.example.'))], [...utf8('com.example/')]);
});

test('a domain range proves every item of the domain and its subdomains, and no other', () => {
  const r = verify(site('example.com'), rangeProof(tree, site('example.com')));
  assert.equal(r.count, 4n);
  const keys = r.revealed.map((x) => splitSource(x.leaf).key);
  assert.deepEqual(keys, ['com.example./', 'com.example./blog/1', 'com.example.shop.:8080/cart?x=1', 'com.example.www./a']);
  assert.deepEqual(revealedCids(r.revealed), [cid(3), cid(4), cid(5), cid(6)].sort());
});

test('a URL prefix range', () => {
  const r = verify(site('https://example.com/blog/'), rangeProof(tree, site('https://example.com/blog/')));
  assert.equal(r.count, 1n);
  assert.deepEqual(revealedCids(r.revealed), [cid(4)]);
});

test('an absent domain is a verified exclusion: two adjacent leaves around it', () => {
  for (const s of ['absent.com', 'example.org', 'mple.com', 'com.com', 'zzz.zzz', 'aaa.aa']) {
    const r = verify(site(s), rangeProof(tree, site(s)));
    assert.equal(r.count, 0n, s);
    assert.deepEqual(r.revealed, []);
  }
});

test('exclusion before the first leaf and after the last, and in an empty tree', () => {
  const t = rangeTree([sourceLeaf('com.b./', cid(1)), sourceLeaf('com.c./', cid(2))]);
  const before = prefixRange('com.a.');
  const after = prefixRange('com.d.');
  assert.equal(verifyRange(t.root, t.size, before, rangeProof(t, before)).count, 0n);
  assert.equal(verifyRange(t.root, t.size, after, rangeProof(t, after)).count, 0n);
  const empty = rangeTree([]);
  const p = rangeProof(empty, before);
  assert.deepEqual(p, { tree_size: 0, leaves: [], hashes: [] });
  assert.equal(verifyRange(empty.root, 0, before, p).count, 0n);
  assert.equal(toHex(empty.root), toHex(Blake3Set.emptyRoot()));
});

test('a range covering the whole tree and one leaf trees', () => {
  const t = rangeTree([sourceLeaf('com.example./', cid(1))]);
  const r = verifyRange(t.root, 1, site('example.com'), rangeProof(t, site('example.com')));
  assert.equal(r.count, 1n);
  assert.equal(r.start, 0n);
});

test('a large range reveals the first and last reveal/2 leaves and still proves the count', () => {
  const leaves = Array.from({ length: 500 }, (_, i) => sourceLeaf(`com.big./${String(i).padStart(4, '0')}`, cid(i)));
  leaves.push(sourceLeaf('com.a./', cid(9999)), sourceLeaf('org.z./', cid(9998)));
  const t = rangeTree(leaves);
  const range = site('big.com');
  const p = rangeProof(t, range, 10);
  assert.equal(p.leaves.length, 12);
  const r = verifyRange(t.root, t.size, range, p);
  assert.equal(r.count, 500n);
  assert.equal(r.start, 1n);
  assert.equal(r.revealed.length, 10);
});

test('a skipped index hiding a leaf: an exclusion whose brackets are not adjacent is refused', () => {
  // example.com has items 3..6 (indices), the server shows the leaves on either side of them only.
  const honest = rangeProof(tree, site('example.com'));
  const idx = honest.leaves.map((l) => l.index);
  const lo = idx[0];
  const hi = idx[idx.length - 1];
  assert.throws(() => verify(site('example.com'), proofOf(tree, [lo, hi])), /gap/);
});

test('a skipped index hiding a leaf: an inclusion that leaves out the first or last in-range leaf is refused', () => {
  const honest = rangeProof(tree, site('example.com'));
  const idx = honest.leaves.map((l) => l.index); // bracket, 4 in range, bracket
  assert.throws(() => verify(site('example.com'), proofOf(tree, [idx[0], ...idx.slice(2)])), /left edge/);
  assert.throws(() => verify(site('example.com'), proofOf(tree, idx.slice(0, -2).concat(idx[idx.length - 1]))), /right edge/);
  assert.throws(() => verify(site('example.com'), proofOf(tree, idx.slice(1, -1).filter((_, k) => k !== 0))), /left edge/);
  // Without the brackets, the edges cannot be proven either.
  assert.throws(() => verify(site('example.com'), proofOf(tree, idx.slice(1, -1))), /edge/);
});

test('a bracket that is in range is counted, never taken for an exclusion', () => {
  // Two adjacent revealed leaves with the second inside example.com: not an exclusion.
  const honest = rangeProof(tree, site('example.com'));
  const [l, first] = honest.leaves.map((x) => x.index);
  const r = (() => {
    try {
      return verify(site('example.com'), proofOf(tree, [l, first]));
    } catch (e) {
      return e;
    }
  })();
  assert.ok(r instanceof Error || r.count > 0n, 'never a count of 0');
  assert.ok(r instanceof Error, 'and the right edge is not proven');
});

test('notexample.com: a lookalike host is outside the example.com range and its items are not counted', () => {
  const p = rangeProof(tree, site('notexample.com'));
  const r = verify(site('notexample.com'), p);
  assert.equal(r.count, 1n);
  assert.deepEqual(revealedCids(r.revealed), [cid(7)]);
  // The notexample.com proof proves nothing about example.com.
  assert.throws(() => verify(site('example.com'), p));
  const ev = verify(site('example.com.evil'), rangeProof(tree, site('example.com.evil')));
  assert.deepEqual(revealedCids(ev.revealed), [cid(8)]);
});

test('flipped bits: any bit of a leaf, a hash, an index or the size breaks the proof', () => {
  const range = site('example.com');
  const good = rangeProof(tree, range);
  let n = 0;
  for (let k = 0; k < good.leaves.length; k++) {
    const l = good.leaves[k].leaf;
    for (const pos of [0, l.length - 1, l.length - 40]) {
      const p = structuredClone(good);
      const c = parseInt(l[pos], 16) ^ 1;
      p.leaves[k].leaf = l.slice(0, pos) + c.toString(16) + l.slice(pos + 1);
      assert.throws(() => verify(range, p), `leaf ${k} digit ${pos}`);
      n++;
    }
    const p = structuredClone(good);
    p.leaves[k].index ^= 1;
    assert.throws(() => verify(range, p), `index of leaf ${k}`);
  }
  for (let k = 0; k < good.hashes.length; k++) {
    const p = structuredClone(good);
    p.hashes[k] = (parseInt(p.hashes[k][0], 16) ^ 8).toString(16) + p.hashes[k].slice(1);
    assert.throws(() => verify(range, p), `hash ${k}`);
    n++;
  }
  assert.throws(() => verify(range, { ...good, tree_size: good.tree_size + 1 }));
  assert.throws(() => verifyRange(tree.root, tree.size + 1, range, good));
  const root = new Uint8Array(tree.root);
  root[31] ^= 1;
  assert.throws(() => verifyRange(root, tree.size, range, good));
  assert.ok(n > 10);
});

test('malformed proofs are format errors', () => {
  const range = site('example.com');
  const good = rangeProof(tree, range);
  assert.throws(() => verify(range, { ...good, extra: 1 }), /unknown field/);
  assert.throws(() => verify(range, { ...good, hashes: [...good.hashes, good.hashes[0]] }), /hashes/);
  assert.throws(() => verify(range, { ...good, hashes: good.hashes.slice(1) }));
  assert.throws(() => verify(range, { ...good, leaves: [...good.leaves].reverse() }));
  assert.throws(() => verify(range, { ...good, leaves: [good.leaves[0], good.leaves[0], ...good.leaves.slice(1)] }));
  assert.throws(() => verify(range, { ...good, leaves: good.leaves.map((l, k) => (k ? l : { ...l, leaf: l.leaf.toUpperCase() })) }));
  assert.throws(() => verify(range, { tree_size: tree.size, leaves: [], hashes: [] }));
  assert.throws(() => verify(range, { ...good, leaves: [{ index: tree.size, leaf: '00' }] }));
});
