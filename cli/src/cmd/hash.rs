//! `prov hash PATH...`: content-address a corpus (crate `hasher`), print the root, write the
//! manifest. stdout carries only the result (the root, one JSON object with `--json`, or b3sum
//! lines with `--list`); progress and summaries go to stderr.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use hasher::{
    BackendChoice, ContentHasher, HashConfig, MetaMode, MetaSpec, Mode, Observer, Summary,
};
use ledger::ContentId;

#[derive(Args, Debug)]
#[command(after_help = "Exit codes: 0 ok, 1 bad input, 2 usage, 3 i/o, 4 backend.")]
pub struct HashArgs {
    /// Files or directories of the corpus (directories are walked recursively), or object store
    /// URLs (s3://BUCKET/PREFIX, gs://, az://, file://: every object under the prefix).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// What an item is: file, jsonl (a string field of each record), lines, parquet (a string
    /// column of each row).
    #[arg(long, default_value = "file", value_parser = ["file", "jsonl", "lines", "parquet"])]
    mode: String,
    /// The JSON field or Parquet column holding each item (jsonl, parquet).
    #[arg(long, default_value = "text")]
    field: String,
    #[command(flatten)]
    meta: MetaArgs,
    #[command(flatten)]
    passages: PassageArgs,
    /// Leave out paths matching GLOB (relative path or file name).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Follow symbolic links inside directories.
    #[arg(long)]
    follow_symlinks: bool,
    /// Skip and count invalid items instead of stopping at the first.
    #[arg(long)]
    skip_invalid: bool,
    /// Hashing backend: auto (a hardware GPU if present, else cpu), cpu, gpu.
    #[arg(long, default_value = "auto", value_parser = ["auto", "cpu", "gpu"])]
    backend: String,
    /// Threads for reading and hashing (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Memory for sorting leaves before spilling sorted runs to disk, in MiB (with metadata, a
    /// third of it sorts the source tree's leaves).
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    memory: usize,
    /// Directory for spilled runs (default: the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    tmp_dir: Option<PathBuf>,
    /// Write the manifest (JSON Lines, docs/format-manifest.md) to FILE, all or nothing.
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print one JSON object: root, items, bytes, leaves, duplicates, skipped, mode, backend...
    #[arg(long, conflicts_with = "list")]
    json: bool,
    /// File mode: print `<hex>  <path>` per file, as b3sum does, for `b3sum --check`.
    #[arg(long)]
    list: bool,
    /// Hash only shard K of N (1 <= K <= N <= 65536): the files whose path relative to the
    /// corpus PATH falls in it (docs/format-manifest.md, "Sharded runs"). The manifest says so;
    /// `prov manifest merge` makes the N shards' manifests into the single run's.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    #[command(flatten)]
    objects: crate::source::ObjectReadArgs,
}

/// Whether to build the passage tree (shared by `prov hash` and `prov publish`).
#[derive(Args, Debug, Clone, Default)]
pub struct PassageArgs {
    /// The passage tree of the items' texts (docs/formats.md, "Passage trees"): none (the
    /// default until `prov publish` commits the tree), auto (built in the record modes jsonl,
    /// lines and parquet), text (built in every mode; in file mode each file is read as UTF-8
    /// text). With --out its leaves go to FILE.passages.
    #[arg(long, value_name = "WHEN", default_value = "none",
          value_parser = ["auto", "text", "none"])]
    pub passages: String,
}

impl PassageArgs {
    /// Whether a corpus hashed in `mode` gets a passage tree.
    pub fn enabled(&self, mode: Mode) -> bool {
        match self.passages.as_str() {
            "none" => false,
            "text" => true,
            _ => mode != Mode::File,
        }
    }
}

