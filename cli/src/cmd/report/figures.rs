//! The figures of a training summary, computed from committed data only: a dataset version's
//! entry (verified against the log's key), its manifest set streamed from the read API with
//! each leaf's metadata (`GET /v1/sets/{root}/leaves?meta=true`), the set's root and size
//! recomputed from those leaves and each leaf's metadata checked against the digest the leaf
//! commits. Nothing the service derives on its own (`/stats`) is trusted.
//!
//! Counting is the service's `/stats`, by the same code (`verifier::set::stats::StatsBuilder`,
//! definition in docs/api.md, "Statistics"), except that every host is kept (the summary counts
//! domains and lists the top 10 %).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use verifier::set::meta::LeafMeta;
use verifier::set::stats::StatsBuilder;
pub use verifier::set::stats::{Counts, Tally};
use verifier::set::SetRootBuilder;
use verifier::source::SourceKey;
use verifier::{Digest, VerifierKey};

use crate::cmd::proof::verified_dataset_version;
use crate::exit::{Exit, Failure, OrExit};
use crate::logread;
use crate::mirror::Routes;

/// A committed set: its root and size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRefJson {
    pub root: String,
    pub size: u64,
}

/// One dataset version's figures, each derived from the entry at `entry_index` and the manifest
/// set `manifest_root` it commits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetFigures {
    /// `publisher/dataset@version`.
    pub dataset: String,
    pub entry_index: u64,
    pub manifest_root: String,
    /// Distinct contents (the manifest set's size).
    pub items: u64,
    /// The sum of their sizes (the entry's `total_bytes`, recomputed).
    pub bytes: u64,
    /// The source tree the entry commits, when it has one.
    pub sources: Option<SetRefJson>,
    /// Leaves with metadata.
    pub items_with_metadata: u64,
    pub licences: Vec<Tally>,
    pub consent: Vec<Tally>,
    /// Distinct hosts (domain names) of the version's sources.
    pub domains: u64,
    /// The version's figures for the domain names the summary lists (2.3), largest first.
    pub hosts: Vec<Tally>,
    pub no_source: Counts,
}

/// Computes a dataset version's figures: verifies its entry (index `index`, which must commit
/// `want_root`), streams its leaves with metadata and checks them against what it commits.
pub fn dataset_figures(
    client: &impl Routes,
    key: &VerifierKey,
    index: u64,
    want_root: &Digest,
) -> Result<DatasetFigures, Failure> {
    let dv = verified_dataset_version(client, key, index)?;
    let label = dv.key().to_string();
    if &dv.manifest_root != want_root {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "{label} (entry {index}) commits another manifest root than the checkpoint names"
            ),
        ));
    }
    let root_hex = dv.manifest_root.to_hex();
    let mut builder = SetRootBuilder::new();
    let mut bytes = 0u64;
    let mut with_meta = 0u64;
    let mut stats = StatsBuilder::with_max_hosts(usize::MAX);
    // (source key, cid) -> size: the source leaves.
    let mut source_leaves: BTreeMap<(SourceKey, [u8; 32]), u64> = BTreeMap::new();
    let found = logread::set_leaves_with_meta(client.leaves(), &dv.manifest_root, |item| {
        let (leaf, n) = (&item.leaf, builder.size().0);
        builder.push(leaf).or_exit(
            Exit::Invalid,
            format!("{label}: the leaves served are not the committed set"),
        )?;
        bytes = bytes.saturating_add(leaf.size);
        match item.metadata() {
            Some(m) => {
                let meta = LeafMeta::verified(m, &leaf.meta)
                    .or_exit(Exit::Invalid, format!("{label}: leaf {n} ({})", leaf.cid))?;
                with_meta += 1;
                stats.add_leaf(leaf.size, &meta);
                for key in meta.source_keys() {
                    source_leaves.insert((key, leaf.cid.0), leaf.size);
                }
            }
            None if leaf.meta != Digest::default() => {
                return Err(Failure::msg(
                    Exit::Server,
                    format!(
                        "{label}: leaf {n} ({}) commits metadata the server does not serve",
                        leaf.cid
                    ),
                ))
            }
            None => {}
        }
        Ok(true)
    })?;
    if !found {
        return Err(Failure::msg(
            Exit::Server,
            format!("{label}: the server does not have its manifest set {root_hex}"),
        ));
    }
    if builder.root() != dv.manifest_root || builder.size().0 != dv.item_count {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "{label}: the leaves served hash to {} ({} leaves), not the committed {} ({} leaves)",
                builder.root(),
                builder.size(),
                dv.manifest_root,
                dv.item_count
            ),
        ));
    }
    if bytes != dv.total_bytes {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "{label}: the leaves' sizes add up to {bytes} bytes, the entry says {}",
                dv.total_bytes
            ),
        ));
    }
    let sources = crate::cmd::report::sources::check_source_tree(&label, &dv, &source_leaves)?;
    // The statistics' hosts come grouped by host.
    let mut by_host: Vec<(String, u64)> = Vec::with_capacity(source_leaves.len());
    for ((key, _), size) in &source_leaves {
        match key.host() {
            Some(h) => by_host.push((h, *size)),
            None => stats.add_no_source(*size),
        }
    }
    by_host.sort();
    for (h, size) in &by_host {
        stats.add_host_leaf(h, *size);
    }
    let stats = stats.finish();
    Ok(DatasetFigures {
        dataset: label,
        entry_index: index,
        manifest_root: root_hex,
        items: dv.item_count,
        bytes,
        sources,
        items_with_metadata: with_meta,
        domains: stats.hosts.len() as u64,
        licences: stats.licences,
        consent: stats.consent,
        hosts: stats.hosts,
        no_source: stats.no_source,
    })
}
