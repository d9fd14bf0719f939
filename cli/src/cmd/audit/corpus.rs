//! `prov audit --vkey V --corpus PATH --dataset P/D@V`: audit a dataset version against the corpus
//! it claims to be. The service holds no texts, so what a version's entry commits beyond its
//! items' ids (the metadata behind its manifest root, its source tree, and above all its passage
//! tree, issue 14) is the publisher's word; only someone who holds the corpus can show it false.
//!
//! 1. The `dataset_version` entry is fetched with its inclusion proof and verified against the
//!    log's signed checkpoint (as `prov check` does): what it commits is what the log promises.
//! 2. The corpus is hashed again with the hasher's own pipeline (`hasher::hash_to_file`), with
//!    the options the entry records: its corpus mode and text field, and a passage tree exactly
//!    when it commits one. What it does not record (the metadata options, `--meta*`) is taken from
//!    flags with `prov publish`'s defaults, and the report says so.
//! 3. The recomputed manifest root, source tree and passage tree are compared with the entry's.
//!    Each difference is a breach with its evidence (the entry and its tlog-proof, both roots):
//!    - manifest: the items the corpus has and the published set lacks (and the reverse), found
//!      by merging the corpus's leaves with the set's served leaves; the same items with other
//!      metadata is said so;
//!    - passages: the corpus's passage leaves that the published tree lacks (a merge with the
//!      tree's served leaves, checked to hash to the committed root), counted per item, and a
//!      sample of them, each with a verified exclusion proof from the service
//!      (`POST /v1/datasets/{p}/{d}/{v}/passages`, one multi-range proof verified against the
//!      entry's passage tree): the proof that the publisher's tree hides a passage the corpus
//!      holds, which a rights holder can take anywhere.
//!
//! Nothing is written (no state file). Exit codes: 0 the corpus matches everything the entry
//! commits; 1 breaches found; 2 bad input (the vkey, the dataset label, an entry or proof that
//! does not verify); 3 the server unreachable or failing; 5 the corpus cannot be hashed.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read as _};
use std::path::PathBuf;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};
use verifier::entry::{CorpusMode, DatasetVersion, EntryBody, SetRef};
use verifier::range::{Range, RangeLeaf, RangeRootBuilder};
use verifier::set::SetRootBuilder;
use verifier::{ContentId, Digest, TreeSize};

use super::{AuditArgs, Breach, BreachKind};
use crate::client::{Client, DatasetVersionView};
use crate::cmd::attest::parse_dataset_label;
use crate::cmd::hash::MetaArgs;
use crate::cmd::proof::{verified_entry, VerifiedEntry};
use crate::cmd::verify::load_vkey;
use crate::exit::{say, say_json, warn, Exit, Failure, OrExit, Outcome};

/// The flags of `prov audit` that audit one dataset version against its corpus (flattened into
/// [`AuditArgs`]).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CorpusAuditArgs {
    /// Audit one dataset version (--dataset) against its corpus: the files and directories it
    /// was hashed from, as given to `prov publish` or `prov hash` (relative paths inside them are
    /// committed in the metadata). Repeat for several.
    #[arg(long, value_name = "PATH", requires = "dataset")]
    pub corpus: Vec<PathBuf>,
    /// The dataset version to audit against --corpus: PUBLISHER/DATASET@VERSION.
    #[arg(long, value_name = "PUBLISHER/DATASET@VERSION", requires = "corpus")]
    pub dataset: Option<String>,
    /// The JSON field or Parquet column holding each item [default: the one the entry records].
    #[arg(long, value_name = "FIELD", requires = "corpus")]
    pub text_field: Option<String>,
    /// The metadata options the version was hashed with (the entry does not record them):
    /// as `prov publish`'s, default `--meta full` with each item's path and position.
    #[command(flatten)]
    pub meta: MetaArgs,
}

impl CorpusAuditArgs {
    pub fn selected(&self) -> bool {
        !self.corpus.is_empty()
    }
}

