//! `prov manifest merge`: the N shard manifests of a sharded run ([`crate::shard`]) merged into
//! the manifest one unsharded run over the same corpus writes, byte for byte (and its passage
//! leaves file beside it).
//!
//! Every shard is verified as it streams (its leaves, counts and root; its passage leaves
//! against its header), and they must fit together: one N, each K once, none missing, the same
//! mode, field, metadata mappings, options and trees. The leaves are merged k-way, at most
//! [`FAN_IN`] files open at once (more shards are merged in passes through temporary files), so
//! memory is bounded whatever N. A content id found in several shards becomes one leaf whose
//! metadata lists every place it was found, its source entries sorted by their canonical bytes:
//! exactly what a single run's sorter groups. The counts add up (`items`, `bytes`, `skipped`),
//! `duplicates` is `items - leaves` again, and the source tree is rebuilt from the merged
//! metadata (an external sort) rather than taken from the shards.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use ledger::{ContentId, Digest};
use serde_json::Value;

use crate::error::HashError;
use crate::manifest::ManifestWriter;
use crate::manifest::{ItemCounts, ManifestEntry, ManifestError, ManifestHeader, ManifestReader};
use crate::meta::{canonical, leaf_meta_json_into};
use crate::passages::PassageTree;
use crate::pipeline::passage_leaves_path;
use crate::shard::Shard;
use crate::sources::SourceTreeBuilder;

mod passages;

use passages::merge_passages;

/// Files merged in one pass at most (each with its passage leaves file): enough for one pass
/// over a few dozen shards, few enough for any file-descriptor limit and a small memory.
pub const FAN_IN: usize = 64;
/// The read buffer of each input file.
const INPUT_BUFFER: usize = 256 << 10;

/// Why shards could not be merged. Everything but [`MergeError::Io`] and
/// [`MergeError::Hash`] is about the inputs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    #[error("no shard manifests given")]
    NoShards,
    /// A manifest without `shard`: not written by `prov hash --shard`.
    #[error("{path}: not the manifest of a shard (written by `prov hash --shard K/N`)")]
    NotAShard { path: PathBuf },
    /// Shards of different splits.
    #[error("{path}: shard {shard} is not one of {n} like {first}")]
    MixedCount {
        path: PathBuf,
        shard: Shard,
        n: u32,
        first: PathBuf,
    },
    /// The same shard twice.
    #[error("shard {shard} given twice: {first} and {second}")]
    Repeated {
        shard: Shard,
        first: PathBuf,
        second: PathBuf,
    },
    /// Shards missing from the split.
    #[error("{} of {n} shards missing: {}{}", missing.len(), list(missing), if missing.len() > 10 { ", ..." } else { "" })]
    Missing { n: u32, missing: Vec<u32> },
    /// A shard hashed with other options than the first.
    #[error("{path}: {what} {found} differs from {first}'s {expected}: every shard must be hashed with the same options")]
    Mismatch {
        path: PathBuf,
        what: &'static str,
        expected: String,
        found: String,
        first: PathBuf,
    },
    /// The output names one of the shards, which it would replace.
    #[error("{path}: the merged manifest would replace this shard: write it elsewhere")]
    OutIsShard { path: PathBuf },
    /// A shard that does not verify.
    #[error("{path}: {source}")]
    Shard {
        path: PathBuf,
        #[source]
        source: ManifestError,
    },
    /// A shard's passage leaves file that is missing, malformed, or not the tree its header
    /// names.
    #[error("{path}: passage leaves: {reason}")]
    Passages {
        path: PathBuf,
        reason: PassagesFault,
    },
    /// One content id with two sizes in two shards: shards of two different corpora.
    #[error("content id {cid} has size {a} in {first} and {b} in {second}")]
    SizeConflict {
        cid: ContentId,
        a: u64,
        b: u64,
        first: PathBuf,
        second: PathBuf,
    },
    /// A leaf found in several shards whose metadata is not `{"sources":[...]}` alone, as
    /// `prov hash` writes it.
    #[error("{path}: the metadata of {cid}, found in several shards, is not {{\"sources\":[...]}} alone")]
    OddMetadata { path: PathBuf, cid: ContentId },
    /// Counts that add up past 2^64.
    #[error("the shards' {what} add up to more than 2^64")]
    Overflow { what: &'static str },
    /// Writing the output or the temporary files of a pass.
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    /// Writing the merged manifest, or sorting its source tree.
    #[error(transparent)]
    Hash(#[from] HashError),
}

/// What is wrong with a shard's passage leaves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PassagesFault {
    #[error("the file is missing (the header names a passage tree)")]
    Missing,
    #[error("a last leaf of {0} bytes (each is 64)")]
    Truncated(usize),
    #[error("leaves are not strictly increasing")]
    NotSorted,
    #[error("they give root {computed} ({computed_size} leaves), the header says {header} ({header_size} leaves)")]
    TreeMismatch {
        header: Digest,
        header_size: u64,
        computed: Digest,
        computed_size: u64,
    },
}

