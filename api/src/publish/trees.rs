//! The stored trees that logged entries name, as the mirror's objects (docs/publishing.md):
//! `sets/<root>.leaves` (+ `.meta`), `passages/<root>.leaves`, `sources/<root>.leaves`.
//!
//! An entry names a set as a dataset version's manifest, an opt-out's id set or a model
//! checkpoint's weights; a passage tree as a dataset version's or an opt-out's `passages`; a
//! source tree as a dataset version's `sources` (the tree derived from its manifest's metadata).
//! The sequencer admitted each entry only with its trees stored (ledger rules), so each is there;
//! one that is not (an entry logged before those rules) is skipped with a warning.
//!
//! No object is built whole in memory (a set of 10^8 leaves is 7.2 GB): [`produce`] streams an
//! object's bytes from the store in chunks, and `stream.rs` uploads them, in parts when large.

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

/// Bytes handed from the store reader to the uploader at a time: with the uploader's parts in
/// flight, what bounds a tree object's memory ([`super::stream`]).
pub const CHUNK_BYTES: usize = 1 << 20;

/// One object of a stored tree: its name, what it is read from, and the reader's estimate of its
/// size (exact for leaves of fixed length, 0 when unknown), which sizes the upload's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeObject {
    pub name: String,
    pub estimate: u64,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    SetLeaves(Digest),
    SetMeta(Digest),
    Passages(Digest),
    /// The source tree of the manifest set with this root.
    Sources(Digest),
}

/// The objects of `tree`, leaves first. Empty when the tree is not stored. `Tree::Sources`
/// carries the root of the manifest set whose source tree it is; the object is named by the
/// source tree's own root. Nothing is read beyond the trees' records: [`produce`] streams each.
pub fn tree_objects(ledger: &Ledger, tree: Tree) -> Result<Vec<TreeObject>, PublishError> {
    let sets = ledger.sets();
    match tree {
        Tree::Set(root) => {
            let Some(info) = sets.info(&root).map_err(PublishError::local)? else {
                tracing::warn!(set = %root.to_hex(), "publish: a named set is not stored");
                return Ok(Vec::new());
            };
            let leaves = info.size.0.saturating_mul(72);
            let mut out = vec![TreeObject {
                name: tree.leaves_name(),
                estimate: leaves,
                kind: Kind::SetLeaves(root),
            }];
            if sets.has_meta(&root).map_err(PublishError::local)? {
                out.push(TreeObject {
                    name: format!("sets/{}.meta", root.to_hex()),
                    // Unknown until read: a leaf's metadata line is usually a few hundred
                    // bytes; four times the leaves is a guess that only sizes the parts.
                    estimate: leaves.saturating_mul(4),
                    kind: Kind::SetMeta(root),
                });
            }
            Ok(out)
        }
        Tree::Passages(root) => {
            if sets
                .passage_leaves(&root, 0, 1)
                .map_err(PublishError::local)?
                .is_none()
            {
                tracing::warn!(passages = %root.to_hex(), "publish: a named passage tree is not stored");
                return Ok(Vec::new());
            }
            Ok(vec![TreeObject {
                name: tree.leaves_name(),
                estimate: 0,
                kind: Kind::Passages(root),
            }])
        }
        Tree::Sources(manifest) => {
            let Some((_, root, size)) = sets.source_tree(&manifest).map_err(PublishError::local)?
            else {
                tracing::warn!(set = %manifest.to_hex(), "publish: a named source tree is not stored");
                return Ok(Vec::new());
            };
            Ok(vec![TreeObject {
                name: Tree::Sources(root).leaves_name(),
                // A source leaf is tens to hundreds of bytes; this only sizes the parts.
                estimate: size.saturating_mul(256),
                kind: Kind::Sources(manifest),
            }])
        }
    }
}

/// Reads `obj`'s bytes from the store in order and hands them to `emit` in chunks of about
/// [`CHUNK_BYTES`] (none for an empty object). `emit` returns `false` when the consumer is gone;
/// reading stops there. Memory: one chunk, whatever the tree's size.
pub fn produce(
    ledger: &Ledger,
    obj: &TreeObject,
    emit: &mut dyn FnMut(Vec<u8>) -> bool,
) -> Result<(), PublishError> {
    let sets = ledger.sets();
    let mut buf = Vec::with_capacity(CHUNK_BYTES + 4096);
    // Hands `buf` over when full; `false` when the consumer is gone.
    let mut flush = |buf: &mut Vec<u8>, last: bool| -> bool {
        if buf.len() >= CHUNK_BYTES || (last && !buf.is_empty()) {
            let full = std::mem::replace(buf, Vec::with_capacity(CHUNK_BYTES + 4096));
            emit(full)
        } else {
            true
        }
    };
    match obj.kind {
        Kind::SetLeaves(root) | Kind::SetMeta(root) => {
            let meta = matches!(obj.kind, Kind::SetMeta(_));
            let mut start = 0u64;
            loop {
                let chunk = sets
                    .leaves_with_meta(&root, start, CHUNK)
                    .map_err(PublishError::local)?;
                if chunk.is_empty() {
                    break;
                }
                start += chunk.len() as u64;
                for (leaf, m) in chunk {
                    if meta {
                        match m {
                            Some(m) => buf.extend_from_slice(&m),
                            None => buf.extend_from_slice(b"null"),
                        }
                        buf.push(b'\n');
                    } else {
                        buf.extend_from_slice(&leaf.to_bytes());
                    }
                }
                if !flush(&mut buf, false) {
                    return Ok(());
                }
            }
        }
        Kind::Passages(root) => {
            let mut start = 0u64;
            loop {
                let Some(chunk) = sets
                    .passage_leaves(&root, start, CHUNK)
                    .map_err(PublishError::local)?
                else {
                    break;
                };
                if chunk.is_empty() {
                    break;
                }
                start += chunk.len() as u64;
                for leaf in chunk {
                    buf.extend_from_slice(leaf.as_bytes());
                }
                if !flush(&mut buf, false) {
                    return Ok(());
                }
            }
        }
        Kind::Sources(manifest) => {
            let Some((range, _, size)) =
                sets.source_tree(&manifest).map_err(PublishError::local)?
            else {
                return Ok(());
            };
            for i in 0..size {
                let leaf = range.leaf(LeafIndex(i)).map_err(PublishError::local)?;
                let bytes = leaf.as_bytes();
                // A source leaf is at most 1,057 bytes (RangeLeaf::MAX_LEN 2,048): a u16 holds it.
                let len = u16::try_from(bytes.len()).map_err(PublishError::local)?;
                buf.extend_from_slice(&len.to_be_bytes());
                buf.extend_from_slice(bytes);
                if !flush(&mut buf, false) {
                    return Ok(());
                }
            }
        }
    }
    flush(&mut buf, true);
    Ok(())
}
