// Compliance bundles (DESIGN.md "Compliance"; the same rules as ledger/src/compliance.rs): one
// signed checkpoint; each entry with a tlog-proof that leads to that very checkpoint; every opt-out
// set whole; and for every opted-out id (train-ai scope) and every dataset version the checkpoint
// names, its membership: from one multi-proof per version (`multi_proofs`, what the service builds
// now) or from one set proof per (id, version) (`set_proofs`, the first layout). An included id is
// a violation; a missing or failing proof is an error, never a verdict.
//
// A bundle's verdict covers only the opt-outs it carries. `scanCompleteness` reads every entry
// below the horizon from the log's tiles (each checked against the bundle's checkpoint) and finds
// the opt-outs a bundle leaves out; `conclude` turns verdict, completeness and horizon lag into
// one conclusion, exactly as `BundleReport::conclude` in Rust (vectors in
// test/vectors/compliance.json keep the two equal).
//
//   verifyComplianceBundle(bundle, vkey) -> {verdict: 'compliant' | 'violated', violations,
//     checkpoint, horizon, modelIndex, modelTime, horizonTime, optoutIndices}
//   (throws for anything that does not verify)
//   await scanCompleteness(report, fetchTile) -> {missing, horizonTime, entriesRead}
//   conclude(report, {complete, lagSeconds, maxLagSeconds, allowVacuous, siteControl}) ->
//     'violated' | 'incomplete' | 'site_unverified' | 'sites_unproven' | 'vacuous' |
//     'lag_exceeded' | 'not_checked' | 'compliant'
//
// Opt-outs may also name sites (domains or URL prefixes): each (site, dataset version) is decided
// by a range proof over the version's source tree (`source_proofs`), see checkSites. And they may
// name a passage tree of works (`passages`): each (such opt-out, version with a passage tree) is
// decided by one multi-range proof over the version's passage tree (`passage_proofs`), the
// opt-out's leaves carried whole (`passage_optouts`), see checkPassages.

import { FormatError, compare, fromBase64, fromUtf8, toHex } from './bytes.js';
import { verifyCheckpoint } from './note.js';
import { parseTlogProof, verifyTlogProof } from './tlogproof.js';
import { verifyEntrySignature } from './entry.js';
import { verifyMembershipJson, checkMembershipJson, checkMultiProofJson, setLeafHash, parseCid } from './set.js';
import { Blake3Set, ProofError, Sha256Log, rootFromMultiProof, rootOfLeafHashes, verifyInclusion } from './merkle.js';
import { TileReader, entryTilePath, TILE_WIDTH } from './tiles.js';
import { Site } from './source.js';
import { parseRangeProof, revealedCids, siteRange, verifyRange, verifyRanges, passageRange, splitPassage, rangeLeafHash, leafFromHex } from './range.js';

export class ComplianceError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ComplianceError';
  }
}

const datasetLabel = (d) => `${d.publisher}/${d.dataset}@${d.version}`;

function openEntry(b, key, checkpointText, origin) {
  const bytes = fromBase64(b.entry);
  const p = parseTlogProof(b.proof);
  if (p.checkpoint !== checkpointText) throw new ComplianceError(`tlog-proof of index ${p.index} is against another checkpoint than the bundle's`);
  verifyTlogProof(b.proof, key, { entry: bytes });
  const entry = JSON.parse(fromUtf8(bytes));
  verifyEntrySignature(entry);
  // A v2 entry's signature binds it to one log (ledger's OtherLog): never another's.
  if (entry.log != null && entry.log !== origin) throw new ComplianceError(`entry at index ${p.index} is signed for log ${JSON.stringify(entry.log)}, not ${JSON.stringify(origin)}`);
  return { index: p.index, entry };
}

function setRoot(leaves) {
  for (let i = 1; i < leaves.length; i++) {
    if (compare(parseCid(leaves[i - 1].cid), parseCid(leaves[i].cid)) >= 0) throw new ComplianceError('opt-out set is not sorted and unique');
  }
  return toHex(rootOfLeafHashes(Blake3Set, leaves.map(setLeafHash)));
}

