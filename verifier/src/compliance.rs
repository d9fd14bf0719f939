//! Compliance verification (DESIGN.md "Compliance"): does a model checkpoint's training data
//! exclude every opt-out recorded before its horizon?
//!
//! Two layers. [`decide`] is the pure decision over entries whose log inclusion is already
//! established: it checks that the dataset versions are the ones the checkpoint names, gathers
//! every id of every `train-ai` opt-out below the horizon, and for every (id, dataset version)
//! verifies the set proof against the version's manifest root and item count. A present id is a
//! violation; a missing or failing proof is an error, never a verdict. [`verify_bundle`] first
//! establishes the inputs from a [`ComplianceBundle`]: one signed checkpoint, and a tlog-proof
//! for each entry that verifies against that very checkpoint.
//!
//! ## Bundle JSON
//! ```text
//! {"checkpoint": "<signed checkpoint note>",
//!  "model_checkpoint": {"entry": "<entry bytes, base64>", "proof": "<tlog-proof text>"},
//!  "datasets": [<entry and proof>, ..],          // every dataset version the checkpoint names
//!  "optouts":  [<entry and proof>, ..],          // every optout entry with index < horizon
//!  "optout_sets": [{"leaves": [<set leaf>, ..]}, ..],   // whole opt-out sets named by root
//!  "set_proofs": [{"dataset": "publisher/dataset@version",
//!                  "proof": {"included": ..} | {"excluded": ..}}, ..],
//!  "multi_proofs": [{"dataset": "publisher/dataset@version",       // optional (since issue 11)
//!                    "proof": <set multi-proof>}, ..],
//!  "horizon_entry": <entry and proof>,                             // optional (since issue 11)
//!  "source_proofs": [{"dataset": "publisher/dataset@version",      // optional (since issue 13)
//!                     "site": "example.com", "proof": <range proof>}, ..],
//!  "passage_optouts": [{"optout": <log index>,                     // optional (since issue 14)
//!                       "leaves": ["<128 hex>", ..]}, ..],
//!  "passage_proofs": [{"optout": <log index>,                      // optional (since issue 14)
//!                      "dataset": "publisher/dataset@version", "proof": <range proof>}, ..]}
//! ```
//! Opt-out sets travel whole: the verifier recomputes each root, so no id can be left out. A
//! bundle can still omit an `optout` entry; [`bundle_optout_indices`] lets a verifier that reads
//! the entry tiles compare against every opt-out below the horizon.
//!
//! Two ways to decide the ids, and a verifier accepts both ("formats are forever"):
//! - `set_proofs` (the first layout): one inclusion or exclusion proof per (id, dataset version).
//! - `multi_proofs` (what the service builds now): ONE [`SetMultiProof`] per dataset version for
//!   every opted-out id at once. It reveals each id's leaf, or its two neighbours (an excluded
//!   id), and the fewest hashes that rebuild the manifest root. The verifier gathers the ids
//!   itself from the opt-outs (an id list in the bundle would only be one more thing to check)
//!   and recomputes the membership of every one of them from the proof; an id the proof does not
//!   decide is an error. A dataset version with a multi-proof must have no `set_proofs`.
//!
//! `horizon_entry` is the entry at index `horizon - 1` (absent when the horizon is 0), with its
//! tlog-proof: its `time` is the time side of the horizon lag that an offline verifier reports
//! ([`BundleReport::lag_seconds`]).
//!
//! ## Opt-outs by site (issue 13)
//! A signed `train-ai` opt-out below the horizon may name sites. For every such site and every
//! dataset version the checkpoint names:
//! - a version with a source tree (`sources`): exactly one `source_proofs` item for
//!   (version, site) must verify ([`verify_range`]) against the tree's root and size for
//!   [`Range::site`]; a count above 0 is a [`SiteViolation`] naming the revealed items, 0 is
//!   fine; missing, repeated or failing is an error. One proof serves every opt-out naming the
//!   site. A proof no opt-out asks for is refused too (one bundle, one meaning).
//! - a version without one: nothing can be proven either way: a [`SiteUnproven`] in the report
//!   (neither an error nor a violation).
//!
//! Whether the opt-out's signer controls the site is not in the log: the caller checks the key
//! the site publishes (SPEC13 section 5, `prov verify compliance` when online) and passes what
//! it learnt to [`BundleReport::conclude`] as [`SiteControl`]. Anonymous opt-outs naming sites
//! are refused by the sequencer (`anonymous-sites`); a bundle carrying one anyway gets no site
//! check for it (nobody could ever show control of its sites).
//!
//! ## Opt-outs by passage (issue 14)
//! A signed `train-ai` opt-out below the horizon may name a passage tree of the works it opts
//! out. The bundle carries its leaves and, per dataset version with a passage tree, one
//! multi-range proof of where its passages are; a passage found is a [`PassageViolation`], a
//! version without a passage tree a [`PassageUnchecked`] (the verdict does not change). The
//! rules, and which evidence a bundle must carry, are in [`passages`].
use std::collections::{BTreeSet, HashMap};

