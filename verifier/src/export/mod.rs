//! The ledger's evidence in formats other tools read. Pure: types, encodings and signature
//! checks only; the CLI gathers the data and writes the files.
//!
//! - [`intoto`]: in-toto Statement v1 with a SLSA provenance v1 predicate for a model
//!   checkpoint, in a DSSE envelope (docs/formats.md, "in-toto / SLSA provenance export").

pub mod intoto;