export function verifyComplianceBundle(bundle, vkey) {
  if (!bundle || typeof bundle !== 'object') throw new FormatError('bundle is not an object');
  const cp = verifyCheckpoint(bundle.checkpoint, vkey);
  const open = (b) => openEntry(b, vkey, bundle.checkpoint, cp.origin);
  const model = open(bundle.model_checkpoint);
  const datasets = (bundle.datasets ?? []).map(open);
  const optouts = (bundle.optouts ?? []).map(open);
  const m = model.entry;
  if (m.type !== 'model_checkpoint') throw new ComplianceError('the bundle is not about a model checkpoint');
  if (BigInt(m.optout_horizon) > model.index) throw new ComplianceError('horizon beyond the entry\'s own index');

  const versions = [];
  for (const r of m.datasets) {
    const found = datasets.find((d) => d.index === BigInt(r.index));
    if (!found) throw new ComplianceError(`dataset version ${datasetLabel(r)} named by the checkpoint is missing`);
    const dv = found.entry;
    if (dv.type !== 'dataset_version' || datasetLabel(dv) !== datasetLabel(r) || dv.manifest_root !== r.manifest_root) {
      throw new ComplianceError(`dataset version at index ${found.index} is not what the checkpoint names`);
    }
    versions.push({ label: datasetLabel(r), root: dv.manifest_root, size: dv.item_count, sources: dv.sources ?? null, passages: dv.passages ?? null });
  }
  for (const d of datasets) {
    if (!m.datasets.some((r) => BigInt(r.index) === d.index)) throw new ComplianceError(`dataset version at index ${d.index} is not named by the checkpoint`);
  }

  const table = new Map();
  for (const p of bundle.set_proofs ?? []) {
    // Every proof must parse, used or not, as the verifier crate parses the whole bundle.
    checkMembershipJson(p.proof);
    const id = p.proof?.included ? p.proof.included.leaf.cid : p.proof?.excluded?.id;
    const k = `${id} ${p.dataset}`;
    if (table.has(k)) throw new ComplianceError(`two set proofs for ${id} in ${p.dataset}`);
    table.set(k, p.proof);
  }
  const sets = (bundle.optout_sets ?? []).map((s) => ({ root: setRoot(s.leaves), size: s.leaves.length, leaves: s.leaves }));

  // The ids each opt-out names (train-ai scope), in log order.
  const seen = new Set();
  const named = [];
  const namedSites = [];
  const namedPassages = [];
  for (const o of optouts) {
    const e = o.entry;
    if (e.type !== 'optout') throw new ComplianceError(`entry ${o.index} is not an opt-out`);
    if (o.index >= BigInt(m.optout_horizon)) throw new ComplianceError(`opt-out at index ${o.index} is not below the horizon`);
    if (seen.has(o.index)) throw new ComplianceError(`entry at index ${o.index} appears twice`);
    seen.add(o.index);
    if (!(e.scope ?? []).includes('train-ai')) continue;
    let ids = [];
    if (e.ids) ids = e.ids;
    else if (e.set) {
      const s = sets.find((x) => x.root === e.set.root && x.size === e.set.size);
      if (!s) throw new ComplianceError(`opt-out set of the opt-out at index ${o.index} is missing or does not match its root`);
      ids = s.leaves.map((l) => l.cid);
    }
    named.push({ index: o.index, ids });
    const sites = (e.sites ?? []).map((x) => {
      if (!Site.isCanonical(x)) throw new ComplianceError(`opt-out at index ${o.index} names a site that is not canonical: ${JSON.stringify(x)}`);
      return Site.parse(x);
    });
    // Only a signed opt-out can name sites (the sequencer refuses anonymous ones); a bundle
    // carrying an anonymous one anyway gets no site check for it: nobody could show control.
    if (sites.length && e.signer) namedSites.push({ index: o.index, sites, signer: e.signer });
    // Likewise passages: only a signed opt-out may name them (`anonymous-passages`).
    if (e.passages && e.signer) namedPassages.push({ index: o.index, passages: e.passages });
  }

  // Multi-proofs: at most one per named version, and then no per-id proof for it. The ids are
  // gathered here, never taken from the bundle: a proof that does not decide one is an error.
  const allIds = [...new Set(named.flatMap((n) => n.ids))].sort((a, b) => compare(parseCid(a), parseCid(b)));
  const decided = new Map();
  for (const mp of bundle.multi_proofs ?? []) {
    const v = versions.find((x) => x.label === mp.dataset);
    if (!v) throw new ComplianceError(`set proofs or multi-proofs for ${mp.dataset}, which the checkpoint does not name`);
    if (decided.has(v.label)) throw new ComplianceError(`two multi-proofs for ${v.label}`);
    if ((bundle.set_proofs ?? []).some((p) => p.dataset === v.label)) throw new ComplianceError(`${v.label} has both a multi-proof and set proofs`);
    let got;
    try {
      got = verifyMultiProof(mp.proof, allIds, { root: v.root, size: v.size });
    } catch (err) {
      throw new ProofError(`multi-proof for ${v.label}: ${err.message}`);
    }
    decided.set(v.label, new Map(allIds.map((id, k) => [id, got[k]])));
  }

  const violations = [];
  for (const { index, ids } of named) {
    for (const cid of ids) {
      for (const v of versions) {
        let membership;
        if (decided.has(v.label)) membership = decided.get(v.label).get(cid);
        else {
          const proof = table.get(`${cid} ${v.label}`);
          if (!proof) throw new ComplianceError(`no set proof for ${cid} (opt-out at index ${index}) in ${v.label}`);
          try {
            membership = verifyMembershipJson(proof, { cid, root: v.root, size: v.size }).membership;
          } catch (err) {
            throw new ProofError(`set proof for ${cid} in ${v.label}: ${err.message}`);
          }
        }
        if (membership === 'included') violations.push({ optout_index: Number(index), cid, dataset: v.label });
      }
    }
  }
  violations.sort((a, b) => a.optout_index - b.optout_index || (a.cid < b.cid ? -1 : a.cid > b.cid ? 1 : 0) || (a.dataset < b.dataset ? -1 : a.dataset > b.dataset ? 1 : 0));

  const { siteViolations, sitesUnproven } = checkSites(bundle, versions, namedSites);
  const { passageViolations, passagesUnchecked } = checkPassages(bundle, versions, namedPassages);
  const siteOptouts = namedSites.map((o) => ({ optout_index: Number(o.index), signer: o.signer, sites: o.sites.map(String) }));

  const horizon = BigInt(m.optout_horizon);
  let horizonTime = null;
  if (bundle.horizon_entry != null) {
    const he = open(bundle.horizon_entry);
    if (horizon === 0n || he.index !== horizon - 1n) throw new ComplianceError(`horizon entry at index ${he.index} is not the entry just below the horizon ${horizon}`);
    horizonTime = Number(he.entry.time);
  }
  const report = {
    checkpoint: cp,
    horizon,
    modelIndex: model.index,
    modelTime: Number(m.time),
    horizonTime,
    optoutIndices: new Set(optouts.map((o) => o.index)),
    violations,
    siteViolations,
    sitesUnproven,
    siteOptouts,
    passageViolations,
    passagesUnchecked,
  };
  return { ...report, verdict: violations.length || siteViolations.length || passageViolations.length ? 'violated' : 'compliant' };
}