use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::entry::{
    DatasetKey, Entry, EntryBody, EntryError, EntryKind, ModelCheckpoint, OptOutIds, SetRef,
};
use crate::note::VerifierKey;
use crate::range::{verify_range, Range, RangeError, RangeProof};
use crate::set::{
    verify_multi, Membership, SetError, SetLeaf, SetMembershipProof, SetMultiProof, SortedSet,
};
use crate::source::Site;
use crate::tlog_proof::{TlogProof, TlogProofError};
use crate::types::{ContentId, LeafIndex, TreeSize};

pub mod passages;

pub use passages::{
    binding_passages, passage_ranges, required_passage_optouts, required_passage_proofs,
    BundlePassageOptOut, BundlePassageProof, PassageProofNeed, PassageUnchecked, PassageViolation,
    PASSAGE_REVEAL,
};

/// Why a bundle or decision input is refused: malformed or unverifiable, as opposed to a
/// verified violation, which is a [`Verdict`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ComplianceError {
    #[error("entry is not valid base64")]
    Base64,
    #[error("entry at index {index}: {source}")]
    Entry { index: u64, source: EntryError },
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("tlog-proof: {0}")]
    TlogProof(#[from] TlogProofError),
    #[error("tlog-proof of index {index} is against another checkpoint than the bundle's")]
    OtherCheckpoint { index: u64 },
    /// A v2 entry signed for another log than the checkpoint's: its signature binds it there,
    /// so only a log that skipped the sequencer's rule could hold it.
    #[error("entry at index {index} is signed for log {log:?}, not {origin:?}")]
    OtherLog {
        index: u64,
        log: String,
        origin: String,
    },
    #[error("entry at index {index} is a {found}, expected a {expected}")]
    WrongKind {
        index: u64,
        found: EntryKind,
        expected: EntryKind,
    },
    #[error("dataset version {dataset} named by the checkpoint is missing")]
    MissingDataset { dataset: String },
    #[error("dataset version at index {index} is not what the checkpoint names")]
    DatasetMismatch { index: u64 },
    #[error("optout at index {index} is not below the horizon {horizon}")]
    BeyondHorizon { index: u64, horizon: u64 },
    #[error("entry at index {index} appears twice")]
    Duplicate { index: u64 },
    #[error("opt-out set of the optout at index {index} is missing or does not match its root")]
    MissingOptOutSet { index: u64 },
    #[error("opt-out set: {0}")]
    OptOutSet(SetError),
    #[error("no set proof for {cid} (optout at index {optout_index}) in {dataset}")]
    MissingProof {
        optout_index: u64,
        cid: ContentId,
        dataset: String,
    },
    #[error("two set proofs for {cid} in {dataset}")]
    DuplicateProof { cid: ContentId, dataset: String },
    #[error("set proof for {cid} in {dataset}: {source}")]
    SetProof {
        cid: ContentId,
        dataset: String,
        source: Box<SetError>,
    },
    #[error("two multi-proofs for {dataset}")]
    DuplicateMultiProof { dataset: String },
    #[error("{dataset} has both a multi-proof and set proofs")]
    MixedProofs { dataset: String },
    #[error("multi-proof for {dataset}: {source}")]
    MultiProof {
        dataset: String,
        source: Box<SetError>,
    },
    #[error("set proofs or multi-proofs for {dataset}, which the checkpoint does not name")]
    UnnamedDataset { dataset: String },
    #[error("horizon entry at index {index} is not the entry just below the horizon {horizon}")]
    HorizonEntry { index: u64, horizon: u64 },
    #[error("no source proof for site {site} (optout at index {optout_index}) in {dataset}")]
    MissingSourceProof {
        optout_index: u64,
        site: String,
        dataset: String,
    },
    #[error("two source proofs for site {site} in {dataset}")]
    DuplicateSourceProof { site: String, dataset: String },
    #[error("source proof for site {site} in {dataset}, which no opt-out of the bundle asks for")]
    UnusedSourceProof { site: String, dataset: String },
    #[error("source proof for site {site} in {dataset}: {source}")]
    SourceProof {
        site: String,
        dataset: String,
        source: Box<RangeError>,
    },
    #[error("no passage leaves for the optout at index {index}")]
    MissingPassageOptOut { index: u64 },
    #[error("passage leaves for the optout at index {index} appear twice")]
    DuplicatePassageOptOut { index: u64 },
    #[error("passage leaves for the optout at index {index}, whose passages bind nothing here")]
    UnusedPassageOptOut { index: u64 },
    #[error(
        "passage leaves of the optout at index {index} do not hash to its passages root and size"
    )]
    PassageLeaves { index: u64 },
    #[error("no passage proof for the optout at index {optout_index} in {dataset}")]
    MissingPassageProof { optout_index: u64, dataset: String },
    #[error("two passage proofs for the optout at index {optout_index} in {dataset}")]
    DuplicatePassageProof { optout_index: u64, dataset: String },
    #[error("passage proof for the optout at index {optout_index} in {dataset}, which the bundle does not need")]
    UnusedPassageProof { optout_index: u64, dataset: String },
    #[error("passage proof for the optout at index {optout_index} in {dataset}: {source}")]
    PassageProof {
        optout_index: u64,
        dataset: String,
        source: Box<RangeError>,
    },
}