/// Passage leaves the corpus has and the tree lacks that are proven absent, at most.
const SAMPLES: usize = 8;
/// Items named with their count of missing passages, at most (the rest are counted).
const ITEMS_SHOWN: usize = 20;
/// Distinct items whose missing passages are counted one by one, at most.
const ITEMS_COUNTED: usize = 10_000;
/// Items named per direction of the manifest difference, at most.
const IDS_SHOWN: usize = 20;
/// Leaves revealed per sampled passage: a passage held by up to this many other items is still
/// proven absent from the hidden item.
const REVEAL: u64 = 16;

pub fn run(a: &AuditArgs) -> Outcome {
    let c = &a.corpus;
    let label = c
        .dataset
        .as_deref()
        .ok_or_else(|| Failure::msg(Exit::Invalid, "--corpus needs --dataset P/D@V"))?;
    if !label.contains('/') {
        return Err(Failure::msg(
            Exit::Invalid,
            format!("--dataset {label:?}: expected PUBLISHER/DATASET@VERSION"),
        ));
    }
    let key = load_vkey(&a.vkey)?;
    let client = Client::new(&a.server)?;
    let (p, d, v) = parse_dataset_label(label, "")?;
    let label = format!("{p}/{d}@{v}");
    let view: DatasetVersionView = client
        .get_json_opt(&format!("/v1/datasets/{p}/{d}/{v}"))?
        .ok_or_else(|| Failure::msg(Exit::Invalid, format!("the ledger has no {label} (404)")))?;
    let ve = verified_entry(&client, &key, view.index)?;
    let EntryBody::DatasetVersion(dv) = ve.entry.body() else {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "the server says {label} is entry {}, which is not a dataset_version",
                ve.index
            ),
        ));
    };
    if dv.key().to_string() != label {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "the server says {label} is entry {}, but that entry is {}",
                ve.index,
                dv.key()
            ),
        ));
    }

    let options = hash_options(c, dv)?;
    let tmp = tempfile::tempdir().or_exit(Exit::Local, "creating a temporary directory")?;
    let manifest = tmp.path().join("manifest.jsonl");
    let backend = hasher::select(hasher::BackendChoice::Auto, None)
        .or_exit(Exit::Local, "opening the hashing backend")?;
    let summary = hasher::hash_to_file(
        &c.corpus,
        &options.cfg,
        backend.as_ref(),
        &manifest,
        &mut hasher::Quiet,
    )
    .or_exit(Exit::Local, "hashing the corpus")?;
    let h = &summary.header;

    let base = json!({
        "dataset": label,
        "entry": base64::engine::general_purpose::STANDARD.encode(&ve.bytes),
        "tlog_proof": ve.proof.to_text(),
    });
    let mut breaches = Vec::new();
    let mut notes = options.notes.clone();

    // The manifest root: the items and their metadata.
    if h.root != dv.manifest_root || h.leaves != dv.item_count {
        let diff = item_diff(&client, &manifest, &dv.manifest_root)?;
        let detail = format!(
            "{label} (entry {}) commits manifest root {} with {} items; the corpus hashes to {} \
             with {} items: {}",
            ve.index,
            dv.manifest_root,
            dv.item_count,
            h.root,
            h.leaves,
            diff.describe()
        );
        breaches.push(Breach {
            kind: BreachKind::CorpusManifestMismatch,
            index: Some(ve.index),
            detail,
            evidence: with(
                base.clone(),
                json!({
                    "committed": {"root": dv.manifest_root.to_hex(), "size": dv.item_count},
                    "computed": {"root": h.root.to_hex(), "size": h.leaves},
                    "items": diff.evidence(),
                }),
            ),
        });
    }

    // The source tree, when the entry commits one.
    if let Some(committed) = dv.sources {
        match h.sources() {
            Some((root, size)) if root == committed.root && size == committed.size => {}
            Some((root, size)) => breaches.push(Breach {
                kind: BreachKind::CorpusSourcesMismatch,
                index: Some(ve.index),
                detail: format!(
                    "{label} (entry {}) commits source tree {} with {} leaves; the corpus's \
                     metadata gives {root} with {size}",
                    ve.index, committed.root, committed.size
                ),
                evidence: with(
                    base.clone(),
                    json!({
                        "committed": set_ref(&committed),
                        "computed": {"root": root.to_hex(), "size": size},
                    }),
                ),
            }),
            None => notes.push(
                "the entry commits a source tree, but the corpus was hashed without metadata \
                 (--meta none): the source tree was not checked"
                    .to_string(),
            ),
        }
    }

    // The passage tree, when the entry commits one.
    let mut computed_passages = None;
    if let Some(committed) = dv.passages {
        let tree = summary.passages.ok_or_else(|| {
            Failure::msg(
                Exit::Local,
                "the hasher built no passage tree for the corpus",
            )
        })?;
        computed_passages = Some(tree);
        if tree.root != committed.root || tree.size != committed.size {
            let side = hasher::pipeline::passage_leaves_path(&manifest);
            let diff = passage_diff(&client, &side, &committed)?;
            let proven = prove_absent(&client, &ve, &label, &committed, &diff)?;
            let items = if diff.items_overflow > 0 {
                format!("more than {ITEMS_COUNTED}")
            } else {
                diff.items.len().to_string()
            };
            let detail = format!(
                "{label} (entry {}) commits passage tree {} with {} leaves; the corpus gives {} \
                 with {}: {} passage leaves of the corpus are not in the committed tree (in \
                 {items} items), {} of its leaves are not in the corpus; {} sampled, {} of them \
                 proven absent by the service's own proof",
                ve.index,
                committed.root,
                committed.size,
                tree.root,
                tree.size,
                diff.missing,
                diff.extra,
                proven.samples.len(),
                proven.samples.iter().filter(|s| s.absent).count(),
            );
            breaches.push(Breach {
                kind: BreachKind::CorpusPassagesMismatch,
                index: Some(ve.index),
                detail,
                evidence: with(
                    base.clone(),
                    json!({
                        "committed": set_ref(&committed),
                        "computed": {"root": tree.root.to_hex(), "size": tree.size},
                        "missing": diff.missing,
                        "extra": diff.extra,
                        "items": diff.items_evidence(),
                        "samples": proven.samples.iter().map(Sample::evidence).collect::<Vec<_>>(),
                        "passages_queried": proven.pids.iter().map(ContentId::to_string).collect::<Vec<_>>(),
                        "proof": proven.proof,
                    }),
                ),
            });
        }
    } else if options.cfg.mode != hasher::Mode::File {
        notes.push(format!(
            "{label} commits no passage tree: nothing of the texts beyond their ids to check"
        ));
    }

    for n in &notes {
        warn(n);
    }
    let total = breaches.len();
    if a.json {
        let breaches: Vec<Value> = breaches
            .iter()
            .map(|b| serde_json::to_value(b).unwrap_or(Value::Null))
            .collect();
        say_json(&json!({
            "dataset": label,
            "entry_index": ve.index,
            "checkpoint": ve.proof.checkpoint,
            "corpus": {
                "paths": c.corpus.iter().map(|p| p.to_string_lossy().into_owned()).collect::<Vec<_>>(),
                "mode": h.mode,
                "field": h.field,
                "meta": h.meta,
                "items": h.items,
                "manifest": {"root": h.root.to_hex(), "size": h.leaves},
                "sources": h.sources().map(|(r, s)| json!({"root": r.to_hex(), "size": s})),
                "passages": computed_passages.map(|t| json!({"root": t.root.to_hex(), "size": t.size})),
            },
            "options": options.from,
            "notes": notes,
            "breaches": breaches,
        }))?;
    } else {
        for b in &breaches {
            say(format!(
                "breach {} at entry {}: {}",
                b.kind.as_str(),
                ve.index,
                b.detail
            ))?;
            if b.kind == BreachKind::CorpusPassagesMismatch {
                if let Some(samples) = b.evidence.get("samples").and_then(Value::as_array) {
                    for s in samples {
                        say(format!(
                            "  passage {} of item {}: {}",
                            s["passage"].as_str().unwrap_or_default(),
                            s["item"].as_str().unwrap_or_default(),
                            if s["absent"] == true {
                                "proven absent from the committed tree".to_string()
                            } else {
                                format!(
                                    "not proven absent (the tree holds it for {} items, too many \
                                     to reveal)",
                                    s["count"]
                                )
                            }
                        ))?;
                    }
                }
            }
            if b.kind == BreachKind::CorpusManifestMismatch {
                let items = &b.evidence["items"];
                for (key, what) in [
                    (
                        "corpus_only_ids",
                        "is in the corpus, not in the committed set",
                    ),
                    ("set_only_ids", "is in the committed set, not in the corpus"),
                    ("meta_differs_ids", "is in both, with other metadata"),
                ] {
                    for id in items[key].as_array().into_iter().flatten() {
                        say(format!("  item {} {what}", id.as_str().unwrap_or_default()))?;
                    }
                }
            }
        }
        let verdict = match total {
            0 => "no breach".to_string(),
            1 => "1 breach".to_string(),
            n => format!("{n} breaches"),
        };
        say(format!(
            "audited {label} (entry {}) against the corpus ({} items, {} distinct): {verdict}",
            ve.index, h.items, h.leaves
        ))?;
    }
    Ok(if total == 0 { Exit::Ok } else { Exit::Negative })
}

