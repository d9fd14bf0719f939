//! The four entry types of DESIGN.md "Log entries", their fields, and their JSON fields. The
//! common fields (`type`, `time`, `nonce`, `signer`, `sig`) are handled in the parent module.

use std::fmt;

use ed25519_dalek::VerifyingKey;
use serde_json::{json, Map, Value};

use super::fields::{self, Fields};
use super::{EntryError, Name, MAX_INLINE_IDS, MAX_SITES};
use crate::source::Site;
use crate::types::{ContentId, Digest, LeafIndex};

/// What an entry says, by type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryBody {
    Publisher(Publisher),
    DatasetVersion(DatasetVersion),
    OptOut(OptOut),
    ModelCheckpoint(ModelCheckpoint),
}

/// `publisher`: `name` is bound to `key`. The first entry for a name binds it and is signed by
/// `key` itself; a later one changes the key and is signed by the key it replaces (the entry's
/// signer is then the old key). Which case applies is the sequencer's call: it knows the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publisher {
    pub name: Name,
    pub key: VerifyingKey,
}

/// `dataset_version`: `publisher/dataset@version` is the set with `manifest_root` and
/// `item_count` leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetVersion {
    pub publisher: Name,
    pub dataset: Name,
    pub version: Name,
    pub manifest_root: Digest,
    /// The manifest set's size: with `manifest_root`, what set proofs verify against.
    pub item_count: u64,
    pub total_bytes: u64,
    pub corpus_mode: CorpusMode,
    /// An SPDX licence expression summarising the items' licences (free text, at most 256 bytes).
    pub licence: String,
    /// The version this one follows, if any.
    pub previous: Option<Name>,
    /// The root and size of the version's source tree (docs/formats.md "Range trees and range
    /// proofs"): one leaf `source key || 0x00 || cid` per distinct (source, item) of the
    /// manifest's metadata. JSON `sources: {"root": <hex>, "size": n}`, optional: versions
    /// logged before source trees have none, and then no site can be proven absent from them.
    pub sources: Option<SetRef>,
    /// The root and size of the version's passage tree (docs/formats.md "Passages"): one
    /// 64-byte leaf `passage id || cid` per distinct (passage, item) of the items' texts, built
    /// by the publisher's hasher. JSON `passages: {"root": <hex>, "size": n}`, optional:
    /// versions logged before passage trees, and corpora that are not text, have none, and
    /// then no passage can be proven present or absent. Publisher-declared: the service stores
    /// the tree but has no texts to recompute it from.
    pub passages: Option<SetRef>,
}

/// A tree named by its root and size. JSON `{"root": "<64 hex>", "size": n}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SetRef {
    pub root: Digest,
    pub size: u64,
}

/// How a corpus was split into items (DESIGN.md "Content ids"); JSON `file`, `line`,
/// `jsonl:<field>`, `parquet:<column>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CorpusMode {
    File,
    Line,
    JsonLines { field: String },
    Parquet { column: String },
}

/// `optout`: these content ids, the items from these sites, and the items holding these
/// passages, are not to be used for the uses in `scope`. At least one of `ids`, `sites` and
/// `passages`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptOut {
    /// Content ids (inline or an opt-out set); `None` for an opt-out by sites only.
    pub ids: Option<OptOutIds>,
    /// Domains and URL prefixes (JSON `sites`, canonical, sorted by string, unique, 1..=64;
    /// absent when empty). Only a signed opt-out may name sites (a sequencer rule), and a
    /// verifier checks the signer controls them (SPEC13 section 5).
    pub sites: Vec<Site>,
    /// A stored passage tree of the opted-out work(s) (JSON `passages: {"root", "size"}`,
    /// absent when `None`): leaves `passage id || cid`, cid the work's content id; a work with
    /// more than [`super::MAX_OPTOUT_PASSAGES`] passages is named by its smallest ones
    /// ([`crate::passage::optout_sample`]). Only a signed opt-out may name passages (a sequencer
    /// rule, `anonymous-passages`); a verifier ignores an unsigned one's.
    pub passages: Option<SetRef>,
    /// IETF aipref usage categories, sorted and unique.
    pub scope: Vec<Scope>,
}