/// An entry whose position in the log is established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedEntry {
    pub index: LeafIndex,
    pub entry: Entry,
}

/// The outcome of a compliance check over verified inputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Compliant,
    /// Every opted-out id found in a dataset version, with which opt-out and which version; and
    /// every opted-out site with items in a dataset version (whether its opt-out binds depends
    /// on the signer's control of the site: [`BundleReport::conclude`]). Opted-out passages
    /// found are in [`BundleReport::passage_violations`] (both lists here are then empty if
    /// they are the only violations).
    Violated {
        violations: Vec<Violation>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        site_violations: Vec<SiteViolation>,
    },
}

/// Items from an opted-out site in a dataset version the checkpoint was trained on, proven by
/// a range proof over the version's source tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SiteViolation {
    pub optout_index: LeafIndex,
    pub site: Site,
    /// `publisher/dataset@version`.
    pub dataset: String,
    /// How many source leaves of the version fall under the site (proven, whatever was
    /// revealed).
    pub count: u64,
    /// The content ids of the revealed leaves, sorted and unique (all of them when the proof
    /// revealed every leaf: `count` leaves may name fewer ids, one item having many sources).
    pub cids: Vec<ContentId>,
    /// The opt-out's signer (standard base64, as entries write it): whose control of the site
    /// decides whether the opt-out binds.
    #[serde(serialize_with = "ser_key")]
    pub signer: VerifyingKey,
}

/// An opted-out site the verdict cannot decide for a dataset version: the version has no
/// source tree (logged before source trees, or published without metadata).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SiteUnproven {
    pub optout_index: LeafIndex,
    pub site: Site,
    pub dataset: String,
}

/// A signed `train-ai` opt-out below the horizon that names sites: what a caller checks
/// control of (the key each site publishes) before concluding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SiteOptOut {
    pub optout_index: LeafIndex,
    #[serde(serialize_with = "ser_key")]
    pub signer: VerifyingKey,
    pub sites: Vec<Site>,
}

/// What the caller learnt of one (site, signer): whether the site publishes the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// The site's key list names the signer: the opt-out binds.
    Verified,
    /// The site's key list was read and does not name the signer: the opt-out is ignored.
    NotAuthorised,
    /// Not checked (offline) or the site could not be reached: reported, never a violation.
    Unknown,
}

/// The caller's knowledge of who controls which site, for [`BundleReport::conclude`]. Empty
/// (every pair [`Control::Unknown`]) for an offline verifier: [`SiteControl::offline`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SiteControl {
    known: std::collections::BTreeMap<(String, [u8; 32]), Control>,
}

impl SiteControl {
    /// Nothing known: every site opt-out is unverified.
    pub fn offline() -> Self {
        Self::default()
    }

    /// Records what the caller learnt about `signer`'s control of `site`.
    pub fn set(&mut self, site: &Site, signer: &VerifyingKey, control: Control) {
        self.known
            .insert((site.to_string(), signer.to_bytes()), control);
    }

    /// What is known about `signer`'s control of `site`.
    pub fn get(&self, site: &Site, signer: &VerifyingKey) -> Control {
        self.known
            .get(&(site.to_string(), signer.to_bytes()))
            .copied()
            .unwrap_or(Control::Unknown)
    }
}

fn ser_key<S: serde::Serializer>(k: &VerifyingKey, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(k.as_bytes()))
}

/// One opted-out id present in one dataset version the checkpoint was trained on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Violation {
    pub optout_index: LeafIndex,
    pub cid: ContentId,
    /// `publisher/dataset@version`.
    pub dataset: String,
}

/// An entry and its tlog-proof, as a bundle carries them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEntry {
    /// The entry's bytes, standard base64.
    pub entry: String,
    /// A `c2sp.org/tlog-proof@v1` file.
    pub proof: String,
}

/// The whole leaf list of an opt-out set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptOutSetLeaves {
    pub leaves: Vec<SetLeaf>,
}

/// A set proof for one (id, dataset version); the id is inside the proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleSetProof {
    /// `publisher/dataset@version`.
    pub dataset: String,
    pub proof: SetMembershipProof,
}

/// One multi-proof deciding every opted-out id in one dataset version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleMultiProof {
    /// `publisher/dataset@version`.
    pub dataset: String,
    pub proof: SetMultiProof,
}

/// Everything a verifier needs, offline, to check one checkpoint entry's compliance claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceBundle {
    /// The signed checkpoint note every tlog-proof in the bundle leads to.
    pub checkpoint: String,
    pub model_checkpoint: BundleEntry,
    pub datasets: Vec<BundleEntry>,
    pub optouts: Vec<BundleEntry>,
    #[serde(default)]
    pub optout_sets: Vec<OptOutSetLeaves>,
    /// The first layout: one proof per (id, dataset version). Empty in new bundles.
    #[serde(default)]
    pub set_proofs: Vec<BundleSetProof>,
    /// One proof per dataset version for all ids (see the module docs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub multi_proofs: Vec<BundleMultiProof>,
    /// The entry at index `horizon - 1`, for the time side of the horizon lag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon_entry: Option<BundleEntry>,
    /// One range proof per (dataset version with a source tree, opted-out site) (see the module
    /// docs). Absent in bundles before issue 13.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_proofs: Vec<BundleSourceProof>,
    /// The leaves of each binding passage opt-out's tree ([`passages`]). Absent in bundles
    /// before issue 14.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passage_optouts: Vec<BundlePassageOptOut>,
    /// One multi-range proof per (binding passage opt-out, dataset version with a passage
    /// tree). Absent in bundles before issue 14.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passage_proofs: Vec<BundlePassageProof>,
}

