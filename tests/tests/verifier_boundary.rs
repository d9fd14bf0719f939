//! The verifier boundary: crate `verifier` (everything a verifier needs: types, hashes, Merkle
//! math, tiles, notes, checkpoints, tlog-proofs, sets, entries, compliance) does no I/O, so its
//! normal dependency tree holds none of the crates that do I/O, spawn threads or run async code.
//! `cargo tree` is asked, as a user would: one command, a few seconds, no build.

use std::path::Path;
use std::process::Command;

/// Crates that must never be a normal dependency of `verifier` (a name, or a name followed by
/// `-`, so `rayon-core`, `wgpu-core`, `tokio-util` count too).
const FORBIDDEN: &[&str] = &[
    "rayon",
    "memmap2",
    "tokio",
    "rocksdb",
    "librocksdb-sys",
    "wgpu",
    "axum",
    "hyper",
    "rustix",
    "parquet",
];

/// The package names in `cargo tree -p <package> -e normal --prefix none`.
fn normal_dependencies(package: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["tree", "-p", package, "-e", "normal", "--prefix", "none"])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("cargo tree prints UTF-8")
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn forbidden(name: &str) -> bool {
    FORBIDDEN
        .iter()
        .any(|f| name == *f || name.strip_prefix(f).is_some_and(|r| r.starts_with('-')))
}

#[test]
fn verifier_builds_without_io_crates() {
    let deps = normal_dependencies("verifier");
    // The tree is really the verifier's: itself first, and the hashes it is built on.
    assert_eq!(
        deps.first().map(String::as_str),
        Some("verifier"),
        "{deps:?}"
    );
    for needed in ["blake3", "sha2", "ed25519-dalek"] {
        assert!(deps.iter().any(|d| d == needed), "no {needed} in {deps:?}");
    }
    let bad: Vec<&String> = deps.iter().filter(|d| forbidden(d)).collect();
    assert!(
        bad.is_empty(),
        "crate verifier must do no I/O, but its normal dependencies include {bad:?}"
    );
}

#[test]
fn the_forbidden_list_matches_what_it_names() {
    // The check above cannot pass by a typo: the names it refuses are recognised.
    for name in [
        "rayon",
        "rayon-core",
        "memmap2",
        "tokio",
        "wgpu-core",
        "librocksdb-sys",
    ] {
        assert!(forbidden(name), "{name}");
    }
    for name in ["blake3", "sha2", "tokiox", "serde"] {
        assert!(!forbidden(name), "{name}");
    }
}
