//! The Provenance Ledger's log: the durable store (module `store`, behind the `rocksdb`
//! feature for RocksDB), the sequencer that admits and integrates entries, the [`ledger::Ledger`]
//! that the service reads and writes through, and key files.
//!
//! Everything pure (types, hashes, Merkle math, tiles, notes, checkpoints, tlog-proofs, sets,
//! entries, compliance, the wire formats) lives in crate `verifier`, which does no I/O; it is
//! re-exported here under its old paths (`ledger::entry::Entry`, `ledger::Digest`, ...).
//!
//! Deliberately not here: HTTP (crate `api`), corpus walking and hashing (crate `hasher`), GPU
//! code (crate `gpu-hash`).

pub mod ledger;
pub mod sequencer;
pub mod store;

pub use verifier::{
    checkpoint, compliance, cosignature, entry, hash, merkle, note, range, set, source, tile,
    tlog_proof, tree, types,
};

pub use verifier::{
    leaf_hash, node_hash, sign_note, verify_consistency, verify_inclusion, verify_note, Blake3Set,
    Checkpoint, CheckpointError, ContentId, Digest, LeafIndex, NoteError, NoteSigner, ParseError,
    ProofError, Sha256Log, StreamingRoot, TlogProof, TlogProofError, TreeHasher, TreeSize,
    VerifierKey,
};