/// A range proof of what one dataset version's source tree holds from one site.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleSourceProof {
    /// `publisher/dataset@version`.
    pub dataset: String,
    /// The site, canonical.
    pub site: Site,
    pub proof: RangeProof,
}

/// What a verified bundle establishes: the verdict over the opt-outs it carries, and the facts a
/// caller needs to say how far that verdict reaches (it says nothing about opt-outs the bundle
/// leaves out: compare [`BundleReport::optout_indices`] with the log's entry tiles).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleReport {
    pub verdict: Verdict,
    /// The `model_checkpoint` entry's index and `time`.
    pub model_index: LeafIndex,
    pub model_time: u64,
    /// Its `optout_horizon`: opt-outs at indexes below it are checked.
    pub horizon: u64,
    /// The size of the signed checkpoint every proof leads to.
    pub checkpoint_size: TreeSize,
    /// The `time` of the entry at `horizon - 1`, when the bundle carries it.
    pub horizon_time: Option<u64>,
    /// The indexes of the bundle's opt-outs.
    pub optout_indices: BTreeSet<LeafIndex>,
    /// Opted-out sites that dataset versions without a source tree cannot be checked for.
    pub sites_unproven: Vec<SiteUnproven>,
    /// The signed `train-ai` opt-outs below the horizon that name sites: whose control a caller
    /// checks before [`BundleReport::conclude`].
    pub site_optouts: Vec<SiteOptOut>,
    /// Opted-out passages found in dataset versions (any makes the verdict `Violated`).
    pub passage_violations: Vec<PassageViolation>,
    /// (Passage opt-out, dataset version without a passage tree) pairs: not checkable, and not
    /// a reason to refuse "compliant" (see [`passages`]); `prov verify compliance
    /// --require-passages` makes them an exit code of their own.
    pub passages_unchecked: Vec<PassageUnchecked>,
}

/// What a verdict amounts to once its reach is known, most serious first: a verified violation
/// (an opted-out id, or items from a site whose opt-out's signer the caller verified controls
/// it); a bundle that leaves out an opt-out of the log (`Incomplete`); items from opted-out
/// sites whose control nobody verified (`SiteUnverified`: reported, not a violation); opted-out
/// sites that a dataset version without a source tree cannot be checked for (`SitesUnproven`);
/// a horizon of 0 (`Vacuous`: nothing could be checked) unless the policy allows it; a horizon
/// lag over the policy's limit (or unknown, when there is a limit); compliant but not checked
/// for completeness (`NotChecked`); and compliant. The CLI and the explorer decide with this one
/// function. Site opt-outs whose signer the caller found not authorised count for nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    Violated,
    Incomplete,
    SiteUnverified,
    SitesUnproven,
    Vacuous,
    LagExceeded,
    NotChecked,
    Compliant,
}

/// What a caller asks of a verdict beyond the proofs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// The largest horizon lag in time accepted, in seconds.
    pub max_lag_seconds: Option<u64>,
    /// Accept a horizon of 0.
    pub allow_vacuous: bool,
}

impl BundleReport {
    /// The conclusion (see [`Conclusion`]). `complete`: `None` when completeness was not checked,
    /// else whether the log holds no opt-out below the horizon that the bundle leaves out.
    /// `lag_seconds`: from [`BundleReport::lag_seconds`]. `sites`: what the caller learnt of
    /// each site opt-out's control ([`SiteControl::offline`] when it checked nothing).
    pub fn conclude(
        &self,
        complete: Option<bool>,
        lag_seconds: Option<u64>,
        policy: &Policy,
        sites: &SiteControl,
    ) -> Conclusion {
        let (ids, site_violations): (&[Violation], &[SiteViolation]) = match &self.verdict {
            Verdict::Violated {
                violations,
                site_violations,
            } => (violations, site_violations),
            Verdict::Compliant => (&[], &[]),
        };
        let binding = |v: &SiteViolation| sites.get(&v.site, &v.signer);
        let unproven = self.sites_unproven.iter().any(|u| {
            self.site_optouts
                .iter()
                .filter(|o| o.optout_index == u.optout_index)
                .any(|o| sites.get(&u.site, &o.signer) != Control::NotAuthorised)
        });
        if !ids.is_empty()
            || !self.passage_violations.is_empty()
            || site_violations
                .iter()
                .any(|v| binding(v) == Control::Verified)
        {
            Conclusion::Violated
        } else if complete == Some(false) {
            Conclusion::Incomplete
        } else if site_violations
            .iter()
            .any(|v| binding(v) == Control::Unknown)
        {
            Conclusion::SiteUnverified
        } else if unproven {
            Conclusion::SitesUnproven
        } else if self.vacuous() && !policy.allow_vacuous {
            Conclusion::Vacuous
        } else if policy
            .max_lag_seconds
            .is_some_and(|max| lag_seconds.is_none_or(|lag| lag > max))
        {
            Conclusion::LagExceeded
        } else if complete.is_none() {
            Conclusion::NotChecked
        } else {
            Conclusion::Compliant
        }
    }

