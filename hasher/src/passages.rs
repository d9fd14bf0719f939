//! The passage tree of a text corpus (docs/formats.md, "Passage trees"): one range-tree leaf
//! `passage id (32) || cid (32)` per distinct (passage, item) pair, where the passages of an
//! item are `verifier::passage::passages` of its text. Sorted, a passage's leaves are adjacent
//! (`Range::passage(pid)`), so one range proof says which items hold it, or that none does.
//!
//! Built like the source tree, in bounded memory: leaves go through [`LeafSorter`] (sorted runs
//! spilled to disk and merged, duplicates dropped) and stream in order into the verifier's
//! `RangeRootBuilder`, and optionally into a leaves file (the upload body of `prov publish`):
//! the leaves back to back, 64 bytes each, in order, nothing else.

use std::io::Write;
use std::path::PathBuf;

use ledger::{ContentId, Digest};
use verifier::passage::passages;
use verifier::range::{RangeLeaf, RangeRootBuilder};

use crate::error::HashError;
use crate::leafsort::LeafSorter;

/// Bytes of one passage-tree leaf.
pub const PASSAGE_LEAF: usize = 64;

/// The passage leaves of one item: `(passage id, cid)` for each passage of `text` (invalid UTF-8
/// read as U+FFFD), appended to `out`. Repeats inside the item are left to the sorter.
pub fn item_passages(text: &[u8], cid: &[u8; 32], out: &mut Vec<[u8; PASSAGE_LEAF]>) {
    let text = String::from_utf8_lossy(text);
    for p in passages(&text) {
        let mut leaf = [0u8; PASSAGE_LEAF];
        leaf[..32].copy_from_slice(&p.id.0);
        leaf[32..].copy_from_slice(cid);
        out.push(leaf);
    }
}

/// Collects passage leaves in any order and computes the passage tree's root and size.
pub struct PassageTreeBuilder {
    sorter: LeafSorter,
}

/// A passage tree's root and number of leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassageTree {
    pub root: Digest,
    pub size: u64,
}

impl PassageTreeBuilder {
    /// `budget` bytes of leaves are kept in memory before a sorted run is spilled to `tmp_dir`.
    pub fn new(budget: usize, tmp_dir: Option<PathBuf>) -> Self {
        PassageTreeBuilder {
            sorter: LeafSorter::new(budget, tmp_dir),
        }
    }

    /// Adds one leaf: a passage id and the content id of an item holding it.
    pub fn push(&mut self, pid: &ContentId, cid: &ContentId) -> Result<(), HashError> {
        self.sorter.push_parts(&[&pid.0, &cid.0])
    }

    /// Adds a leaf made by [`item_passages`].
    pub fn push_leaf(&mut self, leaf: &[u8; PASSAGE_LEAF]) -> Result<(), HashError> {
        self.sorter.push_parts(&[leaf])
    }

    /// Sorted runs spilled to disk so far.
    pub fn runs_spilled(&self) -> usize {
        self.sorter.runs_spilled()
    }

    /// Merges the leaves, writes them to `leaves` when given (64 bytes each, in order), and
    /// returns the tree's root and size.
    pub fn finish(self, mut leaves: Option<&mut dyn Write>) -> Result<PassageTree, HashError> {
        let mut sorted = self.sorter.finish()?;
        let mut b = RangeRootBuilder::new();
        let mut buf = Vec::new();
        while sorted.next_leaf(&mut buf)? {
            if let Some(w) = leaves.as_deref_mut() {
                w.write_all(&buf)
                    .map_err(HashError::io("writing the passage leaves"))?;
            }
            let leaf = RangeLeaf::new(std::mem::take(&mut buf))?;
            b.push(&leaf)?;
            buf = leaf.into_bytes();
        }
        if let Some(w) = leaves {
            w.flush()
                .map_err(HashError::io("writing the passage leaves"))?;
        }
        Ok(PassageTree {
            root: b.root(),
            size: b.size().0,
        })
    }
}

/// Reads a passage leaves file (as [`PassageTreeBuilder::finish`] writes it) back, checking
/// that its leaves are 64 bytes each and strictly increasing, and returns its root and size.
pub fn leaves_file_tree(r: &mut dyn std::io::Read) -> Result<PassageTree, HashError> {
    let mut r = std::io::BufReader::with_capacity(1 << 20, r);
    let mut b = RangeRootBuilder::new();
    let mut leaf = [0u8; PASSAGE_LEAF];
    loop {
        let mut got = 0;
        while got < PASSAGE_LEAF {
            let n = std::io::Read::read(&mut r, &mut leaf[got..])
                .map_err(HashError::io("reading the passage leaves"))?;
            if n == 0 {
                break;
            }
            got += n;
        }
        if got == 0 {
            break;
        }
        if got < PASSAGE_LEAF {
            return Err(HashError::Config(format!(
                "passage leaves file: a last leaf of {got} bytes (each is {PASSAGE_LEAF})"
            )));
        }
        b.push(&RangeLeaf::new(leaf.to_vec())?)?;
    }
    Ok(PassageTree {
        root: b.root(),
        size: b.size().0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use verifier::range::{range_proof, verify_range, Range, RangeTree};

    const PARA: &str = "The quick brown fox jumps over the lazy dog near the riverbank today. \
                        A second sentence that is long enough to be kept as a passage here.";

    #[test]
    fn the_tree_equals_an_in_memory_range_tree_and_the_file_reads_back() {
        let items = [
            format!("Intro text.\n\n{PARA}\n\nOutro"),
            PARA.replace(' ', "\n"),
            "nothing long".to_string(),
        ];
        let mut want = Vec::new();
        for budget in [1 << 20, 100] {
            let mut b = PassageTreeBuilder::new(budget, None);
            want.clear();
            for it in &items {
                let cid = ContentId::of(it.as_bytes());
                let mut out = Vec::new();
                item_passages(it.as_bytes(), &cid.0, &mut out);
                for l in &out {
                    b.push_leaf(l).unwrap();
                    want.push(RangeLeaf::new(l.to_vec()).unwrap());
                }
            }
            let mem = RangeTree::from_unsorted(want.clone());
            let mut file = Vec::new();
            let t = b.finish(Some(&mut file)).unwrap();
            assert_eq!((t.root, t.size), (mem.root(), mem.size().0));
            // Two passages, each in two items (the re-wrapped copy gives the same ids).
            assert_eq!(t.size, 4);
            assert_eq!(file.len(), 4 * PASSAGE_LEAF);
            assert_eq!(leaves_file_tree(&mut file.as_slice()).unwrap(), t);
            let pid = mem.leaves()[0].split_passage().unwrap().0;
            let proof = range_proof(&mem, &Range::passage(&pid), 100).unwrap();
            let got = verify_range(&t.root, mem.size(), &Range::passage(&pid), &proof).unwrap();
            assert_eq!(got.count, 2);
        }
    }

    #[test]
    fn a_truncated_or_unsorted_leaves_file_is_refused() {
        let mut b = PassageTreeBuilder::new(1 << 20, None);
        b.push(&ContentId([1; 32]), &ContentId([2; 32])).unwrap();
        b.push(&ContentId([3; 32]), &ContentId([2; 32])).unwrap();
        let mut file = Vec::new();
        b.finish(Some(&mut file)).unwrap();
        assert!(leaves_file_tree(&mut &file[..100]).is_err());
        let mut swapped = file[64..].to_vec();
        swapped.extend_from_slice(&file[..64]);
        assert!(leaves_file_tree(&mut swapped.as_slice()).is_err());
    }
}
