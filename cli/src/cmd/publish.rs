//! `prov publish --key KEY --dataset [PUBLISHER/]NAME --version V (--mode MODE PATH...
//! [--passages WHEN] | --manifest FILE)`: hashes a corpus (or takes a manifest from `prov
//! hash`), uploads the set, submits the signed `dataset_version` entry, and prints its index and
//! the manifest root.
//!
//! A manifest whose header names a passage tree (`passages_root`, `passages_size`) has its leaves
//! in `FILE.passages` beside it (`prov hash --passages ... --out FILE`): they must hash to the
//! header's root and size (else exit 5, before anything is sent), are uploaded (format
//! `passages`), and the entry's `passages` names the tree.

use std::fs::File;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ledger::set::upload::UploadFormat;

use ledger::entry::{CorpusMode, DatasetVersion, EntryBody, SetRef};
use serde_json::json;

use crate::client::{Client, SetUpload, SetView};
use crate::cmd::hash::{MetaArgs, PassageArgs};
use crate::cmd::keygen::read_key;
use crate::cmd::publisher::{name_arg, origin, publisher_name, sign, submit, Remote};
use crate::exit::{say, say_json, Exit, Failure, OrExit, Outcome};

#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The publisher's private key file.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// The dataset: NAME, or PUBLISHER/NAME.
    #[arg(long, value_name = "[PUBLISHER/]NAME")]
    pub dataset: String,
    /// The version name.
    #[arg(long)]
    pub version: String,
    /// The publisher name [default: the one in --dataset, else the name the ledger binds to
    /// the key].
    #[arg(long)]
    pub publisher: Option<String>,
    /// The version this one follows.
    #[arg(long, value_name = "VERSION")]
    pub previous: Option<String>,
    /// SPDX licence expression summarising the items' licences.
    #[arg(long, default_value = "NOASSERTION")]
    pub licence: String,
    /// A manifest written by `prov hash` (instead of hashing here).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["mode", "paths"])]
    pub manifest: Option<PathBuf>,
    #[command(flatten)]
    pub corpus: CorpusArgs,
    #[command(flatten)]
    pub meta: MetaArgs,
    #[command(flatten)]
    pub remote: Remote,
}

/// How to hash a corpus (the same meaning as `prov hash`'s flags).
#[derive(Debug, Clone, clap::Args)]
pub struct CorpusArgs {
    /// Corpus mode: file, jsonl, lines or parquet.
    #[arg(long, value_name = "MODE")]
    pub mode: Option<String>,
    /// The JSON field or Parquet column holding each item (jsonl, parquet).
    #[arg(long, default_value = "text")]
    pub field: String,
    /// Hashing backend: auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    pub backend: String,
    /// Files and directories of the corpus, or object store URLs (s3://BUCKET/PREFIX, ...).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub passages: PassageArgs,
    #[command(flatten)]
    pub objects: crate::source::ObjectReadArgs,
}