    /// Whether nothing could have been checked: no opt-out can be below a horizon of 0.
    pub fn vacuous(&self) -> bool {
        self.horizon == 0
    }

    /// Entries between the horizon and the checkpoint entry itself: opt-outs logged there are
    /// not covered by the verdict.
    pub fn lag_entries(&self) -> u64 {
        self.model_index.0.saturating_sub(self.horizon)
    }

    /// Seconds from the `time` of the last entry below the horizon (`horizon_time`, from the
    /// bundle or from the log's tiles) to the checkpoint entry's own `time`; `None` when the
    /// horizon is 0 or that time is unknown. A checkpoint entry older than that entry gives 0.
    pub fn lag_seconds(&self, horizon_time: Option<u64>) -> Option<u64> {
        horizon_time
            .filter(|_| self.horizon > 0)
            .map(|t| self.model_time.saturating_sub(t))
    }
}

impl BundleEntry {
    pub fn new(entry: &Entry, proof: &TlogProof) -> Self {
        BundleEntry {
            entry: base64::engine::general_purpose::STANDARD.encode(entry.as_bytes()),
            proof: proof.to_text(),
        }
    }
}

/// Verifies a bundle against the log's key and decides. Every entry must be valid and its
/// tlog-proof must verify against the bundle's own checkpoint; then see [`decide`].
pub fn verify_bundle(
    bundle: &ComplianceBundle,
    key: &VerifierKey,
) -> Result<Verdict, ComplianceError> {
    Ok(verify_bundle_report(bundle, key)?.verdict)
}

/// [`verify_bundle`], with what a caller needs to state the verdict's reach (horizon, lag).
pub fn verify_bundle_report(
    bundle: &ComplianceBundle,
    key: &VerifierKey,
) -> Result<BundleReport, ComplianceError> {
    let checkpoint = Checkpoint::verify(&bundle.checkpoint, key)?;
    let open = |b: &BundleEntry| open_entry(b, key, &checkpoint);
    let model = open(&bundle.model_checkpoint)?;
    let datasets = bundle
        .datasets
        .iter()
        .map(open)
        .collect::<Result<Vec<_>, _>>()?;
    let optouts = bundle
        .optouts
        .iter()
        .map(open)
        .collect::<Result<Vec<_>, _>>()?;
    let sets = bundle
        .optout_sets
        .iter()
        .map(|s| SortedSet::new(s.leaves.clone()).map_err(ComplianceError::OptOutSet))
        .collect::<Result<Vec<_>, _>>()?;
    let decision = decide_report(
        &model,
        &datasets,
        &optouts,
        &sets,
        &SetEvidence {
            proofs: &bundle.set_proofs,
            multi: &bundle.multi_proofs,
            sources: &bundle.source_proofs,
            passage_optouts: &bundle.passage_optouts,
            passages: &bundle.passage_proofs,
        },
    )?;
    let EntryBody::ModelCheckpoint(cp) = model.entry.body() else {
        return Err(wrong_kind(&model, EntryKind::ModelCheckpoint));
    };
    let horizon = cp.optout_horizon;
    let horizon_time = match &bundle.horizon_entry {
        None => None,
        Some(b) => {
            let e = open(b)?;
            if horizon == 0 || e.index.0 != horizon - 1 {
                return Err(ComplianceError::HorizonEntry {
                    index: e.index.0,
                    horizon,
                });
            }
            Some(e.entry.time())
        }
    };
    Ok(BundleReport {
        verdict: decision.verdict,
        model_index: model.index,
        model_time: model.entry.time(),
        horizon,
        checkpoint_size: checkpoint.size,
        horizon_time,
        optout_indices: optouts.iter().map(|o| o.index).collect(),
        sites_unproven: decision.sites_unproven,
        site_optouts: decision.site_optouts,
        passage_violations: decision.passage_violations,
        passages_unchecked: decision.passages_unchecked,
    })
}

/// The log indices of the bundle's `optout` entries, as their tlog-proofs state them (not
/// verified here: [`verify_bundle`] does that). A `--complete` check compares them with every
/// `optout` entry below the horizon found in the entry tiles.
pub fn bundle_optout_indices(
    bundle: &ComplianceBundle,
) -> Result<BTreeSet<LeafIndex>, ComplianceError> {
    bundle
        .optouts
        .iter()
        .map(|b| Ok(TlogProof::parse(&b.proof)?.index))
        .collect()
}

