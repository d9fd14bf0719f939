//! The passage leaves of a merge: the shards' `.passages` files (64-byte leaves, strictly
//! increasing) merged k-way into the merged manifest's, each checked as it streams.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use ledger::Digest;
use verifier::range::{RangeLeaf, RangeRootBuilder};

use super::{io_err, MergeError, PassagesFault, Src, INPUT_BUFFER};
use crate::error::HashError;
use crate::passages::{PassageTree, PASSAGE_LEAF};

/// A passage leaves file to merge: its label, its bytes, and the tree its header names.
pub(super) type SideInput = (PathBuf, Src, Option<(Digest, u64)>);

/// The passage leaves: a k-way merge of 64-byte leaves, equal ones written once; each input is
/// checked strictly increasing and, for a shard, to give the tree its header names.
pub(super) fn merge_passages(
    inputs: Vec<SideInput>,
    out: &mut File,
) -> Result<PassageTree, MergeError> {
    struct Side {
        label: PathBuf,
        r: BufReader<File>,
        want: Option<(Digest, u64)>,
        tree: RangeRootBuilder,
        last: Option<[u8; PASSAGE_LEAF]>,
    }
    let fault = |label: &Path, reason| MergeError::Passages {
        path: label.to_path_buf(),
        reason,
    };
    let mut sides = Vec::with_capacity(inputs.len());
    for (label, src, want) in inputs {
        let f = match src.open() {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(fault(&label, PassagesFault::Missing))
            }
            Err(e) => return Err(io_err("opening a passage leaves file")(e)),
        };
        sides.push(Side {
            label,
            r: BufReader::with_capacity(INPUT_BUFFER, f),
            want,
            tree: RangeRootBuilder::new(),
            last: None,
        });
    }
    // The next leaf of side `i`, checked and counted into its own tree.
    let next = |s: &mut Side| -> Result<Option<[u8; PASSAGE_LEAF]>, MergeError> {
        let mut leaf = [0u8; PASSAGE_LEAF];
        let got = read_full(&mut s.r, &mut leaf).map_err(io_err("reading passage leaves"))?;
        if got == 0 {
            if let Some((header, header_size)) = s.want {
                let (computed, computed_size) = (s.tree.root(), s.tree.size().0);
                if (computed, computed_size) != (header, header_size) {
                    let reason = PassagesFault::TreeMismatch {
                        header,
                        header_size,
                        computed,
                        computed_size,
                    };
                    return Err(fault(&s.label, reason));
                }
            }
            return Ok(None);
        }
        if got < PASSAGE_LEAF {
            return Err(fault(&s.label, PassagesFault::Truncated(got)));
        }
        if s.last.is_some_and(|l| l >= leaf) {
            return Err(fault(&s.label, PassagesFault::NotSorted));
        }
        s.last = Some(leaf);
        if s.want.is_some() {
            push_leaf(&mut s.tree, &leaf)?;
        }
        Ok(Some(leaf))
    };
    let mut heap = BinaryHeap::with_capacity(sides.len());
    for (i, s) in sides.iter_mut().enumerate() {
        if let Some(l) = next(s)? {
            heap.push(Reverse((l, i)));
        }
    }
    let mut w = BufWriter::with_capacity(1 << 20, out);
    let mut tree = RangeRootBuilder::new();
    let mut last: Option<[u8; PASSAGE_LEAF]> = None;
    while let Some(Reverse((leaf, i))) = heap.pop() {
        if let Some(l) = next(&mut sides[i])? {
            heap.push(Reverse((l, i)));
        }
        if last == Some(leaf) {
            continue;
        }
        last = Some(leaf);
        w.write_all(&leaf)
            .map_err(io_err("writing the merged passage leaves"))?;
        push_leaf(&mut tree, &leaf)?;
    }
    w.flush()
        .map_err(io_err("writing the merged passage leaves"))?;
    Ok(PassageTree {
        root: tree.root(),
        size: tree.size().0,
    })
}

fn push_leaf(tree: &mut RangeRootBuilder, leaf: &[u8; PASSAGE_LEAF]) -> Result<(), MergeError> {
    let leaf = RangeLeaf::new(leaf.to_vec()).map_err(HashError::from)?;
    tree.push(&leaf).map_err(HashError::from)?;
    Ok(())
}

/// Fills `buf` unless the stream ends first; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
