// Compliance bundles (DESIGN.md "Compliance"; the same rules as ledger/src/compliance.rs): one
// signed checkpoint; each entry with a tlog-proof that leads to that very checkpoint; every opt-out
// set whole; and for every opted-out id (train-ai scope) and every dataset version the checkpoint
// names, the set proof against that version's manifest root and item count. An included id is a
// violation; a missing or failing proof is an error, never a verdict.
//
//   verifyComplianceBundle(bundle, vkey) -> {verdict: 'compliant'} | {verdict: 'violated', violations}
//   (throws for anything that does not verify)

import { FormatError, compare, fromBase64, fromUtf8, toHex } from './bytes.js';
import { verifyCheckpoint } from './note.js';
import { parseTlogProof, verifyTlogProof } from './tlogproof.js';
import { verifyEntrySignature } from './entry.js';
import { verifyMembershipJson, setLeafHash, parseCid } from './set.js';
import { Blake3Set, ProofError, rootOfLeafHashes } from './merkle.js';

export class ComplianceError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ComplianceError';
  }
}

const datasetLabel = (d) => `${d.publisher}/${d.dataset}@${d.version}`;

function openEntry(b, key, checkpointText) {
  const bytes = fromBase64(b.entry);
  const p = parseTlogProof(b.proof);
  if (p.checkpoint !== checkpointText) throw new ComplianceError(`tlog-proof of index ${p.index} is against another checkpoint than the bundle's`);
  verifyTlogProof(b.proof, key, { entry: bytes });
  const entry = JSON.parse(fromUtf8(bytes));
  verifyEntrySignature(entry);
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
  const open = (b) => openEntry(b, vkey, bundle.checkpoint);
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
    versions.push({ label: datasetLabel(r), root: dv.manifest_root, size: dv.item_count });
  }
  for (const d of datasets) {
    if (!m.datasets.some((r) => BigInt(r.index) === d.index)) throw new ComplianceError(`dataset version at index ${d.index} is not named by the checkpoint`);
  }

  const table = new Map();
  for (const p of bundle.set_proofs ?? []) {
    const id = p.proof?.included ? p.proof.included.leaf.cid : p.proof?.excluded?.id;
    const k = `${id} ${p.dataset}`;
    if (table.has(k)) throw new ComplianceError(`two set proofs for ${id} in ${p.dataset}`);
    table.set(k, p.proof);
  }
  const sets = (bundle.optout_sets ?? []).map((s) => ({ root: setRoot(s.leaves), size: s.leaves.length, leaves: s.leaves }));

  const seen = new Set();
  const violations = [];
  for (const o of optouts) {
    const e = o.entry;
    if (e.type !== 'optout') throw new ComplianceError(`entry ${o.index} is not an opt-out`);
    if (o.index >= BigInt(m.optout_horizon)) throw new ComplianceError(`opt-out at index ${o.index} is not below the horizon`);
    if (seen.has(o.index)) throw new ComplianceError(`entry at index ${o.index} appears twice`);
    seen.add(o.index);
    if (!(e.scope ?? []).includes('train-ai')) continue;
    let ids;
    if (e.ids) ids = e.ids;
    else {
      const s = sets.find((x) => x.root === e.set.root && x.size === e.set.size);
      if (!s) throw new ComplianceError(`opt-out set of the opt-out at index ${o.index} is missing or does not match its root`);
      ids = s.leaves.map((l) => l.cid);
    }
    for (const cid of ids) {
      for (const v of versions) {
        const proof = table.get(`${cid} ${v.label}`);
        if (!proof) throw new ComplianceError(`no set proof for ${cid} (opt-out at index ${o.index}) in ${v.label}`);
        let r;
        try {
          r = verifyMembershipJson(proof, { cid, root: v.root, size: v.size });
        } catch (err) {
          throw new ProofError(`set proof for ${cid} in ${v.label}: ${err.message}`);
        }
        if (r.membership === 'included') violations.push({ optout_index: Number(o.index), cid, dataset: v.label });
      }
    }
  }
  return violations.length ? { verdict: 'violated', violations, checkpoint: cp } : { verdict: 'compliant', violations: [], checkpoint: cp };
}
