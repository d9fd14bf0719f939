//! The pipeline from corpus paths to a set: producers (a directory walker, or a thread per record
//! file in flight) feed bounded channels of work; worker threads read small files or Parquet row
//! batches and hash them in batches through the backend. A text file (jsonl, lines) is hashed
//! block by block by every thread of a text pool, each reading, parsing and hashing whole blocks
//! (for a device-sized batch: by its own thread, with a reader thread, a pool that parses blocks
//! in parallel and blocks gathered into batches; `crate::textbatch`); the calling thread
//! collects entries into the external [`Sorter`], then merges, groups duplicates and streams
//! leaves into the root and the manifest. Bounded channels keep reading, hashing and sorting
//! overlapped and memory bounded.
//!
//! Throughput limits worth knowing (figures in docs/performance.md): one compressed file is one
//! stream, and a zstd or gzip stream decompresses on one core, so a single `.zst` file is hashed
//! at the speed of its decompression; a corpus of many files keeps every core busy. Several
//! record files are read at once (one per worker), each with its own reader thread.

use std::collections::BTreeMap;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver, Sender};
use ledger::set::SetLeaf;
use ledger::{ContentId, Digest};

use crate::backend::ContentHasher;
use crate::error::{HashError, Location};
use crate::manifest::{ItemCounts, ManifestHeader, ManifestWriter};
use crate::meta::{leaf_meta_json_into, meta_digest, MetaSpec};
use crate::passages::{PassageTree, PassageTreeBuilder};
use crate::settree::SetRootBuilder;
use crate::shard::Shard;
use crate::sorter::Sorter;
use crate::sources::SourceTreeBuilder;
use crate::textbatch::TextPlan;
use crate::walk::{walk, CorpusFile, WalkOptions};
use crate::work::{Done, Work, Worker};

/// What an item is (DESIGN.md, "Content ids").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Every regular file is one item: its bytes.
    #[default]
    File,
    /// One item per JSON Lines record: the UTF-8 bytes of a string field.
    Jsonl,
    /// One item per line, without its terminator.
    Lines,
    /// One item per Parquet row: the UTF-8 bytes of a string column.
    Parquet,
}

impl Mode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::File => "file",
            Mode::Jsonl => "jsonl",
            Mode::Lines => "lines",
            Mode::Parquet => "parquet",
        }
    }

    fn has_field(&self) -> bool {
        matches!(self, Mode::Jsonl | Mode::Parquet)
    }
}

impl FromStr for Mode {
    type Err = HashError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "file" => Ok(Mode::File),
            "jsonl" => Ok(Mode::Jsonl),
            "lines" => Ok(Mode::Lines),
            "parquet" => Ok(Mode::Parquet),
            other => Err(HashError::Config(format!(
                "unknown mode {other:?} (expected file, jsonl, lines or parquet)"
            ))),
        }
    }
}

/// Everything that decides which items a corpus has and how the run behaves.
#[derive(Debug, Clone)]
pub struct HashConfig {
    pub mode: Mode,
    /// The JSON field or Parquet column holding each item (`jsonl`, `parquet`).
    pub field: String,
    pub meta: MetaSpec,
    /// Globs of paths to leave out (see [`crate::walk`]).
    pub exclude: Vec<String>,
    /// Paths relative to a directory root, exact, left out with everything under them (see
    /// [`crate::walk::WalkOptions::exclude_root`]).
    pub exclude_root: Vec<String>,
    pub follow_symlinks: bool,
    /// Skip and count invalid items instead of stopping at the first.
    pub skip_invalid: bool,
    /// Bytes of hashed entries held in memory before a sorted run is spilled to disk.
    pub memory_budget: usize,
    /// Where spilled runs go (the system's temporary directory when `None`).
    pub tmp_dir: Option<PathBuf>,
    /// Reader and worker threads (`None`: one per core).
    pub workers: Option<usize>,
    /// Report each file's id in walk order through [`Observer::listed`] (file mode).
    pub list: bool,
    /// Build the passage tree of the items' texts (docs/formats.md, "Passage trees"); in file
    /// mode every file is read as text.
    pub passages: bool,
    /// Hash only the files of this shard (`prov hash --shard K/N`, [`crate::shard`]); the
    /// manifest's header then says so.
    pub shard: Option<Shard>,
}

