// The explorer's compliance decision against the Rust one, on the same bundles and the same log
// tiles: test/vectors/compliance.json is written by ledger/tests/compliance.rs
// (explorer_compliance_vectors_are_current), with what the ledger crate decided for each case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fromBase64 } from '../src/lib/bytes.js';
import { parseVkey } from '../src/lib/note.js';
import { verifyComplianceBundle, scanCompleteness, conclude, lagEntries, lagSeconds } from '../src/lib/compliance.js';

const vectors = JSON.parse(readFileSync(new URL('./vectors/compliance.json', import.meta.url), 'utf8'));
const key = parseVkey(vectors.vkey);

for (const c of vectors.cases) {
  test(`compliance vector ${c.name}: the same verdict, completeness, lag and conclusion as Rust`, async () => {
    const x = c.expect;
    const r = verifyComplianceBundle(c.bundle, key);
    assert.equal(r.verdict, x.verdict.verdict);
    assert.deepEqual(r.violations, x.verdict.violations ?? []);
    // Site opt-outs (issue 13): absent from the older cases, which must then have none.
    assert.deepEqual(r.siteViolations, x.verdict.site_violations ?? []);
    assert.deepEqual(r.sitesUnproven, x.sites_unproven ?? []);
    assert.equal(r.horizon, BigInt(x.horizon));
    assert.equal(r.modelIndex, BigInt(x.model_index));
    assert.equal(r.horizonTime, x.horizon_time_in_bundle);
    assert.equal(lagEntries(r), x.lag_entries);

    const fetched = [];
    const fetchTile = (p) => {
      fetched.push(p);
      if (!(p in c.tiles)) throw new Error(`no tile ${p}`);
      return fromBase64(c.tiles[p]);
    };
    const scan = await scanCompleteness(r, fetchTile);
    assert.deepEqual(scan.missing, x.missing_optouts);
    assert.equal(scan.horizonTime, x.horizon_time);
    assert.equal(scan.entriesRead, Number(x.horizon));
    const lag = lagSeconds(r, scan.horizonTime);
    assert.equal(lag, x.lag_seconds);

    const complete = scan.missing.length === 0;
    assert.equal(conclude(r, { complete, lagSeconds: lag }), x.conclusion.checked);
    assert.equal(conclude(r, { complete: null, lagSeconds: lagSeconds(r, r.horizonTime) }), x.conclusion.offline);
    assert.equal(conclude(r, { complete, lagSeconds: lag, maxLagSeconds: 0 }), x.conclusion.checked_max_lag_0);
    assert.equal(conclude(r, { complete, lagSeconds: lag, allowVacuous: true }), x.conclusion.checked_allow_vacuous);
  });
}

test('a tampered multi-proof or a tile that does not match the checkpoint is an error, never a verdict', async () => {
  const c = vectors.cases.find((v) => v.name === 'violated');
  const b = structuredClone(c.bundle);
  // Drop the leaf that shows the violating id: the proof no longer decides it.
  const mp = b.multi_proofs[0].proof;
  const hit = c.expect.verdict.violations[0].cid;
  mp.leaves = mp.leaves.filter((l) => l.leaf.cid !== hit);
  assert.throws(() => verifyComplianceBundle(b, key));
  const b2 = structuredClone(c.bundle);
  b2.multi_proofs[0].proof.hashes.push('00'.repeat(32));
  assert.throws(() => verifyComplianceBundle(b2, key));

  const ok = vectors.cases.find((v) => v.name === 'compliant');
  const r = verifyComplianceBundle(ok.bundle, key);
  const other = vectors.cases.find((v) => v.name === 'trimmed');
  // The tiles of another log: every entry is checked against the bundle's checkpoint.
  await assert.rejects(scanCompleteness(r, (p) => fromBase64(other.tiles[p])));
});