pub fn run(args: &PublishArgs) -> Outcome {
    let kf = read_key(&args.key)?;
    let (named, dataset) = match args.dataset.split_once('/') {
        Some((p, d)) => (Some(p), d),
        None => (None, args.dataset.as_str()),
    };
    if let (Some(p), Some(q)) = (&args.publisher, named) {
        if p != q {
            return Err(Failure::msg(
                Exit::Invalid,
                format!("--publisher {p} and --dataset {} disagree", args.dataset),
            ));
        }
    }
    let dataset = name_arg("--dataset", dataset)?;
    let version = name_arg("--version", &args.version)?;
    let previous = args
        .previous
        .as_deref()
        .map(|p| name_arg("--previous", p))
        .transpose()?;

    let client = args.remote.client()?;
    let publisher = publisher_name(&client, &kf, &args.key, named.or(args.publisher.as_deref()))?;

    let tmp;
    let (manifest_path, header, sources) = match (&args.manifest, &args.corpus.mode) {
        (Some(m), _) => {
            if args.meta.given() || args.corpus.passages.passages != "none" {
                return Err(Failure::msg(
                    Exit::Invalid,
                    "--meta* and --passages options describe hashing: give them to `prov hash`, \
                     not with --manifest",
                ));
            }
            // A manifest written before source trees existed gets its tree derived here.
            let (header, tree) = hasher::ManifestReader::open(m)
                .map(hasher::ManifestReader::derive_sources)
                .and_then(hasher::ManifestReader::verify_sources_to_end)
                .or_exit(Exit::Invalid, format!("manifest {}", m.display()))?;
            let sources = tree.map(|t| SetRef {
                root: t.root,
                size: t.size,
            });
            (m.clone(), header, sources)
        }
        (None, Some(_)) => {
            tmp = tempfile::tempdir().or_exit(Exit::Local, "creating a temporary directory")?;
            let path = tmp.path().join("manifest.jsonl");
            let meta = args
                .meta
                .spec()
                .or_exit(Exit::Invalid, "metadata options")?;
            let header = hash_corpus_with(&args.corpus, meta, &path)?;
            let sources = header.sources().map(|(root, size)| SetRef { root, size });
            (path, header, sources)
        }
        (None, None) => {
            return Err(Failure::msg(
                Exit::Invalid,
                "give either --mode MODE PATH... or --manifest FILE",
            ))
        }
    };
    let corpus_mode = corpus_mode(&header)?;
    // The passage leaves are checked before anything is sent: a sidecar that does not match
    // the header uploads nothing and logs nothing.
    let passage_leaves = checked_passage_leaves(&manifest_path, &header)?;
    let set = upload_manifest(
        &client,
        Some(&kf.key),
        &manifest_path,
        &header.root,
        header.leaves,
    )?;
    let passages = match &passage_leaves {
        Some((path, tree)) => {
            upload_passage_leaves(&client, Some(&kf.key), path, tree)?;
            Some(*tree)
        }
        None => None,
    };

    let body = EntryBody::DatasetVersion(DatasetVersion {
        publisher,
        dataset,
        version,
        manifest_root: header.root,
        item_count: header.leaves,
        total_bytes: header.leaf_bytes,
        corpus_mode,
        licence: args.licence.clone(),
        previous,
        sources,
        passages,
    });
    let entry = sign(&origin(&client)?, body, &kf)?;
    let label = entry
        .dataset_key()
        .map(|k| k.to_string())
        .unwrap_or_default();
    let receipt = submit(&client, &entry)?;
    if args.remote.json {
        say_json(&json!({
            "dataset": label,
            "index": receipt.index,
            "manifest_root": header.root.to_hex(),
            "item_count": header.leaves,
            "total_bytes": header.leaf_bytes,
            "set_size": set.size,
            "sources": sources.map(|s| json!({"root": s.root.to_hex(), "size": s.size})),
            "passages": passages.map(|s| json!({"root": s.root.to_hex(), "size": s.size})),
            "receipt": receipt,
        }))?;
    } else {
        say(format!("published {label} at index {}", receipt.index))?;
        say(format!("manifest root: {}", header.root))?;
        if let Some(s) = &sources {
            say(format!("source tree: {} ({} leaves)", s.root, s.size))?;
        }
        if let Some(p) = &passages {
            say(format!("passage tree: {} ({} leaves)", p.root, p.size))?;
        }
        // The set counts distinct items; `prov hash` reports every item read, duplicates too.
        say(format!(
            "set: {} distinct items, {} bytes ({} items read, {} duplicates merged)",
            header.leaves, header.leaf_bytes, header.items, header.duplicates
        ))?;
    }
    Ok(Exit::Ok)
}

/// Hashes the corpus into a manifest at `out` with the metadata rule `meta`, and returns its
/// header.
pub fn hash_corpus_with(
    corpus: &CorpusArgs,
    meta: hasher::MetaSpec,
    out: &Path,
) -> Result<hasher::ManifestHeader, Failure> {
    let mode_arg = corpus.mode.as_deref().unwrap_or("file");
    let mode: hasher::Mode = match mode_arg {
        "line" => "lines",
        m => m,
    }
    .parse()
    .or_exit(Exit::Invalid, "--mode")?;
    if corpus.paths.is_empty() {
        return Err(Failure::msg(Exit::Invalid, "no corpus PATH given"));
    }
    corpus.objects.apply();
    let backend: hasher::BackendChoice =
        corpus.backend.parse().or_exit(Exit::Invalid, "--backend")?;
    let backend =
        hasher::select(backend, None).or_exit(Exit::Local, "opening the hashing backend")?;
    let cfg = hasher::HashConfig {
        mode,
        passages: corpus.passages.enabled(mode),
        field: corpus.field.clone(),
        meta,
        ..hasher::HashConfig::default()
    };
    let summary = hasher::hash_to_file(
        &corpus.paths,
        &cfg,
        backend.as_ref(),
        out,
        &mut hasher::Quiet,
    )
    .or_exit(Exit::Local, "hashing the corpus")?;
    Ok(summary.header)
}

/// The entry's corpus mode from a manifest header.
pub fn corpus_mode(h: &hasher::ManifestHeader) -> Result<CorpusMode, Failure> {
    let field = || {
        h.field.clone().ok_or_else(|| {
            Failure::msg(
                Exit::Invalid,
                format!("manifest mode {} without a field", h.mode),
            )
        })
    };
    Ok(match h.mode.as_str() {
        "file" => CorpusMode::File,
        "lines" | "line" => CorpusMode::Line,
        "jsonl" => CorpusMode::JsonLines { field: field()? },
        "parquet" => CorpusMode::Parquet { column: field()? },
        other => {
            return Err(Failure::msg(
                Exit::Invalid,
                format!("unknown manifest mode {other:?}"),
            ))
        }
    })
}

