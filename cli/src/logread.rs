//! Reading a ledger the way any C2SP tlog-tiles client does, with nothing but its verifier key:
//! the signed checkpoint, hash tiles (for roots and proofs, through the `tree` functions the log
//! itself uses), entry bundles, and the public leaves of stored sets. Read only.
//!
//! Nothing fetched here is trusted for being fetched: a checkpoint is verified with the key, and
//! what tiles and bundles say counts only once a root or proof computed from them matches a
//! verified checkpoint (the caller's job: `prov audit` compares its recomputed roots).

use std::collections::HashSet;

use ledger::set::SetLeaf;
use ledger::tile::{
    decode_entry_bundle, tiles_needed, EntryBundleId, TileHashReader, TileId, TILE_WIDTH,
};
use ledger::tree::{HashReader, TreeError};
use ledger::{Checkpoint, Digest, LeafIndex, TreeSize, VerifierKey};
use serde::Deserialize;

use crate::client::Client;
use crate::exit::{Exit, Failure, OrExit};
use crate::source::LogSource;

/// A checkpoint verified with the log's key, and its signed note verbatim.
#[derive(Clone, Debug)]
pub struct VerifiedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: String,
}

impl VerifiedCheckpoint {
    pub fn size(&self) -> TreeSize {
        self.checkpoint.size
    }
}

/// `GET /checkpoint` (or a mirror's `checkpoint`), verified with `key`. A checkpoint that does
/// not verify is a wrong key or a wrong server: bad input (exit 2), not a finding about the log.
pub fn latest_checkpoint(
    source: &LogSource,
    key: &VerifierKey,
) -> Result<VerifiedCheckpoint, Failure> {
    let note = source.get_text("checkpoint")?;
    verify_checkpoint(&note, key).map_err(|f| {
        Failure::new(
            Exit::Invalid,
            f.error.context(format!(
                "the checkpoint of {} does not verify with --vkey",
                source.describe()
            )),
        )
    })
}

/// A signed note verified as a checkpoint of the log of `key`.
pub fn verify_checkpoint(note: &str, key: &VerifierKey) -> Result<VerifiedCheckpoint, Failure> {
    let checkpoint = Checkpoint::verify(note, key).or_exit(Exit::Invalid, "checkpoint")?;
    Ok(VerifiedCheckpoint {
        checkpoint,
        note: note.to_string(),
    })
}

/// Hash tiles of one tree size, fetched as the computations run over them need them.
pub struct Tiles<'a> {
    source: &'a LogSource,
    size: TreeSize,
    reader: TileHashReader,
    fetched: HashSet<TileId>,
}

impl<'a> Tiles<'a> {
    /// The tiles of the tree of `size` leaves in `source`.
    pub fn new(source: &'a LogSource, size: TreeSize) -> Self {
        Tiles {
            source,
            size,
            reader: TileHashReader::new(),
            fetched: HashSet::new(),
        }
    }

    /// Runs `op` (a root or proof computation of `ledger::tree`) over the tiles, fetching first
    /// the ones it reads that are not here yet.
    pub fn run<T>(
        &mut self,
        op: impl Fn(&dyn HashReader) -> Result<T, TreeError>,
    ) -> Result<T, Failure> {
        let needed = tiles_needed(self.size, &op).or_exit(Exit::Invalid, "tiles needed")?;
        for t in needed {
            if self.fetched.contains(&t) {
                continue;
            }
            let mut data = self.source.get_tile(&t.path())?;
            // A mirror's wider copy of a partial tile: its first hashes.
            let want = usize::from(t.width) * 32;
            if self.source.is_static() && data.len() > want {
                data.truncate(want);
            }
            self.reader
                .insert(t, &data)
                .or_exit(Exit::Server, format!("the server's {}", t.path()))?;
            self.fetched.insert(t);
        }
        op(&self.reader).or_exit(Exit::Server, "computing from the server's tiles")
    }

    /// The RFC 6962 audit path of leaf `index` in this tree.
    pub fn inclusion_proof(&mut self, index: LeafIndex) -> Result<Vec<Digest>, Failure> {
        let size = self.size;
        self.run(|r| ledger::tree::inclusion_proof(size, index, r))
    }

    /// The consistency proof from the tree of `old` leaves to this tree.
    pub fn consistency_proof(&mut self, old: TreeSize) -> Result<Vec<Digest>, Failure> {
        let size = self.size;
        self.run(|r| ledger::tree::consistency_proof(old, size, r))
    }
}

