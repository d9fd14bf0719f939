//! The service's dynamic read routes, answered from a static mirror (SPEC16 A; issue 16 item 1):
//! `prov check --model|--site|--passages` and `prov report` read a mirror through [`Routes`],
//! the same interface they read the service through, so every answer is checked by exactly the
//! code that checks the service's.
//!
//! A [`Mirror`] trusts nothing it reads. At open, the checkpoint is verified with the log's key
//! (or the witnessed `checkpoint.cosigned` this invocation is anchored to), every entry bundle
//! of that tree is read and the entries hashed to the signed root (so the index built from them,
//! "which entries are dataset versions, model checkpoints", is the log's and complete). An entry
//! is answered with an inclusion proof computed from the hash tiles; a stored tree
//! (`sets/<root>.leaves`, `passages/<root>.leaves`, `sources/<root>.leaves`) is downloaded whole,
//! its root and size recomputed and matched against the entry that commits it before any proof is
//! computed from it. A tree object the mirror lacks is an error (exit 3:
//! [`LogSource::missing_because`]), never an absence; one that does not hash to the root its entry
//! commits is "root mismatch" (exit 3).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use verifier::entry::{DatasetVersion, Entry, EntryBody, SetRef};
use verifier::range::{range_multi_proof, range_proof, Range, RangeLeaf, RangeSource, RangeTree};
use verifier::set::{membership_proof, SetLeaf, SetMembershipProof, SortedSet};
use verifier::source::Site;
use verifier::{ContentId, Digest, LeafIndex, TlogProof, VerifierKey};

use crate::client::{Client, PassageCount, PassagesAnswer, PassagesRef};
use crate::exit::{Exit, Failure, OrExit};
use crate::logread::{self, Tiles, VerifiedCheckpoint};
use crate::source::LogSource;

/// The read routes a reader asks for, from the service ([`Client`]) or a static mirror
/// ([`Mirror`]). Paths are the service's (`/v1/entries/3`); what comes back is checked by the
/// caller either way.
pub trait Routes {
    /// `GET path` as JSON; not found is an error.
    fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, Failure>;
    /// `GET path` as JSON, `None` when not found.
    fn get_json_opt<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, Failure>;
    /// `GET path` as text; not found is an error.
    fn get_text(&self, path: &str) -> Result<String, Failure>;
    /// Where a stored set's leaves (and metadata) are streamed from.
    fn leaves(&self) -> logread::Src<'_>;
    /// `POST /v1/datasets/{p}/{d}/{v}/passages`: `None` without a passage tree.
    fn passages(
        &self,
        dataset: &str,
        pids: &[ContentId],
        reveal: u64,
    ) -> Result<Option<PassagesAnswer>, Failure>;
}

impl Routes for Client {
    fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, Failure> {
        Client::get_json(self, path)
    }
    fn get_json_opt<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, Failure> {
        Client::get_json_opt(self, path)
    }
    fn get_text(&self, path: &str) -> Result<String, Failure> {
        Client::get_text(self, path)
    }
    fn leaves(&self) -> logread::Src<'_> {
        logread::Src::Client(self)
    }
    fn passages(
        &self,
        dataset: &str,
        pids: &[ContentId],
        reveal: u64,
    ) -> Result<Option<PassagesAnswer>, Failure> {
        Client::passages(self, dataset, pids, reveal)
    }
}

/// What a route answers.
enum Answer {
    Json(Value),
    Text(String),
}

/// A static mirror, opened and checked, answering the dynamic routes (see the module docs).
pub struct Mirror<'a> {
    source: &'a LogSource,
    cp: VerifiedCheckpoint,
    /// Every entry of the checkpoint's tree: its bytes, and the entry when it parses.
    entries: Vec<(Vec<u8>, Option<Entry>)>,
    tiles: RefCell<Tiles<'a>>,
    sets: RefCell<HashMap<Digest, Rc<MirrorSet>>>,
    ranges: RefCell<HashMap<(&'static str, Digest), Rc<RangeTree>>>,
}

/// A stored set read from the mirror, its root checked.
struct MirrorSet {
    set: SortedSet,
    /// Line i of `sets/<root>.meta` (`None` where the object is absent or the line is `null`).
    meta: Vec<Option<Value>>,
}

