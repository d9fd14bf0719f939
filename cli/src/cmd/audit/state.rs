//! The audit's state file (`--state`, JSON): what a run needs to resume where the last one
//! stopped without reading again what it already verified.
//!
//! ```json
//! {
//!   "format": 1,
//!   "vkey": "<the log's C2SP vkey>",
//!   "checkpoint": "<signed note of the last checkpoint audited, verbatim>",
//!   "audited": 58,
//!   "edge": ["<base64 hash>", ...],
//!   "index": "<base64>",
//!   "sets": {"<root hex>": {"outcome": "verified", "size": 12}, ...},
//!   "breaches": [ ... ]
//! }
//! ```
//!
//! - `audited`: entries `[0, audited)` were read and checked; it is the size of `checkpoint`.
//! - `edge`: the right edge (compact range) of that tree, largest subtree first: with it the
//!   next run recomputes the root of a larger tree from the new entries alone.
//! - `index`: the replayed rule index (the `index` column of an in-memory ledger store: replay
//!   keys, publisher keys, dataset versions, ...), as length-prefixed records: `u32` key length,
//!   key, `u32` value length, value, all big-endian. About 60 bytes per entry.
//! - `sets`: every set an audited entry named, with what reading it found.
//! - `breaches`: every breach found so far (a later run reports them again: a log that breached
//!   stays in breach).
//!
//! The file is replaced atomically (written beside it, then renamed).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use base64::Engine as _;
use ledger::store::Record;
use ledger::tree::{self, HashReader, RightEdge, TreeError};
use ledger::{Digest, TreeSize};
use serde::{Deserialize, Serialize};

use super::sets::SetOutcome;
use super::Breach;
use crate::exit::{Exit, Failure, OrExit};

const FORMAT: u32 = 1;

/// What the last run left for the next one.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub format: u32,
    pub vkey: String,
    /// The last checkpoint audited (absent before the first run).
    pub checkpoint: Option<String>,
    pub audited: u64,
    pub edge: Vec<String>,
    pub index: String,
    pub sets: BTreeMap<String, SetOutcome>,
    pub breaches: Vec<Breach>,
}

impl State {
    /// The state of an audit that has not started, for the log of `vkey`.
    pub fn new(vkey: &str) -> Self {
        State {
            format: FORMAT,
            vkey: vkey.to_string(),
            ..State::default()
        }
    }

    /// The state in `path`, or `None` if there is no such file. A file that is not a state
    /// file of this format is bad input (exit 2): it is never overwritten.
    pub fn load(path: &Path) -> Result<Option<State>, Failure> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Failure::new(
                    Exit::Invalid,
                    anyhow::Error::new(e).context(format!("reading --state {}", path.display())),
                ))
            }
        };
        let state: State = serde_json::from_slice(&bytes).or_exit(
            Exit::Invalid,
            format!("--state {} is not a prov audit state file", path.display()),
        )?;
        if state.format != FORMAT {
            return Err(Failure::msg(
                Exit::Invalid,
                format!(
                    "--state {} has format {}, this prov reads {FORMAT}",
                    path.display(),
                    state.format
                ),
            ));
        }
        Ok(Some(state))
    }

    /// Writes the state to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), Failure> {
        let text = serde_json::to_vec_pretty(self).or_exit(Exit::Local, "encoding the state")?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let what = || format!("writing --state {}", path.display());
        let mut tmp = tempfile::NamedTempFile::new_in(dir).or_exit(Exit::Local, what())?;
        std::io::Write::write_all(&mut tmp, &text).or_exit(Exit::Local, what())?;
        tmp.as_file().sync_all().or_exit(Exit::Local, what())?;
        tmp.persist(path).or_exit(Exit::Local, what())?;
        Ok(())
    }

    /// The right edge of the audited tree, from `edge`.
    pub fn edge(&self) -> Result<EdgeTracker, Failure> {
        let hashes = self
            .edge
            .iter()
            .map(|h| Digest::from_base64(h))
            .collect::<Result<Vec<_>, _>>()
            .or_exit(Exit::Invalid, "--state: edge")?;
        EdgeTracker::restore(TreeSize(self.audited), &hashes)
            .or_exit(Exit::Invalid, "--state: edge does not fit the audited size")
    }

    /// The replayed index records, from `index`.
    pub fn index_records(&self) -> Result<Vec<Record>, Failure> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.index)
            .or_exit(Exit::Invalid, "--state: index")?;
        decode_records(&bytes)
            .ok_or_else(|| Failure::msg(Exit::Invalid, "--state: index records are truncated"))
    }

    pub fn set_index_records(&mut self, records: &[Record]) {
        self.index = base64::engine::general_purpose::STANDARD.encode(encode_records(records));
    }
}