/// The set and range proofs of a bundle, in either layout (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct SetEvidence<'a> {
    pub proofs: &'a [BundleSetProof],
    pub multi: &'a [BundleMultiProof],
    /// Range proofs over source trees, for opt-outs by site.
    pub sources: &'a [BundleSourceProof],
    /// The leaves of passage opt-outs' trees, and multi-range proofs over passage trees.
    pub passage_optouts: &'a [BundlePassageOptOut],
    pub passages: &'a [BundlePassageProof],
}

/// The decision over entries whose log positions are established (see the module docs).
///
/// In steps, each refusing what it owns: `model_checkpoint`, `check_dataset_versions`,
/// `proof_table`, `optout_ids`, `multi_decisions`, `find_violations`, `site_decisions` and
/// `passages::passage_decisions`. The
/// order of the steps is the order in which errors are reported.
pub fn decide(
    model: &IndexedEntry,
    datasets: &[IndexedEntry],
    optouts: &[IndexedEntry],
    optout_sets: &[SortedSet],
    evidence: &SetEvidence<'_>,
) -> Result<Verdict, ComplianceError> {
    decide_report(model, datasets, optouts, optout_sets, evidence).map(|d| d.verdict)
}

/// What [`decide_report`] establishes beyond the verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub sites_unproven: Vec<SiteUnproven>,
    pub site_optouts: Vec<SiteOptOut>,
    pub passage_violations: Vec<PassageViolation>,
    pub passages_unchecked: Vec<PassageUnchecked>,
}

/// [`decide`], with the opted-out sites that could not be decided and the site opt-outs whose
/// control a caller checks.
pub fn decide_report(
    model: &IndexedEntry,
    datasets: &[IndexedEntry],
    optouts: &[IndexedEntry],
    optout_sets: &[SortedSet],
    evidence: &SetEvidence<'_>,
) -> Result<Decision, ComplianceError> {
    let cp = model_checkpoint(model)?;
    let versions = check_dataset_versions(cp, datasets)?;
    let table = proof_table(evidence.proofs)?;
    let (named, site_optouts) = optout_ids(cp, optouts, optout_sets)?;
    let decided = multi_decisions(&versions, &named, evidence)?;
    let mut violations = find_violations(&versions, &named, &table, &decided)?;
    let (site_violations, sites_unproven) =
        site_decisions(&versions, &site_optouts, evidence.sources)?;
    let (passage_violations, passages_unchecked) = passages::passage_decisions(
        &versions,
        optouts,
        evidence.passage_optouts,
        evidence.passages,
    )?;
    let verdict =
        if violations.is_empty() && site_violations.is_empty() && passage_violations.is_empty() {
            Verdict::Compliant
        } else {
            violations.sort();
            Verdict::Violated {
                violations,
                site_violations,
            }
        };
    Ok(Decision {
        verdict,
        sites_unproven,
        site_optouts,
        passage_violations,
        passages_unchecked,
    })
}

/// A dataset version the checkpoint names: its label, manifest root and item count, and its
/// source and passage trees if it has them.
struct Version {
    label: String,
    root: crate::types::Digest,
    size: TreeSize,
    sources: Option<SetRef>,
    passages: Option<SetRef>,
}

/// The ids one `train-ai` opt-out names, with its log index.
type NamedIds = (LeafIndex, Vec<ContentId>);

/// The model checkpoint's body, once the entry is one and valid at its index.
fn model_checkpoint(model: &IndexedEntry) -> Result<&ModelCheckpoint, ComplianceError> {
    let EntryBody::ModelCheckpoint(cp) = model.entry.body() else {
        return Err(wrong_kind(model, EntryKind::ModelCheckpoint));
    };
    model
        .entry
        .validate_at(model.index)
        .map_err(|source| ComplianceError::Entry {
            index: model.index.0,
            source,
        })?;
    Ok(cp)
}

/// The dataset versions: exactly those the checkpoint names, with the roots it names.
fn check_dataset_versions(
    cp: &ModelCheckpoint,
    datasets: &[IndexedEntry],
) -> Result<Vec<Version>, ComplianceError> {
    let mut versions = Vec::new();
    for r in &cp.datasets {
        let key = r.key().to_string();
        let found = datasets
            .iter()
            .find(|d| d.index == r.index)
            .ok_or_else(|| ComplianceError::MissingDataset {
                dataset: key.clone(),
            })?;
        let EntryBody::DatasetVersion(dv) = found.entry.body() else {
            return Err(wrong_kind(found, EntryKind::DatasetVersion));
        };
        if dv.key() != r.key() || dv.manifest_root != r.manifest_root {
            return Err(ComplianceError::DatasetMismatch {
                index: found.index.0,
            });
        }
        versions.push(Version {
            label: key,
            root: dv.manifest_root,
            size: TreeSize(dv.item_count),
            sources: dv.sources,
            passages: dv.passages,
        });
    }
    if let Some(extra) = datasets
        .iter()
        .find(|d| !cp.datasets.iter().any(|r| r.index == d.index))
    {
        return Err(ComplianceError::DatasetMismatch {
            index: extra.index.0,
        });
    }
    Ok(versions)
}