/// The hashing options of the audit, and where each came from.
struct HashOptions {
    cfg: hasher::HashConfig,
    /// Option -> `entry` or `flag` (or `default`).
    from: Value,
    notes: Vec<String>,
}

/// The options the version was published with, as far as its entry records them.
fn hash_options(c: &CorpusAuditArgs, dv: &DatasetVersion) -> Result<HashOptions, Failure> {
    let mut notes = Vec::new();
    let (mode, recorded) = match &dv.corpus_mode {
        CorpusMode::File => (hasher::Mode::File, None),
        CorpusMode::Line => (hasher::Mode::Lines, None),
        CorpusMode::JsonLines { field } => (hasher::Mode::Jsonl, Some(field.clone())),
        CorpusMode::Parquet { column } => (hasher::Mode::Parquet, Some(column.clone())),
    };
    let (field, field_from) = match (&c.text_field, recorded) {
        (Some(f), Some(r)) if *f != r => {
            notes.push(format!(
                "the entry records the text field {r:?}; hashing with --text-field {f:?} as asked"
            ));
            (f.clone(), "flag")
        }
        (Some(f), _) => (f.clone(), "flag"),
        (None, Some(r)) => (r, "entry"),
        (None, None) => ("text".to_string(), "default"),
    };
    let meta = c.meta.spec().or_exit(Exit::Invalid, "metadata options")?;
    let meta_from = if c.meta.given() { "flag" } else { "default" };
    notes.push(format!(
        "the entry does not record the metadata options: hashing with {} (flags --meta*); a \
         version hashed with others differs in its manifest root and source tree only",
        if c.meta.given() {
            "the --meta* options given"
        } else {
            "prov publish's default (--meta full: each item's path and position)"
        }
    ));
    let cfg = hasher::HashConfig {
        mode,
        field,
        meta,
        // The passage tree is built exactly when the entry commits one (in file mode every file
        // is then read as text, as `--passages text` does).
        passages: dv.passages.is_some(),
        ..hasher::HashConfig::default()
    };
    cfg.validate().or_exit(Exit::Invalid, "hashing options")?;
    let from = json!({
        "mode": "entry",
        "field": field_from,
        "passages": "entry",
        "meta": meta_from,
    });
    Ok(HashOptions { cfg, from, notes })
}