/// Uploads a manifest file as the set with `root` and `size` leaves, signed by `key`
/// (anonymous without one): one streamed `PUT` for a small one, numbered chunks and a commit for
/// a large one.
pub fn upload_manifest(
    client: &Client,
    key: Option<&SigningKey>,
    path: &Path,
    root: &ledger::Digest,
    size: u64,
) -> Result<SetView, Failure> {
    let shown = path.display();
    let f = File::open(path).or_exit(Exit::Local, format!("opening {shown}"))?;
    let len = f
        .metadata()
        .or_exit(Exit::Local, format!("reading {shown}"))?
        .len();
    client.upload_set(
        key,
        SetUpload {
            root: *root,
            size,
            format: UploadFormat::Manifest,
            len,
            body: Box::new(f),
        },
    )
}

/// Uploads raw 72-byte leaves as the set with `root`, signed by `key` (anonymous without one).
pub fn upload_leaves(
    client: &Client,
    key: Option<&SigningKey>,
    leaves: &[ledger::set::SetLeaf],
    root: &ledger::Digest,
) -> Result<SetView, Failure> {
    let bytes: Vec<u8> = leaves.iter().flat_map(|l| l.to_bytes()).collect();
    client.upload_set(
        key,
        SetUpload {
            root: *root,
            size: leaves.len() as u64,
            format: UploadFormat::Leaves,
            len: bytes.len() as u64,
            body: Box::new(std::io::Cursor::new(bytes)),
        },
    )
}

/// The passage leaves file of the manifest at `manifest` (`FILE.passages`) and the tree it
/// holds, when the header names one: checked to hash to the header's `passages_root` and
/// `passages_size` (a missing, unreadable, malformed or different file is exit 5). `None` when the
/// header names no passage tree.
pub fn checked_passage_leaves(
    manifest: &Path,
    header: &hasher::ManifestHeader,
) -> Result<Option<(PathBuf, SetRef)>, Failure> {
    let Some((root, size)) = header.passages() else {
        return Ok(None);
    };
    let path = hasher::pipeline::passage_leaves_path(manifest);
    let shown = path.display();
    let mut f = File::open(&path).or_exit(
        Exit::Local,
        format!(
            "the manifest {} names a passage tree ({size} leaves), but its leaves file {shown} \
             cannot be opened (prov hash --passages ... --out FILE writes it beside FILE)",
            manifest.display()
        ),
    )?;
    let tree = hasher::passages::leaves_file_tree(&mut f)
        .or_exit(Exit::Local, format!("reading the passage leaves {shown}"))?;
    if tree.root != root || tree.size != size {
        return Err(Failure::msg(
            Exit::Local,
            format!(
                "the passage leaves {shown} do not match the manifest {}: they hash to {} with \
                 {} leaves, the header says {root} with {size}; hash the corpus again",
                manifest.display(),
                tree.root,
                tree.size
            ),
        ));
    }
    Ok(Some((path, SetRef { root, size })))
}

/// Uploads a passage leaves file (64-byte leaves back to back) as the passage tree `tree`.
pub fn upload_passage_leaves(
    client: &Client,
    key: Option<&SigningKey>,
    path: &Path,
    tree: &SetRef,
) -> Result<SetView, Failure> {
    let shown = path.display();
    let f = File::open(path).or_exit(Exit::Local, format!("opening {shown}"))?;
    let len = f
        .metadata()
        .or_exit(Exit::Local, format!("reading {shown}"))?
        .len();
    client.upload_set(
        key,
        SetUpload {
            root: tree.root,
            size: tree.size,
            format: UploadFormat::Passages,
            len,
            body: Box::new(f),
        },
    )
}

/// Uploads in-memory passage-tree leaves (sorted, unique) as the tree with `root`.
pub fn upload_passage_tree(
    client: &Client,
    key: Option<&SigningKey>,
    leaves: &[verifier::range::RangeLeaf],
    root: &ledger::Digest,
) -> Result<SetView, Failure> {
    let bytes: Vec<u8> = leaves.iter().flat_map(|l| l.as_bytes().to_vec()).collect();
    client.upload_set(
        key,
        SetUpload {
            root: *root,
            size: leaves.len() as u64,
            format: UploadFormat::Passages,
            len: bytes.len() as u64,
            body: Box::new(std::io::Cursor::new(bytes)),
        },
    )
}