fn list(missing: &[u32]) -> String {
    let v: Vec<String> = missing.iter().take(10).map(u32::to_string).collect();
    v.join(", ")
}

/// How a merge runs.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    /// Bytes of source-tree leaves sorted in memory before a run spills to disk.
    pub memory_budget: usize,
    /// Where spilled runs and intermediate passes go (the system's temporary directory when
    /// `None`).
    pub tmp_dir: Option<PathBuf>,
    /// Threads for the parts of intermediate passes (more than [`FAN_IN`] shards; `None`: one
    /// per core). The last pass runs on one thread (and one more for passage leaves).
    pub threads: Option<usize>,
}

impl Default for MergeConfig {
    fn default() -> Self {
        MergeConfig {
            memory_budget: 256 << 20,
            tmp_dir: None,
            threads: None,
        }
    }
}

/// The outcome of a merge.
#[derive(Debug)]
pub struct MergeSummary {
    /// The merged manifest's header (no `shard`).
    pub header: ManifestHeader,
    /// N: the shards merged.
    pub shards: u32,
    /// Leaves found in more than one shard, merged: the shards' leaves minus the merged ones.
    pub cross_shard_duplicates: u64,
    /// The passage tree, when the shards have one.
    pub passages: Option<PassageTree>,
    /// Merge passes (1 up to [`FAN_IN`] shards).
    pub passes: usize,
    pub seconds: f64,
}