/// The entries of bundle `n` of the tree of `size` leaves (`tile/entries/...`), exactly as many
/// as that tree holds in it.
pub fn entry_bundle(source: &LogSource, size: TreeSize, n: u64) -> Result<Vec<Vec<u8>>, Failure> {
    let width = u64::from(TILE_WIDTH);
    let in_bundle = size.0.saturating_sub(n.saturating_mul(width)).min(width);
    let w = u16::try_from(in_bundle).unwrap_or(TILE_WIDTH);
    let id = EntryBundleId::new(n, w).or_exit(Exit::Invalid, "entry bundle beyond the tree")?;
    let data = source.get_tile(&id.path())?;
    let mut entries =
        decode_entry_bundle(&data).or_exit(Exit::Server, format!("the server's {}", id.path()))?;
    // A mirror's wider copy of a partial bundle: its first entries.
    if source.is_static() && entries.len() > usize::from(w) {
        entries.truncate(usize::from(w));
    }
    if entries.len() != usize::from(w) {
        return Err(Failure::msg(
            Exit::Server,
            format!(
                "the server's {} has {} entries, want {w}",
                id.path(),
                entries.len()
            ),
        ));
    }
    Ok(entries.into_iter().map(<[u8]>::to_vec).collect())
}

/// `GET /v1/sets/{root}/leaves[?meta=true]`: one page.
#[derive(Debug, Deserialize)]
struct LeafPage<T> {
    items: Vec<T>,
    next: Option<u64>,
}

/// One item of `GET /v1/sets/{root}/leaves?meta=true`: the leaf (`cid`, `size`, its `meta`
/// digest) and its stored metadata (`metadata`; `None` when the server holds none). The one
/// client-side reader of that page, used by `prov audit` and `prov report` / `prov verify
/// training-summary`. Nothing here is trusted: check the metadata against the leaf's digest
/// (`verifier::set::meta::LeafMeta::verified`) and the leaves against the root.
#[derive(Debug, Deserialize)]
pub struct LeafWithMeta {
    #[serde(flatten)]
    pub leaf: SetLeaf,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

impl LeafWithMeta {
    /// The metadata the server serves for the leaf, `None` when it holds none.
    pub fn metadata(&self) -> Option<&serde_json::Value> {
        self.metadata.as_ref().filter(|m| !m.is_null())
    }
}

/// Leaves per page asked for (the server may give fewer: its `max_page`).
const LEAF_PAGE: u32 = 1000;

/// Where set leaves are read from: the service's pages, or a mirror's `sets/<root>.leaves`.
pub enum Src<'a> {
    Client(&'a Client),
    Source(&'a LogSource),
}

impl<'a> From<&'a Client> for Src<'a> {
    fn from(c: &'a Client) -> Self {
        Src::Client(c)
    }
}

impl<'a> From<&'a LogSource> for Src<'a> {
    fn from(s: &'a LogSource) -> Self {
        match s.service() {
            Some(c) => Src::Client(c),
            None => Src::Source(s),
        }
    }
}

/// Streams the stored leaves of set `root` into `sink`, page by page, in order; `Ok(false)` if
/// the server does not have the set (404), `Ok(true)` when every leaf was handed over or `sink`
/// asked to stop (by returning `Ok(false)`). Only one page is in memory at a time. From a
/// static mirror, `sets/<root>.leaves` is streamed instead.
pub fn set_leaves<'a>(
    src: impl Into<Src<'a>>,
    root: &Digest,
    mut sink: impl FnMut(&SetLeaf) -> Result<bool, Failure>,
) -> Result<bool, Failure> {
    match src.into() {
        Src::Client(client) => pages(client, root, "", sink),
        Src::Source(source) => mirror_leaves(source, root, None, |leaf, _| sink(&leaf)),
    }
}

/// Streams the stored leaves of set `root` with their metadata into `sink`, as [`set_leaves`]
/// does; `Ok(false)` if the server does not have the set. From a static mirror, the leaves and
/// `sets/<root>.meta` (one JSON value or `null` a line, absent when no leaf has metadata).
pub fn set_leaves_with_meta<'a>(
    src: impl Into<Src<'a>>,
    root: &Digest,
    mut sink: impl FnMut(&LeafWithMeta) -> Result<bool, Failure>,
) -> Result<bool, Failure> {
    match src.into() {
        Src::Client(client) => pages(client, root, "&meta=true", sink),
        Src::Source(source) => {
            let meta_path = format!("sets/{}.meta", root.to_hex());
            let meta = source.open(&meta_path)?.map(std::io::BufReader::new);
            mirror_leaves(source, root, meta, |leaf, metadata| {
                sink(&LeafWithMeta { leaf, metadata })
            })
        }
    }
}

