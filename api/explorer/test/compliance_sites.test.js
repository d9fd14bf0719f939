// Site opt-outs in the explorer's compliance check (SPEC13 section 4): each (site, dataset
// version) decided by a range proof over the version's source tree, a version without one
// "unproven", and the conclusion order. The whole-bundle cases against Rust are in
// compliance.test.js (test/vectors/compliance.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blake3 } from '@noble/hashes/blake3.js';
import { checkSites, conclude } from '../src/lib/compliance.js';
import { Site, sourceKey } from '../src/lib/source.js';
import { siteRange, sourceLeaf } from '../src/lib/range.js';
import { formatCid } from '../src/lib/set.js';
import { toHex, utf8 } from '../src/lib/bytes.js';
import { rangeTree, rangeProof, proofOf } from './rangeprover.js';

const cid = (i) => formatCid(blake3(utf8(`doc ${i}`)));
const urls = ['https://example.com/a', 'https://www.example.com/b', 'https://notexample.com/', 'https://other.org/x', null];
const tree = rangeTree(urls.map((u, i) => sourceLeaf(u ? sourceKey(u) : '', cid(i))));
const versions = [
  { label: 'acme/web@1', sources: { root: toHex(tree.root), size: tree.size } },
  { label: 'acme/old@1', sources: null },
];
const named = (sites) => [{ index: 7n, sites: sites.map((s) => Site.parse(s)), signer: 'c2lnbmVy' }];
const proofFor = (site) => ({ dataset: 'acme/web@1', site, proof: rangeProof(tree, siteRange(Site.parse(site))) });

test('a site present in a version is a site violation naming its items; a version without a source tree is unproven', () => {
  const r = checkSites({ source_proofs: [proofFor('example.com')] }, versions, named(['example.com']));
  assert.deepEqual(r.siteViolations, [{ optout_index: 7, site: 'example.com', dataset: 'acme/web@1', count: 2, cids: [cid(0), cid(1)].sort(), signer: 'c2lnbmVy' }]);
  assert.deepEqual(r.sitesUnproven, [{ optout_index: 7, site: 'example.com', dataset: 'acme/old@1' }]);
});

test('a site absent from a version is a verified exclusion, no violation', () => {
  const r = checkSites({ source_proofs: [proofFor('absent.net')] }, versions, named(['absent.net']));
  assert.deepEqual(r.siteViolations, []);
});

test('a missing source proof is an error, never a pass', () => {
  assert.throws(() => checkSites({ source_proofs: [] }, versions, named(['example.com'])), /no source proof/);
});

test('a forged exclusion (brackets around a skipped leaf) is an error, never a pass', () => {
  const honest = proofFor('example.com');
  const idx = honest.proof.leaves.map((l) => l.index);
  const forged = { ...honest, proof: proofOf(tree, [idx[0], idx[idx.length - 1]]) };
  assert.throws(() => checkSites({ source_proofs: [forged] }, versions, named(['example.com'])), /source proof/);
});

test('a proof for a lookalike site does not decide the site', () => {
  const other = { ...proofFor('notexample.com'), site: 'example.com' };
  assert.throws(() => checkSites({ source_proofs: [other] }, versions, named(['example.com'])));
});

test('a source proof no opt-out asks for is refused (one bundle, one meaning)', () => {
  assert.throws(() => checkSites({ source_proofs: [proofFor('example.com'), proofFor('absent.net')] }, versions, named(['example.com'])), /no opt-out/);
});

test('source proofs: duplicates, unknown versions, non-canonical sites and bad JSON are refused', () => {
  const p = proofFor('example.com');
  assert.throws(() => checkSites({ source_proofs: [p, p] }, versions, named(['example.com'])), /two source proofs/);
  assert.throws(() => checkSites({ source_proofs: [{ ...p, dataset: 'x/y@z' }] }, versions, []), /does not name/);
  assert.throws(() => checkSites({ source_proofs: [{ ...p, site: 'Example.com' }] }, versions, []), /canonical/);
  assert.throws(() => checkSites({ source_proofs: [{ ...p, extra: 1 }] }, versions, []), /unknown field/);
  assert.throws(() => checkSites({ source_proofs: [{ ...p, proof: { ...p.proof, hashes: ['XX'] } }] }, versions, []));
});

test('conclusion order: violated > incomplete > site_unverified > sites_unproven > vacuous > ... > compliant', () => {
  const base = { verdict: 'compliant', violations: [], siteViolations: [], sitesUnproven: [], horizon: 5n };
  const sv = { optout_index: 1, site: 'example.com', dataset: 'a/b@c', count: 1, cids: [], signer: 'k' };
  const su = { optout_index: 1, site: 'example.com', dataset: 'a/b@c' };
  assert.equal(conclude({ ...base, verdict: 'violated', violations: [{}] }, { complete: false }), 'violated');
  assert.equal(conclude({ ...base, verdict: 'violated', siteViolations: [sv] }, { complete: true }), 'site_unverified');
  assert.equal(conclude({ ...base, verdict: 'violated', siteViolations: [sv] }, { complete: false }), 'incomplete');
  const control = (answer) => (site, signer) => (site === 'example.com' && signer === 'k' ? answer : 'unknown');
  assert.equal(conclude({ ...base, verdict: 'violated', siteViolations: [sv] }, { complete: true, siteControl: control('verified') }), 'violated');
  assert.equal(conclude({ ...base, verdict: 'violated', siteViolations: [sv] }, { complete: true, siteControl: control('not_authorised') }), 'compliant', 'a requester the site does not list counts for nothing');
  const siteOptouts = [{ optout_index: 1, signer: 'k', sites: ['example.com'] }];
  assert.equal(conclude({ ...base, sitesUnproven: [su], siteOptouts, horizon: 0n }, { complete: true }), 'sites_unproven');
  assert.equal(conclude({ ...base, sitesUnproven: [su], siteOptouts }, { complete: true, siteControl: control('not_authorised') }), 'compliant');
  assert.equal(conclude({ ...base, horizon: 0n }, { complete: true }), 'vacuous');
  assert.equal(conclude(base, { complete: null }), 'not_checked');
  assert.equal(conclude(base, { complete: true }), 'compliant');
});