/// Merges the shard manifests `shards` (in any order; each with its `.passages` file beside it
/// when its header names a passage tree) into `out`, all or nothing: the manifest (and its
/// passage leaves, `out.passages`) are written to temporary files beside `out` and renamed into
/// place only once everything verified. A stale `out.passages` goes when there are no passages.
pub fn merge_to_file(
    out: &Path,
    shards: &[PathBuf],
    cfg: &MergeConfig,
) -> Result<MergeSummary, MergeError> {
    let started = Instant::now();
    let (inputs, template, n, shard_leaves) = check_shards(shards)?;
    if let Ok(o) = std::fs::canonicalize(out) {
        for s in shards {
            if std::fs::canonicalize(s).is_ok_and(|s| s == o) {
                return Err(MergeError::OutIsShard { path: s.clone() });
            }
        }
    }
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = |prefix: &str| {
        tempfile::Builder::new()
            .prefix(prefix)
            .tempfile_in(dir)
            .map_err(io_err("creating the merged manifest"))
    };
    let mut manifest = tmp(".prov-manifest-")?;
    let mut side = match template.passages() {
        Some(_) => Some(tmp(".prov-passages-")?),
        None => None,
    };
    let (header, passages, passes) = merge_all(
        inputs,
        &template,
        manifest.as_file_mut(),
        side.as_mut().map(|s| s.as_file_mut()),
        cfg,
    )?;
    let side_path = passage_leaves_path(out);
    match side {
        Some(t) => {
            t.as_file()
                .sync_all()
                .map_err(io_err("writing the merged passage leaves"))?;
            t.persist(&side_path)
                .map_err(|e| io_err("renaming the merged passage leaves")(e.error))?;
        }
        None => match std::fs::remove_file(&side_path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(io_err("removing a stale passage leaves file")(e))
            }
            _ => {}
        },
    }
    manifest
        .as_file()
        .sync_all()
        .map_err(io_err("writing the merged manifest"))?;
    manifest
        .persist(out)
        .map_err(|e| io_err("renaming the merged manifest into place")(e.error))?;
    Ok(MergeSummary {
        cross_shard_duplicates: shard_leaves.saturating_sub(header.leaves),
        header,
        shards: n,
        passages,
        passes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn io_err(what: &'static str) -> impl FnOnce(io::Error) -> MergeError {
    move |source| MergeError::Io { what, source }
}

/// Where an input's bytes are: a shard's file, or an intermediate pass's temporary file.
enum Src {
    Path(PathBuf),
    /// Closed until opened (a pass over 65,536 shards leaves 1,024 of them, more than a
    /// process may hold open), deleted when dropped.
    Temp(tempfile::TempPath),
}

impl Src {
    fn open(self) -> io::Result<File> {
        match self {
            Src::Path(p) => File::open(p),
            Src::Temp(p) => {
                let f = File::open(&p)?;
                // Unlinked while open: the data stays readable until the file is closed.
                drop(p);
                Ok(f)
            }
        }
    }
}

/// One input of a pass.
struct Input {
    /// For messages: the shard's path, or the pass that wrote it.
    label: PathBuf,
    manifest: Src,
    /// Its passage leaves, and the tree its header names (checked for shards).
    passages: Option<(Src, Option<(Digest, u64)>)>,
}

/// Reads every shard's header and checks that they fit together. Returns the inputs (in shard
/// order), the merged manifest's header template, N and the shards' leaves in all.
fn check_shards(shards: &[PathBuf]) -> Result<(Vec<Input>, ManifestHeader, u32, u64), MergeError> {
    let mut seen: BTreeMap<u32, (PathBuf, ManifestHeader)> = BTreeMap::new();
    let mut first: Option<(PathBuf, ManifestHeader, Shard)> = None;
    let mut leaves = 0u64;
    for path in shards {
        let header = ManifestReader::open_shard(path, 4096)
            .map_err(|source| MergeError::Shard {
                path: path.clone(),
                source,
            })?
            .header()
            .clone();
        let shard = header
            .shard()
            .map_err(|source| MergeError::Shard {
                path: path.clone(),
                source,
            })?
            .ok_or_else(|| MergeError::NotAShard { path: path.clone() })?;
        let (fpath, fheader, fshard) =
            first.get_or_insert_with(|| (path.clone(), header.clone(), shard));
        if shard.n() != fshard.n() {
            return Err(MergeError::MixedCount {
                path: path.clone(),
                shard,
                n: fshard.n(),
                first: fpath.clone(),
            });
        }
        let mismatch = |what, expected: String, found: String| MergeError::Mismatch {
            path: path.clone(),
            what,
            expected,
            found,
            first: fpath.clone(),
        };
        let d = |v: &dyn std::fmt::Debug| format!("{v:?}");
        for (what, a, b) in [
            ("mode", d(&fheader.mode), d(&header.mode)),
            ("field", d(&fheader.field), d(&header.field)),
            ("meta", d(&fheader.meta), d(&header.meta)),
            (
                "meta_fields",
                d(&fheader.meta_fields),
                d(&header.meta_fields),
            ),
            (
                "options (shard_options)",
                hex(fheader.shard_options),
                hex(header.shard_options),
            ),
            (
                "source tree",
                tree(fheader.sources()),
                tree(header.sources()),
            ),
            (
                "passage tree",
                tree(fheader.passages()),
                tree(header.passages()),
            ),
        ] {
            if a != b {
                return Err(mismatch(what, a, b));
            }
        }
        if let Some((other, _)) = seen.get(&shard.k()) {
            return Err(MergeError::Repeated {
                shard,
                first: other.clone(),
                second: path.clone(),
            });
        }
        leaves = leaves
            .checked_add(header.leaves)
            .ok_or(MergeError::Overflow { what: "leaves" })?;
        seen.insert(shard.k(), (path.clone(), header));
    }
    let Some((_, fheader, fshard)) = first else {
        return Err(MergeError::NoShards);
    };
    let n = fshard.n();
    let missing: Vec<u32> = (1..=n).filter(|k| !seen.contains_key(k)).collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing { n, missing });
    }
    let mut template = ManifestHeader::new(&fheader.mode, fheader.field.as_deref(), &fheader.meta);
    template.meta_fields = fheader.meta_fields.clone();
    if fheader.sources().is_some() {
        (template.sources_root, template.sources_size) = (Some(Digest::default()), Some(0));
    }
    if fheader.passages().is_some() {
        (template.passages_root, template.passages_size) = (Some(Digest::default()), Some(0));
    }
    let inputs = seen
        .into_values()
        .map(|(path, h)| {
            let passages = h
                .passages()
                .map(|t| (Src::Path(passage_leaves_path(&path)), Some(t)));
            Input {
                label: path.clone(),
                manifest: Src::Path(path),
                passages,
            }
        })
        .collect();
    Ok((inputs, template, n, leaves))
}

