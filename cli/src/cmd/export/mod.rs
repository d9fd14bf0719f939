//! `prov export ...`: the ledger's evidence in formats other tools already read.
//!
//! - `provenance`: an in-toto Statement v1 with a SLSA provenance v1 predicate for a model
//!   checkpoint, DSSE-signed with the publisher's key (docs/formats.md, "in-toto / SLSA
//!   provenance export"); `prov verify provenance` checks it.
//! - `croissant`: MLCommons Croissant 1.1 JSON-LD for a dataset version (docs/formats.md,
//!   "Croissant export").
//! - `model-signing`: the in-toto Statement OpenSSF model_signing signs, for a checkpoint's
//!   weights (docs/formats.md, "model_signing export").
//!
//! One module per subcommand; each adds a variant to [`ExportCmd`] and an arm to [`run`].

pub mod croissant;
#[cfg(test)]
mod doc_example;
pub mod leaves;
pub mod model_signing;
pub mod provenance;

use crate::exit::Outcome;

#[derive(Debug, clap::Subcommand)]
pub enum ExportCmd {
    /// An in-toto Statement v1 (SLSA provenance v1) for a model checkpoint: its weight files as
    /// subjects, its dataset versions as resolved dependencies, its compliance verdict; signed
    /// in a DSSE envelope with the publisher's key.
    Provenance(provenance::ProvenanceArgs),
    /// MLCommons Croissant 1.1 JSON-LD for a dataset version: its corpus, its items' content
    /// ids and metadata, its licence, and the log entry and checkpoint that commit it.
    Croissant(croissant::CroissantArgs),
    /// The unsigned in-toto Statement OpenSSF model_signing signs for a model directory (BLAKE3
    /// file serialization), built from a checkpoint's weights: it matches a model_signing
    /// signature of the same files resource by resource.
    ModelSigning(model_signing::ModelSigningArgs),
}

pub fn run(cmd: &ExportCmd) -> Outcome {
    match cmd {
        ExportCmd::Provenance(a) => provenance::run(a),
        ExportCmd::Croissant(a) => croissant::run(a),
        ExportCmd::ModelSigning(a) => model_signing::run(a),
    }
}