/**
 * The site opt-outs against the dataset versions (SPEC13 section 4, verifier/src/compliance.rs):
 * every (site, version with a source tree) needs exactly one range proof in `source_proofs`,
 * verified against the source root and size the version's entry commits to; a count above 0 is a
 * site violation naming the items shown. A version without a source tree cannot decide it: the
 * pair is "unproven", neither an error nor a violation.
 */
export function checkSites(bundle, versions, namedSites) {
  const proofs = new Map();
  for (const sp of bundle.source_proofs ?? []) {
    if (sp === null || typeof sp !== 'object' || Array.isArray(sp)) throw new FormatError('a source proof is not an object');
    for (const k of Object.keys(sp)) if (!['dataset', 'site', 'proof'].includes(k)) throw new FormatError(`a source proof has an unknown field "${k}"`);
    // Every proof must parse, used or not, as the verifier crate parses the whole bundle.
    parseRangeProof(sp.proof);
    if (!Site.isCanonical(sp.site)) throw new ComplianceError(`source proof for a site that is not canonical: ${JSON.stringify(sp.site)}`);
    if (!versions.some((v) => v.label === sp.dataset)) throw new ComplianceError(`set proofs or multi-proofs for ${sp.dataset}, which the checkpoint does not name`);
    const k = `${sp.dataset} ${sp.site}`;
    if (proofs.has(k)) throw new ComplianceError(`two source proofs for ${sp.site} in ${sp.dataset}`);
    proofs.set(k, sp.proof);
  }
  const siteViolations = [];
  const sitesUnproven = [];
  const decided = new Map();
  for (const { index, sites, signer } of namedSites) {
    for (const site of sites) {
      for (const v of versions) {
        if (!v.sources) {
          sitesUnproven.push({ optout_index: Number(index), site: site.toString(), dataset: v.label });
          continue;
        }
        const k = `${v.label} ${site}`;
        if (!decided.has(k)) {
          const proof = proofs.get(k);
          if (!proof) throw new ComplianceError(`no source proof for ${site} (opt-out at index ${index}) in ${v.label}`);
          try {
            decided.set(k, verifyRange(v.sources.root, v.sources.size, siteRange(site), proof));
          } catch (err) {
            throw new ProofError(`source proof for ${site} in ${v.label}: ${err.message}`);
          }
        }
        const r = decided.get(k);
        if (r.count > 0n) siteViolations.push({ optout_index: Number(index), site: site.toString(), dataset: v.label, count: Number(r.count), cids: revealedCids(r.revealed), signer });
      }
    }
  }
  // One bundle, one meaning: a proof no opt-out asks for is refused.
  for (const k of proofs.keys()) if (!decided.has(k)) throw new ComplianceError(`source proof for site ${k.slice(k.indexOf(' ') + 1)} in ${k.slice(0, k.indexOf(' '))}, which no opt-out of the bundle asks for`);
  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  siteViolations.sort((a, b) => a.optout_index - b.optout_index || cmp(a.dataset, b.dataset) || cmp(a.site, b.site));
  sitesUnproven.sort((a, b) => a.optout_index - b.optout_index || cmp(a.site, b.site) || cmp(a.dataset, b.dataset));
  return { siteViolations, sitesUnproven };
}

