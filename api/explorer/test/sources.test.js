// The explorer's source keys, sites and range proofs against the Rust ones
// (verifier/src/{source,range}): test/vectors/sources.json is written by the verifier's vector
// generator (verifier/tests/js_vectors.rs style) with what the Rust code decided for each case,
// and replayed here: every source key, every site (canonical form and key prefix, or refused),
// and every range proof, honest and mutated (verified with the same start, count and revealed
// leaves, or refused).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fromHex, toHex } from '../src/lib/bytes.js';
import { Blake3Set, rootOfLeafHashes } from '../src/lib/merkle.js';
import { sourceKey, Site } from '../src/lib/source.js';
import { verifyRange, siteRange, splitSource } from '../src/lib/range.js';

const FILE = new URL('./vectors/sources.json', import.meta.url);
const present = existsSync(FILE);
const vectors = present ? JSON.parse(readFileSync(FILE, 'utf8')) : null;
const skip = present ? false : 'test/vectors/sources.json is not written yet (PROV_UPDATE_VECTORS=1 cargo test -p verifier --test js_vectors)';

test('the vector file holds every kind of case', { skip }, () => {
  assert.ok(vectors.source_keys.length > 10, 'source keys');
  assert.ok(vectors.sites.length > 5, 'sites');
  assert.ok(vectors.range_proofs.length > 5, 'range proofs');
  assert.ok(vectors.range_proofs.some((c) => c.expect.ok === false), 'with mutated proofs Rust refuses');
  assert.ok(vectors.range_proofs.some((c) => c.expect.ok !== false && Number(c.expect.count) === 0), 'and exclusions');
});

test('source keys: the same key as Rust for every URI', { skip }, () => {
  for (const c of vectors?.source_keys ?? []) assert.equal(sourceKey(c.uri), c.key, JSON.stringify(c.uri));
});

test('sites: the same canonical form and prefix as Rust, or refused by both', { skip }, () => {
  for (const c of vectors?.sites ?? []) {
    const want = c.site;
    if (want == null) {
      assert.throws(() => Site.parse(c.input), `${JSON.stringify(c.input)} is refused`);
      continue;
    }
    const s = Site.parse(c.input);
    assert.equal(s.toString(), want, JSON.stringify(c.input));
    assert.equal(s.prefix(), c.prefix, `prefix of ${JSON.stringify(c.input)}`);
    assert.equal(s.kind, c.kind, `kind of ${JSON.stringify(c.input)}`);
    assert.equal(Site.isCanonical(c.input), c.canonical, `${JSON.stringify(c.input)} is canonical: ${c.canonical}`);
  }
});

test('the vector tree: its leaves rebuild its root, every leaf a source leaf', { skip }, () => {
  const leaves = vectors.tree.leaves.map(fromHex);
  assert.equal(leaves.length, vectors.tree.size);
  assert.equal(toHex(rootOfLeafHashes(Blake3Set, leaves.map((l) => Blake3Set.leafHash(l)))), vectors.tree.root);
  for (const l of leaves) assert.ok(splitSource(l), toHex(l));
});

function rangeOf(c) {
  if (c.site != null) return siteRange(Site.parse(c.site));
  const r = c.range;
  return { lo: fromHex(r.lo), hi: r.hi == null ? null : fromHex(r.hi) };
}

test('range proofs: the same decision, start, count and revealed leaves as Rust', { skip }, () => {
  for (const c of vectors?.range_proofs ?? []) {
    const run = () => verifyRange(c.root, c.size, rangeOf(c), c.proof);
    if (c.expect.ok === false) {
      assert.throws(run, `${c.name}: Rust refused it (${c.expect.error ?? ''})`);
      continue;
    }
    const r = run();
    assert.equal(r.count, BigInt(c.expect.count), `${c.name}: count`);
    assert.equal(r.start, BigInt(c.expect.start), `${c.name}: start`);
    if (c.expect.revealed) {
      assert.deepEqual(
        r.revealed.map((x) => [Number(x.index), Buffer.from(x.leaf).toString('hex')]),
        c.expect.revealed.map((x) => (Array.isArray(x) ? [Number(x[0]), x[1]] : [Number(x.index), x.leaf])),
        `${c.name}: revealed`,
      );
    }
  }
});
