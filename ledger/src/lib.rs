//! The Provenance Ledger core: an RFC 6962 log of signed entries, BLAKE3 sorted sets with
//! inclusion and exclusion proofs, C2SP checkpoints, signed notes and tlog-proofs, and the
//! compliance check that ties them together.
//!
//! The core does no I/O: every function takes bytes or a [`tree::HashReader`] and returns values.
//! Storage lives behind the `rocksdb` feature (module `store`), so a verifier builds without it.
//!
//! Deliberately not here: HTTP (crate `api`), corpus walking and hashing (crate `hasher`), GPU
//! code (crate `gpu-hash`).

pub mod checkpoint;
pub mod compliance;
pub mod entry;
pub mod hash;
pub mod ledger;
pub mod merkle;
pub mod note;
pub mod sequencer;
pub mod set;
pub mod store;
pub mod tile;
pub mod tlog_proof;
pub mod tree;
pub mod types;

pub use checkpoint::{Checkpoint, CheckpointError};
pub use hash::{leaf_hash, node_hash, Blake3Set, Sha256Log, TreeHasher};
pub use merkle::{verify_consistency, verify_inclusion, ProofError, StreamingRoot};
pub use note::{sign_note, verify_note, NoteError, NoteSigner, VerifierKey};
pub use tlog_proof::{TlogProof, TlogProofError};
pub use types::{ContentId, Digest, LeafIndex, ParseError, TreeSize};