/// How the corpus's items differ from the published set's.
#[derive(Default)]
struct ItemDiff {
    /// Items of the corpus the set lacks: count and the first ones.
    corpus_only: u64,
    corpus_only_ids: Vec<ContentId>,
    /// Items of the set the corpus lacks.
    set_only: u64,
    set_only_ids: Vec<ContentId>,
    /// Items in both whose committed metadata differs.
    meta_differs: u64,
    meta_differs_ids: Vec<ContentId>,
    /// `false` when the server's copy of the set could not be read or does not hash to the
    /// committed root: the counts above then mean nothing.
    compared: bool,
}

impl ItemDiff {
    fn describe(&self) -> String {
        if !self.compared {
            return "the server's copy of the committed set cannot be compared (missing, or not \
                    hashing to the committed root)"
                .to_string();
        }
        if self.corpus_only == 0 && self.set_only == 0 {
            return format!(
                "the same items, {} of them with other metadata (check the --meta* options)",
                self.meta_differs
            );
        }
        format!(
            "{} items of the corpus are not in the set, {} items of the set are not in the corpus, \
             {} items in both with other metadata",
            self.corpus_only, self.set_only, self.meta_differs
        )
    }

    fn evidence(&self) -> Value {
        let ids = |v: &[ContentId]| v.iter().map(ContentId::to_string).collect::<Vec<_>>();
        json!({
            "compared": self.compared,
            "corpus_only": self.corpus_only,
            "corpus_only_ids": ids(&self.corpus_only_ids),
            "set_only": self.set_only,
            "set_only_ids": ids(&self.set_only_ids),
            "meta_differs": self.meta_differs,
            "meta_differs_ids": ids(&self.meta_differs_ids),
        })
    }
}