impl<'a> Mirror<'a> {
    /// Opens `source` for the log of `key`: the checkpoint this invocation is anchored to
    /// (`--min-witnesses`, [`crate::witnessed::anchor`]) or the mirror's latest, verified; every
    /// entry read and hashed to its root.
    pub fn open(source: &'a LogSource, key: &VerifierKey) -> Result<Mirror<'a>, Failure> {
        let cp = match crate::witnessed::anchor() {
            Some(c) => logread::verify_checkpoint(&c.note, key)?,
            None => logread::latest_checkpoint(source, key)?,
        };
        let size = cp.size();
        let width = u64::from(ledger::tile::TILE_WIDTH);
        let mut edge = verifier::tree::RightEdge::new();
        let mut out = Vec::new();
        let mut entries = Vec::new();
        for n in 0..size.0.div_ceil(width) {
            for bytes in logread::entry_bundle(source, size, n)? {
                edge.append(ledger::leaf_hash(&bytes), &mut out);
                let entry = Entry::from_bytes(&bytes).ok();
                entries.push((bytes, entry));
            }
        }
        if edge.root() != cp.checkpoint.root {
            return Err(Failure::msg(
                Exit::Server,
                format!(
                    "{}: the entry bundles hash to root {}, not to the signed checkpoint's {}",
                    source.describe(),
                    edge.root().to_base64(),
                    cp.checkpoint.root.to_base64()
                ),
            ));
        }
        Ok(Mirror {
            source,
            tiles: RefCell::new(Tiles::new(source, size)),
            cp,
            entries,
            sets: RefCell::new(HashMap::new()),
            ranges: RefCell::new(HashMap::new()),
        })
    }

    /// The dataset versions of the log, in the service's order (publisher, dataset, version).
    fn versions(&self) -> Vec<(u64, &DatasetVersion)> {
        let mut v: Vec<(u64, &DatasetVersion)> = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, (_, e))| match e.as_ref().map(Entry::body) {
                Some(EntryBody::DatasetVersion(d)) => Some((i as u64, d)),
                _ => None,
            })
            .collect();
        v.sort_by_key(|(_, d)| {
            (
                d.publisher.to_string(),
                d.dataset.to_string(),
                d.version.to_string(),
            )
        });
        v
    }

    /// The dataset version `p/d@v`: its index and body.
    fn version(&self, p: &str, d: &str, v: &str) -> Option<(u64, &DatasetVersion)> {
        let label = format!("{p}/{d}@{v}");
        self.versions()
            .into_iter()
            .find(|(_, dv)| dv.key().to_string() == label)
    }

    fn not_found(&self, what: String) -> Failure {
        Failure::msg(
            Exit::Refused,
            format!("{what} is not in the log at {}", self.source.describe()),
        )
    }

    /// The object `path`, which must be there: a mirror without it cannot decide the question.
    fn object(&self, path: &str, why: &str) -> Result<Vec<u8>, Failure> {
        match self.source.get(path)? {
            Some(b) => Ok(b),
            None => Err(self.source.missing_because(path, why)),
        }
    }

    /// `sets/<manifest_root>.leaves` (and `.meta`) of `dv`, its root and size checked.
    fn set(&self, index: u64, dv: &DatasetVersion) -> Result<Rc<MirrorSet>, Failure> {
        let root = dv.manifest_root;
        if let Some(s) = self.sets.borrow().get(&root) {
            return Ok(s.clone());
        }
        let label = dv.key().to_string();
        let path = format!("sets/{}.leaves", root.to_hex());
        let bytes = self.object(&path, &format!("the leaves of {label} (entry {index})"))?;
        if bytes.len() % 72 != 0 {
            return Err(tampered(self.source, &path, "not whole 72-byte leaves"));
        }
        let leaves: Vec<SetLeaf> = bytes
            .chunks_exact(72)
            .filter_map(|c| <&[u8; 72]>::try_from(c).ok().map(SetLeaf::from_bytes))
            .collect();
        let set = SortedSet::new(leaves).map_err(|e| {
            tampered(
                self.source,
                &path,
                &format!("the leaves are not a set: {e}"),
            )
        })?;
        if set.root() != root || set.size().0 != dv.item_count {
            return Err(tampered(
                self.source,
                &path,
                &format!(
                    "the leaves hash to root {} ({} leaves); {label} (entry {index}) commits {} ({} leaves)",
                    set.root(),
                    set.size(),
                    root,
                    dv.item_count
                ),
            ));
        }
        let mut meta = Vec::new();
        let meta_path = format!("sets/{}.meta", root.to_hex());
        if let Some(m) = self.source.get(&meta_path)? {
            // Each line is checked against its leaf's digest by the reader; here only parsed.
            for line in m.split(|b| *b == b'\n') {
                meta.push(
                    serde_json::from_slice::<Value>(line)
                        .ok()
                        .filter(|v| !v.is_null()),
                );
            }
        }
        let s = Rc::new(MirrorSet { set, meta });
        self.sets.borrow_mut().insert(root, s.clone());
        Ok(s)
    }

    /// A range tree (`passages/` or `sources/`) the version `label` commits as `want`.
    fn range_tree(
        &self,
        kind: &'static str,
        want: &SetRef,
        label: &str,
    ) -> Result<Rc<RangeTree>, Failure> {
        if let Some(t) = self.ranges.borrow().get(&(kind, want.root)) {
            return Ok(t.clone());
        }
        let path = format!("{kind}/{}.leaves", want.root.to_hex());
        let bytes = self.object(&path, &format!("the {kind} tree of {label}"))?;
        let leaves = if kind == "passages" {
            if bytes.len() % 64 != 0 {
                return Err(tampered(self.source, &path, "not whole 64-byte leaves"));
            }
            bytes
                .chunks_exact(64)
                .map(|c| RangeLeaf::new(c.to_vec()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| tampered(self.source, &path, &e.to_string()))?
        } else {
            let mut leaves = Vec::new();
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                let Some((len, tail)) = rest.split_first_chunk::<2>() else {
                    return Err(tampered(self.source, &path, "a cut length"));
                };
                let n = usize::from(u16::from_be_bytes(*len));
                if tail.len() < n {
                    return Err(tampered(self.source, &path, "a cut leaf"));
                }
                let leaf = RangeLeaf::new(tail[..n].to_vec())
                    .map_err(|e| tampered(self.source, &path, &e.to_string()))?;
                leaves.push(leaf);
                rest = &tail[n..];
            }
            leaves
        };
        let tree = RangeTree::new(leaves)
            .map_err(|e| tampered(self.source, &path, &format!("not a range tree: {e}")))?;
        if tree.root() != want.root || tree.size().0 != want.size {
            return Err(tampered(
                self.source,
                &path,
                &format!(
                    "the leaves hash to root {} ({} leaves); {label} commits {} ({} leaves)",
                    tree.root(),
                    tree.size(),
                    want.root,
                    want.size
                ),
            ));
        }
        let t = Rc::new(tree);
        self.ranges
            .borrow_mut()
            .insert((kind, want.root), t.clone());
        Ok(t)
    }

    /// Entry `index`'s inclusion proof in the tree of the checkpoint, from the hash tiles.
    fn tlog_proof(&self, index: u64, tree_size: Option<u64>) -> Result<TlogProof, Failure> {
        let size = self.cp.size().0;
        if tree_size.is_some_and(|t| t != size) {
            return Err(Failure::msg(
                Exit::Invalid,
                format!(
                    "a static mirror proves against its checkpoint (size {size}) only, not size {}",
                    tree_size.unwrap_or_default()
                ),
            ));
        }
        if index >= size {
            return Err(self.not_found(format!("entry {index}")));
        }
        let proof = self.tiles.borrow_mut().inclusion_proof(LeafIndex(index))?;
        Ok(TlogProof {
            extra: None,
            index: LeafIndex(index),
            proof,
            checkpoint: self.cp.note.clone(),
        })
    }

    /// The answer of `GET path` (query included); `Ok(None)`: not found (404).
    fn answer(&self, path: &str) -> Result<Option<Answer>, Failure> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let q = |name: &str| {
            query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == name)
                .map(|(_, v)| decode(v))
        };
        let segs: Vec<String> = path
            .trim_start_matches('/')
            .split('/')
            .map(decode)
            .collect();
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let num = |t: &str| -> Result<u64, Failure> {
            t.parse()
                .or_exit(Exit::Invalid, format!("{path}: {t:?} is not an index"))
        };
        match s.as_slice() {
            ["checkpoint"] => Ok(Some(Answer::Text(self.cp.note.clone()))),
            ["checkpoint.cosigned"] => Ok(self
                .source
                .get("checkpoint.cosigned")?
                .map(|b| Answer::Text(String::from_utf8_lossy(&b).into_owned()))),
            ["v1", "entries", i] => {
                let i = num(i)?;
                let Some((bytes, _)) = usize::try_from(i).ok().and_then(|i| self.entries.get(i))
                else {
                    return Ok(None);
                };
                let canonical = String::from_utf8(bytes.clone())
                    .or_exit(Exit::Server, format!("entry {i} is not UTF-8"))?;
                Ok(Some(Answer::Json(
                    json!({"index": i, "canonical": canonical}),
                )))
            }
            ["v1", "entries", i, "inclusion.tlog-proof"] => {
                let t = q("tree_size").map(|t| num(&t)).transpose()?;
                Ok(Some(Answer::Text(self.tlog_proof(num(i)?, t)?.to_text())))
            }
            ["v1", "models", p, m, "checkpoints"] => {
                let items: Vec<Value> = self
                    .entries
                    .iter()
                    .enumerate()
                    .filter_map(|(i, (_, e))| match e.as_ref().map(Entry::body) {
                        Some(EntryBody::ModelCheckpoint(c))
                            if c.publisher.to_string() == *p && c.model.to_string() == *m =>
                        {
                            Some(json!({"index": i, "publisher": p, "model": m,
                                "checkpoint": c.checkpoint.to_string()}))
                        }
                        _ => None,
                    })
                    .collect();
                Ok(Some(Answer::Json(json!({"items": items, "next": null}))))
            }
            ["v1", "datasets"] => {
                let items: Vec<Value> = self
                    .versions()
                    .into_iter()
                    .map(|(i, d)| json!({"index": i, "label": d.key().to_string()}))
                    .collect();
                Ok(Some(Answer::Json(json!({"items": items, "next": null}))))
            }
            ["v1", "datasets", p, d, v] => Ok(self.version(p, d, v).map(|(i, dv)| {
                Answer::Json(json!({
                    "label": dv.key().to_string(),
                    "index": i,
                    "manifest_root": dv.manifest_root.to_hex(),
                    "passages": dv.passages.map(|t| json!({"root": t.root.to_hex(), "size": t.size})),
                }))
            })),
            ["v1", "datasets", p, d, v, "proof", cid] => {
                let Some((i, dv)) = self.version(p, d, v) else {
                    return Ok(None);
                };
                let cid = parse_cid(cid)?;
                let set = self.set(i, dv)?;
                let proof = membership_proof(&set.set, &cid)
                    .or_exit(Exit::Server, format!("the set proof of {cid}"))?;
                let included = matches!(proof, SetMembershipProof::Included(_));
                let proof = serde_json::to_value(&proof).or_exit(Exit::Local, "the set proof")?;
                Ok(Some(Answer::Json(json!({
                    "dataset": {"index": i, "label": dv.key().to_string()},
                    "cid": cid.to_string(),
                    "included": included,
                    "proof": proof,
                }))))
            }
            ["v1", "datasets", p, d, v, "items", cid] => {
                let Some((i, dv)) = self.version(p, d, v) else {
                    return Ok(None);
                };
                let cid = parse_cid(cid)?;
                let set = self.set(i, dv)?;
                let Ok(at) = set.set.find(&cid) else {
                    return Ok(None);
                };
                let meta = set.meta.get(at).cloned().flatten();
                Ok(Some(Answer::Json(json!({
                    "dataset": dv.key().to_string(),
                    "entry_index": i,
                    "meta": meta,
                }))))
            }
            ["v1", "datasets", p, d, v, "sites", site] => {
                let Some((i, dv)) = self.version(p, d, v) else {
                    return Ok(None);
                };
                let reveal = q("reveal").map(|r| num(&r)).transpose()?.unwrap_or(100);
                Ok(self.site(i, dv, site, reveal)?.map(Answer::Json))
            }
            ["v1", "sites", site] => {
                let reveal = q("reveal").map(|r| num(&r)).transpose()?.unwrap_or(100);
                let mut items = Vec::new();
                if q("offset").is_none_or(|o| o == "0") && q("cursor").is_none() {
                    for (i, dv) in self.versions() {
                        if let Some(a) = self.site(i, dv, site, reveal)? {
                            items.push(a);
                        }
                    }
                }
                Ok(Some(Answer::Json(
                    json!({"site": site, "items": items, "next": null}),
                )))
            }
            _ => Err(Failure::msg(
                Exit::Invalid,
                format!(
                    "a static mirror cannot answer GET {path}: that needs the service's dynamic routes"
                ),
            )),
        }
    }

    /// The site's range proof in version `dv` (entry `index`); `None` without a source tree.
    fn site(
        &self,
        index: u64,
        dv: &DatasetVersion,
        site: &str,
        reveal: u64,
    ) -> Result<Option<Value>, Failure> {
        let Some(want) = &dv.sources else {
            return Ok(None);
        };
        let site = Site::parse(site).or_exit(Exit::Invalid, format!("site {site:?}"))?;
        let label = dv.key().to_string();
        let tree = self.range_tree("sources", want, &label)?;
        let range = Range::site(&site);
        let proof = range_proof(&*tree, &range, reveal).or_exit(
            Exit::Server,
            format!("the range proof of {site} in {label}"),
        )?;
        let count = count_in(&tree, &range)?;
        Ok(Some(json!({
            "dataset": label,
            "entry_index": index,
            "sources": {"root": want.root.to_hex(), "size": want.size},
            "site": site.to_string(),
            "count": count,
            "proof": serde_json::to_value(&proof).or_exit(Exit::Local, "the range proof")?,
        })))
    }
}

