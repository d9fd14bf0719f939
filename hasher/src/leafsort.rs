//! The external sort behind the source tree: variable-length byte strings (range-tree leaves,
//! `source key || 0x00 || cid`) in any order in, distinct strings in byte order out, in bounded
//! memory.
//!
//! Leaves are appended to one arena buffer with a small index entry each (the first 8 bytes as a
//! big-endian integer, offset, length), so that sorting moves 16-byte index entries, most
//! comparisons are one integer compare, and there is no allocation per leaf. A full arena is
//! sorted (in parallel), de-duplicated and spilled to an unnamed temporary file as a run of
//! `length (u16 BE) || bytes` records; at the end the runs are merged k ways, dropping
//! duplicates across runs.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::path::PathBuf;

use rayon::slice::ParallelSliceMut;

use crate::error::HashError;
use crate::runfile::{self, RunNames};

/// The longest leaf a range tree takes (`verifier::range::RangeLeaf::MAX_LEN`).
pub const MAX_LEAF: usize = 2048;
/// Runs merged in one pass at most (as in `sorter`).
const MAX_FAN_IN: usize = 64;
const RUN_BUFFER: usize = 256 << 10;

#[derive(Clone, Copy)]
struct Span {
    prefix: u64,
    start: usize,
    len: u32,
}

/// Sorts byte strings within a memory budget, spilling sorted runs to temporary files.
pub struct LeafSorter {
    budget: usize,
    arena: Vec<u8>,
    spans: Vec<Span>,
    runs: Vec<File>,
    tmp_dir: Option<PathBuf>,
}

impl LeafSorter {
    /// `budget` bytes of leaves (and their index) are kept in memory before a run is spilled to
    /// `tmp_dir` (the system's temporary directory when `None`).
    pub fn new(budget: usize, tmp_dir: Option<PathBuf>) -> Self {
        LeafSorter {
            budget: budget.max(1),
            arena: Vec::new(),
            spans: Vec::new(),
            runs: Vec::new(),
            tmp_dir,
        }
    }

    /// Adds the leaf `parts` concatenated (so a caller need not build it). The total length
    /// must be 1..=[`MAX_LEAF`].
    pub fn push_parts(&mut self, parts: &[&[u8]]) -> Result<(), HashError> {
        let start = self.arena.len();
        for p in parts {
            self.arena.extend_from_slice(p);
        }
        let len = self.arena.len() - start;
        if len == 0 || len > MAX_LEAF {
            self.arena.truncate(start);
            return Err(HashError::Config(format!(
                "a range-tree leaf of {len} bytes (1 to {MAX_LEAF} allowed)"
            )));
        }
        let prefix = prefix_of(&self.arena[start..]);
        // `len <= MAX_LEAF`, checked above.
        self.spans.push(Span {
            prefix,
            start,
            len: len as u32,
        });
        if self.arena.len() + self.spans.len() * std::mem::size_of::<Span>() >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// How many runs went to disk so far.
    pub fn runs_spilled(&self) -> usize {
        self.runs.len()
    }

    /// Ends input; the distinct leaves come out of the returned stream in byte order.
    pub fn finish(mut self) -> Result<SortedLeaves, HashError> {
        if self.runs.is_empty() {
            self.sort();
            return Ok(SortedLeaves {
                src: Src::Memory {
                    arena: self.arena,
                    spans: self.spans,
                    next: 0,
                },
                last: None,
            });
        }
        if !self.spans.is_empty() {
            self.spill()?;
        }
        let tmp_dir = self.tmp_dir.clone();
        let runs = runfile::reduce_runs(std::mem::take(&mut self.runs), MAX_FAN_IN, |chunk| {
            let mut merged = SortedLeaves {
                src: Src::Runs(Merge::new(chunk)?),
                last: None,
            };
            let mut w = RunWriter::new(tmp_dir.as_ref())?;
            let mut leaf = Vec::new();
            while merged.next_leaf(&mut leaf)? {
                w.write(&leaf)?;
            }
            w.finish()
        })?;
        Ok(SortedLeaves {
            src: Src::Runs(Merge::new(runs)?),
            last: None,
        })
    }

    fn sort(&mut self) {
        let arena = &self.arena;
        self.spans.par_sort_unstable_by(|a, b| {
            a.prefix.cmp(&b.prefix).then_with(|| {
                arena[a.start..a.start + a.len as usize]
                    .cmp(&arena[b.start..b.start + b.len as usize])
            })
        });
    }

    fn spill(&mut self) -> Result<(), HashError> {
        self.sort();
        let mut w = RunWriter::new(self.tmp_dir.as_ref())?;
        let mut last: Option<&[u8]> = None;
        for s in &self.spans {
            let leaf = &self.arena[s.start..s.start + s.len as usize];
            if last != Some(leaf) {
                w.write(leaf)?;
                last = Some(leaf);
            }
        }
        self.runs.push(w.finish()?);
        self.arena = Vec::new();
        self.spans = Vec::new();
        Ok(())
    }
}

fn prefix_of(leaf: &[u8]) -> u64 {
    let mut p = [0u8; 8];
    let n = leaf.len().min(8);
    p[..n].copy_from_slice(&leaf[..n]);
    u64::from_be_bytes(p)
}

/// The merged output of a [`LeafSorter`]: distinct leaves in byte order.
pub struct SortedLeaves {
    src: Src,
    last: Option<Vec<u8>>,
}

enum Src {
    Memory {
        arena: Vec<u8>,
        spans: Vec<Span>,
        next: usize,
    },
    Runs(Merge),
}

impl SortedLeaves {
    /// Writes the next distinct leaf into `out`; `false` at the end.
    pub fn next_leaf(&mut self, out: &mut Vec<u8>) -> Result<bool, HashError> {
        loop {
            out.clear();
            let got = match &mut self.src {
                Src::Memory { arena, spans, next } => match spans.get(*next) {
                    Some(s) => {
                        *next += 1;
                        out.extend_from_slice(&arena[s.start..s.start + s.len as usize]);
                        true
                    }
                    None => false,
                },
                Src::Runs(m) => m.next_into(out)?,
            };
            if !got {
                return Ok(false);
            }
            if self.last.as_deref() == Some(out.as_slice()) {
                continue;
            }
            match &mut self.last {
                Some(l) => {
                    l.clear();
                    l.extend_from_slice(out);
                }
                None => self.last = Some(out.clone()),
            }
            return Ok(true);
        }
    }
}

const NAMES: RunNames = RunNames {
    create: "creating a source sort run file",
    write: "writing a source sort run file",
    rewind: "rewinding a source sort run file",
    read: "reading a source sort run file",
};

/// A run of `length (u16 BE) || bytes` records.
struct RunWriter(runfile::RunWriter);

impl RunWriter {
    fn new(dir: Option<&PathBuf>) -> Result<Self, HashError> {
        runfile::RunWriter::new(dir, RUN_BUFFER, &NAMES).map(RunWriter)
    }

