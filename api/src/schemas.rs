//! OpenAPI schemas for JSON that the ledger itself serialises (set proofs, compliance bundles).
//! The ledger knows nothing of OpenAPI, so these mirror its JSON forms; tests validate the
//! ledger's real output against them, so a drift fails a test instead of misleading a client.

use ledger::set::SetLeaf;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A set leaf: `cid || size (u64 BE) || meta`, 72 bytes, in JSON.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SetLeafJson {
    /// `blake3:<64 hex>`.
    #[schema(pattern = "^blake3:[0-9a-f]{64}$")]
    pub cid: String,
    pub size: u64,
    /// BLAKE3 of the item's canonical metadata, or 64 zeros; 64 hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub meta: String,
}

impl From<SetLeaf> for SetLeafJson {
    fn from(l: SetLeaf) -> Self {
        SetLeafJson {
            cid: l.cid.to_string(),
            size: l.size,
            meta: l.meta.to_hex(),
        }
    }
}

/// A leaf, its index and its audit path (leaf side first, 64 hex each).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLeafProofJson {
    pub index: u64,
    pub leaf: SetLeafJson,
    pub path: Vec<String>,
}

/// Proof that a leaf is in a set of `tree_size` leaves.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetInclusionProofJson {
    pub tree_size: u64,
    pub index: u64,
    pub leaf: SetLeafJson,
    pub path: Vec<String>,
}

/// Proof that `id` is not in a set: its neighbours (`left` the greatest below, `right` the least
/// above; neither for an empty set).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetExclusionProofJson {
    #[schema(pattern = "^blake3:[0-9a-f]{64}$")]
    pub id: String,
    pub tree_size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<SetLeafProofJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<SetLeafProofJson>,
}

/// Either proof for one content id.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SetMembershipProofJson {
    Included(SetInclusionProofJson),
    Excluded(SetExclusionProofJson),
}

/// An entry (base64 of its bytes) and its C2SP tlog-proof.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleEntryJson {
    pub entry: String,
    pub proof: String,
}

/// The whole leaf list of an opt-out set.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptOutSetLeavesJson {
    pub leaves: Vec<SetLeafJson>,
}

/// A set proof of one (opt-out id, dataset version).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleSetProofJson {
    /// `publisher/dataset@version`.
    pub dataset: String,
    pub proof: SetMembershipProofJson,
}

/// A revealed leaf of a multi-proof and its index.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexedLeafJson {
    pub index: u64,
    pub leaf: SetLeafJson,
}

/// One proof deciding many ids in a set of `tree_size` leaves (rs_merkle's multi-proof layout):
/// each id's leaf or its two neighbours, by increasing index, and the helper hashes (64 hex).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMultiProofJson {
    pub tree_size: u64,
    pub leaves: Vec<IndexedLeafJson>,
    pub hashes: Vec<String>,
}

/// The multi-proof deciding every opted-out id in one dataset version.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleMultiProofJson {
    /// `publisher/dataset@version`.
    pub dataset: String,
    pub proof: SetMultiProofJson,
}

/// Everything needed to check a model checkpoint's compliance claim offline
/// (`prov verify compliance`): see DESIGN.md "Compliance".
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplianceBundleJson {
    /// The signed checkpoint every tlog-proof leads to.
    pub checkpoint: String,
    pub model_checkpoint: BundleEntryJson,
    pub datasets: Vec<BundleEntryJson>,
    pub optouts: Vec<BundleEntryJson>,
    #[serde(default)]
    pub optout_sets: Vec<OptOutSetLeavesJson>,
    /// The first layout: one proof per (id, dataset version); empty in bundles built now.
    #[serde(default)]
    pub set_proofs: Vec<BundleSetProofJson>,
    /// One multi-proof per dataset version for every opted-out id (absent when there is none).
    #[serde(default)]
    pub multi_proofs: Vec<BundleMultiProofJson>,
    /// The entry at index `optout_horizon - 1` (absent when the horizon is 0): its `time` is the
    /// time side of the verdict's horizon lag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon_entry: Option<BundleEntryJson>,
    /// One range proof per (dataset version with a source tree, site named by a signed
    /// `train-ai` opt-out below the horizon); absent when there is none (issue 13).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_proofs: Vec<BundleSourceProofJson>,
    /// The passage-tree leaves of every signed `train-ai` opt-out below the horizon that names
    /// `passages` (issue 14); absent when there is none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passage_optouts: Vec<BundlePassageOptOutJson>,
    /// One multi-range proof per (such opt-out, dataset version with a passage tree), over
    /// `Range::passage` of each distinct passage id of the opt-out; absent when there is none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passage_proofs: Vec<BundlePassageProofJson>,
}

