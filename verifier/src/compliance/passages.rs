//! Opt-outs by passage in compliance bundles (issue 14; docs/format-sets-entries.md, "Compliance
//! bundle"). One owner of the rule saying which passage evidence a bundle must carry: the ledger
//! that assembles bundles calls [`required_passage_optouts`] and [`required_passage_proofs`],
//! and [`super::decide_report`] checks a bundle against the very same plan.
//!
//! An opt-out's passages **bind** a checkpoint when the opt-out is signed, covers `train-ai`,
//! and names a passage tree ([`binding_passages`]); an unsigned one's passages are ignored (the
//! sequencer refuses them, `anonymous-passages`; a verifier must not trust that it did). For
//! every binding opt-out below the horizon the bundle carries:
//! - `passage_optouts`: the opt-out tree's leaves, which must hash to its `passages` root and
//!   size (a range tree: sorted, unique);
//! - `passage_proofs`: for every dataset version the checkpoint names that has a passage tree,
//!   one multi-range proof ([`crate::range::verify_ranges`]) over [`Range::passage`] of each
//!   distinct passage id of the opt-out's leaves. A passage with members in the version's tree
//!   is a [`PassageViolation`] (one per opt-out leaf, i.e. per work naming the passage).
//!
//! A version without a passage tree is a [`PassageUnchecked`]: reported, verdict unchanged. The
//! tree is publisher-declared (the log has no texts to recompute it), so a verifier cannot tell
//! an absent tree from a dishonest one; refusing "compliant" for absence would let any key jam
//! every text model while adding no assurance. The work's cid in the opt-out's `ids` keeps
//! exact copies covered either way.
//!
//! Missing, repeated, unrequested or failing evidence is an error, never a smaller set of
//! violations.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{ComplianceError, IndexedEntry, Version};
use crate::entry::{Entry, EntryBody, SetRef};
use crate::range::{verify_ranges, Range, RangeLeaf, RangeProof, RangeRootBuilder};
use crate::types::{ContentId, LeafIndex, TreeSize};

/// How many leaves per passage range the service reveals in a bundle's passage proofs (the
/// count is proven whatever is revealed).
pub const PASSAGE_REVEAL: u64 = 16;

/// The leaves of one opt-out's passage tree, as a bundle carries them. JSON
/// `{"optout": <log index>, "leaves": ["<128 hex>", ..]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundlePassageOptOut {
    /// The opt-out's log index.
    pub optout: LeafIndex,
    /// Every leaf of its passage tree, in order.
    pub leaves: Vec<RangeLeaf>,
}

/// One multi-range proof of where one opt-out's passages are in one dataset version's passage
/// tree. JSON `{"optout": <log index>, "dataset": "p/d@v", "proof": <range proof>}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundlePassageProof {
    pub optout: LeafIndex,
    /// `publisher/dataset@version`.
    pub dataset: String,
    pub proof: RangeProof,
}

/// An opted-out work's passage found in a dataset version the checkpoint was trained on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PassageViolation {
    pub optout_index: LeafIndex,
    /// `publisher/dataset@version`.
    pub dataset: String,
    /// The opted-out work (the cid of its opt-out leaf).
    pub work: ContentId,
    /// The passage id.
    pub passage: ContentId,
    /// The items of the version holding the passage that the proof revealed, sorted and unique
    /// (all of them when `count` is at most the reveal).
    pub items: Vec<ContentId>,
    /// How many leaves of the version's passage tree hold the passage (proven).
    pub count: u64,
}

/// A binding passage opt-out that a dataset version cannot be checked for: the version has no
/// passage tree. Reported; the verdict does not change (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PassageUnchecked {
    pub optout_index: LeafIndex,
    pub dataset: String,
}

/// One passage proof a bundle must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassageProofNeed {
    /// The opt-out's log index and its passage tree.
    pub optout: LeafIndex,
    pub optout_passages: SetRef,
    /// `publisher/dataset@version`, and the version's passage tree the proof is over.
    pub dataset: String,
    pub tree: SetRef,
}