/// How each item's metadata is made (shared by `prov hash` and `prov publish`).
#[derive(Args, Debug, Clone, Default)]
pub struct MetaArgs {
    /// `full`: leaves commit to each item's metadata; `none`: 32 zero bytes (a pure content set).
    #[arg(long, default_value = "full", value_parser = ["full", "none"])]
    pub meta: String,
    /// Copy a record value into the metadata under KEY (standard keys: source, license,
    /// consent, collected). PATH is a field, or a dotted path into nested objects or Parquet
    /// struct columns (`metadata.url`); a backslash escapes the next character (`a\.b`).
    #[arg(long = "meta-field", value_name = "KEY=PATH")]
    pub meta_field: Vec<String>,
    /// Add a constant string to every item's metadata.
    #[arg(long = "meta-set", value_name = "KEY=VALUE")]
    pub meta_set: Vec<String>,
    /// Map `source` and `collected` for a known layout: web (url), c4 (url, timestamp),
    /// fineweb (url, date), dolma (metadata.url, added). Explicit --meta-field/--meta-set keys
    /// win over the preset's.
    #[arg(long = "meta-preset", value_name = "NAME",
          value_parser = ["web", "c4", "fineweb", "dolma"])]
    pub meta_preset: Option<String>,
    /// Consent signals observed at collection, normalised into `consent`: VOCAB=PATH with
    /// VOCAB aipref (a Content-Usage header value), tdmrep (tdm-reservation 1/0) or robots
    /// (allow/disallow); several comma-separated or repeated.
    #[arg(long = "meta-consent", value_name = "VOCAB=PATH,...")]
    pub meta_consent: Vec<String>,
}

impl MetaArgs {
    /// The metadata rule these options describe.
    pub fn spec(&self) -> Result<MetaSpec, hasher::HashError> {
        let mode: MetaMode = self.meta.parse()?;
        let mut spec = MetaSpec::parse(mode, &self.meta_field, &self.meta_set)?;
        for c in &self.meta_consent {
            spec.add_consent(c)?;
        }
        if let Some(p) = &self.meta_preset {
            spec.add_preset(p)?;
        }
        if mode == MetaMode::None && (!spec.fields.is_empty() || !spec.constants.is_empty()) {
            return Err(hasher::HashError::Config(
                "--meta none commits no metadata: drop the --meta-* options".into(),
            ));
        }
        Ok(spec)
    }

    /// Whether any option differs from the defaults.
    pub fn given(&self) -> bool {
        self.meta != "full"
            || !self.meta_field.is_empty()
            || !self.meta_set.is_empty()
            || self.meta_preset.is_some()
            || !self.meta_consent.is_empty()
    }
}

pub fn run(a: HashArgs) -> anyhow::Result<()> {
    a.objects.apply();
    let mode = a.mode.parse::<Mode>()?;
    let cfg = HashConfig {
        mode,
        passages: a.passages.enabled(mode),
        field: a.field.clone(),
        meta: a.meta.spec()?,
        exclude: a.exclude.clone(),
        exclude_root: Vec::new(),
        follow_symlinks: a.follow_symlinks,
        skip_invalid: a.skip_invalid,
        memory_budget: a.memory.saturating_mul(1 << 20),
        tmp_dir: a.tmp_dir.clone(),
        workers: a.threads,
        list: a.list,
        shard: a.shard.as_deref().map(str::parse).transpose()?,
    };
    cfg.validate()?;
    let backend = hasher::select(a.backend.parse::<BackendChoice>()?, a.threads)?;
    let mut obs = CliObserver::new(a.list);
    let r = match &a.out {
        Some(out) => hasher::hash_to_file(&a.paths, &cfg, backend.as_ref(), out, &mut obs),
        None => {
            hasher::hash_corpus::<std::fs::File>(&a.paths, &cfg, backend.as_ref(), None, &mut obs)
                .map(|(s, _)| s)
        }
    };
    obs.done();
    let summary = r?;
    if let Some(e) = obs.list_error.take() {
        return Err(e).context("writing the list");
    }
    let h = &summary.header;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if a.json {
        let mut j = serde_json::json!({
            "root": h.root.to_hex(),
            "items": h.items,
            "bytes": h.bytes,
            "leaves": h.leaves,
            "duplicates": h.duplicates,
            "skipped": h.skipped,
            "skipped_examples": summary.skipped_examples,
            "mode": h.mode,
            "meta": h.meta,
            "backend": backend.name(),
            "seconds": summary.seconds,
        });
        if let Some(f) = &h.field {
            j["field"] = f.as_str().into();
        }
        if let Some(s) = &h.shard {
            j["shard"] = s.as_str().into();
        }
        if let Some((root, size)) = h.sources() {
            j["sources_root"] = root.to_hex().into();
            j["sources_size"] = size.into();
        }
        if let Some((root, size)) = h.passages() {
            j["passages_root"] = root.to_hex().into();
            j["passages_size"] = size.into();
            if let Some(o) = &a.out {
                let side = hasher::pipeline::passage_leaves_path(o);
                j["passage_leaves"] = side.to_string_lossy().as_ref().into();
            }
        }
        if let Some(d) = backend.device() {
            j["device"] = d.into();
        }
        j["hashed"] = hashed(backend.as_ref(), h.bytes, &a.backend).into();
        if let Some(o) = &a.out {
            j["manifest"] = o.to_string_lossy().as_ref().into();
        }
        writeln!(out, "{j}")?;
    } else {
        if !a.list {
            writeln!(out, "{}", h.root)?;
        }
        report(&summary, a.list, backend.name());
    }
    out.flush()?;
    Ok(())
}