fn push_capped(v: &mut Vec<ContentId>, id: ContentId) {
    if v.len() < IDS_SHOWN {
        v.push(id);
    }
}

/// Merges the corpus's manifest (leaves sorted by content id) with the served leaves of the
/// committed set `root` (sorted too), checking those hash to `root`.
fn item_diff(
    client: &Client,
    manifest: &std::path::Path,
    root: &Digest,
) -> Result<ItemDiff, Failure> {
    let mut reader = hasher::ManifestReader::open(manifest)
        .or_exit(Exit::Local, "reading the corpus's manifest")?;
    let mut next = || -> Result<Option<verifier::set::SetLeaf>, Failure> {
        reader
            .next()
            .transpose()
            .map(|e| e.map(|e| e.leaf))
            .or_exit(Exit::Local, "reading the corpus's manifest")
    };
    let mut diff = ItemDiff::default();
    let mut cur = next()?;
    let mut builder = SetRootBuilder::new();
    let mut in_order = true;
    let found = crate::logread::set_leaves(client, root, |leaf| {
        if builder.push(leaf).is_err() {
            in_order = false;
            return Ok(false);
        }
        while let Some(c) = cur.as_ref().filter(|c| c.cid < leaf.cid) {
            diff.corpus_only += 1;
            push_capped(&mut diff.corpus_only_ids, c.cid);
            cur = next()?;
        }
        match &cur {
            Some(c) if c.cid == leaf.cid => {
                if c.meta != leaf.meta {
                    diff.meta_differs += 1;
                    push_capped(&mut diff.meta_differs_ids, c.cid);
                }
                cur = next()?;
            }
            _ => {
                diff.set_only += 1;
                push_capped(&mut diff.set_only_ids, leaf.cid);
            }
        }
        Ok(true)
    })?;
    while let Some(c) = &cur {
        diff.corpus_only += 1;
        push_capped(&mut diff.corpus_only_ids, c.cid);
        cur = next()?;
    }
    diff.compared = found && in_order && builder.root() == *root;
    Ok(diff)
}

/// How the corpus's passage leaves differ from the committed tree's.
#[derive(Default)]
struct PassageDiff {
    /// Leaves of the corpus the tree lacks.
    missing: u64,
    /// Leaves of the tree the corpus lacks.
    extra: u64,
    /// Missing leaves per item (content id), for the first [`ITEMS_COUNTED`] items.
    items: BTreeMap<[u8; 32], u64>,
    /// Missing leaves of items beyond those.
    items_overflow: u64,
    /// The first missing leaves whose passage id the tree holds no leaf of at all.
    absent: Vec<[u8; 64]>,
    /// The first missing leaves whose passage id the tree holds for other items.
    shared: Vec<[u8; 64]>,
}

impl PassageDiff {
    fn note_missing(&mut self, leaf: [u8; 64], pid_in_tree: bool) {
        self.missing += 1;
        let mut cid = [0u8; 32];
        cid.copy_from_slice(&leaf[32..]);
        if let Some(n) = self.items.get_mut(&cid) {
            *n += 1;
        } else if self.items.len() < ITEMS_COUNTED {
            self.items.insert(cid, 1);
        } else {
            self.items_overflow += 1;
        }
        let list = if pid_in_tree {
            &mut self.shared
        } else {
            &mut self.absent
        };
        if list.len() < SAMPLES {
            list.push(leaf);
        }
    }