impl Default for HashConfig {
    fn default() -> Self {
        HashConfig {
            mode: Mode::File,
            field: "text".into(),
            meta: MetaSpec::default(),
            exclude: Vec::new(),
            exclude_root: Vec::new(),
            follow_symlinks: false,
            skip_invalid: false,
            memory_budget: 256 << 20,
            tmp_dir: None,
            workers: None,
            list: false,
            passages: false,
            shard: None,
        }
    }
}

/// How many skipped items a summary names.
pub const SKIPPED_EXAMPLES: usize = 10;

/// The outcome of hashing a corpus.
#[derive(Debug)]
pub struct Summary {
    /// The manifest's header, counts and root filled in.
    pub header: ManifestHeader,
    /// The first skipped items (by file and position), with the reason.
    pub skipped_examples: Vec<String>,
    /// Sorted runs spilled to disk (0 when the set fit the memory budget).
    pub runs_spilled: usize,
    pub seconds: f64,
    /// The passage tree, with [`HashConfig::passages`].
    pub passages: Option<PassageTree>,
    /// Its leaves (64 bytes each, in order) in an unnamed temporary file at offset 0, when a
    /// manifest was written ([`hash_to_file`] keeps them beside it).
    pub passage_leaves: Option<std::fs::File>,
}

impl Summary {
    pub fn root(&self) -> Digest {
        self.header.root
    }
}

/// Hears about progress and, with [`HashConfig::list`], each file's id. Runs on the calling
/// thread.
pub trait Observer {
    fn progress(&mut self, _items: u64, _bytes: u64) {}
    /// A file's content id and the path it was opened by, in walk order.
    fn listed(&mut self, _cid: &ContentId, _path: &Path) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

/// Hashes the corpus under `paths`, writing the manifest to `out` when given. `out` receives the
/// manifest only as the last step, but a failure can leave it partly written: callers that want
/// all-or-nothing pass a temporary file, as [`hash_to_file`] does.
pub fn hash_corpus<W: Write + Seek>(
    paths: &[PathBuf],
    cfg: &HashConfig,
    backend: &dyn ContentHasher,
    out: Option<W>,
    obs: &mut dyn Observer,
) -> Result<(Summary, Option<W>), HashError> {
    let started = Instant::now();
    cfg.validate()?;
    let walk_opts =
        WalkOptions::new(&cfg.exclude, cfg.follow_symlinks)?.with_exclude_root(&cfg.exclude_root);
    let workers = cfg
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
        .max(1);
    // Record modes spread whole files over reader threads, so they list the files first (a
    // corpus of record files has few of them); file mode walks while hashing.
    let mut pre_invalid = Vec::new();
    let mut record_files = Vec::new();
    if cfg.mode != Mode::File {
        walk(paths, &walk_opts, |f| {
            match f {
                Ok(f) if cfg.in_shard(&f.rel) => record_files.push(f),
                Ok(_) => {}
                Err(e) if cfg.reports_walk_errors() => pre_invalid.push(e),
                Err(_) => {}
            }
            true
        })?;
    }
    // Two thirds of the memory for the leaves, one third for the source tree's leaves; with
    // passages, half of what is left for the passage tree's.
    let (mut leaf_budget, source_budget) = if cfg.meta.enabled() {
        let third = cfg.memory_budget / 3;
        (cfg.memory_budget - third, Some(third))
    } else {
        (cfg.memory_budget, None)
    };
    let passage_budget = cfg.passages.then(|| {
        let half = leaf_budget / 2;
        leaf_budget -= half;
        half
    });
    let mut sorter = Sorter::new(leaf_budget, cfg.tmp_dir.clone());
    let mut sources = source_budget.map(|b| SourceTreeBuilder::new(b, cfg.tmp_dir.clone()));
    let mut passages = passage_budget.map(|b| PassageTreeBuilder::new(b, cfg.tmp_dir.clone()));
    let mut tally = Tally::default();
    // The text modes split and parse blocks on a pool of their own (hashing runs on the
    // backend's).
    let text_pool = match cfg.mode {
        Mode::File => None,
        _ => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(workers)
                .thread_name(|i| format!("prov-text-{i}"))
                .build()
                .map_err(|e| HashError::Config(format!("cannot start text threads: {e}")))?,
        ),
    };
    let text_plan = text_pool
        .as_ref()
        .map(|pool| TextPlan::new(cfg, backend, pool));
    let (stop, next_file) = (AtomicBool::new(false), AtomicUsize::new(0));
    let (stop, next_file) = (&stop, &next_file);
    std::thread::scope(|s| -> Result<(), HashError> {
        let (work_tx, work_rx) = bounded::<Work>(workers * 2);
        let (done_tx, done_rx) = bounded::<Result<Done, HashError>>(workers * 2);
        if cfg.mode == Mode::File {
            let tx = work_tx.clone();
            let walk_opts = &walk_opts;
            s.spawn(move || produce_files(paths, walk_opts, cfg, &tx, stop));
        } else {
            let files = &record_files;
            let text = text_plan.as_ref();
            for _ in 0..workers.min(files.len()) {
                let (tx, done) = (work_tx.clone(), done_tx.clone());
                s.spawn(move || {
                    let Some(text) = text else { return };
                    while let Some(f) = files.get(next_file.fetch_add(1, Ordering::Relaxed)) {
                        let go = !stop.load(Ordering::Relaxed)
                            && read_records(cfg, f, &tx, (text, &done), stop);
                        if !go {
                            break;
                        }
                    }
                });
            }
        }
        drop(work_tx);
        for _ in 0..workers {
            let (rx, tx) = (work_rx.clone(), done_tx.clone());
            let w = Worker::new(cfg, backend);
            s.spawn(move || w.run(&rx, &tx, stop));
        }
        drop((work_rx, done_tx));
        let sinks = Sinks {
            sorter: &mut sorter,
            sources: sources.as_mut(),
            passages: passages.as_mut(),
        };
        let r = collect(done_rx, pre_invalid, cfg, sinks, &mut tally, obs);
        // Dropping the receiver (inside `collect`) unblocks the workers; the flag stops readers.
        stop.store(true, Ordering::Relaxed);
        r
    })?;
    finish(
        cfg,
        backend,
        sorter,
        (sources, passages),
        tally,
        out,
        started,
    )
}