/// A mirror's `sets/<root>.leaves` (72 bytes a leaf), with line i of `meta` beside leaf i.
fn mirror_leaves(
    source: &LogSource,
    root: &Digest,
    mut meta: Option<std::io::BufReader<Box<dyn std::io::Read + Send>>>,
    mut sink: impl FnMut(SetLeaf, Option<serde_json::Value>) -> Result<bool, Failure>,
) -> Result<bool, Failure> {
    use std::io::BufRead;
    let path = format!("sets/{}.leaves", root.to_hex());
    let Some(r) = source.open(&path)? else {
        return Ok(false);
    };
    let mut r = std::io::BufReader::with_capacity(1 << 20, r);
    let mut buf = [0u8; 72];
    let mut line = String::new();
    let mut i = 0u64;
    loop {
        let (n, err) = hasher::text::fill(&mut r, &mut buf);
        if let Some(e) = err {
            return Err(Failure::new(
                Exit::Server,
                anyhow::Error::new(e).context(format!("reading {path}")),
            ));
        }
        if n == 0 {
            return Ok(true);
        }
        if n < buf.len() {
            return Err(Failure::msg(
                Exit::Server,
                format!("{path}: {n} bytes after leaf {i}, not a whole 72-byte leaf"),
            ));
        }
        let metadata = match meta.as_mut() {
            None => None,
            Some(m) => {
                line.clear();
                m.read_line(&mut line)
                    .or_exit(Exit::Server, format!("reading sets/{}.meta", root.to_hex()))?;
                serde_json::from_str::<serde_json::Value>(&line)
                    .ok()
                    .filter(|v| !v.is_null())
            }
        };
        if !sink(SetLeaf::from_bytes(&buf), metadata)? {
            return Ok(true);
        }
        i += 1;
    }
}

/// The pager under [`set_leaves`] and [`set_leaves_with_meta`]: pages must follow on.
fn pages<T: serde::de::DeserializeOwned>(
    client: &Client,
    root: &Digest,
    query: &str,
    mut sink: impl FnMut(&T) -> Result<bool, Failure>,
) -> Result<bool, Failure> {
    let mut offset = 0u64;
    loop {
        let path = format!(
            "/v1/sets/{}/leaves?offset={offset}&limit={LEAF_PAGE}{query}",
            root.to_hex()
        );
        let Some(page) = client.get_json_opt::<LeafPage<T>>(&path)? else {
            if offset == 0 {
                return Ok(false);
            }
            return Err(Failure::msg(
                Exit::Server,
                format!("GET {path}: the set vanished while it was being read (404)"),
            ));
        };
        for item in &page.items {
            if !sink(item)? {
                return Ok(true);
            }
        }
        let end = offset.saturating_add(page.items.len() as u64);
        match page.next {
            None => return Ok(true),
            Some(next) if next == end && !page.items.is_empty() => offset = next,
            Some(next) => {
                return Err(Failure::msg(
                    Exit::Server,
                    format!(
                        "GET {path}: {} leaves and next page at {next}: the pages do not follow on",
                        page.items.len()
                    ),
                ))
            }
        }
    }
}

/// Recomputes the whole tree of `cp` from `source`, as an independent reader of a mirror does:
/// the leaf hashes of every entry in the entry bundles, appended in order; every stored hash
/// that gives (each level, each tile) compared with the hash tiles'; and the root with the
/// signed one. A tile or bundle that differs by one bit fails here (exit 3).
pub fn check_tree(source: &LogSource, cp: &VerifiedCheckpoint) -> Result<(), Failure> {
    let size = cp.size();
    let width = u64::from(TILE_WIDTH);
    let mut edge = verifier::tree::RightEdge::new();
    let mut tiles = Tiles::new(source, size);
    let mut stored = 0u64;
    let mut out = Vec::new();
    for n in 0..size.0.div_ceil(width) {
        out.clear();
        for e in entry_bundle(source, size, n)? {
            edge.append(ledger::leaf_hash(&e), &mut out);
        }
        let indexes: Vec<u64> = (stored..stored + out.len() as u64).collect();
        let got = tiles.run(|r| r.read_hashes(&indexes))?;
        if let Some(i) = (0..out.len()).find(|&i| got.get(i) != Some(&out[i])) {
            let (level, k) = ledger::tree::split_stored_hash_index(stored + i as u64);
            return Err(Failure::msg(
                Exit::Server,
                format!(
                    "{}: the hash tiles disagree with the entry bundles at level {level}, \
                     hash {k} (entry bundle {n})",
                    source.describe()
                ),
            ));
        }
        stored += out.len() as u64;
    }
    if edge.root() != cp.checkpoint.root {
        return Err(Failure::msg(
            Exit::Server,
            format!(
                "{}: the entries hash to root {}, not to the signed checkpoint's {}",
                source.describe(),
                edge.root().to_base64(),
                cp.checkpoint.root.to_base64()
            ),
        ));
    }
    Ok(())
}

/// The index of the entry with exactly these bytes in the tree of `size`, read from the entry
/// bundles (a static mirror has no index but the log itself).
pub fn find_entry(
    source: &LogSource,
    size: TreeSize,
    entry: &[u8],
) -> Result<Option<LeafIndex>, Failure> {
    let width = u64::from(TILE_WIDTH);
    for n in 0..size.0.div_ceil(width) {
        let entries = entry_bundle(source, size, n)?;
        if let Some(i) = entries.iter().position(|e| e == entry) {
            return Ok(Some(LeafIndex(n * width + i as u64)));
        }
    }
    Ok(None)
}