/// The `hashed` field of `--json`: bytes per backend and why. `auto` counts its own; a backend the
/// user named hashed every item because they asked.
fn hashed(backend: &dyn ContentHasher, bytes: u64, asked: &str) -> Vec<serde_json::Value> {
    let mut rows = backend.usage();
    if rows.is_empty() && bytes > 0 {
        rows.push(hasher::Usage {
            backend: backend.name().to_string(),
            bytes,
            why: format!("--backend {asked}"),
        });
    }
    rows.into_iter()
        .map(|u| serde_json::json!({"backend": u.backend, "bytes": u.bytes, "why": u.why}))
        .collect()
}

/// The human summary on stderr: always with `--list` (stdout holds the list) or skips, and when
/// stderr is a terminal.
fn report(s: &Summary, list: bool, backend: &str) {
    let h = &s.header;
    if list || h.skipped > 0 || io::stderr().is_terminal() {
        let shard = h
            .shard
            .as_deref()
            .map_or(String::new(), |s| format!(" of shard {s}"));
        eprintln!(
            "root{shard} {} ({} items, {} bytes, {} leaves, {} duplicates, {} skipped; {backend}, {:.2}s)",
            h.root, h.items, h.bytes, h.leaves, h.duplicates, h.skipped, s.seconds
        );
        if let Some((root, size)) = h.passages() {
            eprintln!("passage tree {root} ({size} leaves)");
        }
        for e in &s.skipped_examples {
            eprintln!("  skipped {e}");
        }
    }
}

/// Progress on stderr when it is a terminal; b3sum lines on stdout with `--list`.
struct CliObserver {
    bar: Option<indicatif::ProgressBar>,
    list: Option<io::BufWriter<io::Stdout>>,
    list_error: Option<io::Error>,
}

impl CliObserver {
    fn new(list: bool) -> Self {
        let bar = io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        CliObserver {
            bar,
            list: list.then(|| io::BufWriter::with_capacity(1 << 16, io::stdout())),
            list_error: None,
        }
    }

    fn done(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        if let Some(mut w) = self.list.take() {
            if let Err(e) = w.flush() {
                self.list_error.get_or_insert(e);
            }
        }
    }
}

impl Observer for CliObserver {
    fn progress(&mut self, items: u64, bytes: u64) {
        if let Some(b) = &self.bar {
            b.set_message(format!("{items} items, {}", indicatif::HumanBytes(bytes)));
        }
    }

    fn listed(&mut self, cid: &ContentId, path: &Path) {
        let Some(w) = self.list.as_mut() else { return };
        if let Err(e) = w.write_all(b3sum_line(cid, path).as_bytes()) {
            // A closed pipe ends the listing, not the hashing: the manifest is still wanted.
            self.list = None;
            self.list_error.get_or_insert(e);
        }
    }
}

/// One line of b3sum's output: `<hex>  <path>\n`; a path with a backslash or newline is escaped
/// and the line starts with a backslash, as b3sum writes and `b3sum --check` reads it.
pub fn b3sum_line(cid: &ContentId, path: &Path) -> String {
    let p = path.to_string_lossy();
    if p.contains(['\\', '\n']) {
        let esc = p.replace('\\', "\\\\").replace('\n', "\\n");
        format!("\\{}  {esc}\n", cid.to_hex())
    } else {
        format!("{}  {p}\n", cid.to_hex())
    }
}