/// The ids of an opt-out: a few inline (JSON `ids`, sorted, unique, 1..=64), or an opt-out set
/// published separately (JSON `set: {"root": <hex>, "size": n}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptOutIds {
    Inline(Vec<ContentId>),
    Set { root: Digest, size: u64 },
}

/// A usage category of the IETF aipref vocabulary (draft-ietf-aipref-vocab, "Usage Category
/// Labels"). Labels outside the vocabulary are refused rather than ignored: an entry is
/// permanent, and a misspelt scope would silently mean nothing. docs/format-sets-entries.md
/// says what each label means for compliance (only `train-ai` binds a `model_checkpoint`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// `ai-use`: an earlier draft's label for using content as input to an AI model. Withdrawn
    /// from the vocabulary: entries already logged with it stay readable, a sequencer refuses
    /// new ones ([`Scope::is_current`]).
    AiUse,
    /// `search`: building a search application (indexing, ranking, linking back).
    Search,
    /// `train-ai`: training or fine-tuning an AI model (modifying its learned parameters).
    TrainAi,
}

/// `model_checkpoint`: `publisher/model@checkpoint` has the weights set `weights_root` and was
/// trained on `datasets`; every opt-out below log index `optout_horizon` was honoured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelCheckpoint {
    pub publisher: Name,
    pub model: Name,
    pub checkpoint: Name,
    pub weights_root: Digest,
    pub weights_count: u64,
    pub datasets: Vec<DatasetRef>,
    /// A log size N: the claim covers every `optout` entry with index < N.
    pub optout_horizon: u64,
}

/// A dataset version a checkpoint names: its key, its log index, and its manifest root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetRef {
    pub publisher: Name,
    pub dataset: Name,
    pub version: Name,
    pub index: LeafIndex,
    pub manifest_root: Digest,
}

/// `publisher/dataset@version`: how a dataset version is named everywhere.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct DatasetKey {
    pub publisher: Name,
    pub dataset: Name,
    pub version: Name,
}

impl fmt::Display for DatasetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.publisher, self.dataset, self.version)
    }
}

impl DatasetVersion {
    pub fn key(&self) -> DatasetKey {
        DatasetKey {
            publisher: self.publisher.clone(),
            dataset: self.dataset.clone(),
            version: self.version.clone(),
        }
    }
}

impl DatasetRef {
    pub fn key(&self) -> DatasetKey {
        DatasetKey {
            publisher: self.publisher.clone(),
            dataset: self.dataset.clone(),
            version: self.version.clone(),
        }
    }
}

impl OptOut {
    /// Whether the opt-out covers training a model (`train-ai`), the use a `model_checkpoint`
    /// entry makes its claim about.
    pub fn covers_training(&self) -> bool {
        self.scope.contains(&Scope::TrainAi)
    }

    /// The inline content ids, if the opt-out carries them.
    pub fn inline_ids(&self) -> Option<&[ContentId]> {
        match &self.ids {
            Some(OptOutIds::Inline(ids)) => Some(ids),
            _ => None,
        }
    }

    /// The opt-out set, if the opt-out names one.
    pub fn set(&self) -> Option<SetRef> {
        match &self.ids {
            Some(OptOutIds::Set { root, size }) => Some(SetRef {
                root: *root,
                size: *size,
            }),
            _ => None,
        }
    }

    /// The first scope that is no longer in the aipref vocabulary, if any.
    pub fn withdrawn_scope(&self) -> Option<Scope> {
        self.scope.iter().copied().find(|s| !s.is_current())
    }
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::AiUse, Scope::Search, Scope::TrainAi];

    pub fn label(self) -> &'static str {
        match self {
            Scope::AiUse => "ai-use",
            Scope::Search => "search",
            Scope::TrainAi => "train-ai",
        }
    }

    pub fn from_label(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|c| c.label() == s)
    }

    /// Whether the label is in the current aipref vocabulary (`train-ai`, `search`). A
    /// withdrawn one (`ai-use`) still parses, so logged entries stay readable, but a sequencer
    /// refuses new entries with it (`ledger::store::rules`, problem `scope-withdrawn`).
    pub fn is_current(self) -> bool {
        !matches!(self, Scope::AiUse)
    }
}

