//! The figures of a training summary, computed from committed data only: a dataset version's
//! entry (verified against the log's key), its manifest set streamed from the read API with
//! each leaf's metadata (`GET /v1/sets/{root}/leaves?meta=true`), the set's root and size
//! recomputed from those leaves and each leaf's metadata checked against the digest the leaf
//! commits. Nothing the service derives on its own (`/stats`) is trusted.
//!
//! Counting (the same as the service's `/stats`, docs/api.md):
//! - licences (and consent signals): per distinct `license` (`consent`) value among a leaf's
//!   source entries, `(none)` for an entry without one: the leaves carrying it and the sum of
//!   their sizes. A leaf whose entries name two licences counts under both.
//! - hosts: per host of the source tree (the host part of each source key, `www.` kept, no port):
//!   the source leaves (distinct (source key, content) pairs, what a range proof over the host
//!   counts) and the sum of their contents' sizes; `no_source`: the leaves under the no-source
//!   key.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use verifier::entry::EntryBody;
use verifier::set::{SetLeaf, SetRootBuilder};
use verifier::source::source_key;
use verifier::{Digest, VerifierKey};

use crate::client::Client;
use crate::cmd::proof::verified_entry;
use crate::exit::{Exit, Failure, OrExit};

/// Items and bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub items: u64,
    pub bytes: u64,
}

impl Counts {
    fn add(&mut self, bytes: u64) {
        self.items += 1;
        self.bytes = self.bytes.saturating_add(bytes);
    }
}

/// Items and bytes of one value (a licence, a consent signal, a host).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub value: String,
    pub items: u64,
    pub bytes: u64,
}

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

/// `(none)`: an item whose metadata has no value for the key.
pub const NONE: &str = "(none)";

