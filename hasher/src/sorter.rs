//! The external sort that turns hashed items, in whatever order they were hashed, into the set's
//! leaves in content-id order, with duplicates grouped.
//!
//! Items accumulate in memory up to a budget; a full buffer is sorted and spilled to an unnamed
//! temporary file (a *run*), and at the end the runs are merged k ways. Sorting by
//! `(cid, metadata bytes)` makes the output independent of the order items arrived in, which is
//! what lets threads, backends and discovery order vary without changing the root. Unnamed
//! temporary files vanish with the process, even when it is killed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::path::PathBuf;

use crate::error::HashError;
use crate::runfile::{self, RunNames};

/// One hashed item on its way to becoming (part of) a leaf.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub cid: [u8; 32],
    pub size: u64,
    /// The item's canonical source entry; empty without metadata.
    pub meta: Vec<u8>,
}

/// All items that share one content id: one leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub cid: [u8; 32],
    pub size: u64,
    /// Canonical source entries, sorted by their bytes (empty ones when metadata is off).
    pub metas: Vec<Vec<u8>>,
}

/// Runs merged in one pass at most; more are merged in several passes, so that a tiny memory
/// budget cannot exhaust file descriptors.
const MAX_FAN_IN: usize = 64;
/// The buffer of each run being read or written.
const RUN_BUFFER: usize = 64 << 10;
/// Bookkeeping bytes per entry besides its metadata: the struct itself.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<Entry>();

/// Sorts entries within a memory budget, spilling sorted runs to temporary files.
pub struct Sorter {
    budget: usize,
    used: usize,
    buf: Vec<Entry>,
    runs: Vec<File>,
    tmp_dir: Option<PathBuf>,
}

impl Sorter {
    /// `budget` bytes of entries are kept in memory before a run is spilled to `tmp_dir` (the
    /// system's temporary directory when `None`).
    pub fn new(budget: usize, tmp_dir: Option<PathBuf>) -> Self {
        Sorter {
            budget: budget.max(1),
            used: 0,
            buf: Vec::new(),
            runs: Vec::new(),
            tmp_dir,
        }
    }

    pub fn push(&mut self, e: Entry) -> Result<(), HashError> {
        self.used += ENTRY_OVERHEAD + e.meta.capacity();
        self.buf.push(e);
        if self.used >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// How many runs went to disk so far.
    pub fn runs_spilled(&self) -> usize {
        self.runs.len()
    }

    /// Ends input and returns the groups in content-id order.
    pub fn finish(mut self) -> Result<Groups, HashError> {
        if self.runs.is_empty() {
            sort_entries(&mut self.buf);
            return Ok(Groups {
                src: Source::Memory(self.buf.into_iter()),
                peeked: None,
            });
        }
        if !self.buf.is_empty() {
            self.spill()?;
        }
        let tmp_dir = self.tmp_dir.clone();
        let runs = runfile::reduce_runs(std::mem::take(&mut self.runs), MAX_FAN_IN, |chunk| {
            let mut merged = Merge::new(chunk)?;
            let mut w = RunWriter::new(tmp_dir.as_ref())?;
            while let Some(e) = merged.next_entry()? {
                w.write(&e)?;
            }
            w.finish()
        })?;
        Ok(Groups {
            src: Source::Runs(Merge::new(runs)?),
            peeked: None,
        })
    }

    fn spill(&mut self) -> Result<(), HashError> {
        sort_entries(&mut self.buf);
        let mut w = RunWriter::new(self.tmp_dir.as_ref())?;
        for e in self.buf.drain(..) {
            w.write(&e)?;
        }
        self.runs.push(w.finish()?);
        self.buf = Vec::new();
        self.used = 0;
        Ok(())
    }
}

/// Sorts entries in their `Ord` order (content id, size, metadata bytes) on all cores, the ids'
/// first 16 bytes compared as one integer before anything else: the sort of a corpus's entries
/// runs after the last item is hashed, on the critical path, and comparing ids through `memcmp`
/// was most of it (issue 15 item 5).
fn sort_entries(buf: &mut [Entry]) {
    use rayon::slice::ParallelSliceMut;
    let head = |e: &Entry| {
        let mut k = [0u8; 16];
        k.copy_from_slice(&e.cid[..16]);
        u128::from_be_bytes(k)
    };
    buf.par_sort_unstable_by(|a, b| head(a).cmp(&head(b)).then_with(|| a.cmp(b)));
}

/// The merged, grouped output of a [`Sorter`].
pub struct Groups {
    src: Source,
    peeked: Option<Entry>,
}

enum Source {
    Memory(std::vec::IntoIter<Entry>),
    Runs(Merge),
}

impl Groups {
    /// The next leaf's items, or `None` at the end.
    pub fn next_group(&mut self) -> Result<Option<Group>, HashError> {
        let first = match self.peeked.take() {
            Some(e) => e,
            None => match self.next_entry()? {
                Some(e) => e,
                None => return Ok(None),
            },
        };
        let mut g = Group {
            cid: first.cid,
            size: first.size,
            metas: vec![first.meta],
        };
        while let Some(e) = self.next_entry()? {
            if e.cid != g.cid {
                self.peeked = Some(e);
                break;
            }
            g.metas.push(e.meta);
        }
        Ok(Some(g))
    }