/// How many leaves of `tree` `range` holds.
fn count_in(tree: &RangeTree, range: &Range) -> Result<u64, Failure> {
    let s = tree
        .lower_bound(range.lo())
        .or_exit(Exit::Server, "range")?;
    let e = match range.hi() {
        Some(hi) => tree.lower_bound(hi).or_exit(Exit::Server, "range")?,
        None => tree.size().0,
    };
    Ok(e.saturating_sub(s))
}

/// A mirror object that does not hash to what the log commits (exit 3).
fn tampered(source: &LogSource, path: &str, why: &str) -> Failure {
    Failure::msg(
        Exit::Server,
        format!(
            "{}: {path} is not what the log commits (root mismatch): {why}",
            source.describe()
        ),
    )
}

fn parse_cid(s: &str) -> Result<ContentId, Failure> {
    s.parse()
        .or_exit(Exit::Invalid, format!("{s:?}: not a content id"))
}

/// Percent-decodes a path segment or query value.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Routes for Mirror<'_> {
    fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, Failure> {
        self.get_json_opt(path)?
            .ok_or_else(|| self.not_found(path.to_string()))
    }
    fn get_json_opt<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, Failure> {
        match self.answer(path)? {
            None => Ok(None),
            Some(Answer::Json(v)) => serde_json::from_value(v)
                .map(Some)
                .or_exit(Exit::Local, format!("{path}: the mirror's answer")),
            Some(Answer::Text(_)) => Err(Failure::msg(
                Exit::Invalid,
                format!("{path}: not a JSON route"),
            )),
        }
    }
    fn get_text(&self, path: &str) -> Result<String, Failure> {
        match self.answer(path)? {
            None => Err(self.source.missing_because(path, "asked for")),
            Some(Answer::Text(t)) => Ok(t),
            Some(Answer::Json(v)) => Ok(v.to_string()),
        }
    }
    fn leaves(&self) -> logread::Src<'_> {
        logread::Src::Source(self.source)
    }
    fn passages(
        &self,
        dataset: &str,
        pids: &[ContentId],
        reveal: u64,
    ) -> Result<Option<PassagesAnswer>, Failure> {
        let (p, d, v) = crate::cmd::attest::parse_dataset_label(dataset, "")?;
        let Some((i, dv)) = self.version(&p, &d, &v) else {
            return Ok(None);
        };
        let Some(want) = dv.passages else {
            return Ok(None);
        };
        let label = dv.key().to_string();
        let tree = self.range_tree("passages", &want, &label)?;
        let mut sorted = pids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let ranges: Vec<Range> = pids.iter().map(Range::passage).collect();
        let proof = range_multi_proof(&*tree, &ranges, reveal)
            .or_exit(Exit::Server, format!("the passage proof in {label}"))?;
        let mut results = Vec::new();
        for pid in &sorted {
            results.push(PassageCount {
                passage: pid.to_string(),
                count: count_in(&tree, &Range::passage(pid))?,
            });
        }
        Ok(Some(PassagesAnswer {
            dataset: label,
            entry_index: i,
            passages: PassagesRef {
                root: want.root.to_hex(),
                size: want.size,
            },
            results,
            proof,
        }))
    }
}