/// The passage tree by which an opt-out binds a model checkpoint: its `passages`, when it is
/// signed and covers `train-ai`; `None` otherwise (and for any other entry).
pub fn binding_passages(entry: &Entry) -> Option<SetRef> {
    match entry.body() {
        EntryBody::OptOut(o) if o.covers_training() && entry.signer().is_some() => o.passages,
        _ => None,
    }
}

/// The opt-outs (among `optouts`, those below the horizon) whose passage-tree leaves a bundle
/// must carry in `passage_optouts`, in log order of the slice.
pub fn required_passage_optouts(optouts: &[IndexedEntry]) -> Vec<(LeafIndex, SetRef)> {
    optouts
        .iter()
        .filter_map(|o| binding_passages(&o.entry).map(|p| (o.index, p)))
        .collect()
}

/// The passage proofs a bundle must carry in `passage_proofs`: for every opt-out of
/// [`required_passage_optouts`] and every dataset version among `datasets` with a passage tree,
/// one proof (by opt-out, then by the order of `datasets`). Make each with
/// [`crate::range::range_multi_proof`] over [`passage_ranges`] of the opt-out's leaves, reveal
/// [`PASSAGE_REVEAL`].
pub fn required_passage_proofs(
    datasets: &[IndexedEntry],
    optouts: &[IndexedEntry],
) -> Vec<PassageProofNeed> {
    let versions: Vec<(String, Option<SetRef>)> = datasets
        .iter()
        .filter_map(|d| match d.entry.body() {
            EntryBody::DatasetVersion(v) => Some((v.key().to_string(), v.passages)),
            _ => None,
        })
        .collect();
    plan(&versions, optouts).1
}

/// The ranges a passage proof covers for an opt-out's leaves: [`Range::passage`] of each
/// distinct passage id, sorted (what [`verify_ranges`] wants). Leaves that are not 64 bytes name
/// no passage and are skipped (the upload format admits none).
pub fn passage_ranges(leaves: &[RangeLeaf]) -> Vec<Range> {
    works_by_passage(leaves)
        .iter()
        .map(|(pid, _)| Range::passage(pid))
        .collect()
}

/// Every binding opt-out, the proofs the bundle needs, and the (opt-out, version) pairs that
/// cannot be checked.
type Plan = (
    Vec<(LeafIndex, SetRef)>,
    Vec<PassageProofNeed>,
    Vec<PassageUnchecked>,
);

fn plan(versions: &[(String, Option<SetRef>)], optouts: &[IndexedEntry]) -> Plan {
    let binding = required_passage_optouts(optouts);
    let (mut needs, mut unchecked) = (Vec::new(), Vec::new());
    for &(optout, optout_passages) in &binding {
        for (dataset, tree) in versions {
            match tree {
                Some(tree) => needs.push(PassageProofNeed {
                    optout,
                    optout_passages,
                    dataset: dataset.clone(),
                    tree: *tree,
                }),
                None => unchecked.push(PassageUnchecked {
                    optout_index: optout,
                    dataset: dataset.clone(),
                }),
            }
        }
    }
    (binding, needs, unchecked)
}

/// The distinct passage ids of sorted leaves, each with the works naming it.
fn works_by_passage(leaves: &[RangeLeaf]) -> Vec<(ContentId, Vec<ContentId>)> {
    let mut out: Vec<(ContentId, Vec<ContentId>)> = Vec::new();
    for (pid, work) in leaves.iter().filter_map(RangeLeaf::split_passage) {
        match out.last_mut() {
            Some((last, works)) if *last == pid => works.push(work),
            _ => out.push((pid, vec![work])),
        }
    }
    out
}

