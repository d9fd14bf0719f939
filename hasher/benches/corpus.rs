//! `prov hash` without the CLI around it: one corpus through [`hasher::hash_corpus`] with the
//! default (`auto`) or CPU backend and the default metadata (`full`), no manifest, printing the
//! root, the items and the wall time. `bench/alternate.sh` times the real binary against
//! `b3sum`; this one is for profiling the library (`perf record`) without building the CLI.
//!
//! `cargo bench -p hasher --bench corpus -- PATH... [--cpu] [--meta-none] [--runs N]`

use std::path::PathBuf;
use std::time::Instant;

use hasher::{hash_corpus, select, BackendChoice, HashConfig, MetaSpec, Quiet};

fn main() {
    let mut paths = Vec::new();
    let (mut choice, mut runs, mut meta_none) = (BackendChoice::Auto, 1usize, false);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--cpu" => choice = BackendChoice::Cpu,
            "--meta-none" => meta_none = true,
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            "--bench" => {}
            p => paths.push(PathBuf::from(p)),
        }
    }
    if paths.is_empty() {
        eprintln!("usage: corpus PATH... [--cpu] [--meta-none] [--runs N]");
        return;
    }
    let mut cfg = HashConfig::default();
    if meta_none {
        cfg.meta = "none"
            .parse::<hasher::MetaMode>()
            .map_or(cfg.meta, |m| MetaSpec {
                mode: m,
                ..MetaSpec::default()
            });
    }
    for _ in 0..runs {
        let t = Instant::now();
        let backend = match select(choice, None) {
            Ok(b) => b,
            Err(e) => return eprintln!("backend: {e}"),
        };
        match hash_corpus::<std::fs::File>(&paths, &cfg, backend.as_ref(), None, &mut Quiet) {
            Ok((s, _)) => println!(
                "root {} items {} bytes {} seconds {:.4}",
                s.root(),
                s.header.items,
                s.header.bytes,
                t.elapsed().as_secs_f64()
            ),
            Err(e) => return eprintln!("hash: {e}"),
        }
    }
}