function onlyFields(o, allowed, what) {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new FormatError(`${what} is not an object`);
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new FormatError(`${what} has an unknown field "${k}"`);
  for (const k of allowed) if (!(k in o)) throw new FormatError(`${what} has no "${k}"`);
}

function leafIndex(x, what) {
  if (!Number.isSafeInteger(x) || x < 0) throw new FormatError(`${what} is not a leaf index`);
  return BigInt(x);
}

/**
 * The passage opt-outs against the dataset versions (SPEC14B section 5, verifier/src/compliance.rs):
 * each signed opt-out naming a passage tree carries its leaves (`passage_optouts`), which must
 * hash to the root and size the opt-out's entry names; each (such opt-out, version with a
 * passage tree) needs exactly one multi-range proof (`passage_proofs`) over `[pid, succ(pid))`
 * for every passage id of the opt-out, verified against the passage root and size the version's
 * entry commits to. A passage found is a violation naming the work, the passage and the items
 * shown. A version without a passage tree is "unchecked", never a violation nor an error: the
 * tree is publisher-declared, so its absence proves nothing either way.
 */
export function checkPassages(bundle, versions, namedPassages) {
  const byIndex = new Map(namedPassages.map((o) => [o.index, o]));
  const leavesOf = new Map();
  for (const po of bundle.passage_optouts ?? []) {
    onlyFields(po, ['optout', 'leaves'], 'a passage opt-out');
    const index = leafIndex(po.optout, 'a passage opt-out\'s optout');
    if (!Array.isArray(po.leaves)) throw new FormatError('a passage opt-out\'s leaves are a list');
    // Range leaves (any 1 to 2,048 bytes, as the Rust bundle reads them); only 64-byte ones
    // name a passage (`pid || cid`), the others are hashed into the root and name nothing.
    const leaves = po.leaves.map(leafFromHex);
    const o = byIndex.get(index);
    if (!o) throw new ComplianceError(`passage leaves for entry ${index}, which is not a signed opt-out naming passages in the bundle`);
    if (leavesOf.has(index)) throw new ComplianceError(`two passage leaf lists for the opt-out at index ${index}`);
    for (let k = 1; k < leaves.length; k++) if (compare(leaves[k - 1], leaves[k]) >= 0) throw new ComplianceError(`the passage leaves of the opt-out at index ${index} are not sorted and unique`);
    const root = toHex(rootOfLeafHashes(Blake3Set, leaves.map(rangeLeafHash)));
    if (root !== o.passages.root || BigInt(leaves.length) !== BigInt(o.passages.size)) throw new ComplianceError(`the passage leaves of the opt-out at index ${index} do not hash to its passages root and size`);
    leavesOf.set(index, leaves);
  }
  const proofs = new Map();
  for (const pp of bundle.passage_proofs ?? []) {
    onlyFields(pp, ['optout', 'dataset', 'proof'], 'a passage proof');
    const index = leafIndex(pp.optout, 'a passage proof\'s optout');
    // Every proof must parse, used or not, as the verifier crate parses the whole bundle.
    parseRangeProof(pp.proof);
    if (!versions.some((v) => v.label === pp.dataset)) throw new ComplianceError(`a passage proof for ${pp.dataset}, which the checkpoint does not name`);
    const k = `${index} ${pp.dataset}`;
    if (proofs.has(k)) throw new ComplianceError(`two passage proofs for the opt-out at index ${index} in ${pp.dataset}`);
    proofs.set(k, pp.proof);
  }
  const passageViolations = [];
  const passagesUnchecked = [];
  const used = new Set();
  for (const { index } of namedPassages) {
    const leaves = leavesOf.get(index);
    if (!leaves) throw new ComplianceError(`the passage leaves of the opt-out at index ${index} are missing`);
    // The opt-out's passage ids (sorted, since the leaves are) and the works holding each.
    const works = new Map();
    for (const l of leaves) {
      const sp = splitPassage(l);
      if (!sp) continue;
      if (!works.has(sp.pid)) works.set(sp.pid, []);
      works.get(sp.pid).push(sp.cid);
    }
    const pids = [...works.keys()];
    for (const v of versions) {
      if (!v.passages) {
        passagesUnchecked.push({ optout_index: Number(index), dataset: v.label });
        continue;
      }
      const k = `${index} ${v.label}`;
      const proof = proofs.get(k);
      if (!proof) throw new ComplianceError(`no passage proof for the opt-out at index ${index} in ${v.label}`);
      used.add(k);
      let got;
      try {
        got = verifyRanges(v.passages.root, v.passages.size, pids.map(passageRange), proof);
      } catch (err) {
        throw new ProofError(`passage proof for the opt-out at index ${index} in ${v.label}: ${err.message}`);
      }
      for (const [j, r] of got.entries()) {
        if (r.count === 0n) continue;
        const items = [...new Set(r.revealed.map(({ leaf }) => splitPassage(leaf)?.cid).filter(Boolean))].sort();
        for (const work of works.get(pids[j])) passageViolations.push({ optout_index: Number(index), dataset: v.label, work, passage: pids[j], items, count: Number(r.count) });
      }
    }
  }
  // One bundle, one meaning: a proof no opt-out asks for is refused.
  for (const k of proofs.keys()) if (!used.has(k)) throw new ComplianceError(`passage proof for the opt-out at index ${k.slice(0, k.indexOf(' '))} in ${k.slice(k.indexOf(' ') + 1)}, which the bundle does not ask for`);
  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  // The order of Rust's derived Ord on PassageViolation: opt-out, dataset, work, passage.
  passageViolations.sort((a, b) => a.optout_index - b.optout_index || cmp(a.dataset, b.dataset) || cmp(a.work, b.work) || cmp(a.passage, b.passage));
  passagesUnchecked.sort((a, b) => a.optout_index - b.optout_index || cmp(a.dataset, b.dataset));
  return { passageViolations, passagesUnchecked };
}