    fn next_entry(&mut self) -> Result<Option<Entry>, HashError> {
        match &mut self.src {
            Source::Memory(it) => Ok(it.next()),
            Source::Runs(m) => m.next_entry(),
        }
    }
}

const NAMES: RunNames = RunNames {
    create: "creating a sort run file",
    write: "writing a sort run file",
    rewind: "rewinding a sort run file",
    read: "reading a sort run file",
};

struct RunWriter(runfile::RunWriter);

impl RunWriter {
    fn new(dir: Option<&PathBuf>) -> Result<Self, HashError> {
        runfile::RunWriter::new(dir, RUN_BUFFER, &NAMES).map(RunWriter)
    }

    /// `cid (32) || size (u64 BE) || meta length (u32 BE) || meta`.
    fn write(&mut self, e: &Entry) -> Result<(), HashError> {
        let len = u32::try_from(e.meta.len())
            .map_err(|_| HashError::Config("an item's metadata exceeds 4 GiB".into()))?;
        self.0
            .write_parts(&[&e.cid, &e.size.to_be_bytes(), &len.to_be_bytes(), &e.meta])
    }

    fn finish(self) -> Result<File, HashError> {
        self.0.finish()
    }
}

struct RunReader(runfile::RunReader);

impl RunReader {
    fn next_entry(&mut self) -> Result<Option<Entry>, HashError> {
        let mut head = [0u8; 44];
        if !self.0.read_head(&mut head)? {
            return Ok(None);
        }
        let mut cid = [0u8; 32];
        cid.copy_from_slice(&head[..32]);
        let mut size = [0u8; 8];
        size.copy_from_slice(&head[32..40]);
        let mut len = [0u8; 4];
        len.copy_from_slice(&head[40..]);
        let mut meta = vec![0u8; u32::from_be_bytes(len) as usize];
        self.0.read_exact(&mut meta)?;
        Ok(Some(Entry {
            cid,
            size: u64::from_be_bytes(size),
            meta,
        }))
    }
}

/// A k-way merge of sorted runs through a min-heap of each run's next entry.
struct Merge {
    readers: Vec<RunReader>,
    heap: BinaryHeap<Reverse<(Entry, usize)>>,
}

impl Merge {
    fn new(files: Vec<File>) -> Result<Self, HashError> {
        let mut readers: Vec<RunReader> = files
            .into_iter()
            .map(|f| RunReader(runfile::RunReader::new(f, RUN_BUFFER, &NAMES)))
            .collect();
        let mut heap = BinaryHeap::with_capacity(readers.len());
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(e) = r.next_entry()? {
                heap.push(Reverse((e, i)));
            }
        }
        Ok(Merge { readers, heap })
    }

    fn next_entry(&mut self) -> Result<Option<Entry>, HashError> {
        let Some(Reverse((e, i))) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some(next) = self.readers[i].next_entry()? {
            self.heap.push(Reverse((next, i)));
        }
        Ok(Some(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: u32) -> Vec<Entry> {
        // Every 7th item repeats an earlier content id, with different metadata.
        (0..n)
            .map(|i| {
                let k = if i % 7 == 6 { i - 3 } else { i };
                Entry {
                    cid: *blake3::hash(&k.to_le_bytes()).as_bytes(),
                    size: u64::from(k),
                    meta: format!("m{i}").into_bytes(),
                }
            })
            .collect()
    }

    fn drain(mut g: Groups) -> Vec<Group> {
        let mut out = Vec::new();
        while let Some(x) = g.next_group().unwrap() {
            out.push(x);
        }
        out
    }

    #[test]
    fn spilled_merge_equals_in_memory_sort_whatever_the_input_order() {
        let input = entries(3000);
        let mut mem = Sorter::new(usize::MAX, None);
        for e in input.iter().cloned() {
            mem.push(e).unwrap();
        }
        assert_eq!(mem.runs_spilled(), 0);
        let want = drain(mem.finish().unwrap());
        assert_eq!(want.len(), 3000 - 3000 / 7);
        assert!(want.windows(2).all(|w| w[0].cid < w[1].cid));
        assert!(want.iter().all(|g| g.metas.windows(2).all(|w| w[0] < w[1])));

        // A budget of ~10 entries: hundreds of runs, so merging takes several passes.
        let mut tiny = Sorter::new(10 * (ENTRY_OVERHEAD + 8), None);
        for e in input.iter().rev().cloned() {
            tiny.push(e).unwrap();
        }
        assert!(tiny.runs_spilled() > MAX_FAN_IN * 2);
        assert_eq!(drain(tiny.finish().unwrap()), want);
    }

    #[test]
    fn empty_sorter_yields_nothing() {
        assert!(drain(Sorter::new(100, None).finish().unwrap()).is_empty());
    }
}