fn hex(d: Option<Digest>) -> String {
    d.map_or_else(|| "none".into(), |d| d.to_hex())
}

/// "none", or "present": whether a header names a tree (its root differs by shard).
fn tree(t: Option<(Digest, u64)>) -> String {
    if t.is_some() { "present" } else { "none" }.into()
}

/// Merges in passes of at most [`FAN_IN`] inputs until one pass writes the output.
fn merge_all(
    mut inputs: Vec<Input>,
    template: &ManifestHeader,
    out: &mut File,
    passages_out: Option<&mut File>,
    cfg: &MergeConfig,
) -> Result<(ManifestHeader, Option<PassageTree>, usize), MergeError> {
    let mut passes = 0;
    // Intermediate passes keep only what the next pass needs: no trees in their headers.
    let mut inner = template.clone();
    (inner.sources_root, inner.sources_size) = (None, None);
    (inner.passages_root, inner.passages_size) = (None, None);
    let tmp = || -> Result<tempfile::NamedTempFile, MergeError> {
        let b = tempfile::Builder::new()
            .prefix(".prov-merge-")
            .tempfile_in(cfg.tmp_dir.clone().unwrap_or_else(std::env::temp_dir));
        b.map_err(io_err("creating a temporary merge file"))
    };
    // The parts of an intermediate pass are independent: merged on several threads, each
    // holding at most FAN_IN inputs open, so memory stays bounded by the thread count.
    let threads = cfg
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    while inputs.len() > FAN_IN {
        passes += 1;
        let mut parts: Vec<Mutex<Option<Vec<Input>>>> = Vec::new();
        let mut rest = inputs.into_iter().peekable();
        while rest.peek().is_some() {
            parts.push(Mutex::new(Some(rest.by_ref().take(FAN_IN).collect())));
        }
        let done: Vec<Mutex<Option<Result<Input, MergeError>>>> =
            parts.iter().map(|_| Mutex::new(None)).collect();
        let next_part = AtomicUsize::new(0);
        let inner = &inner;
        let part = |i: usize, chunk: Vec<Input>| -> Result<Input, MergeError> {
            let mut m = tmp()?;
            let mut p = match template.passages() {
                Some(_) => Some(tmp()?),
                None => None,
            };
            merge_pass(
                chunk,
                inner,
                m.as_file_mut(),
                p.as_mut().map(|p| p.as_file_mut()),
                None,
            )?;
            Ok(Input {
                label: PathBuf::from(format!("(merge pass {passes}, part {})", i + 1)),
                manifest: Src::Temp(m.into_temp_path()),
                passages: p.map(|p| (Src::Temp(p.into_temp_path()), None)),
            })
        };
        std::thread::scope(|s| {
            for _ in 0..threads.min(parts.len()) {
                s.spawn(|| loop {
                    let i = next_part.fetch_add(1, Ordering::Relaxed);
                    let Some(chunk) = parts.get(i).and_then(take) else {
                        return;
                    };
                    let r = part(i, chunk);
                    let failed = r.is_err();
                    *lock(&done[i]) = Some(r);
                    if failed {
                        // Stop handing out parts; the error is reported below.
                        next_part.store(parts.len(), Ordering::Relaxed);
                        return;
                    }
                });
            }
        });
        // Any part's error is the pass's (parts after a failure were not handed out).
        let mut next = Vec::with_capacity(done.len());
        for d in done {
            if let Some(r) = d.into_inner().unwrap_or_else(|p| p.into_inner()) {
                next.push(r?);
            }
        }
        if next.len() != parts.len() {
            return Err(MergeError::Io {
                what: "an intermediate merge pass",
                source: io::Error::other("a part was not merged"),
            });
        }
        inputs = next;
    }
    passes += 1;
    let sources = template
        .sources()
        .map(|_| SourceTreeBuilder::new(cfg.memory_budget, cfg.tmp_dir.clone()));
    let (h, p) = merge_pass(inputs, template, out, passages_out, sources)?;
    Ok((h, p, passes))
}