/// The per-id set proofs (the first layout) by (id, dataset version); at most one each.
fn proof_table(
    proofs: &[BundleSetProof],
) -> Result<HashMap<(ContentId, &str), &SetMembershipProof>, ComplianceError> {
    let mut table = HashMap::new();
    for p in proofs {
        if table
            .insert((p.proof.id(), p.dataset.as_str()), &p.proof)
            .is_some()
        {
            return Err(ComplianceError::DuplicateProof {
                cid: p.proof.id(),
                dataset: p.dataset.clone(),
            });
        }
    }
    Ok(table)
}

/// The ids each opt-out names (train-ai scope), in log order: every opt-out below the horizon,
/// each once; an opt-out set must be among `optout_sets`. And the signed train-ai opt-outs that
/// name sites.
fn optout_ids(
    cp: &ModelCheckpoint,
    optouts: &[IndexedEntry],
    optout_sets: &[SortedSet],
) -> Result<(Vec<NamedIds>, Vec<SiteOptOut>), ComplianceError> {
    let mut seen = BTreeSet::new();
    let mut named = Vec::new();
    let mut site_optouts = Vec::new();
    for o in optouts {
        let EntryBody::OptOut(opt) = o.entry.body() else {
            return Err(wrong_kind(o, EntryKind::OptOut));
        };
        if o.index.0 >= cp.optout_horizon {
            return Err(ComplianceError::BeyondHorizon {
                index: o.index.0,
                horizon: cp.optout_horizon,
            });
        }
        if !seen.insert(o.index) {
            return Err(ComplianceError::Duplicate { index: o.index.0 });
        }
        if !opt.covers_training() {
            continue;
        }
        if let (false, Some(signer)) = (opt.sites.is_empty(), o.entry.signer()) {
            site_optouts.push(SiteOptOut {
                optout_index: o.index,
                signer: *signer,
                sites: opt.sites.clone(),
            });
        }
        let ids: Vec<ContentId> = match &opt.ids {
            None => continue,
            Some(OptOutIds::Inline(ids)) => ids.clone(),
            Some(OptOutIds::Set { root, size }) => optout_sets
                .iter()
                .find(|s| s.root() == *root && s.size().0 == *size)
                .ok_or(ComplianceError::MissingOptOutSet { index: o.index.0 })?
                .leaves()
                .iter()
                .map(|l| l.cid)
                .collect(),
        };
        named.push((o.index, ids));
    }
    Ok((named, site_optouts))
}

/// Multi-proofs: at most one per dataset version the checkpoint names, and then no per-id
/// proof for that version. Each decides every opted-out id at once; the result maps a version's
/// label to the membership of each id.
fn multi_decisions<'v>(
    versions: &'v [Version],
    named: &[NamedIds],
    evidence: &SetEvidence<'_>,
) -> Result<HashMap<&'v str, HashMap<ContentId, Membership>>, ComplianceError> {
    let mut all_ids: Vec<ContentId> = named
        .iter()
        .flat_map(|(_, ids)| ids.iter().copied())
        .collect();
    all_ids.sort_unstable();
    all_ids.dedup();
    let mut decided: HashMap<&str, HashMap<ContentId, Membership>> = HashMap::new();
    for m in evidence.multi {
        let Some(v) = versions.iter().find(|v| v.label == m.dataset) else {
            return Err(ComplianceError::UnnamedDataset {
                dataset: m.dataset.clone(),
            });
        };
        if decided.contains_key(v.label.as_str()) {
            return Err(ComplianceError::DuplicateMultiProof {
                dataset: v.label.clone(),
            });
        }
        if evidence.proofs.iter().any(|p| p.dataset == v.label) {
            return Err(ComplianceError::MixedProofs {
                dataset: v.label.clone(),
            });
        }
        let got = verify_multi(&m.proof, &all_ids, &v.root, v.size).map_err(|source| {
            ComplianceError::MultiProof {
                dataset: v.label.clone(),
                source: Box::new(source),
            }
        })?;
        decided.insert(v.label.as_str(), all_ids.iter().copied().zip(got).collect());
    }
    Ok(decided)
}

/// Every (opt-out, id, dataset version) whose id the version's set holds, deciding each pair
/// from the version's multi-proof or else from its per-id proof (missing or failing: an error).
fn find_violations(
    versions: &[Version],
    named: &[NamedIds],
    table: &HashMap<(ContentId, &str), &SetMembershipProof>,
    decided: &HashMap<&str, HashMap<ContentId, Membership>>,
) -> Result<Vec<Violation>, ComplianceError> {
    let mut violations = Vec::new();
    for (optout_index, ids) in named {
        for &cid in ids {
            for v in versions {
                let m = if let Some(d) = decided.get(v.label.as_str()) {
                    // Every id of `all_ids` is decided (verify_multi fails otherwise).
                    *d.get(&cid).ok_or(ComplianceError::MultiProof {
                        dataset: v.label.clone(),
                        source: Box::new(SetError::Undecided { id: cid }),
                    })?
                } else {
                    let proof = table.get(&(cid, v.label.as_str())).ok_or_else(|| {
                        ComplianceError::MissingProof {
                            optout_index: optout_index.0,
                            cid,
                            dataset: v.label.clone(),
                        }
                    })?;
                    proof.verify(&cid, &v.root, v.size).map_err(|source| {
                        ComplianceError::SetProof {
                            cid,
                            dataset: v.label.clone(),
                            source: Box::new(source),
                        }
                    })?
                };
                if m == Membership::Included {
                    violations.push(Violation {
                        optout_index: *optout_index,
                        cid,
                        dataset: v.label.clone(),
                    });
                }
            }
        }
    }
    Ok(violations)
}

