//! `prov export ...`: the ledger's evidence in formats other tools already read.
//!
//! - `provenance`: an in-toto Statement v1 with a SLSA provenance v1 predicate for a model
//!   checkpoint, DSSE-signed with the publisher's key (docs/formats.md, "in-toto / SLSA
//!   provenance export"); `prov verify provenance` checks it.
//!
//! One module per subcommand; each adds a variant to [`ExportCmd`] and an arm to [`run`].

pub mod provenance;

use crate::exit::Outcome;

#[derive(Debug, clap::Subcommand)]
pub enum ExportCmd {
    /// An in-toto Statement v1 (SLSA provenance v1) for a model checkpoint: its weight files as
    /// subjects, its dataset versions as resolved dependencies, its compliance verdict; signed
    /// in a DSSE envelope with the publisher's key.
    Provenance(provenance::ProvenanceArgs),
}

pub fn run(cmd: &ExportCmd) -> Outcome {
    match cmd {
        ExportCmd::Provenance(a) => provenance::run(a),
    }
}
