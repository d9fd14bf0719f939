//! The sets entries name: each one's public leaves read from the server, page by page, and
//! checked as the ledger checks an upload (strictly increasing content ids, so unique; the root
//! recomputed with the ledger's own streaming [`SetRootBuilder`]; the size counted), in memory
//! that does not grow with the set.

use std::collections::BTreeMap;

use hasher::sources::SourceTreeBuilder;
use ledger::store::StoreError;
use serde::{Deserialize, Serialize};
use verifier::entry::{Entry, EntryBody, OptOutIds};
use verifier::range::{RangeLeaf, RangeRootBuilder};
use verifier::set::meta::LeafMeta;
use verifier::set::{SetError, SetRootBuilder};
use verifier::Digest;

use crate::exit::{Exit, Failure, OrExit};
use crate::logread;
use crate::source::LogSource;

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
    client: &LogSource,
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
        if n.is_multiple_of(65536) {
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
    /// Passage trees (issue 14) by root (hex): their size when the audit read them and found
    /// them strictly increasing and hashing to the root, `None` otherwise.
    pub &'a BTreeMap<String, Option<u64>>,
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

    fn stored_passages(&self, root: &Digest) -> Result<Option<u64>, StoreError> {
        Ok(self.2.get(&root.to_hex()).copied().flatten())
    }
}

/// Leaves per page of `GET /v1/passages/{root}/leaves` (the server's most).
const PASSAGE_PAGE: u64 = 4096;

/// A page of a stored passage tree's leaves, as the server sends it.
#[derive(Deserialize)]
struct PassagePage {
    size: u64,
    start: u64,
    leaves: Vec<String>,
}

/// Reads the passage tree `root` from the server (issue 14) and checks it as the ledger checks
/// a `passages` upload: 64-byte leaves, strictly increasing, hashing to the root. Its size when
/// it does; `None` when the server does not have it (404) or it does not check out (the rule
/// then refuses the entry that names it, which the audit reports). Memory does not grow with
/// the tree.
pub fn check_passages(client: &LogSource, root: &Digest) -> Result<Option<u64>, Failure> {
    let mut builder = RangeRootBuilder::new();
    let Some(client) = client.service() else {
        return mirror_passages(client, root, builder);
    };
    let mut declared = None;
    loop {
        let start = builder.size().0;
        let path = format!(
            "/v1/passages/{}/leaves?start={start}&limit={PASSAGE_PAGE}",
            root.to_hex()
        );
        let Some(page) = client.get_json_opt::<PassagePage>(&path)? else {
            return Ok(None);
        };
        if page.start != start || declared.is_some_and(|d| d != page.size) {
            return Ok(None);
        }
        declared = Some(page.size);
        for hex in &page.leaves {
            let ok = RangeLeaf::from_hex(hex)
                .ok()
                .filter(|l| l.as_bytes().len() == 64)
                .is_some_and(|l| builder.push(&l).is_ok());
            if !ok {
                return Ok(None);
            }
        }
        if page.leaves.is_empty() || builder.size().0 >= page.size {
            break;
        }
    }
    let size = builder.size().0;
    Ok((declared == Some(size) && builder.root() == *root).then_some(size))
}

/// [`check_passages`] from a static mirror: `passages/<root>.leaves`, 64 bytes a leaf.
fn mirror_passages(
    source: &LogSource,
    root: &Digest,
    mut builder: RangeRootBuilder,
) -> Result<Option<u64>, Failure> {
    let path = format!("passages/{}.leaves", root.to_hex());
    let Some(r) = source.open(&path)? else {
        return Ok(None);
    };
    let mut r = std::io::BufReader::with_capacity(1 << 20, r);
    let mut buf = [0u8; 64];
    loop {
        let (n, err) = hasher::text::fill(&mut r, &mut buf);
        if let Some(e) = err {
            return Err(Failure::new(
                Exit::Server,
                anyhow::Error::new(e).context(format!("reading {path}")),
            ));
        }
        if n == 0 {
            break;
        }
        let ok = n == buf.len()
            && RangeLeaf::new(buf.to_vec())
                .ok()
                .is_some_and(|l| builder.push(&l).is_ok());
        if !ok {
            return Ok(None);
        }
    }
    let size = builder.size().0;
    Ok((builder.root() == *root).then_some(size))
}

/// Recomputes the source tree of manifest `root` as the ledger derives it, from the leaves and
/// metadata the server serves (`?meta=true`): each leaf's metadata must hash to its `meta` and
/// have the shape the ledger stores (`verifier::set::meta::LeafMeta::verified`; else the
/// server's metadata is not the committed one, and no tree is derived), and gives its source
/// leaves (`LeafMeta::source_keys`). `None` when the server holds no metadata for the set (or
/// not the committed one).
///
/// Memory is bounded: the source leaves go through `prov hash`'s external sort
/// (`hasher::sources::SourceTreeBuilder`: sorted runs of [`SORT_BUDGET`] bytes spilled to the
/// temporary directory and merged), so a manifest of 10^7 items needs no more than a small one.
pub fn derive_sources(client: &LogSource, root: &Digest) -> Result<Option<(Digest, u64)>, Failure> {
    let mut tree = SourceTreeBuilder::new(SORT_BUDGET, None);
    let mut usable = true;
    let found = logread::set_leaves_with_meta(client, root, |item| {
        let parsed = item
            .metadata()
            .and_then(|m| LeafMeta::verified(m, &item.leaf.meta).ok());
        let Some(parsed) = parsed else {
            usable = false;
            return Ok(false);
        };
        for key in parsed.source_keys() {
            tree.push(&key, &item.leaf.cid.0)
                .or_exit(Exit::Local, "sorting the source leaves")?;
        }
        Ok(true)
    })?;
    if !found || !usable {
        return Ok(None);
    }
    let t = tree
        .finish()
        .or_exit(Exit::Local, "merging the source leaves")?;
    Ok(Some((t.root, t.size)))
}

/// Bytes of source leaves held in memory before a sorted run is spilled to disk.
const SORT_BUDGET: usize = 64 << 20;