fn encode_records(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in records {
        for part in [k, v] {
            let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

fn decode_records(mut b: &[u8]) -> Option<Vec<Record>> {
    let take = |b: &mut &[u8]| -> Option<Vec<u8>> {
        let (len, rest) = b.split_at_checked(4)?;
        let len = usize::try_from(u32::from_be_bytes(len.try_into().ok()?)).ok()?;
        let (part, rest) = rest.split_at_checked(len)?;
        *b = rest;
        Some(part.to_vec())
    };
    let mut out = Vec::new();
    while !b.is_empty() {
        let k = take(&mut b)?;
        let v = take(&mut b)?;
        out.push((k, v));
    }
    Some(out)
}

/// The log's [`RightEdge`] while entries are appended to it, keeping the few stored hashes that
/// make up the edge so that it can be saved and restored (through [`RightEdge::load`], the
/// ledger's own code).
pub struct EdgeTracker {
    edge: RightEdge,
    /// Stored hash index to hash: at least the edge's, pruned now and then.
    hashes: HashMap<u64, Digest>,
    scratch: Vec<Digest>,
}

impl EdgeTracker {
    /// The edge of the tree of `size` leaves, from its hashes (largest subtree first).
    pub fn restore(size: TreeSize, hashes: &[Digest]) -> Result<Self, TreeError> {
        let indexes = edge_indexes(size);
        if indexes.len() != hashes.len() {
            return Err(TreeError::WrongHashCount {
                want: indexes.len(),
                got: hashes.len(),
            });
        }
        let hashes: HashMap<u64, Digest> =
            indexes.into_iter().zip(hashes.iter().copied()).collect();
        let edge = RightEdge::load(size, &MapHashes(&hashes))?;
        Ok(EdgeTracker {
            edge,
            hashes,
            scratch: Vec::new(),
        })
    }

    pub fn size(&self) -> TreeSize {
        self.edge.size()
    }

    pub fn root(&self) -> Digest {
        self.edge.root()
    }

    /// Appends the next leaf.
    pub fn append(&mut self, leaf_hash: Digest) {
        let first = tree::stored_hash_count(self.edge.size());
        self.scratch.clear();
        self.edge.append(leaf_hash, &mut self.scratch);
        for (j, h) in self.scratch.iter().enumerate() {
            self.hashes.insert(first + j as u64, *h);
        }
        if self.hashes.len() > 4096 {
            let keep = edge_indexes(self.edge.size());
            self.hashes.retain(|i, _| keep.contains(i));
        }
    }

    /// The edge's hashes, largest subtree first, as [`EdgeTracker::restore`] takes them.
    pub fn hashes(&self) -> Result<Vec<Digest>, TreeError> {
        MapHashes(&self.hashes).read_hashes(&edge_indexes(self.edge.size()))
    }
}

/// The stored hash indexes of the edge of the tree of `size`: one complete subtree per set bit,
/// largest first (what [`RightEdge::load`] reads).
fn edge_indexes(size: TreeSize) -> Vec<u64> {
    (0..64u8)
        .rev()
        .filter(|b| (size.0 >> b) & 1 == 1)
        .map(|l| tree::stored_hash_index(l, (size.0 >> l) - 1))
        .collect()
}

struct MapHashes<'a>(&'a HashMap<u64, Digest>);

impl HashReader for MapHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Digest>, TreeError> {
        indexes
            .iter()
            .map(|&index| {
                self.0
                    .get(&index)
                    .copied()
                    .ok_or(TreeError::MissingHash { index })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_edge_restores_to_the_same_root_and_keeps_growing_like_the_log() {
        let leaf = |i: u64| ledger::leaf_hash(&i.to_be_bytes());
        let mut all = tree::MemoryHashes::new();
        let mut t = EdgeTracker::restore(TreeSize(0), &[]).unwrap();
        for i in 0..5000u64 {
            t.append(leaf(i));
            all.push_leaf_hash(leaf(i));
            if i % 777 == 0 || i == 4999 {
                assert_eq!(t.root(), all.root(), "size {}", i + 1);
                let saved = t.hashes().unwrap();
                t = EdgeTracker::restore(t.size(), &saved).unwrap();
                assert_eq!(t.root(), all.root());
            }
        }
    }

    #[test]
    fn index_records_round_trip_and_truncation_is_refused() {
        let recs = vec![(vec![1u8, 2], vec![]), (vec![3u8], vec![9u8; 40])];
        let b = encode_records(&recs);
        assert_eq!(decode_records(&b).unwrap(), recs);
        assert!(decode_records(&b[..b.len() - 1]).is_none());
    }
}