/// Where collected entries go: the leaves' sorter and, with metadata, the source tree's.
struct Sinks<'a> {
    sorter: &'a mut Sorter,
    sources: Option<&'a mut SourceTreeBuilder>,
    passages: Option<&'a mut PassageTreeBuilder>,
}

/// [`hash_corpus`] into a manifest at `out`, all or nothing: the manifest is written to a
/// temporary file beside `out`, made durable, and renamed over `out` only on success.
pub fn hash_to_file(
    paths: &[PathBuf],
    cfg: &HashConfig,
    backend: &dyn ContentHasher,
    out: &Path,
    obs: &mut dyn Observer,
) -> Result<Summary, HashError> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".prov-manifest-")
        .tempfile_in(dir)
        .map_err(HashError::io("creating the manifest"))?;
    let (mut summary, tmp) = hash_corpus(paths, cfg, backend, Some(tmp), obs)?;
    // The passage leaves go beside the manifest first, so a manifest naming a passage tree
    // always has its leaves; a stale leaves file of an earlier run goes.
    let side = passage_leaves_path(out);
    match summary.passage_leaves.take() {
        Some(mut f) => {
            let mut t = tempfile::Builder::new()
                .prefix(".prov-passages-")
                .tempfile_in(dir)
                .map_err(HashError::io("creating the passage leaves file"))?;
            std::io::copy(&mut f, t.as_file_mut())
                .and_then(|_| t.as_file().sync_all())
                .map_err(HashError::io("writing the passage leaves file"))?;
            t.persist(&side)
                .map_err(|e| HashError::io("renaming the passage leaves file")(e.error))?;
        }
        None => match std::fs::remove_file(&side) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(HashError::io("removing a stale passage leaves file")(e))
            }
            _ => {}
        },
    }
    if let Some(tmp) = tmp {
        tmp.as_file()
            .sync_all()
            .map_err(HashError::io("writing the manifest"))?;
        tmp.persist(out)
            .map_err(|e| HashError::io("renaming the manifest into place")(e.error))?;
    }
    Ok(summary)
}

/// Where [`hash_to_file`] keeps the passage leaves of the manifest at `manifest`: the same path
/// with `.passages` appended.
pub fn passage_leaves_path(manifest: &Path) -> PathBuf {
    let mut p = manifest.as_os_str().to_owned();
    p.push(".passages");
    PathBuf::from(p)
}