/** Entries between the horizon and the checkpoint entry: opt-outs there are not covered. */
export function lagEntries(report) {
  const d = report.modelIndex - report.horizon;
  return d > 0n ? Number(d) : 0;
}

/** Seconds from the last entry below the horizon to the checkpoint entry; null if unknown. */
export function lagSeconds(report, horizonTime) {
  if (report.horizon === 0n || horizonTime == null) return null;
  return Math.max(0, report.modelTime - horizonTime);
}

/**
 * The conclusion, exactly as `BundleReport::conclude` (verifier/src/compliance.rs), in this
 * order: violated > incomplete > site_unverified > sites_unproven > vacuous > lag_exceeded >
 * not_checked > compliant. A site violation binds only when the caller verified that its
 * opt-out's signer controls the site: `siteControl(site, signer)` answers 'verified',
 * 'not_authorised' (the site's key list does not name the signer: the opt-out counts for
 * nothing) or 'unknown' (the default: a browser cannot read another origin's
 * /.well-known/prov-ledger-keys, so here every site opt-out is unverified).
 */
export function conclude(report, { complete = null, lagSeconds: lag = null, maxLagSeconds = null, allowVacuous = false, siteControl = () => 'unknown' } = {}) {
  const siteViolations = report.siteViolations ?? [];
  const control = (site, signer) => siteControl(site, signer) ?? 'unknown';
  const unproven = (report.sitesUnproven ?? []).some((u) => (report.siteOptouts ?? []).filter((o) => o.optout_index === u.optout_index).some((o) => control(u.site, o.signer) !== 'not_authorised'));
  if ((report.violations ?? []).length || (report.passageViolations ?? []).length || siteViolations.some((v) => control(v.site, v.signer) === 'verified')) return 'violated';
  if (complete === false) return 'incomplete';
  if (siteViolations.some((v) => control(v.site, v.signer) === 'unknown')) return 'site_unverified';
  if (unproven) return 'sites_unproven';
  if (report.horizon === 0n && !allowVacuous) return 'vacuous';
  if (maxLagSeconds != null && (lag == null || lag > maxLagSeconds)) return 'lag_exceeded';
  if (complete == null) return 'not_checked';
  return 'compliant';
}

