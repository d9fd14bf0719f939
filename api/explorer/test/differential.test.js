// The explorer's verifiers against the Rust ones on the same inputs: test/vectors/differential.json
// is written by verifier/tests/js_vectors.rs (explorer_differential_vectors_are_current) from the
// fuzz seeds (fuzz/corpus/{set_proof,note,checkpoint,compliance}), proofs of every kind and their
// mutations, with what the verifier crate decided for each. Every vector must get the same verdict
// here: verifies or not, and what it establishes (membership, text, checkpoint, compliance verdict).
// Notes and checkpoints name their text in `note_texts` (each text is replayed with several keys).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { toBase64 } from '../src/lib/bytes.js';
import { verifyMembershipJson } from '../src/lib/set.js';
import { verifyNote, verifyCheckpoint } from '../src/lib/note.js';
import { verifyComplianceBundle, verifyMultiProof } from '../src/lib/compliance.js';

const vectors = JSON.parse(readFileSync(new URL('./vectors/differential.json', import.meta.url), 'utf8'));

// What the JS side decides, in the vectors' `expect` form less the Rust error text.
function outcome(f) {
  try {
    return { ok: true, ...f() };
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    return { ok: false };
  }
}

function disagreements(cases, decide) {
  const out = [];
  for (const c of cases) {
    const { why: _why, ...want } = c.expect;
    const got = outcome(() => decide(c));
    try {
      assert.deepEqual(got, want);
    } catch {
      out.push({ name: c.name, rust: want, js: got });
    }
  }
  return out;
}

test('the corpus covers every kind of vector and each kind both verifies and fails', () => {
  for (const kind of ['membership', 'multi', 'notes', 'checkpoints', 'compliance']) {
    const cases = vectors[kind];
    assert.ok(cases.some((c) => c.expect.ok), `${kind}: none verifies`);
    assert.ok(cases.some((c) => !c.expect.ok), `${kind}: none fails`);
    assert.ok(cases.some((c) => c.name.startsWith('seed:')), `${kind}: no fuzz seed`);
  }
  const m = vectors.membership.filter((c) => c.expect.ok).map((c) => c.expect.membership);
  assert.ok(m.includes('included') && m.includes('excluded'));
});

test('set membership proofs: the same verdict as Rust', () => {
  const bad = disagreements(vectors.membership, (c) => {
    const s = vectors.sets[c.set];
    const r = verifyMembershipJson(c.proof, { cid: c.cid, root: s.root, size: s.size });
    return { membership: r.membership };
  });
  assert.deepEqual(bad, []);
});

test('set multi-proofs: the same verdict and memberships as Rust', () => {
  const bad = disagreements(vectors.multi, (c) => {
    const s = vectors.sets[c.set];
    return { memberships: verifyMultiProof(c.proof, c.ids, { root: s.root, size: s.size }) };
  });
  assert.deepEqual(bad, []);
});

test('signed notes: the same verdict and text as Rust', () => {
  const bad = disagreements(vectors.notes, (c) => ({ text: verifyNote(vectors.note_texts[c.note], c.vkey).bodyText }));
  assert.deepEqual(bad, []);
});

test('checkpoints: the same verdict, origin, size and root as Rust', () => {
  const bad = disagreements(vectors.checkpoints, (c) => {
    const cp = verifyCheckpoint(vectors.note_texts[c.note], c.vkey);
    return { origin: cp.origin, size: Number(cp.size), root: toBase64(cp.root) };
  });
  assert.deepEqual(bad, []);
});

test('compliance bundles (fuzz seeds and mutations): the same verdict as Rust', () => {
  const bad = disagreements(vectors.compliance, (c) => {
    const r = verifyComplianceBundle(c.bundle, vectors.log_vkey);
    const verdict = { verdict: r.verdict };
    if (r.verdict === 'violated') verdict.violations = r.violations;
    return { verdict };
  });
  assert.deepEqual(bad, []);
});
