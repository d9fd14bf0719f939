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
}