/** Splits a C2SP entry bundle (big-endian u16 length, bytes; repeated). */
export function splitEntryBundle(b) {
  const out = [];
  let o = 0;
  while (o < b.length) {
    if (o + 2 > b.length) throw new FormatError('truncated entry bundle');
    const n = (b[o] << 8) | b[o + 1];
    if (o + 2 + n > b.length) throw new FormatError('truncated entry bundle');
    out.push(b.slice(o + 2, o + 2 + n));
    o += 2 + n;
  }
  return out;
}

/**
 * Reads every entry below the report's horizon from the log's tiles (`fetchTile(path)` returns a
 * tile's bytes) and checks each against the bundle's own checkpoint with an inclusion proof
 * computed from the hash tiles, so whoever serves the tiles cannot hide an opt-out. Returns the
 * indexes of the opt-outs the bundle leaves out, and the `time` of the entry just below the
 * horizon.
 */
export async function scanCompleteness(report, fetchTile) {
  const cp = report.checkpoint;
  const size = BigInt(cp.size);
  const horizon = report.horizon;
  if (horizon > size) throw new ComplianceError(`horizon ${horizon} is beyond the checkpoint's size ${size}`);
  const W = BigInt(TILE_WIDTH);
  const reader = new TileReader(size, fetchTile);
  const missing = [];
  let horizonTime = null;
  let entriesRead = 0;
  for (let t = 0n; t * W < horizon; t++) {
    const rest = size - t * W;
    const width = rest >= W ? TILE_WIDTH : Number(rest);
    const entries = splitEntryBundle(await fetchTile(entryTilePath(t, width)));
    if (entries.length !== width) throw new FormatError(`entry bundle ${t} holds ${entries.length} entries, expected ${width}`);
    for (let j = 0; j < width; j++) {
      const i = t * W + BigInt(j);
      if (i >= horizon) break;
      const proof = await reader.inclusionProof(i);
      verifyInclusion(Sha256Log, i, size, Sha256Log.leafHash(entries[j]), proof, cp.root);
      entriesRead++;
      let e = null;
      try {
        e = JSON.parse(fromUtf8(entries[j]));
      } catch {
        e = null;
      }
      if (e?.type === 'optout' && !report.optoutIndices.has(i)) missing.push(Number(i));
      if (i + 1n === horizon) horizonTime = e?.time != null ? Number(e.time) : null;
    }
  }
  return { missing, horizonTime, entriesRead };
}

