//! One module per subcommand, and the mapping from error kinds to exit codes (see `main.rs`).

pub mod attest;
pub mod audit;
pub mod check;
pub mod check_site;
pub mod check_work;
pub mod export;
pub mod hash;
pub mod keygen;
pub mod manifest;
pub mod optout;
pub mod proof;
pub mod publish;
pub mod publisher;
pub mod report;
#[cfg(feature = "server")]
pub mod serve;
pub mod sitekeys;
pub mod verify;
#[cfg(feature = "server")]
pub mod witness;

use hasher::merge::MergeError;
use hasher::HashError;

pub const EXIT_INPUT: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_IO: u8 = 3;
pub const EXIT_BACKEND: u8 = 4;

/// The documented exit code for an error.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<MergeError>() {
        Some(MergeError::Io { .. }) => return EXIT_IO,
        Some(MergeError::Hash(h)) => return hash_exit_code(h),
        Some(_) => return EXIT_INPUT,
        None => {}
    }
    match e.downcast_ref::<HashError>() {
        Some(h) => hash_exit_code(h),
        _ if e.downcast_ref::<std::io::Error>().is_some() => EXIT_IO,
        _ => EXIT_INPUT,
    }
}

fn hash_exit_code(e: &HashError) -> u8 {
    match e {
        HashError::Invalid { .. } | HashError::Corpus { .. } => EXIT_INPUT,
        HashError::Config(_) => EXIT_USAGE,
        HashError::Io { .. } | HashError::Manifest(_) => EXIT_IO,
        HashError::GpuNotBuilt
        | HashError::NoDevice(_)
        | HashError::Backend { .. }
        | HashError::BatchShape { .. } => EXIT_BACKEND,
        _ => EXIT_INPUT,
    }
}

/// A closed stdout (`prov hash --list | head`) is not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