impl fmt::Display for CorpusMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorpusMode::File => f.write_str("file"),
            CorpusMode::Line => f.write_str("line"),
            CorpusMode::JsonLines { field } => write!(f, "jsonl:{field}"),
            CorpusMode::Parquet { column } => write!(f, "parquet:{column}"),
        }
    }
}

impl std::str::FromStr for CorpusMode {
    type Err = EntryError;
    fn from_str(s: &str) -> Result<Self, EntryError> {
        let bad = || EntryError::BadCorpusMode(s.to_string());
        let field_ok =
            |f: &str| !f.is_empty() && f.len() <= 128 && !f.chars().any(char::is_control);
        match s.split_once(':') {
            None if s == "file" => Ok(CorpusMode::File),
            None if s == "line" => Ok(CorpusMode::Line),
            Some(("jsonl", f)) if field_ok(f) => Ok(CorpusMode::JsonLines {
                field: f.to_string(),
            }),
            Some(("parquet", c)) if field_ok(c) => Ok(CorpusMode::Parquet {
                column: c.to_string(),
            }),
            _ => Err(bad()),
        }
    }
}

impl EntryBody {
    pub fn kind(&self) -> super::EntryKind {
        use super::EntryKind as K;
        match self {
            EntryBody::Publisher(_) => K::Publisher,
            EntryBody::DatasetVersion(_) => K::DatasetVersion,
            EntryBody::OptOut(_) => K::OptOut,
            EntryBody::ModelCheckpoint(_) => K::ModelCheckpoint,
        }
    }

    pub(super) fn write(&self, m: &mut Map<String, Value>) {
        match self {
            EntryBody::Publisher(p) => {
                m.insert("name".into(), json!(p.name));
                m.insert("key".into(), json!(fields::to_b64(p.key.as_bytes())));
            }
            EntryBody::DatasetVersion(d) => {
                m.insert("publisher".into(), json!(d.publisher));
                m.insert("dataset".into(), json!(d.dataset));
                m.insert("version".into(), json!(d.version));
                m.insert("manifest_root".into(), json!(d.manifest_root.to_hex()));
                m.insert("item_count".into(), json!(d.item_count));
                m.insert("total_bytes".into(), json!(d.total_bytes));
                m.insert("corpus_mode".into(), json!(d.corpus_mode.to_string()));
                m.insert("licence".into(), json!(d.licence));
                if let Some(p) = &d.previous {
                    m.insert("previous".into(), json!(p));
                }
                if let Some(s) = &d.sources {
                    m.insert("sources".into(), set_ref_json(s));
                }
                if let Some(p) = &d.passages {
                    m.insert("passages".into(), set_ref_json(p));
                }
            }
            EntryBody::OptOut(o) => {
                match &o.ids {
                    Some(OptOutIds::Inline(ids)) => {
                        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
                        m.insert("ids".into(), json!(ids));
                    }
                    Some(OptOutIds::Set { root, size }) => {
                        m.insert("set".into(), json!({"root": root.to_hex(), "size": size}));
                    }
                    None => {}
                }
                if !o.sites.is_empty() {
                    let sites: Vec<&str> = o.sites.iter().map(Site::as_str).collect();
                    m.insert("sites".into(), json!(sites));
                }
                if let Some(p) = &o.passages {
                    m.insert("passages".into(), set_ref_json(p));
                }
                let scope: Vec<&str> = o.scope.iter().map(|s| s.label()).collect();
                m.insert("scope".into(), json!(scope));
            }
            EntryBody::ModelCheckpoint(c) => {
                m.insert("publisher".into(), json!(c.publisher));
                m.insert("model".into(), json!(c.model));
                m.insert("checkpoint".into(), json!(c.checkpoint));
                m.insert("weights_root".into(), json!(c.weights_root.to_hex()));
                m.insert("weights_count".into(), json!(c.weights_count));
                let ds: Vec<Value> = c
                    .datasets
                    .iter()
                    .map(|d| {
                        json!({
                            "publisher": d.publisher,
                            "dataset": d.dataset,
                            "version": d.version,
                            "index": d.index.0,
                            "manifest_root": d.manifest_root.to_hex(),
                        })
                    })
                    .collect();
                m.insert("datasets".into(), Value::Array(ds));
                m.insert("optout_horizon".into(), json!(c.optout_horizon));
            }
        }
    }