impl HashConfig {
    /// Whether the file at `rel` is hashed by this run (every file, unless sharded).
    pub fn in_shard(&self, rel: &str) -> bool {
        self.shard.is_none_or(|s| s.contains(rel))
    }

    /// Whether this run reports the errors of the walk itself (a directory that cannot be
    /// listed): every run but the shards other than 1, so that each is counted once when the
    /// shards are merged.
    fn reports_walk_errors(&self) -> bool {
        self.shard.is_none_or(|s| s.k() == 1)
    }

    /// The `shard_options` of a shard's manifest header: BLAKE3 of the canonical JSON of the
    /// options that decide the run's items and metadata but are not in the header, so that a
    /// merge refuses shards hashed with different ones (docs/format-manifest.md, "Sharded
    /// runs").
    pub fn shard_options(&self) -> Result<Digest, HashError> {
        let mut exclude = self.exclude.clone();
        exclude.sort();
        exclude.dedup();
        let mut optional: Vec<&str> = self
            .meta
            .fields
            .iter()
            .filter(|f| f.optional)
            .map(|f| f.key.as_str())
            .collect();
        optional.sort_unstable();
        let v = serde_json::json!({
            "exclude": exclude,
            "follow_symlinks": self.follow_symlinks,
            "skip_invalid": self.skip_invalid,
            "meta_set": self.meta.constants,
            "optional_fields": optional,
            "passages": self.passages,
        });
        let mut h = blake3::Hasher::new();
        h.update(b"prov-shard-options/v1\n");
        h.update(&crate::meta::canonical(&v)?);
        Ok(Digest(*h.finalize().as_bytes()))
    }

    /// Refuses options that do not fit the mode, before any work (or backend probing) starts.
    pub fn validate(&self) -> Result<(), HashError> {
        let cfg = self;
        if !cfg.mode.has_field() && !cfg.meta.fields.is_empty() {
            return Err(HashError::Config(format!(
                "--meta-field needs a record mode with fields (jsonl, parquet), not {}",
                cfg.mode.as_str()
            )));
        }
        if cfg.list && cfg.mode != Mode::File {
            return Err(HashError::Config("--list works in file mode only".into()));
        }
        if cfg.mode.has_field() && cfg.field.is_empty() {
            return Err(HashError::Config("--field must not be empty".into()));
        }
        Ok(())
    }
}

/// Files per unit of work in file mode: enough to amortise channel traffic, few enough to
/// spread a small corpus over every worker.
const FILES_PER_WORK: usize = 64;

fn produce_files(
    paths: &[PathBuf],
    opts: &WalkOptions,
    cfg: &HashConfig,
    tx: &Sender<Work>,
    stop: &AtomicBool,
) {
    let mut seq = 0u64;
    let mut files = Vec::with_capacity(FILES_PER_WORK);
    let send = |files: Vec<CorpusFile>, seq: &mut u64| {
        let w = Work::Files { seq: *seq, files };
        *seq += 1;
        tx.send(w).is_ok()
    };
    let r = walk(paths, opts, |f| {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        match f {
            Ok(f) if !cfg.in_shard(&f.rel) => true,
            Err(_) if !cfg.reports_walk_errors() => true,
            Ok(f) => {
                files.push(f);
                if files.len() == FILES_PER_WORK {
                    let full = std::mem::replace(&mut files, Vec::with_capacity(FILES_PER_WORK));
                    return send(full, &mut seq);
                }
                true
            }
            Err(e) => tx.send(Work::Invalid(e)).is_ok(),
        }
    });
    if !files.is_empty() {
        send(files, &mut seq);
    }
    if let Err(e) = r {
        let _ = tx.send(Work::Fatal(e));
    }
}