    fn write(&mut self, leaf: &[u8]) -> Result<(), HashError> {
        // Leaves are at most MAX_LEAF (2,048) bytes: checked by `push_parts`.
        let len = (leaf.len() as u16).to_be_bytes();
        self.0.write_parts(&[&len, leaf])
    }

    fn finish(self) -> Result<File, HashError> {
        self.0.finish()
    }
}

struct RunReader(runfile::RunReader);

impl RunReader {
    /// Reads the next leaf into `leaf` (reusing its allocation); `false` at the end of the run.
    fn read_into(&mut self, leaf: &mut Vec<u8>) -> Result<bool, HashError> {
        let mut len = [0u8; 2];
        if !self.0.read_head(&mut len)? {
            return Ok(false);
        }
        leaf.clear();
        leaf.resize(usize::from(u16::from_be_bytes(len)), 0);
        self.0.read_exact(leaf)
    }
}

struct Merge {
    readers: Vec<RunReader>,
    heap: BinaryHeap<Reverse<(Vec<u8>, usize)>>,
}

impl Merge {
    fn new(files: Vec<File>) -> Result<Self, HashError> {
        let mut readers: Vec<RunReader> = files
            .into_iter()
            .map(|f| RunReader(runfile::RunReader::new(f, RUN_BUFFER, &NAMES)))
            .collect();
        let mut heap = BinaryHeap::with_capacity(readers.len());
        for (i, r) in readers.iter_mut().enumerate() {
            let mut l = Vec::new();
            if r.read_into(&mut l)? {
                heap.push(Reverse((l, i)));
            }
        }
        Ok(Merge { readers, heap })
    }

    /// Moves the smallest leaf into `out`; `out`'s old buffer takes that run's next leaf, so
    /// merging allocates nothing per leaf.
    fn next_into(&mut self, out: &mut Vec<u8>) -> Result<bool, HashError> {
        let Some(Reverse((l, i))) = self.heap.pop() else {
            return Ok(false);
        };
        let mut spare = std::mem::replace(out, l);
        if self.readers[i].read_into(&mut spare)? {
            self.heap.push(Reverse((spare, i)));
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u32) -> Vec<Vec<u8>> {
        // Variable lengths, shared prefixes longer than 8 bytes, and every 5th a duplicate.
        (0..n)
            .map(|i| {
                let k = if i % 5 == 4 { i - 2 } else { i };
                let host = ["com.example.www.", "com.example.", "org.w3.", ""][(k % 4) as usize];
                let mut l = format!("{host}/p/{}", k % 97).into_bytes();
                l.push(0);
                l.extend_from_slice(blake3::hash(&k.to_le_bytes()).as_bytes());
                l
            })
            .collect()
    }

    fn drain(mut s: SortedLeaves) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut l = Vec::new();
        while s.next_leaf(&mut l).unwrap() {
            out.push(l.clone());
        }
        out
    }

    #[test]
    fn spilled_merge_equals_a_plain_sort_and_dedup() {
        let input = leaves(5000);
        let mut want = input.clone();
        want.sort();
        want.dedup();
        assert_eq!(want.len(), 4000);
        for budget in [usize::MAX, 4096, 200] {
            let mut s = LeafSorter::new(budget, None);
            for l in input.iter().rev() {
                s.push_parts(&[&l[..3.min(l.len())], &l[3.min(l.len())..]])
                    .unwrap();
            }
            let spilled = s.runs_spilled();
            assert_eq!(drain(s.finish().unwrap()), want, "budget {budget}");
            if budget == 200 {
                assert!(spilled > MAX_FAN_IN, "{spilled} runs");
            }
        }
    }

    #[test]
    fn empty_and_oversized_leaves_are_refused() {
        let mut s = LeafSorter::new(1 << 20, None);
        assert!(s.push_parts(&[]).is_err());
        assert!(s.push_parts(&[&[7u8; MAX_LEAF + 1]]).is_err());
        s.push_parts(&[&[7u8; MAX_LEAF]]).unwrap();
        assert_eq!(drain(s.finish().unwrap()), vec![vec![7u8; MAX_LEAF]]);
        assert!(drain(LeafSorter::new(10, None).finish().unwrap()).is_empty());
    }
}
