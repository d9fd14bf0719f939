//! Content addressing at corpus scale (DESIGN.md, "Content ids" and "Set leaves").
//!
//! Walks a corpus, splits it into items by mode (whole files, JSON Lines records, lines, Parquet
//! rows), hashes every item through a [`ContentHasher`] backend (CPU here; GPU behind the `gpu`
//! feature), and builds the sorted, de-duplicated set of leaves that a dataset version commits
//! to, written as a manifest ([`manifest`]) that the ledger and the API read back.
//!
//! Deliberately not here: publishing to the log, signing, HTTP. Memory stays bounded whatever the
//! corpus size: leaves are sorted in runs, spilled to temporary files and merged.

pub mod auto;
pub mod backend;
pub mod calibrate;
mod columnar;
pub mod error;
#[cfg(feature = "gpu")]
mod gpu;
mod jcs;
mod jsonscan;
pub mod leafsort;
pub mod manifest;
mod many;
mod mapped;
pub mod merge;
pub mod meta;
pub mod object;
#[cfg(feature = "object-store")]
pub mod object_reader;
pub mod passages;
pub mod pipeline;
pub mod records;
mod runfile;
pub mod settree;
pub mod shard;
pub mod sorter;
pub mod sources;
pub mod text;
mod textbatch;
pub mod walk;
mod work;

pub use backend::{select, BackendChoice, ContentHasher, CpuHasher, Usage};
pub use error::{HashError, Location, Record};
pub use manifest::{ManifestEntry, ManifestError, ManifestHeader, ManifestReader, ManifestWriter};
pub use meta::{FieldKind, FieldPath, MetaField, MetaMode, MetaSpec, Vocabulary};
pub use passages::{PassageTree, PassageTreeBuilder};
pub use pipeline::{hash_corpus, hash_to_file, HashConfig, Mode, Observer, Quiet, Summary};
pub use sources::{SourceTree, SourceTreeBuilder};