/// One k-way pass: the leaves of `inputs` into a manifest with `header`'s shape on `out`,
/// their passage leaves into `passages_out`.
fn merge_pass(
    inputs: Vec<Input>,
    header: &ManifestHeader,
    out: &mut File,
    passages_out: Option<&mut File>,
    sources: Option<SourceTreeBuilder>,
) -> Result<(ManifestHeader, Option<PassageTree>), MergeError> {
    let mut manifests = Vec::with_capacity(inputs.len());
    let mut sides = Vec::new();
    for i in inputs {
        if let Some((src, want)) = i.passages {
            sides.push((i.label.clone(), src, want));
        }
        manifests.push((i.label, i.manifest));
    }
    std::thread::scope(|s| {
        let ptree = passages_out.map(|out| s.spawn(move || merge_passages(sides, out)));
        let leaves = merge_leaves(manifests, header, out, sources);
        let ptree = match ptree {
            // A panic there is a bug: carry it on rather than turn it into a result.
            Some(h) => Some(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?),
            None => None,
        };
        let mut w = leaves?;
        if let (Some(t), Some(_)) = (ptree, header.passages()) {
            w.0.set_passages(t.root, t.size).map_err(HashError::from)?;
        }
        let (h, _) = w.0.finish(w.1).map_err(HashError::from)?;
        Ok((h, ptree))
    })
}

type Open<'a> = (ManifestWriter<&'a mut File>, ItemCounts);

/// An input's next leaf, with its canonical metadata.
type Head = (ManifestEntry, Option<Vec<u8>>);