/// Reads one record file: Parquet into batches of rows for the workers, text through `text`
/// (which hashes it and sends entries to `done`). Returns `false` when the pipeline has stopped.
fn read_records(
    cfg: &HashConfig,
    f: &CorpusFile,
    tx: &Sender<Work>,
    (text, done): (&TextPlan<'_>, &Sender<Result<Done, HashError>>),
    stop: &AtomicBool,
) -> bool {
    let file = Arc::new(f.clone());
    if cfg.mode == Mode::Parquet {
        let fields = &cfg.meta.fields;
        let reader = match crate::columnar::open(&f.path, &cfg.field, fields) {
            Ok(r) => r,
            Err(reason) => {
                return tx
                    .send(Work::Invalid(HashError::invalid(
                        Location::file(&f.path),
                        reason,
                    )))
                    .is_ok()
            }
        };
        let mut row = 0u64;
        for batch in reader {
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            let w = match batch {
                Ok(batch) => {
                    let first_row = row;
                    row += batch.num_rows() as u64;
                    Work::Rows {
                        file: file.clone(),
                        first_row,
                        batch,
                    }
                }
                Err(e) => {
                    let at = Location::row(&f.path, row);
                    let w = Work::Invalid(HashError::invalid(at, format!("corrupt parquet: {e}")));
                    return tx.send(w).is_ok();
                }
            };
            if tx.send(w).is_err() {
                return false;
            }
        }
        return true;
    }
    match crate::text::open_text(&f.path) {
        Ok((r, c)) => text.hash_file(&file, (r, c), done, stop),
        Err(e) => tx
            .send(Work::Invalid(HashError::invalid(
                Location::file(&f.path),
                e,
            )))
            .is_ok(),
    }
}

#[derive(Default)]
struct Tally {
    items: u64,
    bytes: u64,
    skipped: u64,
    examples: Vec<(Location, String)>,
}

impl Tally {
    fn invalid(&mut self, e: HashError, skip: bool) -> Result<(), HashError> {
        let HashError::Invalid { at, reason } = e else {
            return Err(e);
        };
        if !skip {
            return Err(HashError::Invalid { at, reason });
        }
        self.skipped += 1;
        self.examples.push((at, reason));
        if self.examples.len() > 4 * SKIPPED_EXAMPLES {
            self.examples.sort();
            self.examples.truncate(SKIPPED_EXAMPLES);
        }
        Ok(())
    }
}

fn collect(
    rx: Receiver<Result<Done, HashError>>,
    pre_invalid: Vec<HashError>,
    cfg: &HashConfig,
    mut sinks: Sinks<'_>,
    tally: &mut Tally,
    obs: &mut dyn Observer,
) -> Result<(), HashError> {
    for e in pre_invalid {
        tally.invalid(e, cfg.skip_invalid)?;
    }
    // File-mode listings arrive out of order from parallel workers; put them back in walk order.
    let mut pending: BTreeMap<u64, Vec<(ContentId, PathBuf)>> = BTreeMap::new();
    let mut next_seq = 0u64;
    for msg in rx {
        let d = msg?;
        for e in d.invalid {
            tally.invalid(e, cfg.skip_invalid)?;
        }
        tally.items += d.items;
        tally.bytes += d.bytes;
        for e in d.entries {
            sinks.sorter.push(e)?;
        }
        if let Some(t) = sinks.sources.as_deref_mut() {
            for (key, cid) in &d.sources {
                t.push(key, cid)?;
            }
        }
        if let Some(t) = sinks.passages.as_deref_mut() {
            for leaf in &d.passages {
                t.push_leaf(leaf)?;
            }
        }
        obs.progress(tally.items, tally.bytes);
        if let (true, Some(seq)) = (cfg.list, d.seq) {
            pending.insert(seq, d.listed);
            while let Some(l) = pending.remove(&next_seq) {
                for (cid, p) in l {
                    obs.listed(&cid, &p);
                }
                next_seq += 1;
            }
        }
    }
    Ok(())
}

fn finish<W: Write + Seek>(
    cfg: &HashConfig,
    backend: &dyn ContentHasher,
    sorter: Sorter,
    (sources, passages): (Option<SourceTreeBuilder>, Option<PassageTreeBuilder>),
    mut tally: Tally,
    out: Option<W>,
    started: Instant,
) -> Result<(Summary, Option<W>), HashError> {
    let runs_spilled = sorter.runs_spilled();
    let mut groups = sorter.finish()?;
    let mut template = ManifestHeader::new(
        cfg.mode.as_str(),
        cfg.mode.has_field().then_some(cfg.field.as_str()),
        cfg.meta.mode.as_str(),
    );
    template.meta_fields = cfg.meta.header_fields();
    if let Some(shard) = cfg.shard {
        template.shard = Some(shard.to_string());
        template.shard_options = Some(cfg.shard_options()?);
    }
    if sources.is_some() {
        // Placeholders: the writer reserves room for the source tree, set once it is known.
        (template.sources_root, template.sources_size) = (Some(Digest::default()), Some(0));
    }
    if passages.is_some() {
        // Placeholders again, for the passage tree.
        (template.passages_root, template.passages_size) = (Some(Digest::default()), Some(0));
    }
    // The passage leaves are kept only when a manifest is written (they are its sidecar).
    let mut leaves_file = match (&passages, &out) {
        (Some(_), Some(_)) => Some(
            match &cfg.tmp_dir {
                Some(d) => tempfile::tempfile_in(d),
                None => tempfile::tempfile(),
            }
            .map_err(HashError::io("creating the passage leaves file"))?,
        ),
        _ => None,
    };
    let mut writer = match out {
        Some(w) => Some(ManifestWriter::new(w, template.clone())?.rooted_by_caller()),
        None => None,
    };
    // The set's root is built here, in aligned batches on every core or on the device the
    // backend found (issue 15 item 3), rather than leaf by leaf on this thread: the hashing
    // threads are idle by now, since the leaves come out of their sort only at the end.
    let mut root = SetRootBuilder::new(Some(backend));
    let (tree, ptree, leaf_bytes) = std::thread::scope(|s| -> Result<_, HashError> {
        // The source tree's runs merge on a thread of their own while the leaves stream into
        // the manifest: two independent passes over two sorted outputs. So do the passages'.
        let tree = sources.map(|b| s.spawn(move || b.finish()));
        let lf = leaves_file.as_mut();
        let ptree = passages.map(|b| {
            s.spawn(move || {
                let mut w = lf.map(|f| std::io::BufWriter::with_capacity(1 << 20, f));
                b.finish(w.as_mut().map(|w| w as &mut dyn Write))
            })
        });
        let mut leaf_bytes = 0u64;
        let mut buf = Vec::new();
        while let Some(g) = groups.next_group()? {
            let meta_json = if cfg.meta.enabled() {
                leaf_meta_json_into(&mut buf, g.metas.iter().map(Vec::as_slice));
                Some(buf.as_slice())
            } else {
                None
            };
            let leaf = match writer.as_mut() {
                Some(w) => w.push_item(ContentId(g.cid), g.size, meta_json)?,
                None => SetLeaf {
                    cid: ContentId(g.cid),
                    size: g.size,
                    meta: meta_digest(meta_json),
                },
            };
            root.push(&leaf)?;
            leaf_bytes += g.size;
        }
        let tree = match tree {
            // A panic there is a bug: carry it on rather than turn it into a result.
            Some(h) => Some(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?),
            None => None,
        };
        let ptree = match ptree {
            Some(h) => Some(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?),
            None => None,
        };
        Ok((tree, ptree, leaf_bytes))
    })?;
    let size = root.size();
    let root = root.finish()?;
    let counts = ItemCounts {
        items: tally.items,
        bytes: tally.bytes,
        skipped: tally.skipped,
    };
    let (header, out) = match writer {
        Some(mut w) => {
            w.set_root(root, size)?;
            if let Some(t) = tree {
                w.set_sources(t.root, t.size)?;
            }
            if let Some(t) = ptree {
                w.set_passages(t.root, t.size)?;
            }
            let (h, w) = w.finish(counts)?;
            (h, Some(w))
        }
        None => {
            let mut h = template;
            (h.items, h.bytes, h.skipped) = (counts.items, counts.bytes, counts.skipped);
            (h.leaves, h.leaf_bytes) = (size, leaf_bytes);
            h.duplicates = h.items.saturating_sub(h.leaves);
            h.root = root;
            (h.sources_root, h.sources_size) = (tree.map(|t| t.root), tree.map(|t| t.size));
            (h.passages_root, h.passages_size) = (ptree.map(|t| t.root), ptree.map(|t| t.size));
            (h, None)
        }
    };
    tally.examples.sort();
    tally.examples.truncate(SKIPPED_EXAMPLES);
    let skipped_examples = tally
        .examples
        .into_iter()
        .map(|(at, reason)| format!("{at}: {reason}"))
        .collect();
    let summary = Summary {
        header,
        skipped_examples,
        runs_spilled,
        seconds: started.elapsed().as_secs_f64(),
        passages: ptree,
        passage_leaves: match leaves_file {
            Some(mut f) => {
                f.seek(std::io::SeekFrom::Start(0))
                    .map_err(HashError::io("rewinding the passage leaves file"))?;
                Some(f)
            }
            None => None,
        },
    };
    Ok((summary, out))
}
