//! `prov manifest merge OUT SHARD...`: the manifests of a sharded run (`prov hash --shard K/N`,
//! one per shard, each with its `.passages` file when it has a passage tree) merged into the
//! manifest, and passage leaves, that one unsharded run writes (crate `hasher`, `merge`).
//! stdout carries only the result (the root, or one JSON object with `--json`).

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use hasher::merge::{merge_to_file, MergeConfig};

#[derive(Subcommand, Debug)]
pub enum ManifestCmd {
    /// Merge the N shard manifests of `prov hash --shard K/N` (each K once) into OUT: the
    /// manifest, and OUT.passages, that one run over the whole corpus writes, byte for byte.
    Merge(MergeArgs),
}

#[derive(Args, Debug)]
#[command(
    after_help = "Exit codes: 0 ok; 1 bad input: a shard missing, repeated, of another N, \
hashed with other options, not a shard, or not verifying; 2 usage; 3 i/o."
)]
pub struct MergeArgs {
    /// The merged manifest to write, all or nothing (its passage leaves go to OUT.passages).
    #[arg(value_name = "OUT")]
    out: PathBuf,
    /// The shard manifests, in any order.
    #[arg(value_name = "SHARD", required_unless_present = "shards_from")]
    shards: Vec<PathBuf>,
    /// Also read shard manifest paths from FILE, one per line (`-`: standard input), for more
    /// shards than a command line holds.
    #[arg(long, value_name = "FILE")]
    shards_from: Option<PathBuf>,
    /// Memory for sorting the merged source tree's leaves before spilling to disk, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    memory: usize,
    /// Directory for spilled runs and intermediate passes (default: the system's temporary
    /// directory).
    #[arg(long, value_name = "DIR")]
    tmp_dir: Option<PathBuf>,
    /// Print one JSON object: root, counts, cross_shard_duplicates, shards, trees, manifest.
    #[arg(long)]
    json: bool,
}

pub fn run(c: ManifestCmd) -> anyhow::Result<()> {
    match c {
        ManifestCmd::Merge(a) => merge(a),
    }
}

fn merge(a: MergeArgs) -> anyhow::Result<()> {
    let mut shards = a.shards.clone();
    if let Some(f) = &a.shards_from {
        let read = |r: &mut dyn BufRead| -> io::Result<Vec<PathBuf>> {
            let mut v = Vec::new();
            for line in r.lines() {
                let line = line?;
                if !line.trim().is_empty() {
                    v.push(PathBuf::from(line));
                }
            }
            Ok(v)
        };
        let listed = if f.as_os_str() == "-" {
            read(&mut io::stdin().lock())
        } else {
            std::fs::File::open(f).and_then(|file| read(&mut io::BufReader::new(file)))
        }
        .with_context(|| format!("reading the shard list {}", f.display()))?;
        shards.extend(listed);
    }
    let cfg = MergeConfig {
        memory_budget: a.memory.saturating_mul(1 << 20),
        tmp_dir: a.tmp_dir.clone(),
        threads: None,
    };
    let s = merge_to_file(&a.out, &shards, &cfg)?;
    let h = &s.header;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if a.json {
        let mut j = serde_json::json!({
            "root": h.root.to_hex(),
            "items": h.items,
            "bytes": h.bytes,
            "leaves": h.leaves,
            "duplicates": h.duplicates,
            "cross_shard_duplicates": s.cross_shard_duplicates,
            "skipped": h.skipped,
            "shards": s.shards,
            "passes": s.passes,
            "mode": h.mode,
            "meta": h.meta,
            "manifest": a.out.to_string_lossy(),
            "seconds": s.seconds,
        });
        if let Some(f) = &h.field {
            j["field"] = f.as_str().into();
        }
        if let Some((root, size)) = h.sources() {
            j["sources_root"] = root.to_hex().into();
            j["sources_size"] = size.into();
        }
        if let Some((root, size)) = h.passages() {
            j["passages_root"] = root.to_hex().into();
            j["passages_size"] = size.into();
            let side = hasher::pipeline::passage_leaves_path(&a.out);
            j["passage_leaves"] = side.to_string_lossy().as_ref().into();
        }
        writeln!(out, "{j}")?;
    } else {
        writeln!(out, "{}", h.root)?;
        if io::stderr().is_terminal() {
            eprintln!(
                "merged {} shards: root {} ({} items, {} leaves, {} duplicates of which {} across shards, {} skipped; {:.2}s)",
                s.shards,
                h.root,
                h.items,
                h.leaves,
                h.duplicates,
                s.cross_shard_duplicates,
                h.skipped,
                s.seconds
            );
        }
    }
    out.flush()?;
    Ok(())
}