/// The leaves: a heap of each input's next content id; equal ones become one leaf.
fn merge_leaves<'a>(
    inputs: Vec<(PathBuf, Src)>,
    header: &ManifestHeader,
    out: &'a mut File,
    mut sources: Option<SourceTreeBuilder>,
) -> Result<Open<'a>, MergeError> {
    let mut readers = Vec::with_capacity(inputs.len());
    let mut counts = ItemCounts::default();
    let shard_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| MergeError::Shard { path, source }
    };
    for (label, src) in inputs {
        let f = src.open().map_err(|e| shard_err(&label)(e.into()))?;
        let r = ManifestReader::new_shard(BufReader::with_capacity(INPUT_BUFFER, f))
            .map_err(shard_err(&label))?
            .skip_sources();
        let h = r.header();
        let add = |a: u64, b: u64, what| a.checked_add(b).ok_or(MergeError::Overflow { what });
        counts.items = add(counts.items, h.items, "items")?;
        counts.bytes = add(counts.bytes, h.bytes, "bytes")?;
        counts.skipped = add(counts.skipped, h.skipped, "skipped items")?;
        readers.push((label, r));
    }
    let mut w = ManifestWriter::new(out, header.clone()).map_err(HashError::from)?;
    let mut heads: Vec<Option<Head>> = Vec::with_capacity(readers.len());
    let mut heap = BinaryHeap::with_capacity(readers.len());
    for (i, (label, r)) in readers.iter_mut().enumerate() {
        let e = r.next_canonical().transpose().map_err(shard_err(label))?;
        if let Some((e, _)) = &e {
            heap.push(Reverse((e.leaf.cid, i)));
        }
        heads.push(e);
    }
    let mut group: Vec<(usize, Head)> = Vec::new();
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let mut buf = Vec::new();
    while let Some(Reverse((cid, i))) = heap.pop() {
        group.clear();
        let mut take = |i: usize, heap: &mut BinaryHeap<_>| -> Result<(), MergeError> {
            let (label, r) = &mut readers[i];
            let next = r.next_canonical().transpose().map_err(shard_err(label))?;
            if let Some((n, _)) = &next {
                heap.push(Reverse((n.leaf.cid, i)));
            }
            // The heap holds exactly the inputs whose head is present.
            if let Some(e) = std::mem::replace(&mut heads[i], next) {
                group.push((i, e));
            }
            Ok(())
        };
        take(i, &mut heap)?;
        while let Some(Reverse((c, j))) = heap.peek().copied() {
            if c != cid {
                break;
            }
            heap.pop();
            take(j, &mut heap)?;
        }
        let (i0, (e0, c0)) = &group[0];
        for (j, (e, _)) in &group[1..] {
            if e.leaf.size != e0.leaf.size {
                return Err(MergeError::SizeConflict {
                    cid,
                    a: e0.leaf.size,
                    b: e.leaf.size,
                    first: readers[*i0].0.clone(),
                    second: readers[*j].0.clone(),
                });
            }
        }
        let meta_json = match &e0.meta {
            None => None,
            Some(_) if group.len() == 1 => c0.as_deref(),
            Some(_) => {
                // One leaf listing every place the content was found, its entries sorted by
                // their canonical bytes, as a single run's sorter groups them.
                entries.clear();
                for (j, (e, _)) in &group {
                    // What `prov hash` writes: `{"sources":[...]}` and nothing else; anything
                    // more could not be merged as a single run would have written it.
                    let list = e
                        .meta
                        .as_ref()
                        .and_then(Value::as_object)
                        .filter(|o| o.len() == 1)
                        .and_then(|o| o.get("sources"))
                        .and_then(Value::as_array)
                        .ok_or_else(|| MergeError::OddMetadata {
                            path: readers[*j].0.clone(),
                            cid,
                        })?;
                    for s in list {
                        entries.push(canonical(s)?);
                    }
                }
                entries.sort_unstable();
                leaf_meta_json_into(&mut buf, entries.iter().map(Vec::as_slice));
                Some(buf.as_slice())
            }
        };
        w.push_item(cid, e0.leaf.size, meta_json)
            .map_err(HashError::from)?;
        if let Some(t) = sources.as_mut() {
            for (_, (e, _)) in &group {
                if let Some(m) = &e.meta {
                    t.push_meta(m, &cid)?;
                }
            }
        }
    }
    if let Some(t) = sources {
        let t = t.finish()?;
        w.set_sources(t.root, t.size).map_err(HashError::from)?;
    }
    Ok((w, counts))
}

/// Takes the value out of a mutex, poisoned or not (a panic is carried on by the scope).
fn take<T>(m: &Mutex<Option<T>>) -> Option<T> {
    lock(m).take()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
