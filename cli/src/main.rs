//! `prov`: the Provenance Ledger command line.
//!
//! Exit codes of `prov hash` and `prov manifest merge` (the others: `exit.rs`):
//! - 0: success (also when stdout is closed early, e.g. piped into `head`);
//! - 1: bad input: a corpus path or item that cannot be read or parsed as its mode requires;
//! - 2: usage: unknown or inconsistent options;
//! - 3: I/O: the manifest or temporary files could not be written;
//! - 4: backend: the requested hashing backend is missing or failed.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod client;
mod cmd;
#[cfg(feature = "server")]
mod demo;
mod exit;
mod logread;
mod mirror;
mod source;
mod witnessed;
mod work;

#[derive(Parser)]
#[command(
    name = "prov",
    version,
    about = "Provenance Ledger: content-address corpora, verify proofs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Content-address a corpus: print its set root and write its manifest.
    Hash(cmd::hash::HashArgs),
    /// Shard manifests: `merge` makes the manifests of `prov hash --shard K/N` into the one
    /// manifest a single run writes.
    #[command(subcommand)]
    Manifest(cmd::manifest::ManifestCmd),
    /// Make a new signing key (file mode 0600) and print its public key.
    Keygen(cmd::keygen::KeygenArgs),
    /// Manage publishers: `register` binds a name to a key.
    #[command(subcommand)]
    Publisher(cmd::publisher::PublisherCmd),
    /// Hash (or take a manifest of) a dataset version, upload its set, and log it.
    Publish(cmd::publish::PublishArgs),
    /// Opt documents out of uses (aipref scope), signed or anonymous.
    Optout(cmd::optout::OptOutArgs),
    /// Log a model checkpoint: its weights, its datasets, and its opt-out horizon.
    Attest(cmd::attest::AttestArgs),
    /// Is this document in this model's training data? Answers with verified proofs.
    Check(cmd::check::CheckArgs),
    /// Fetch proofs and compliance bundles from a server into files.
    #[command(subcommand)]
    Proof(cmd::proof::ProofCmd),
    /// Verify proofs offline, with the log's public key only.
    #[command(subcommand)]
    Verify(cmd::verify::VerifyCmd),
    /// Reports from committed data: `training-summary`, the EU AI Act public summary of training
    /// content (data sources, opt-outs, compliance) of a model checkpoint.
    #[command(subcommand)]
    Report(cmd::report::ReportCmd),
    /// Monitor a ledger with its public key only: re-check every entry, every named set and the
    /// log's consistency, and report each breach with its evidence.
    Audit(cmd::audit::AuditArgs),
    /// Export evidence in standard formats: `provenance` (in-toto / SLSA, DSSE-signed).
    #[command(subcommand)]
    Export(cmd::export::ExportCmd),
    /// Serve a ledger over HTTP (creates one in a directory that does not exist).
    #[cfg(feature = "server")]
    Serve(cmd::serve::ServeCmdArgs),
    /// Witness other logs: `serve` runs a C2SP tlog-witness v1 witness that cosigns their
    /// checkpoints.
    #[cfg(feature = "server")]
    #[command(subcommand)]
    Witness(cmd::witness::WitnessCmd),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.command {
        Command::Hash(args) => cmd::hash::run(args),
        Command::Manifest(c) => cmd::manifest::run(c),
        Command::Keygen(a) => return exit::finish(cmd::keygen::run(&a)),
        Command::Publisher(c) => return exit::finish(cmd::publisher::run(&c)),
        Command::Publish(a) => return exit::finish(cmd::publish::run(&a)),
        Command::Optout(a) => return exit::finish(cmd::optout::run(&a)),
        Command::Attest(a) => return exit::finish(cmd::attest::run(&a)),
        Command::Check(a) => return exit::finish(cmd::check::run(&a)),
        Command::Proof(c) => return exit::finish(cmd::proof::run(&c)),
        Command::Verify(c) => return exit::finish(cmd::verify::run(&c)),
        Command::Report(c) => return exit::finish(cmd::report::run(&c)),
        Command::Audit(a) => return exit::finish(cmd::audit::run(&a)),
        Command::Export(c) => return exit::finish(cmd::export::run(&c)),
        #[cfg(feature = "server")]
        Command::Serve(a) => return exit::finish(cmd::serve::run(&a)),
        #[cfg(feature = "server")]
        Command::Witness(c) => return exit::finish(cmd::witness::run(&c)),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if cmd::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("prov: {e:#}");
            ExitCode::from(cmd::exit_code(&e))
        }
    }
}
