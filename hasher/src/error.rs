//! The crate's one error type. Variants separate what a caller branches on: a bad item
//! ([`HashError::Invalid`], skippable with `--skip-invalid`), an I/O failure outside the corpus
//! (spill files, the manifest), a backend that is missing or failed, and a bad option.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Where in a corpus an item came from: the file, and the 1-based line (JSON Lines, lines) or the
/// 0-based row (Parquet) when the item is a record rather than a whole file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub path: PathBuf,
    pub record: Option<Record>,
}

/// A record's position inside its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Record {
    /// 1-based line number (text modes), as editors and `sed -n` count.
    Line(u64),
    /// 0-based row index (Parquet), as Arrow and pandas count.
    Row(u64),
}

impl Location {
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Location {
            path: path.into(),
            record: None,
        }
    }

    pub fn line(path: impl Into<PathBuf>, line: u64) -> Self {
        Location {
            path: path.into(),
            record: Some(Record::Line(line)),
        }
    }

    pub fn row(path: impl Into<PathBuf>, row: u64) -> Self {
        Location {
            path: path.into(),
            record: Some(Record::Row(row)),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.record {
            None => write!(f, "{}", self.path.display()),
            Some(Record::Line(n)) => write!(f, "{}:{n}", self.path.display()),
            Some(Record::Row(n)) => write!(f, "{}: row {n}", self.path.display()),
        }
    }
}

/// Everything that can go wrong while hashing a corpus.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// An item (or a whole corpus file) that cannot be hashed as the mode defines it: unreadable,
    /// not UTF-8, not JSON, missing its field, a corrupt compressed stream or Parquet file.
    /// `--skip-invalid` skips these and counts them; everything else is fatal.
    #[error("{at}: {reason}")]
    Invalid { at: Location, reason: String },
    /// A corpus path given on the command line that does not exist or cannot be listed.
    #[error("{path}: {source}")]
    Corpus { path: PathBuf, source: io::Error },
    /// The temporary run files of the external sort, or the manifest being written.
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        source: io::Error,
    },
    /// `--backend gpu` on a binary built without the `gpu` feature.
    #[error("this build has no gpu backend (cargo feature `gpu`)")]
    GpuNotBuilt,
    /// `--backend gpu` where no usable adapter exists; `auto` falls back to the CPU instead.
    #[error("no usable gpu: {0}")]
    NoDevice(String),
    /// A backend that failed while hashing (a lost device, a shader error).
    #[error("backend {backend}: {reason}")]
    Backend { backend: String, reason: String },
    /// `hash_batch` called with an output slice of the wrong length: a caller bug.
    #[error("batch of {items} items given {outputs} output slots")]
    BatchShape { items: usize, outputs: usize },
    /// The manifest could not be written.
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    /// The source tree's leaves came out of their sort out of order: a bug, never the input.
    #[error("source tree: {0}")]
    SourceTree(#[from] verifier::range::RangeError),
    /// An option that does not make sense (an unknown mode, a bad `--meta-field`, a bad glob).
    #[error("{0}")]
    Config(String),
}

impl HashError {
    pub(crate) fn invalid(at: Location, reason: impl fmt::Display) -> Self {
        HashError::Invalid {
            at,
            reason: reason.to_string(),
        }
    }

    pub(crate) fn io(what: &'static str) -> impl FnOnce(io::Error) -> HashError {
        move |source| HashError::Io { what, source }
    }
}