/// Every (site opt-out, site, dataset version): a range proof over the version's source tree
/// (a violation if the site has items there), or, for a version without one, unproven. Each
/// (version, site) proof is verified once, and every proof must be asked for.
#[allow(clippy::type_complexity)] // two lists out
fn site_decisions(
    versions: &[Version],
    site_optouts: &[SiteOptOut],
    proofs: &[BundleSourceProof],
) -> Result<(Vec<SiteViolation>, Vec<SiteUnproven>), ComplianceError> {
    let mut table: HashMap<(&str, &str), &RangeProof> = HashMap::new();
    for p in proofs {
        if !versions.iter().any(|v| v.label == p.dataset) {
            return Err(ComplianceError::UnnamedDataset {
                dataset: p.dataset.clone(),
            });
        }
        if table
            .insert((p.dataset.as_str(), p.site.as_str()), &p.proof)
            .is_some()
        {
            return Err(ComplianceError::DuplicateSourceProof {
                site: p.site.to_string(),
                dataset: p.dataset.clone(),
            });
        }
    }
    let mut verified: HashMap<(&str, &str), crate::range::RangeMembers> = HashMap::new();
    let (mut violations, mut unproven) = (Vec::new(), Vec::new());
    for o in site_optouts {
        for site in &o.sites {
            for v in versions {
                let Some(src) = v.sources else {
                    unproven.push(SiteUnproven {
                        optout_index: o.optout_index,
                        site: site.clone(),
                        dataset: v.label.clone(),
                    });
                    continue;
                };
                let key = (v.label.as_str(), site.as_str());
                let members = match verified.get(&key) {
                    Some(m) => m,
                    None => {
                        let proof =
                            table
                                .get(&key)
                                .ok_or_else(|| ComplianceError::MissingSourceProof {
                                    optout_index: o.optout_index.0,
                                    site: site.to_string(),
                                    dataset: v.label.clone(),
                                })?;
                        let m =
                            verify_range(&src.root, TreeSize(src.size), &Range::site(site), proof)
                                .map_err(|source| ComplianceError::SourceProof {
                                    site: site.to_string(),
                                    dataset: v.label.clone(),
                                    source: Box::new(source),
                                })?;
                        verified.entry(key).or_insert(m)
                    }
                };
                if members.count > 0 {
                    let mut cids: Vec<ContentId> = members
                        .revealed
                        .iter()
                        .filter_map(|(_, leaf)| leaf.split_source().map(|(_, cid)| cid))
                        .collect();
                    cids.sort_unstable();
                    cids.dedup();
                    violations.push(SiteViolation {
                        optout_index: o.optout_index,
                        site: site.clone(),
                        dataset: v.label.clone(),
                        count: members.count,
                        cids,
                        signer: o.signer,
                    });
                }
            }
        }
    }
    if let Some(p) = proofs
        .iter()
        .find(|p| !verified.contains_key(&(p.dataset.as_str(), p.site.as_str())))
    {
        return Err(ComplianceError::UnusedSourceProof {
            site: p.site.to_string(),
            dataset: p.dataset.clone(),
        });
    }
    violations.sort_by(|a, b| {
        (a.optout_index, &a.dataset, a.site.as_str()).cmp(&(
            b.optout_index,
            &b.dataset,
            b.site.as_str(),
        ))
    });
    unproven.sort();
    Ok((violations, unproven))
}

/// The dataset key of an entry as bundles write it, for callers assembling set proofs.
pub fn dataset_label(key: &DatasetKey) -> String {
    key.to_string()
}

fn open_entry(
    b: &BundleEntry,
    key: &VerifierKey,
    checkpoint: &Checkpoint,
) -> Result<IndexedEntry, ComplianceError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&b.entry)
        .map_err(|_| ComplianceError::Base64)?;
    let proof = TlogProof::parse(&b.proof)?;
    let index = proof.index;
    if proof.verify(key, &bytes)? != *checkpoint {
        return Err(ComplianceError::OtherCheckpoint { index: index.0 });
    }
    let entry = Entry::from_bytes(&bytes).map_err(|source| ComplianceError::Entry {
        index: index.0,
        source,
    })?;
    if let Some(log) = entry.log() {
        if log != checkpoint.origin {
            return Err(ComplianceError::OtherLog {
                index: index.0,
                log: log.to_string(),
                origin: checkpoint.origin.clone(),
            });
        }
    }
    Ok(IndexedEntry { index, entry })
}

fn wrong_kind(e: &IndexedEntry, expected: EntryKind) -> ComplianceError {
    ComplianceError::WrongKind {
        index: e.index.0,
        found: e.entry.kind(),
        expected,
    }
}