/// An opt-out's passage tree, whole: its leaves must hash to the entry's `passages`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BundlePassageOptOutJson {
    /// The opt-out's log index.
    pub optout: u64,
    /// Its leaves in order, 128 hex each (`passage id || cid`).
    pub leaves: Vec<String>,
}

/// Where one opt-out's passages are in one dataset version's passage tree.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BundlePassageProofJson {
    /// The opt-out's log index.
    pub optout: u64,
    /// `publisher/dataset@version`.
    pub dataset: String,
    pub proof: RangeProofJson,
}

/// A range proof of what one dataset version's source tree holds from one site.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleSourceProofJson {
    /// `publisher/dataset@version`.
    pub dataset: String,
    /// The site, canonical: a domain or a URL prefix.
    pub site: String,
    pub proof: RangeProofJson,
}

// ---- Entry request bodies (docs/format-sets-entries.md, "Log entries"). For the schema only:
// the service hands the bytes to the ledger, which parses them (`ledger::entry::Entry`). ----

/// The `type` of a `publisher` entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PublisherType {
    Publisher,
}

/// The `type` of a `dataset_version` entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatasetVersionType {
    DatasetVersion,
}

/// The `type` of an `optout` entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OptOutType {
    Optout,
}

/// The `type` of a `model_checkpoint` entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelCheckpointType {
    ModelCheckpoint,
}

/// A signed `publisher` entry: binds `name` to `key` (first come; a key change is signed by the
/// old key).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublisherEntryJson {
    #[serde(rename = "type")]
    pub type_: PublisherType,
    /// Unix seconds, near the log's clock (`max_entry_skew_secs`).
    #[schema(maximum = 9007199254740991_u64)]
    pub time: u64,
    /// Makes otherwise identical entries differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, maximum = 9007199254740991_u64)]
    pub nonce: Option<u64>,
    /// The origin of the log the entry is for (the first line of its checkpoints).
    pub log: String,
    /// Ed25519 public key, standard base64.
    #[schema(pattern = "^[A-Za-z0-9+/]{43}=$")]
    pub signer: String,
    /// Ed25519 signature, standard base64 (docs/format-sets-entries.md, "Signature").
    #[schema(pattern = "^[A-Za-z0-9+/]{86}==$")]
    pub sig: String,
    /// The publisher's name.
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub name: String,
    /// The key bound to the name, standard base64.
    #[schema(pattern = "^[A-Za-z0-9+/]{43}=$")]
    pub key: String,
}

/// A signed `dataset_version` entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DatasetVersionEntryJson {
    #[serde(rename = "type")]
    pub type_: DatasetVersionType,
    #[schema(maximum = 9007199254740991_u64)]
    pub time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, maximum = 9007199254740991_u64)]
    pub nonce: Option<u64>,
    pub log: String,
    #[schema(pattern = "^[A-Za-z0-9+/]{43}=$")]
    pub signer: String,
    #[schema(pattern = "^[A-Za-z0-9+/]{86}==$")]
    pub sig: String,
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub publisher: String,
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub dataset: String,
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub version: String,
    /// The manifest set's root (stored here before the entry), 64 lowercase hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub manifest_root: String,
    #[schema(maximum = 9007199254740991_u64)]
    pub item_count: u64,
    #[schema(maximum = 9007199254740991_u64)]
    pub total_bytes: u64,
    /// `file`, `line`, `jsonl:<field>` or `parquet:<column>`.
    #[schema(pattern = "^(file|line|jsonl:.+|parquet:.+)$")]
    pub corpus_mode: String,
    /// SPDX expression, at most 256 bytes.
    #[schema(max_length = 256)]
    pub licence: String,
    /// The version this one follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub previous: Option<String>,
    /// The version's passage tree (issue 14): a tree stored (upload format `passages`) with
    /// this root and size before the entry (`passages-not-stored`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub passages: Option<SourcesJson>,
}