/// The passage violations and unchecked versions of a bundle (see the module docs).
#[allow(clippy::type_complexity)] // two lists out
pub(super) fn passage_decisions(
    versions: &[Version],
    optouts: &[IndexedEntry],
    leaves: &[BundlePassageOptOut],
    proofs: &[BundlePassageProof],
) -> Result<(Vec<PassageViolation>, Vec<PassageUnchecked>), ComplianceError> {
    let labelled: Vec<(String, Option<SetRef>)> = versions
        .iter()
        .map(|v| (v.label.clone(), v.passages))
        .collect();
    let (binding, needs, mut unchecked) = plan(&labelled, optouts);

    let mut trees: HashMap<LeafIndex, &[RangeLeaf]> = HashMap::new();
    for b in leaves {
        let Some(&(_, want)) = binding.iter().find(|(i, _)| *i == b.optout) else {
            return Err(ComplianceError::UnusedPassageOptOut { index: b.optout.0 });
        };
        if trees.insert(b.optout, &b.leaves).is_some() {
            return Err(ComplianceError::DuplicatePassageOptOut { index: b.optout.0 });
        }
        let mut root = RangeRootBuilder::new();
        for l in &b.leaves {
            root.push(l)
                .map_err(|_| ComplianceError::PassageLeaves { index: b.optout.0 })?;
        }
        if root.root() != want.root || root.size().0 != want.size {
            return Err(ComplianceError::PassageLeaves { index: b.optout.0 });
        }
    }
    if let Some((index, _)) = binding.iter().find(|(i, _)| !trees.contains_key(i)) {
        return Err(ComplianceError::MissingPassageOptOut { index: index.0 });
    }

    let mut table: HashMap<(LeafIndex, &str), &RangeProof> = HashMap::new();
    for p in proofs {
        if !versions.iter().any(|v| v.label == p.dataset) {
            return Err(ComplianceError::UnnamedDataset {
                dataset: p.dataset.clone(),
            });
        }
        if !needs
            .iter()
            .any(|n| n.optout == p.optout && n.dataset == p.dataset)
        {
            return Err(ComplianceError::UnusedPassageProof {
                optout_index: p.optout.0,
                dataset: p.dataset.clone(),
            });
        }
        if table
            .insert((p.optout, p.dataset.as_str()), &p.proof)
            .is_some()
        {
            return Err(ComplianceError::DuplicatePassageProof {
                optout_index: p.optout.0,
                dataset: p.dataset.clone(),
            });
        }
    }

    let mut violations = Vec::new();
    for need in &needs {
        let proof = table
            .get(&(need.optout, need.dataset.as_str()))
            .ok_or_else(|| ComplianceError::MissingPassageProof {
                optout_index: need.optout.0,
                dataset: need.dataset.clone(),
            })?;
        // Present: every binding opt-out's leaves were checked above.
        let works = works_by_passage(trees.get(&need.optout).copied().unwrap_or_default());
        let ranges: Vec<Range> = works.iter().map(|(pid, _)| Range::passage(pid)).collect();
        let members = verify_ranges(&need.tree.root, TreeSize(need.tree.size), &ranges, proof)
            .map_err(|source| ComplianceError::PassageProof {
                optout_index: need.optout.0,
                dataset: need.dataset.clone(),
                source: Box::new(source),
            })?;
        for ((pid, ws), m) in works.iter().zip(&members) {
            if m.count == 0 {
                continue;
            }
            let mut items: Vec<ContentId> = m
                .revealed
                .iter()
                .filter_map(|(_, leaf)| leaf.split_passage().map(|(_, cid)| cid))
                .collect();
            items.sort_unstable();
            items.dedup();
            for work in ws {
                violations.push(PassageViolation {
                    optout_index: need.optout,
                    dataset: need.dataset.clone(),
                    work: *work,
                    passage: *pid,
                    items: items.clone(),
                    count: m.count,
                });
            }
        }
    }
    violations.sort();
    unchecked.sort();
    Ok((violations, unchecked))
}

#[cfg(test)]
mod tests;
