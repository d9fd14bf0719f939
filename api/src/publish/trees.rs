//! The stored trees that logged entries name, as the mirror's objects (docs/publishing.md):
//! `sets/<root>.leaves` (+ `.meta`), `passages/<root>.leaves`, `sources/<root>.leaves`.
//!
//! An entry names a set as a dataset version's manifest, an opt-out's id set or a model
//! checkpoint's weights; a passage tree as a dataset version's or an opt-out's `passages`; a
//! source tree as a dataset version's `sources` (the tree derived from its manifest's metadata).
//! The sequencer admitted each entry only with its trees stored (ledger rules), so each is there;
//! one that is not (an entry logged before those rules) is skipped with a warning.
//!
//! Each object is built whole in memory: a set of 10^6 leaves is 72 MB. Larger trees would want
//! multipart uploads, which have no conditional create; not done here.

use std::collections::BTreeSet;

use ledger::entry::{Entry, EntryBody, OptOutIds};
use ledger::ledger::Ledger;
use ledger::range::RangeSource as _;
use ledger::{Digest, LeafIndex};

use super::PublishError;

/// Leaves read from the store per call.
const CHUNK: usize = 4096;

/// One stored tree an entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tree {
    Set(Digest),
    Passages(Digest),
    Sources(Digest),
}

impl Tree {
    /// The object name of the tree's leaves.
    pub fn leaves_name(&self) -> String {
        match self {
            Tree::Set(r) => format!("sets/{}.leaves", r.to_hex()),
            Tree::Passages(r) => format!("passages/{}.leaves", r.to_hex()),
            Tree::Sources(r) => format!("sources/{}.leaves", r.to_hex()),
        }
    }
}

/// The trees named by entries `[from, to)`, in a fixed order, each once.
pub fn named(ledger: &Ledger, from: u64, to: u64) -> Result<BTreeSet<Tree>, PublishError> {
    let mut out = BTreeSet::new();
    for i in from..to {
        let Some(bytes) = ledger.entry(LeafIndex(i)).map_err(PublishError::local)? else {
            continue;
        };
        let entry = match Entry::from_bytes(&bytes) {
            Ok(e) => e,
            Err(e) => {
                // A logged entry always parses; this would be a damaged store, which the
                // ledger's own reads report. Nothing to publish for it.
                tracing::warn!(index = i, error = %e, "publish: logged entry does not parse");
                continue;
            }
        };
        match entry.body() {
            EntryBody::Publisher(_) => {}
            EntryBody::DatasetVersion(d) => {
                out.insert(Tree::Set(d.manifest_root));
                if d.sources.is_some() {
                    out.insert(Tree::Sources(d.manifest_root));
                }
                if let Some(p) = &d.passages {
                    out.insert(Tree::Passages(p.root));
                }
            }
            EntryBody::OptOut(o) => {
                if let Some(OptOutIds::Set { root, .. }) = &o.ids {
                    out.insert(Tree::Set(*root));
                }
                if let Some(p) = &o.passages {
                    out.insert(Tree::Passages(p.root));
                }
            }
            EntryBody::ModelCheckpoint(c) => {
                out.insert(Tree::Set(c.weights_root));
            }
        }
    }
    Ok(out)
}

/// The objects of `tree`: `(name, bytes)`, leaves first. Empty when the tree is not stored.
/// `Tree::Sources` carries the root of the manifest set whose source tree it is; the object is
/// named by the source tree's own root.
pub fn objects(ledger: &Ledger, tree: Tree) -> Result<Vec<(String, Vec<u8>)>, PublishError> {
    let sets = ledger.sets();
    match tree {
        Tree::Set(root) => {
            let Some(info) = sets.info(&root).map_err(PublishError::local)? else {
                tracing::warn!(set = %root.to_hex(), "publish: a named set is not stored");
                return Ok(Vec::new());
            };
            let with_meta = sets.has_meta(&root).map_err(PublishError::local)?;
            let mut leaves = Vec::with_capacity(info.size.0 as usize * 72);
            let mut meta = Vec::new();
            let mut start = 0u64;
            while start < info.size.0 {
                let chunk = sets
                    .leaves_with_meta(&root, start, CHUNK)
                    .map_err(PublishError::local)?;
                if chunk.is_empty() {
                    break;
                }
                start += chunk.len() as u64;
                for (leaf, m) in chunk {
                    leaves.extend_from_slice(&leaf.to_bytes());
                    if with_meta {
                        match m {
                            Some(m) => meta.extend_from_slice(&m),
                            None => meta.extend_from_slice(b"null"),
                        }
                        meta.push(b'\n');
                    }
                }
            }
            let mut out = vec![(tree.leaves_name(), leaves)];
            if with_meta {
                out.push((format!("sets/{}.meta", root.to_hex()), meta));
            }
            Ok(out)
        }
        Tree::Passages(root) => {
            let mut leaves = Vec::new();
            let mut start = 0u64;
            loop {
                let Some(chunk) = sets
                    .passage_leaves(&root, start, CHUNK)
                    .map_err(PublishError::local)?
                else {
                    tracing::warn!(passages = %root.to_hex(), "publish: a named passage tree is not stored");
                    return Ok(Vec::new());
                };
                if chunk.is_empty() {
                    break;
                }
                start += chunk.len() as u64;
                for leaf in chunk {
                    leaves.extend_from_slice(leaf.as_bytes());
                }
            }
            Ok(vec![(tree.leaves_name(), leaves)])
        }
        Tree::Sources(manifest) => {
            let Some((range, root, size)) =
                sets.source_tree(&manifest).map_err(PublishError::local)?
            else {
                tracing::warn!(set = %manifest.to_hex(), "publish: a named source tree is not stored");
                return Ok(Vec::new());
            };
            let mut leaves = Vec::new();
            for i in 0..size {
                let leaf = range.leaf(LeafIndex(i)).map_err(PublishError::local)?;
                let bytes = leaf.as_bytes();
                // A source leaf is at most 1,057 bytes (RangeLeaf::MAX_LEN 2,048): a u16 holds it.
                let len = u16::try_from(bytes.len()).map_err(PublishError::local)?;
                leaves.extend_from_slice(&len.to_be_bytes());
                leaves.extend_from_slice(bytes);
            }
            Ok(vec![(Tree::Sources(root).leaves_name(), leaves)])
        }
    }
}