/// An opt-out set named whole by a signed `optout` entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OptOutSetRefJson {
    /// 64 lowercase hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub root: String,
    #[schema(maximum = 9007199254740991_u64)]
    pub size: u64,
}

/// An `optout` entry: signed, or anonymous (no `signer`, no `sig`, inline `ids` only). Exactly
/// one of `ids` and `set`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OptOutEntryJson {
    #[serde(rename = "type")]
    pub type_: OptOutType,
    #[schema(maximum = 9007199254740991_u64)]
    pub time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, maximum = 9007199254740991_u64)]
    pub nonce: Option<u64>,
    pub log: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, pattern = "^[A-Za-z0-9+/]{43}=$")]
    pub signer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, pattern = "^[A-Za-z0-9+/]{86}==$")]
    pub sig: Option<String>,
    /// Sorted, unique IETF aipref labels: `ai-use`, `search`, `train-ai`.
    #[schema(min_items = 1)]
    pub scope: Vec<String>,
    /// 1-64 sorted unique content ids, `blake3:<64 hex>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, min_items = 1, max_items = 64)]
    pub ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub set: Option<OptOutSetRefJson>,
    /// Signed only (`anonymous-passages`): a stored passage tree of the opted-out work(s), at
    /// most `max_optout_passages` leaves (`optout-passages-too-large`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub passages: Option<SourcesJson>,
}

/// A dataset version a model checkpoint was trained on, as logged.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DatasetRefJson {
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub publisher: String,
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub dataset: String,
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub version: String,
    /// The `dataset_version` entry's log index.
    #[schema(maximum = 9007199254740991_u64)]
    pub index: u64,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub manifest_root: String,
}

/// A signed `model_checkpoint` entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ModelCheckpointEntryJson {
    #[serde(rename = "type")]
    pub type_: ModelCheckpointType,
    #[schema(maximum = 9007199254740991_u64)]
    pub time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, maximum = 9007199254740991_u64)]
    pub nonce: Option<u64>,
    pub log: String,
    #[schema(pattern = "^[A-Za-z0-9+/]{43}=$")]
    pub signer: String,
    #[schema(pattern = "^[A-Za-z0-9+/]{86}==$")]
    pub sig: String,
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub publisher: String,
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub model: String,
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub checkpoint: String,
    /// The weight files' set (stored here before the entry), 64 lowercase hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub weights_root: String,
    #[schema(maximum = 9007199254740991_u64)]
    pub weights_count: u64,
    pub datasets: Vec<DatasetRefJson>,
    /// Every opt-out below this log index is claimed honoured.
    #[schema(maximum = 9007199254740991_u64)]
    pub optout_horizon: u64,
}

/// A signed entry of any type (docs/format-sets-entries.md), told apart by `type`. The service
/// canonicalises it (RFC 8785) before the ledger checks it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum EntryJson {
    Publisher(PublisherEntryJson),
    DatasetVersion(DatasetVersionEntryJson),
    OptOut(OptOutEntryJson),
    ModelCheckpoint(ModelCheckpointEntryJson),
}

/// A revealed leaf of a range proof and its index.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexedRangeLeafJson {
    pub index: u64,
    /// The leaf's bytes, lowercase hex (a source leaf: source key || 0x00 || 32-byte cid).
    #[schema(pattern = "^([0-9a-f]{2}){1,2048}$")]
    pub leaf: String,
}

/// A range proof over a range tree of `tree_size` leaves (docs/formats.md): the revealed leaves
/// by increasing index, and the helper hashes of their multi-proof (64 hex each).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeProofJson {
    pub tree_size: u64,
    pub leaves: Vec<IndexedRangeLeafJson>,
    pub hashes: Vec<String>,
}

/// A dataset version's source tree, or a passage tree: its root (64 hex) and number of leaves.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourcesJson {
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub root: String,
    pub size: u64,
}