/**
 * Decides which ids a multi-proof (rs_merkle layout, ledger/src/set/multi.rs) shows in or out of
 * the set with `root` of `size` leaves; throws unless it verifies and decides every id. Returns
 * 'included' | 'excluded' per id, in order.
 */
export function verifyMultiProof(proof, ids, { root, size }) {
  checkMultiProofJson(proof);
  const n = BigInt(size);
  if (BigInt(proof.tree_size) !== n) throw new ProofError(`proof is for a set of ${proof.tree_size} leaves, expected ${size}`);
  const leaves = proof.leaves.map((l) => ({ index: BigInt(l.index), leaf: l.leaf, cid: parseCid(l.leaf.cid) }));
  for (let k = 1; k < leaves.length; k++) {
    if (leaves[k - 1].index >= leaves[k].index) throw new ProofError('multi-proof is malformed: leaf indices not increasing');
    if (compare(leaves[k - 1].cid, leaves[k].cid) >= 0) throw new ProofError('proof leaves are not ordered around the id');
  }
  if (leaves.length && leaves[leaves.length - 1].index >= n) throw new ProofError('leaf index beyond the set');
  const decided = ids.map((id) => {
    const c = parseCid(id);
    let lo = 0;
    let hi = leaves.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const d = compare(leaves[mid].cid, c);
      if (d === 0) return 'included';
      if (d < 0) lo = mid + 1;
      else hi = mid;
    }
    const left = leaves[lo - 1];
    const right = leaves[lo];
    const adjacent = !left && !right ? n === 0n : !left ? right.index === 0n : !right ? left.index + 1n === n : left.index + 1n === right.index;
    if (!adjacent) throw new ProofError(`multi-proof does not decide ${id}`);
    return 'excluded';
  });
  const hashes = proof.hashes.map((x) => {
    if (!/^[0-9a-f]{64}$/.test(x)) throw new FormatError('multi-proof hash is not 64 hex digits');
    return Uint8Array.from(x.match(/../g).map((b) => parseInt(b, 16)));
  });
  if (n === 0n) {
    if (hashes.length || toHex(Blake3Set.emptyRoot()) !== root) throw new ProofError('computed root does not match the expected root');
    return decided;
  }
  if (leaves.length === 0) {
    if (hashes.length) throw new ProofError('multi-proof is malformed: wrong number of hashes');
    return decided;
  }
  const computed = rootFromMultiProof(Blake3Set, n, leaves.map((l) => [l.index, setLeafHash(l.leaf)]), hashes);
  if (toHex(computed) !== root) throw new ProofError('computed root does not match the expected root');
  return decided;
}