    pub(super) fn read(kind: super::EntryKind, f: &mut Fields) -> Result<Self, EntryError> {
        use super::EntryKind as K;
        Ok(match kind {
            K::Publisher => EntryBody::Publisher(Publisher {
                name: f.name("name")?,
                key: f.key("key")?,
            }),
            K::DatasetVersion => EntryBody::DatasetVersion(DatasetVersion {
                publisher: f.name("publisher")?,
                dataset: f.name("dataset")?,
                version: f.name("version")?,
                manifest_root: f.digest("manifest_root")?,
                item_count: f.u64("item_count")?,
                total_bytes: f.u64("total_bytes")?,
                corpus_mode: f.string("corpus_mode")?.parse()?,
                licence: f.string("licence")?,
                previous: f.opt_name("previous")?,
                sources: read_set_ref(f, "sources")?,
                passages: read_set_ref(f, "passages")?,
            }),
            K::OptOut => {
                let ids = match (f.has("ids"), f.has("set")) {
                    (true, true) => return Err(EntryError::IdsOrSet),
                    (false, false) => None,
                    (true, false) => Some(OptOutIds::Inline(
                        f.array("ids")?
                            .into_iter()
                            .map(|v| fields::cid(v, "ids"))
                            .collect::<Result<_, _>>()?,
                    )),
                    (false, true) => {
                        let mut s = Fields::new(f.take("set")?, "set")?;
                        let ids = OptOutIds::Set {
                            root: s.digest("root")?,
                            size: s.u64("size")?,
                        };
                        s.finish()?;
                        Some(ids)
                    }
                };
                let sites = if f.has("sites") {
                    let sites = f
                        .array("sites")?
                        .into_iter()
                        .map(fields::site)
                        .collect::<Result<Vec<Site>, _>>()?;
                    if sites.is_empty() {
                        // Written only when not empty: `[]` would be a second encoding.
                        return Err(EntryError::EmptyList { field: "sites" });
                    }
                    sites
                } else {
                    Vec::new()
                };
                let passages = read_set_ref(f, "passages")?;
                let scope = f
                    .array("scope")?
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => {
                            Scope::from_label(&s).ok_or(EntryError::UnknownScope(s))
                        }
                        _ => Err(EntryError::WrongType { field: "scope" }),
                    })
                    .collect::<Result<_, _>>()?;
                EntryBody::OptOut(OptOut {
                    ids,
                    sites,
                    passages,
                    scope,
                })
            }
            K::ModelCheckpoint => EntryBody::ModelCheckpoint(ModelCheckpoint {
                publisher: f.name("publisher")?,
                model: f.name("model")?,
                checkpoint: f.name("checkpoint")?,
                weights_root: f.digest("weights_root")?,
                weights_count: f.u64("weights_count")?,
                datasets: f
                    .array("datasets")?
                    .into_iter()
                    .map(|v| {
                        let mut d = Fields::new(v, "datasets")?;
                        let r = DatasetRef {
                            publisher: d.name("publisher")?,
                            dataset: d.name("dataset")?,
                            version: d.name("version")?,
                            index: LeafIndex(d.u64("index")?),
                            manifest_root: d.digest("manifest_root")?,
                        };
                        d.finish()?;
                        Ok(r)
                    })
                    .collect::<Result<_, EntryError>>()?,
                optout_horizon: f.u64("optout_horizon")?,
            }),
        })
    }

    /// Rules on one entry's own fields, checked when signing and when decoding.
    pub(super) fn check(&self) -> Result<(), EntryError> {
        let safe = |field: &'static str, n: u64| {
            if n > super::MAX_SAFE_INTEGER {
                Err(EntryError::NumberOutOfRange { field })
            } else {
                Ok(())
            }
        };
        match self {
            EntryBody::Publisher(_) => Ok(()),
            EntryBody::DatasetVersion(d) => {
                safe("item_count", d.item_count)?;
                safe("total_bytes", d.total_bytes)?;
                if let Some(s) = &d.sources {
                    safe("sources.size", s.size)?;
                }
                if let Some(p) = &d.passages {
                    safe("passages.size", p.size)?;
                }
                if d.licence.len() > 256 {
                    return Err(EntryError::TooLong { field: "licence" });
                }
                Ok(())
            }
            EntryBody::OptOut(o) => {
                if o.scope.is_empty() {
                    return Err(EntryError::EmptyList { field: "scope" });
                }
                if o.scope.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(EntryError::NotSortedUnique { field: "scope" });
                }
                if o.sites.len() > MAX_SITES {
                    return Err(EntryError::TooManySites {
                        count: o.sites.len(),
                    });
                }
                for site in &o.sites {
                    // A `Site` built by hand (not parsed) must still be canonical.
                    match Site::parse_canonical(site.as_str()) {
                        Ok(parsed) if parsed == *site => {}
                        Ok(_) => {
                            return Err(EntryError::BadSite {
                                value: site.to_string(),
                                cause: crate::source::SourceError::NotCanonical {
                                    canonical: site.to_string(),
                                },
                            })
                        }
                        Err(cause) => {
                            return Err(EntryError::BadSite {
                                value: site.to_string(),
                                cause,
                            })
                        }
                    }
                }
                if o.sites.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(EntryError::NotSortedUnique { field: "sites" });
                }
                if let Some(p) = &o.passages {
                    if p.size == 0 {
                        return Err(EntryError::EmptyList { field: "passages" });
                    }
                    safe("passages.size", p.size)?;
                }
                match &o.ids {
                    None if o.sites.is_empty() && o.passages.is_none() => Err(EntryError::IdsOrSet),
                    None => Ok(()),
                    Some(OptOutIds::Inline(ids)) => {
                        if ids.is_empty() {
                            return Err(EntryError::EmptyList { field: "ids" });
                        }
                        if ids.len() > MAX_INLINE_IDS {
                            return Err(EntryError::TooManyIds { count: ids.len() });
                        }
                        if ids.windows(2).any(|w| w[0] >= w[1]) {
                            return Err(EntryError::NotSortedUnique { field: "ids" });
                        }
                        Ok(())
                    }
                    Some(OptOutIds::Set { size, .. }) => {
                        if *size == 0 {
                            return Err(EntryError::EmptyList { field: "set" });
                        }
                        safe("set.size", *size)
                    }
                }
            }
            EntryBody::ModelCheckpoint(c) => {
                safe("weights_count", c.weights_count)?;
                safe("optout_horizon", c.optout_horizon)?;
                if c.datasets.is_empty() {
                    return Err(EntryError::EmptyList { field: "datasets" });
                }
                for d in &c.datasets {
                    safe("datasets.index", d.index.0)?;
                }
                let mut keys: Vec<DatasetKey> = c.datasets.iter().map(DatasetRef::key).collect();
                keys.sort();
                if keys.windows(2).any(|w| w[0] == w[1]) {
                    return Err(EntryError::NotSortedUnique { field: "datasets" });
                }
                Ok(())
            }
        }
    }
}

fn set_ref_json(r: &SetRef) -> Value {
    json!({"root": r.root.to_hex(), "size": r.size})
}

/// An optional `{"root", "size"}` field (`sources`, `passages`): exactly those two keys.
fn read_set_ref(f: &mut Fields, field: &'static str) -> Result<Option<SetRef>, EntryError> {
    if !f.has(field) {
        return Ok(None);
    }
    let mut s = Fields::new(f.take(field)?, field)?;
    let r = SetRef {
        root: s.digest("root")?,
        size: s.u64("size")?,
    };
    s.finish()?;
    Ok(Some(r))
}