/// Computes a dataset version's figures: verifies its entry (index `index`, which must commit
/// `want_root`), streams its leaves with metadata and checks them against what it commits.
pub fn dataset_figures(
    client: &Client,
    key: &VerifierKey,
    index: u64,
    want_root: &Digest,
) -> Result<DatasetFigures, Failure> {
    let ve = verified_entry(client, key, index)?;
    let EntryBody::DatasetVersion(dv) = ve.entry.body() else {
        return Err(Failure::msg(
            Exit::Invalid,
            format!("entry {index} is not a dataset_version"),
        ));
    };
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
    let mut licences: BTreeMap<String, Counts> = BTreeMap::new();
    let mut consent: BTreeMap<String, Counts> = BTreeMap::new();
    // (source key, cid) -> size: the source leaves.
    let mut source_leaves: BTreeMap<(String, [u8; 32]), u64> = BTreeMap::new();
    let mut offset = 0u64;
    loop {
        let path = format!("/v1/sets/{root_hex}/leaves?meta=true&offset={offset}&limit=10000");
        let page: Value = client.get_json(&path)?;
        let items = page
            .get("items")
            .and_then(Value::as_array)
            .ok_or_else(|| Failure::msg(Exit::Server, format!("GET {path}: no items")))?;
        for item in items {
            let n = builder.size().0;
            let (leaf, meta) = parse_item(item)
                .map_err(|e| Failure::msg(Exit::Server, format!("{label}: leaf {n}: {e}")))?;
            builder.push(&leaf).or_exit(
                Exit::Invalid,
                format!("{label}: the leaves served are not the committed set"),
            )?;
            bytes = bytes.saturating_add(leaf.size);
            let entries = match &meta {
                Some(m) => {
                    check_meta_digest(m, &leaf.meta).map_err(|e| {
                        Failure::msg(
                            Exit::Invalid,
                            format!("{label}: leaf {n} ({}): {e}", leaf.cid),
                        )
                    })?;
                    with_meta += 1;
                    source_entries(m)
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
                None => Vec::new(),
            };
            if entries.is_empty() {
                continue;
            }
            let mut ls = BTreeSet::new();
            let mut cs = BTreeSet::new();
            for e in &entries {
                ls.insert(text(e.get("license")).unwrap_or_else(|| NONE.into()));
                cs.insert(text(e.get("consent")).unwrap_or_else(|| NONE.into()));
                let key = e
                    .get("source")
                    .and_then(Value::as_str)
                    .map(|s| source_key(s).as_str().to_string())
                    .unwrap_or_default();
                source_leaves.insert((key, leaf.cid.0), leaf.size);
            }
            for l in ls {
                licences.entry(l).or_default().add(leaf.size);
            }
            for c in cs {
                consent.entry(c).or_default().add(leaf.size);
            }
        }
        match page.get("next").and_then(Value::as_u64) {
            Some(next) if next > offset && !items.is_empty() => offset = next,
            _ => break,
        }
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
    let sources = crate::cmd::report::sources::check_source_tree(&label, dv, &source_leaves)?;
    let mut hosts: BTreeMap<String, Counts> = BTreeMap::new();
    let mut no_source = Counts::default();
    for ((k, _), size) in &source_leaves {
        match verifier::source::SourceKey::from_stored(k).and_then(|k| k.host()) {
            Some(h) => hosts.entry(h).or_default().add(*size),
            None => no_source.add(*size),
        }
    }
    Ok(DatasetFigures {
        dataset: label,
        entry_index: index,
        manifest_root: root_hex,
        items: dv.item_count,
        bytes,
        sources,
        items_with_metadata: with_meta,
        licences: sorted(licences),
        consent: sorted(consent),
        domains: hosts.len() as u64,
        hosts: sorted(hosts),
        no_source,
    })
}

/// Largest first (bytes, then items), then by value.
pub fn sorted(map: BTreeMap<String, Counts>) -> Vec<Tally> {
    let mut v: Vec<Tally> = map
        .into_iter()
        .map(|(value, c)| Tally {
            value,
            items: c.items,
            bytes: c.bytes,
        })
        .collect();
    v.sort_by(|a, b| {
        (b.bytes, b.items)
            .cmp(&(a.bytes, a.items))
            .then_with(|| a.value.cmp(&b.value))
    });
    v
}

/// A leaf of `/v1/sets/{root}/leaves?meta=true` and its metadata object (if any). The leaf's
/// own `meta` is its digest (hex); the metadata is under `metadata` (or `meta` when that is an
/// object and the digest is elsewhere).
fn parse_item(item: &Value) -> Result<(SetLeaf, Option<Value>), String> {
    let cid = item
        .get("cid")
        .and_then(Value::as_str)
        .ok_or("no cid")?
        .parse()
        .map_err(|e| format!("cid: {e}"))?;
    let size = item.get("size").and_then(Value::as_u64).ok_or("no size")?;
    let (digest, meta) = match (item.get("meta"), item.get("metadata")) {
        (Some(Value::String(d)), m) => (d.clone(), m.cloned()),
        (Some(m @ Value::Object(_)), _) => (
            item.get("meta_digest")
                .and_then(Value::as_str)
                .ok_or("no meta digest")?
                .to_string(),
            Some(m.clone()),
        ),
        _ => return Err("no meta digest".into()),
    };
    let meta = meta.filter(|m| !m.is_null());
    let meta_digest = Digest::from_hex(&digest).map_err(|e| format!("meta: {e}"))?;
    Ok((
        SetLeaf {
            cid,
            size,
            meta: meta_digest,
        },
        meta,
    ))
}

/// The leaf commits BLAKE3 of the canonical JSON (RFC 8785) of its metadata.
fn check_meta_digest(meta: &Value, want: &Digest) -> Result<(), String> {
    let bytes = hasher::meta::canonical(meta).map_err(|e| e.to_string())?;
    let got = hasher::meta::meta_digest(Some(&bytes));
    if &got != want {
        return Err(format!(
            "its metadata hashes to {got}, the leaf commits {want}"
        ));
    }
    Ok(())
}

/// The source entries of a leaf's metadata, `{"sources":[entry, ...]}`.
fn source_entries(meta: &Value) -> Vec<serde_json::Map<String, Value>> {
    meta.get("sources")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(|e| e.as_object().cloned()).collect())
        .unwrap_or_default()
}

/// A metadata value as text: a string as is, another JSON value as its compact JSON; `None`
/// when absent or null.
fn text(v: Option<&Value>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}