    fn items_evidence(&self) -> Value {
        let mut v: Vec<(&[u8; 32], &u64)> = self.items.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        json!({
            "counted": self.items.len(),
            "uncounted_leaves": self.items_overflow,
            "top": v.iter().take(ITEMS_SHOWN).map(|(cid, n)| json!({
                "item": ContentId(**cid).to_string(),
                "missing": n,
            })).collect::<Vec<_>>(),
        })
    }

    /// The sample to prove: passages wholly absent from the tree first.
    fn sample(&self) -> Vec<[u8; 64]> {
        let mut out: Vec<[u8; 64]> = self.absent.clone();
        out.extend(self.shared.iter().take(SAMPLES.saturating_sub(out.len())));
        out
    }
}

/// Leaves per page of `GET /v1/passages/{root}/leaves` (the server's most).
const PASSAGE_PAGE: u64 = 4096;

/// A page of a stored passage tree's leaves, as the server sends it.
#[derive(Deserialize)]
struct PassagePage {
    size: u64,
    start: u64,
    leaves: Vec<String>,
}

/// Merges the corpus's passage leaves (the file beside its manifest: sorted 64-byte leaves) with
/// the committed tree's served leaves, page by page, checking those are strictly increasing and
/// hash to the committed root and size (else the server fails: exit 3). Memory does not grow with
/// either.
fn passage_diff(
    client: &Client,
    side: &std::path::Path,
    tree: &SetRef,
) -> Result<PassageDiff, Failure> {
    let f = File::open(side).or_exit(Exit::Local, "opening the corpus's passage leaves")?;
    let mut r = BufReader::with_capacity(1 << 20, f);
    let mut next = || -> Result<Option<[u8; 64]>, Failure> {
        let mut leaf = [0u8; 64];
        match r.read_exact(&mut leaf) {
            Ok(()) => Ok(Some(leaf)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(Failure::new(Exit::Local, e)),
        }
    };
    let bad = |what: String| {
        Failure::msg(
            Exit::Server,
            format!("the server's copy of passage tree {}: {what}", tree.root),
        )
    };
    let mut diff = PassageDiff::default();
    let mut cur = next()?;
    let mut prev: Option<[u8; 64]> = None;
    let mut builder = RangeRootBuilder::new();
    while builder.size().0 < tree.size {
        let start = builder.size().0;
        let path = format!(
            "/v1/passages/{}/leaves?start={start}&limit={PASSAGE_PAGE}",
            tree.root.to_hex()
        );
        let page = client
            .get_json_opt::<PassagePage>(&path)?
            .ok_or_else(|| bad("not stored (404)".to_string()))?;
        if page.start != start || page.size != tree.size || page.leaves.is_empty() {
            return Err(bad(format!("GET {path}: a page that does not follow on")));
        }
        for hex in &page.leaves {
            let parsed = RangeLeaf::from_hex(hex)
                .map_err(|_| bad(format!("GET {path}: a malformed leaf")))?;
            let leaf = <[u8; 64]>::try_from(parsed.as_bytes())
                .map_err(|_| bad(format!("GET {path}: a leaf that is not 64 bytes")))?;
            builder
                .push(&parsed)
                .map_err(|_| bad(format!("GET {path}: leaves out of order")))?;
            while let Some(c) = cur.filter(|c| *c < leaf) {
                let in_tree = c[..32] == leaf[..32] || prev.is_some_and(|p| p[..32] == c[..32]);
                diff.note_missing(c, in_tree);
                cur = next()?;
            }
            if cur == Some(leaf) {
                cur = next()?;
            } else {
                diff.extra += 1;
            }
            prev = Some(leaf);
        }
    }
    if builder.size().0 != tree.size || builder.root() != tree.root {
        return Err(bad(
            "its leaves do not hash to the committed root".to_string()
        ));
    }
    while let Some(c) = cur {
        let in_tree = prev.is_some_and(|p| p[..32] == c[..32]);
        diff.note_missing(c, in_tree);
        cur = next()?;
    }
    Ok(diff)
}

/// The sampled passages and the verified proof about them.
struct Proven {
    samples: Vec<Sample>,
    /// The passage ids asked for, sorted: the ranges the proof covers, in order.
    pids: Vec<ContentId>,
    /// The verified multi-range proof (JSON); `None` when nothing was sampled.
    proof: Option<Value>,
}

/// One sampled passage leaf of the corpus, and what the service's proof shows of it.
struct Sample {
    pid: ContentId,
    cid: ContentId,
    /// Leaves with this passage id in the committed tree (proven).
    count: u64,
    /// The items the proof revealed holding it.
    items: Vec<ContentId>,
    /// Proven: the committed tree holds no leaf `pid || cid`.
    absent: bool,
}

impl Sample {
    fn evidence(&self) -> Value {
        json!({
            "passage": self.pid.to_string(),
            "item": self.cid.to_string(),
            "count": self.count,
            "items": self.items.iter().map(ContentId::to_string).collect::<Vec<_>>(),
            "absent": self.absent,
        })
    }
}

/// Asks the service for the sampled passages' ranges in the version's tree and verifies its one
/// multi-range proof against the tree the verified entry commits: for each sample, whether the
/// committed tree provably lacks its leaf. A proof that does not verify, or an answer for
/// another entry or tree, is exit 2; a refusal to prove from a committed tree, exit 3.
fn prove_absent(
    client: &Client,
    ve: &VerifiedEntry,
    label: &str,
    tree: &SetRef,
    diff: &PassageDiff,
) -> Result<Proven, Failure> {
    let sample = diff.sample();
    let mut pids: Vec<ContentId> = sample.iter().map(pid_of).collect();
    pids.sort();
    pids.dedup();
    if pids.is_empty() {
        return Ok(Proven {
            samples: Vec::new(),
            pids,
            proof: None,
        });
    }
    let refused = |f: Failure| {
        Failure::new(
            Exit::Server,
            f.error.context(format!(
                "{label} commits a passage tree, but the server gives no proof from it"
            )),
        )
    };
    let ans = client
        .passages(label, &pids, REVEAL)
        .map_err(refused)?
        .ok_or_else(|| refused(Failure::msg(Exit::Server, "404 no-passage-tree")))?;
    if ans.entry_index != ve.index
        || ans.passages.root != tree.root.to_hex()
        || ans.passages.size != tree.size
    {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "{label}: the server answered for entry {} and tree {}, not entry {} and tree {}",
                ans.entry_index, ans.passages.root, ve.index, tree.root
            ),
        ));
    }
    let ranges: Vec<Range> = pids.iter().map(Range::passage).collect();
    let members =
        verifier::range::verify_ranges(&tree.root, TreeSize(tree.size), &ranges, &ans.proof)
            .or_exit(
                Exit::Invalid,
                format!("{label}: the service's passage proof does not verify"),
            )?;
    let proof = serde_json::to_value(&ans.proof).or_exit(Exit::Local, "encoding the proof")?;
    let by_pid: BTreeMap<ContentId, verifier::range::RangeMembers> =
        pids.iter().copied().zip(members).collect();
    let mut out = Vec::new();
    for leaf in &sample {
        let (pid, cid) = (pid_of(leaf), cid_of(leaf));
        let Some(m) = by_pid.get(&pid) else { continue };
        let items: Vec<ContentId> = m
            .revealed
            .iter()
            .filter_map(|(_, l)| l.split_passage().map(|(_, c)| c))
            .collect();
        let absent = m.count == 0 || (m.complete() && !items.contains(&cid));
        out.push(Sample {
            pid,
            cid,
            count: m.count,
            items,
            absent,
        });
    }
    Ok(Proven {
        samples: out,
        pids,
        proof: Some(proof),
    })
}

fn pid_of(leaf: &[u8; 64]) -> ContentId {
    let mut b = [0u8; 32];
    b.copy_from_slice(&leaf[..32]);
    ContentId(b)
}

fn cid_of(leaf: &[u8; 64]) -> ContentId {
    let mut b = [0u8; 32];
    b.copy_from_slice(&leaf[32..]);
    ContentId(b)
}

fn set_ref(s: &SetRef) -> Value {
    json!({"root": s.root.to_hex(), "size": s.size})
}

/// `a` with the fields of `b` added.
fn with(a: Value, b: Value) -> Value {
    super::with(a, b)
}
