//! `prov export provenance --model P/M@C [--out FILE] --key KEY`: an in-toto Statement v1 with a
//! SLSA provenance v1 predicate for a model checkpoint, in a DSSE envelope signed with the
//! publisher's Ed25519 key. The format is `verifier::export::intoto`'s.

use std::path::PathBuf;

use crate::cmd::proof::KeyArg;
use crate::cmd::publisher::Remote;
use crate::exit::{Exit, Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct ProvenanceArgs {
    /// The model checkpoint: PUBLISHER/MODEL (its latest checkpoint) or PUBLISHER/MODEL@CHECKPOINT.
    #[arg(long, value_name = "PUBLISHER/MODEL[@CHECKPOINT]")]
    pub model: String,
    /// The publisher's private key file: it signs the DSSE envelope.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Write the envelope to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub checks: crate::cmd::verify::SiteCheckArgs,
    #[command(flatten)]
    pub vkey: KeyArg,
    #[command(flatten)]
    pub remote: Remote,
}

pub fn run(a: &ProvenanceArgs) -> Outcome {
    Err(Failure::msg(
        Exit::Invalid,
        format!("export provenance {}: not implemented yet", a.model),
    ))
}
