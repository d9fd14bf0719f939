//! The Provenance Ledger verifier: everything a verifier needs, and nothing else.
//!
//! Here: the value types ([`types`]), the hashes of the log and the sets ([`hash`]), RFC 6962
//! Merkle math ([`merkle`], [`tree`]), tiles ([`tile`]), signed notes ([`note`]), C2SP
//! checkpoints ([`checkpoint`]), witness cosignatures and k-of-n witness policies
//! ([`cosignature`]), tlog-proofs ([`tlog_proof`]), consistency-proof files
//! ([`consistency_proof`]), private key files ([`keyfile`]), BLAKE3 sorted sets with inclusion
//! and exclusion proofs ([`set`]), source keys and sites ([`source`]), range trees and range
//! proofs ([`range`]), signed entries ([`entry`]), the compliance check that ties them
//! together ([`compliance`]), normalised passages of texts and their ids ([`passage`]), the
//! exports to other tools' formats ([`export`]: in-toto / SLSA provenance in DSSE), and every
//! wire format's parser and printer.
//!
//! Deliberately not here: I/O, storage, async and threads. Every function takes bytes or a
//! [`tree::HashReader`] and returns values, so the crate builds without rayon, memmap2, tokio,
//! RocksDB or wgpu (a test in `tests/` checks its dependency tree). The durable store, the
//! sequencer and key files live in crate `ledger`; HTTP in `api`; corpus walking and hashing in
//! `hasher`; GPU code in `gpu-hash`.

pub mod checkpoint;
pub mod compliance;
pub mod consistency_proof;
pub mod cosignature;
pub mod entry;
pub mod export;
pub mod hash;
pub mod keyfile;
pub mod merkle;
pub mod note;
pub mod passage;
pub mod range;
pub mod set;
pub mod source;
pub mod tile;
pub mod tlog_proof;
pub mod tree;
pub mod types;

pub use checkpoint::{Checkpoint, CheckpointError};
pub use cosignature::{
    verify_cosigned, Cosignature, CosignatureError, WitnessKey, WitnessPolicy, WitnessSigner,
};
pub use hash::{leaf_hash, node_hash, Blake3Set, Sha256Log, TreeHasher};
pub use merkle::{verify_consistency, verify_inclusion, ProofError, StreamingRoot};
pub use note::{sign_note, verify_note, NoteError, NoteSigner, VerifierKey};
pub use range::{
    range_multi_proof, range_proof, verify_range, verify_ranges, Range, RangeError, RangeLeaf,
    RangeMembers, RangeProof, RangeRootBuilder, RangeSource, RangeTree,
};
pub use source::{source_key, Site, SourceError, SourceKey};
pub use tlog_proof::{TlogProof, TlogProofError};
pub use types::{ContentId, Digest, LeafIndex, ParseError, TreeSize};
