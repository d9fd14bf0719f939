//! The sets entries name: each one's public leaves read from the server, page by page, and
//! checked as the ledger checks an upload (strictly increasing content ids, so unique; the root
//! recomputed with the ledger's own streaming [`SetRootBuilder`]; the size counted), in memory
//! that does not grow with the set.

use std::collections::BTreeMap;

use ledger::store::stats::LeafMeta;
use ledger::store::StoreError;
use serde::{Deserialize, Serialize};
use verifier::entry::{Entry, EntryBody, OptOutIds};
use verifier::range::{RangeLeaf, RangeRootBuilder};
use verifier::set::{SetError, SetRootBuilder};
use verifier::source::{source_key, SourceKey};
use verifier::Digest;

use crate::client::Client;
use crate::exit::Failure;
use crate::logread;

/// What reading a set's stored leaves found. It depends on the root alone, so each set is read
/// once, whichever entries name it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SetOutcome {
    /// The leaves are strictly increasing and hash to the root; `size` of them.
    Verified { size: u64 },
    /// The server answered 404: nobody can check a claim about this set.
    NotAvailable,
    /// Leaf `position` is not greater than the one before it (`duplicate`: equal to it).
    NotSorted { position: u64, duplicate: bool },
    /// The leaves are in order but hash to `computed`, not to the root they are served under.
    RootMismatch { computed: String, size: u64 },
}

/// A set an entry names: its root, the size the entry claims, and what it is to the entry.
#[derive(Clone, Copy, Debug)]
pub struct NamedSet {
    pub root: Digest,
    pub claimed: u64,
    pub role: &'static str,
}

/// The set `entry` names, if any: a dataset version's manifest, an opt-out's set, a model
/// checkpoint's weights.
pub fn named_set(entry: &Entry) -> Option<NamedSet> {
    match entry.body() {
        EntryBody::DatasetVersion(d) => Some(NamedSet {
            root: d.manifest_root,
            claimed: d.item_count,
            role: "manifest",
        }),
        EntryBody::OptOut(o) => match &o.ids {
            Some(OptOutIds::Set { root, size }) => Some(NamedSet {
                root: *root,
                claimed: *size,
                role: "opt-out set",
            }),
            Some(OptOutIds::Inline(_)) | None => None,
        },
        EntryBody::ModelCheckpoint(c) => Some(NamedSet {
            root: c.weights_root,
            claimed: c.weights_count,
            role: "weights",
        }),
        EntryBody::Publisher(_) => None,
    }
}

/// Reads set `root` from the server and checks it. `progress` is told the leaves read so far.
pub fn check(
    client: &Client,
    root: &Digest,
    mut progress: impl FnMut(u64),
) -> Result<SetOutcome, Failure> {
    let mut builder = SetRootBuilder::new();
    let mut bad: Option<SetOutcome> = None;
    let found = logread::set_leaves(client, root, |leaf| {
        if let Err(e) = builder.push(leaf) {
            bad = Some(match e {
                SetError::Duplicate { index } => SetOutcome::NotSorted {
                    position: index,
                    duplicate: true,
                },
                SetError::NotSorted { index } => SetOutcome::NotSorted {
                    position: index,
                    duplicate: false,
                },
                _ => SetOutcome::NotSorted {
                    position: builder.size().0,
                    duplicate: false,
                },
            });
            return Ok(false);
        }
        let n = builder.size().0;
        if n % 65536 == 0 {
            progress(n);
        }
        Ok(true)
    })?;
    if !found {
        return Ok(SetOutcome::NotAvailable);
    }
    if let Some(bad) = bad {
        return Ok(bad);
    }
    let size = builder.size().0;
    let computed = builder.root();
    if computed != *root {
        return Ok(SetOutcome::RootMismatch {
            computed: computed.to_hex(),
            size,
        });
    }
    Ok(SetOutcome::Verified { size })
}

/// The sets read so far, by root (hex), as the rules see them: a set "is stored, with this size"
/// exactly when the audit verified it; and the source trees the audit derived itself from the
/// served leaves and metadata (the sources rule, issue 13), by manifest root (hex).
pub struct VerifiedSets<'a>(
    pub &'a BTreeMap<String, SetOutcome>,
    pub &'a BTreeMap<String, Option<(Digest, u64)>>,
);

impl ledger::store::index::SetLookup for VerifiedSets<'_> {
    fn stored_size(&self, root: &Digest) -> Result<Option<u64>, StoreError> {
        Ok(match self.0.get(&root.to_hex()) {
            Some(SetOutcome::Verified { size }) => Some(*size),
            _ => None,
        })
    }

    fn stored_sources(&self, root: &Digest) -> Result<Option<(Digest, u64)>, StoreError> {
        Ok(self.1.get(&root.to_hex()).copied().flatten())
    }
}

/// Recomputes the source tree of manifest `root` as the ledger derives it, from the leaves and
/// metadata the server serves (`?meta=true`): each leaf's metadata must hash to its `meta`
/// (else the server's metadata is not the committed one, and no tree is derived), is read by
/// the ledger's own parser, and gives one source leaf per distinct source key
/// (`verifier::source::source_key`, the no-source key for an entry without a `source`).
/// `None` when the server holds no metadata for the set (or not the committed one).
///
/// Memory: every source leaf is held (about 100 bytes each) and sorted at the end; an audit of
/// a manifest of 10^7 items needs about 1 GB. (An external sort, as `prov hash` uses, would
/// bound it; not done yet.)
pub fn derive_sources(client: &Client, root: &Digest) -> Result<Option<(Digest, u64)>, Failure> {
    let mut leaves: Vec<RangeLeaf> = Vec::new();
    let mut usable = true;
    let found = logread::set_leaves_with_meta(client, root, |leaf, meta| {
        let Some(meta) = meta else {
            usable = false;
            return Ok(false);
        };
        let Ok(bytes) = hasher::meta::canonical(meta) else {
            usable = false;
            return Ok(false);
        };
        if hasher::meta::meta_digest(Some(&bytes)) != leaf.meta {
            usable = false;
            return Ok(false);
        }
        let Ok(parsed) = LeafMeta::parse(&bytes) else {
            usable = false;
            return Ok(false);
        };
        for e in &parsed.sources {
            let key = e.source.as_deref().map_or_else(SourceKey::none, source_key);
            leaves.push(RangeLeaf::source(&key, &leaf.cid));
        }
        Ok(true)
    })?;
    if !found || !usable {
        return Ok(None);
    }
    leaves.sort_unstable();
    leaves.dedup();
    let mut b = RangeRootBuilder::new();
    for l in &leaves {
        // Sorted and de-duplicated just above: never refused.
        if b.push(l).is_err() {
            return Ok(None);
        }
    }
    Ok(Some((b.root(), b.size().0)))
}
