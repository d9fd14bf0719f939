// All 196 RFC 6962 proof vectors of testdata/rfc6962-vectors: happy paths must verify, every case
// with wantErr must fail (wrong lengths, garbage, proofs from the empty tree, ...).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hashFromBase64 } from '../src/lib/bytes.js';
import { Sha256Log, verifyConsistency, verifyInclusion, rootOfLeafHashes, inclusionProofOf } from '../src/lib/merkle.js';
import { TESTDATA } from './testdata.js';

const DIR = join(TESTDATA, 'rfc6962-vectors');

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}

function runInclusion(c) {
  const proof = (c.proof ?? []).map(hashFromBase64);
  verifyInclusion(Sha256Log, c.leafIdx, c.treeSize, hashFromBase64(c.leafHash), proof, hashFromBase64(c.root));
}

function runConsistency(c) {
  const proof = (c.proof ?? []).map(hashFromBase64);
  verifyConsistency(Sha256Log, c.size1, c.size2, proof, hashFromBase64(c.root1), hashFromBase64(c.root2));
}

const files = walk(DIR);

// The one case where the vectors and our rule disagree (as in ledger/tests/rfc6962_vectors.rs): it
// checks that equal sizes with equal roots and an empty proof verify, but its "roots" are 12
// bytes, which the Go library compares as opaque strings. A hash that is not 32 bytes is refused
// here, so the case is run as: its roots fail with a length error, and the same case with 32-byte
// equal roots verifies, which is the behaviour the vector is about.
const LENGTH_DEVIATION = 'consistency/additional/sizes-are-equal-one-and-proof-is-empty.json';

test('the vector set is complete', () => {
  assert.equal(files.length, 196);
});

for (const f of files) {
  const rel = f.slice(DIR.length + 1);
  const c = JSON.parse(readFileSync(f, 'utf8'));
  const run = rel.startsWith('inclusion') ? runInclusion : runConsistency;
  test(`rfc6962 ${rel} (${c.wantErr ? 'must fail' : 'must verify'})`, () => {
    if (rel === LENGTH_DEVIATION) {
      assert.throws(() => run(c), /exactly 32 bytes/);
      const root = Buffer.alloc(32, 7).toString('base64');
      assert.doesNotThrow(() => run({ ...c, root1: root, root2: root }));
    } else if (c.wantErr) assert.throws(() => run(c));
    else assert.doesNotThrow(() => run(c));
  });
}

test('local proofs agree with the verifier for every leaf of sizes 1..40', () => {
  for (let n = 1; n <= 40; n++) {
    const leaves = Array.from({ length: n }, (_, i) => Sha256Log.leafHash(new Uint8Array([i])));
    const root = rootOfLeafHashes(Sha256Log, leaves);
    for (let i = 0; i < n; i++) {
      verifyInclusion(Sha256Log, i, n, leaves[i], inclusionProofOf(Sha256Log, leaves, i), root);
    }
  }
});
