//! The manifest file: a set's sorted leaves with each leaf's metadata, as JSON Lines
//! (docs/format-manifest.md has the byte-level description and a worked example).
//!
//! ```text
//! {"format":"prov-manifest/v1","mode":"file","meta":"full",...,"root":"<64 hex>"}   <- padded
//! {"leaf":"<144 hex: cid || size BE || meta>","meta":{"sources":[...]}}
//! ...
//! ```
//!
//! Why this shape: it streams both ways (one leaf per line, O(1) memory to write or to read and
//! verify), a person can read it, and any JSON library can parse it. The header comes first so a
//! reader learns the root before the leaves; the writer reserves the header's widest possible
//! length with spaces and fills it in at the end, so writing needs one pass and a seekable file.
//! Two runs over the same corpus write the same bytes, whatever the backend or thread count.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use ledger::set::SetLeaf;
use ledger::{Blake3Set, ContentId, Digest, StreamingRoot};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::meta::{canonical, meta_digest};
use crate::shard::Shard;
use crate::sources::{SourceTree, SourceTreeBuilder};

/// The value of the header's `format` key.
pub const FORMAT: &str = "prov-manifest/v1";

/// Why a manifest could not be written or did not verify. Every reading error means "do not
/// trust this manifest".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    #[error("manifest i/o: {0}")]
    Io(#[from] io::Error),
    #[error("manifest header: {0}")]
    Header(String),
    #[error("manifest line {line}: {reason}")]
    Line { line: u64, reason: String },
    #[error("manifest line {line}: content ids are not strictly increasing")]
    NotSorted { line: u64 },
    #[error("manifest {what}: header says {header}, leaves give {found}")]
    CountMismatch {
        what: &'static str,
        header: u64,
        found: u64,
    },
    #[error("manifest root: header says {header}, leaves give {computed}")]
    RootMismatch { header: Digest, computed: Digest },
    /// The source tree derived from the leaves' metadata is not the one the header names.
    #[error(
        "manifest source tree: header says {header_root} ({header_size} leaves), the metadata gives {computed_root} ({computed_size} leaves)"
    )]
    SourcesMismatch {
        header_root: Digest,
        header_size: u64,
        computed_root: Digest,
        computed_size: u64,
    },
    /// The manifest of one shard of a sharded run, given where a whole set is expected.
    #[error("this is shard {shard} of a sharded run, not a whole set: merge the shards with `prov manifest merge`")]
    IsShard { shard: String },
    /// A `shard` that is not `K/N` with 1 <= K <= N <= 65536, or one without `shard_options`.
    #[error("manifest header: bad shard {shard:?} (expected K/N with 1 <= K <= N <= 65536, and shard_options)")]
    BadShard { shard: String },
    /// Sorting the source leaves (temporary files) failed.
    #[error("manifest source tree: {0}")]
    Sources(#[source] Box<crate::error::HashError>),
}

/// The first line. Counts and root are filled in when the last leaf has been written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestHeader {
    /// Always [`FORMAT`].
    pub format: String,
    /// `K/N` in the manifest of one shard of a sharded run (`prov hash --shard K/N`), which is
    /// not a whole set: [`ManifestReader::new`] refuses it (so does every reader from before
    /// sharding, whose header has no such key), and `prov manifest merge` reads it with
    /// [`ManifestReader::new_shard`]. Absent in every other manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// With `shard`: a digest of the run's options that decide its items but are not in the
    /// header (`--exclude`, `--follow-symlinks`, `--skip-invalid`, `--meta-set`, which mapped
    /// fields are a preset's, `--passages`), so a merge refuses shards run differently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_options: Option<Digest>,
    /// Corpus mode: `file`, `jsonl`, `lines` or `parquet`.
    pub mode: String,
    /// The JSON field or Parquet column that holds each item (record modes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// `full` (leaves commit to metadata) or `none` (32 zero bytes).
    pub meta: String,
    /// `--meta-field` mappings: key in the metadata entry -> field or column of the record.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta_fields: BTreeMap<String, String>,
    /// Items hashed, duplicates included.
    pub items: u64,
    /// Bytes of all items hashed, duplicates included.
    pub bytes: u64,
    /// Leaves in the set (distinct content ids).
    pub leaves: u64,
    /// Sum of the leaves' sizes.
    pub leaf_bytes: u64,
    /// Items merged into an earlier leaf with the same content id (`items - leaves`).
    pub duplicates: u64,
    /// Invalid items skipped with `--skip-invalid`.
    pub skipped: u64,
    /// The set's root: RFC 6962 shape, BLAKE3 (DESIGN.md, "Two trees").
    pub root: Digest,
    /// The root of the source tree derived from the leaves' metadata (`meta: full` only;
    /// absent in manifests written before source trees existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources_root: Option<Digest>,
    /// The number of leaves of that source tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources_size: Option<u64>,
    /// The root of the passage tree of the items' texts (docs/formats.md, "Passage trees"):
    /// declared by the hasher, which alone has the texts; its leaves are in the file beside
    /// the manifest (`<manifest>.passages`). Absent without passages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passages_root: Option<Digest>,
    /// The number of leaves of that passage tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passages_size: Option<u64>,
}

impl ManifestHeader {
    /// A header for a corpus of `mode`, counts and root still to come.
    pub fn new(mode: &str, field: Option<&str>, meta: &str) -> Self {
        ManifestHeader {
            format: FORMAT.into(),
            shard: None,
            shard_options: None,
            mode: mode.into(),
            field: field.map(str::to_string),
            meta: meta.into(),
            meta_fields: BTreeMap::new(),
            items: 0,
            bytes: 0,
            leaves: 0,
            leaf_bytes: 0,
            duplicates: 0,
            skipped: 0,
            root: Digest::default(),
            sources_root: None,
            sources_size: None,
            passages_root: None,
            passages_size: None,
        }
    }

    /// The source tree the header names, `(root, size)`.
    pub fn sources(&self) -> Option<(Digest, u64)> {
        self.sources_root.zip(self.sources_size)
    }

    /// The passage tree the header names, `(root, size)`.
    pub fn passages(&self) -> Option<(Digest, u64)> {
        self.passages_root.zip(self.passages_size)
    }

    /// The shard of a sharded run this manifest holds, if it is one.
    pub fn shard(&self) -> Result<Option<Shard>, ManifestError> {
        self.shard
            .as_deref()
            .map(|s| {
                s.parse::<Shard>()
                    .map_err(|_| ManifestError::BadShard { shard: s.into() })
            })
            .transpose()
    }

    fn has_meta(&self) -> bool {
        self.meta == "full"
    }
}

/// What the writer cannot know from the leaves alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ItemCounts {
    pub items: u64,
    pub bytes: u64,
    pub skipped: u64,
}

/// One leaf as read back, with its metadata (`None` in a `--meta none` manifest).
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestEntry {
    pub leaf: SetLeaf,
    pub meta: Option<Value>,
}

/// A leaf's metadata in canonical form (`None` without metadata).
pub type CanonicalMeta = Option<Vec<u8>>;

/// Writes a manifest leaf by leaf, refusing leaves out of order and metadata that does not match
/// its digest, and computing the root as it goes.
pub struct ManifestWriter<W: Write + Seek> {
    w: BufWriter<W>,
    header: ManifestHeader,
    reserved: usize,
    root: Rooting,
    last: Option<ContentId>,
    leaf_bytes: u64,
    sources_set: bool,
    passages_set: bool,
}

/// How a [`ManifestWriter`] learns its set's root.
enum Rooting {
    /// Built here, leaf by leaf, on the writing thread.
    Streamed(StreamingRoot<Blake3Set>),
    /// Built by the caller from the very leaves [`ManifestWriter::push_item`] returned (on
    /// every core or a device: `crate::settree::SetRootBuilder`) and given to
    /// [`ManifestWriter::set_root`] before [`ManifestWriter::finish`], which checks the count.
    Caller {
        leaves: u64,
        root: Option<(Digest, u64)>,
    },
}

impl Rooting {
    fn size(&self) -> u64 {
        match self {
            Rooting::Streamed(r) => r.size().0,
            Rooting::Caller { leaves, .. } => *leaves,
        }
    }

    fn push(&mut self, leaf: &SetLeaf) {
        match self {
            Rooting::Streamed(r) => r.push(leaf.leaf_hash()),
            Rooting::Caller { leaves, .. } => *leaves += 1,
        }
    }
}

impl<W: Write + Seek> ManifestWriter<W> {
    /// Starts a manifest at the current position of `inner` (normally a new file).
    pub fn new(inner: W, header: ManifestHeader) -> Result<Self, ManifestError> {
        if header.sources_root.is_some() != header.sources_size.is_some()
            || (header.sources_root.is_some() && !header.has_meta())
        {
            return Err(ManifestError::Header(
                "sources_root and sources_size come together, and only with meta full".into(),
            ));
        }
        if header.passages_root.is_some() != header.passages_size.is_some() {
            return Err(ManifestError::Header(
                "passages_root and passages_size come together".into(),
            ));
        }
        let mut widest = header.clone();
        (widest.items, widest.bytes, widest.leaves) = (u64::MAX, u64::MAX, u64::MAX);
        (widest.leaf_bytes, widest.duplicates, widest.skipped) = (u64::MAX, u64::MAX, u64::MAX);
        if widest.sources_size.is_some() {
            // Room for the source tree, which is known only at the end.
            widest.sources_size = Some(u64::MAX);
        }
        if widest.passages_size.is_some() {
            widest.passages_size = Some(u64::MAX);
        }
        let reserved = header_json(&widest)?.len();
        let mut w = BufWriter::with_capacity(1 << 20, inner);
        w.write_all(&vec![b' '; reserved])?;
        w.write_all(b"\n")?;
        Ok(ManifestWriter {
            w,
            header,
            reserved,
            root: Rooting::Streamed(StreamingRoot::new()),
            last: None,
            leaf_bytes: 0,
            sources_set: false,
            passages_set: false,
        })
    }

    /// Appends the next leaf. `meta_json` is its canonical metadata (required when the header
    /// says `full`, refused when it says `none`).
    pub fn push(&mut self, leaf: &SetLeaf, meta_json: Option<&[u8]>) -> Result<(), ManifestError> {
        let line = self.root.size() + 2;
        if self.last.is_some_and(|l| l >= leaf.cid) {
            return Err(ManifestError::NotSorted { line });
        }
        if meta_json.is_some() != self.header.has_meta() || meta_digest(meta_json) != leaf.meta {
            return Err(ManifestError::Line {
                line,
                reason: "metadata does not match the leaf's meta digest".into(),
            });
        }
        self.write_leaf(leaf, meta_json)
    }

    /// Appends the leaf of an item `cid` of `size` bytes with the canonical metadata
    /// `meta_json`, computing its meta digest here (so it matches by construction, hashed once),
    /// and returns the leaf.
    pub fn push_item(
        &mut self,
        cid: ContentId,
        size: u64,
        meta_json: Option<&[u8]>,
    ) -> Result<SetLeaf, ManifestError> {
        let line = self.root.size() + 2;
        if self.last.is_some_and(|l| l >= cid) {
            return Err(ManifestError::NotSorted { line });
        }
        if meta_json.is_some() != self.header.has_meta() {
            return Err(ManifestError::Line {
                line,
                reason: format!("metadata does not fit meta {:?}", self.header.meta),
            });
        }
        let leaf = SetLeaf {
            cid,
            size,
            meta: meta_digest(meta_json),
        };
        self.write_leaf(&leaf, meta_json)?;
        Ok(leaf)
    }

    fn write_leaf(
        &mut self,
        leaf: &SetLeaf,
        meta_json: Option<&[u8]>,
    ) -> Result<(), ManifestError> {
        self.w.write_all(br#"{"leaf":""#)?;
        let mut hexbuf = [0u8; 144];
        hex::encode_to_slice(leaf.to_bytes(), &mut hexbuf)
            .map_err(|e| ManifestError::Header(e.to_string()))?;
        self.w.write_all(&hexbuf)?;
        if let Some(m) = meta_json {
            self.w.write_all(br#"","meta":"#)?;
            self.w.write_all(m)?;
            self.w.write_all(b"}\n")?;
        } else {
            self.w.write_all(b"\"}\n")?;
        }
        self.root.push(leaf);
        self.last = Some(leaf.cid);
        // Sizes come from the caller; a total past 2^64 bytes is no real corpus.
        self.leaf_bytes = self.leaf_bytes.checked_add(leaf.size).ok_or_else(|| {
            ManifestError::Header("leaf sizes add up to more than 2^64 bytes".into())
        })?;
        Ok(())
    }

    /// The root of the leaves written so far, where this writer builds it; where the caller
    /// does ([`ManifestWriter::rooted_by_caller`]), the root it gave, if it did.
    pub fn root(&self) -> Option<Digest> {
        match &self.root {
            Rooting::Streamed(r) => Some(r.root()),
            Rooting::Caller { root, .. } => root.map(|(r, _)| r),
        }
    }

    /// This writer leaves the root to its caller, which builds it from the leaves
    /// [`ManifestWriter::push_item`] returns (in parallel, or on a device) and gives it to
    /// [`ManifestWriter::set_root`]; the writer then only counts the leaves.
    pub fn rooted_by_caller(mut self) -> Self {
        self.root = Rooting::Caller {
            leaves: self.root.size(),
            root: None,
        };
        self
    }

    /// The root of the `size` leaves written, built by the caller (see
    /// [`ManifestWriter::rooted_by_caller`]). [`ManifestWriter::finish`] refuses a size that is
    /// not the number of leaves written.
    pub fn set_root(&mut self, root: Digest, size: u64) -> Result<(), ManifestError> {
        match &mut self.root {
            Rooting::Caller { root: r, .. } => {
                *r = Some((root, size));
                Ok(())
            }
            Rooting::Streamed(_) => Err(ManifestError::Header(
                "this writer builds its own root: set_root is for rooted_by_caller".into(),
            )),
        }
    }

    /// Names the source tree derived from the leaves' metadata in the header, written by
    /// [`ManifestWriter::finish`]. Room for it is reserved only when the header given to
    /// [`ManifestWriter::new`] had `sources_root` and `sources_size` (placeholders; `meta:
    /// full` only), and then this must be called before `finish`.
    pub fn set_sources(&mut self, root: Digest, size: u64) -> Result<(), ManifestError> {
        if self.header.sources().is_none() {
            return Err(ManifestError::Header(
                "no room reserved for a source tree (meta none, or a header without one)".into(),
            ));
        }
        (self.header.sources_root, self.header.sources_size) = (Some(root), Some(size));
        self.sources_set = true;
        Ok(())
    }

    /// Names the passage tree in the header, written by [`ManifestWriter::finish`]; as with
    /// [`ManifestWriter::set_sources`], room must have been reserved by placeholders.
    pub fn set_passages(&mut self, root: Digest, size: u64) -> Result<(), ManifestError> {
        if self.header.passages().is_none() {
            return Err(ManifestError::Header(
                "no room reserved for a passage tree".into(),
            ));
        }
        (self.header.passages_root, self.header.passages_size) = (Some(root), Some(size));
        self.passages_set = true;
        Ok(())
    }

    /// Fills in the header and flushes. Returns the completed header and the inner writer.
    pub fn finish(self, counts: ItemCounts) -> Result<(ManifestHeader, W), ManifestError> {
        if self.header.sources().is_some() && !self.sources_set {
            return Err(ManifestError::Header(
                "room was reserved for a source tree that was never set".into(),
            ));
        }
        if self.header.passages().is_some() && !self.passages_set {
            return Err(ManifestError::Header(
                "room was reserved for a passage tree that was never set".into(),
            ));
        }
        let mut h = self.header;
        h.leaves = self.root.size();
        h.leaf_bytes = self.leaf_bytes;
        h.items = counts.items;
        h.bytes = counts.bytes;
        h.skipped = counts.skipped;
        h.duplicates = counts.items.checked_sub(h.leaves).ok_or_else(|| {
            ManifestError::Header(format!("{} items but {} leaves", counts.items, h.leaves))
        })?;
        h.root = match &self.root {
            Rooting::Streamed(r) => r.root(),
            Rooting::Caller {
                leaves,
                root: Some((root, size)),
            } if size == leaves => *root,
            Rooting::Caller { leaves, root } => {
                return Err(ManifestError::Header(format!(
                    "the caller's root covers {:?} leaves, {leaves} were written",
                    root.map(|(_, n)| n)
                )))
            }
        };
        let mut json = header_json(&h)?;
        json.resize(self.reserved, b' ');
        let mut inner = self.w.into_inner().map_err(|e| e.into_error())?;
        inner.seek(SeekFrom::Start(0))?;
        inner.write_all(&json)?;
        inner.flush()?;
        Ok((h, inner))
    }
}

fn header_json(h: &ManifestHeader) -> Result<Vec<u8>, ManifestError> {
    serde_json::to_vec(h).map_err(|e| ManifestError::Header(e.to_string()))
}

/// Reads a manifest back, yielding its leaves in order and checking as it goes that they are
/// strictly increasing and that each metadata object hashes to its leaf's `meta`. At the end it
/// checks the counts and the root against the header: the last item of the iteration is an error
/// if they differ, so a caller that reads to the end has read a verified manifest.
///
/// When the header names a source tree (`sources_root`, `sources_size`), the reader rebuilds it
/// from the metadata while streaming (an external sort, bounded memory) and the end check also
/// refuses a source tree that differs; [`ManifestReader::derive_sources`] asks for it on a
/// manifest whose header does not name one.
pub struct ManifestReader<R: BufRead> {
    r: R,
    header: ManifestHeader,
    line: u64,
    root: StreamingRoot<Blake3Set>,
    last: Option<ContentId>,
    leaf_bytes: u64,
    done: bool,
    buf: Vec<u8>,
    sources: Option<SourceTreeBuilder>,
    derived: Option<SourceTree>,
    /// The canonical metadata of the leaf just read, for [`ManifestReader::next_canonical`].
    canonical: Option<Vec<u8>>,
}

/// Memory for sorting source leaves while reading a manifest, before runs spill to disk.
const SOURCES_BUDGET: usize = 128 << 20;

/// One leaf line as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeafLine {
    leaf: String,
    #[serde(default)]
    meta: Option<Value>,
}

impl ManifestReader<BufReader<File>> {
    pub fn open(path: &Path) -> Result<Self, ManifestError> {
        ManifestReader::new(BufReader::with_capacity(1 << 20, File::open(path)?))
    }
}

impl ManifestReader<BufReader<File>> {
    /// [`ManifestReader::new_shard`] on the file at `path`, with a read buffer of `buffer`
    /// bytes (a merge holds many readers open at once).
    pub fn open_shard(path: &Path, buffer: usize) -> Result<Self, ManifestError> {
        ManifestReader::new_shard(BufReader::with_capacity(buffer, File::open(path)?))
    }
}

impl<R: BufRead> ManifestReader<R> {
    /// Reads and checks the header line. The manifest of one shard of a sharded run is refused
    /// ([`ManifestError::IsShard`]): it is not a whole set.
    pub fn new(r: R) -> Result<Self, ManifestError> {
        let m = Self::new_shard(r)?;
        match m.header.shard.clone() {
            Some(shard) => Err(ManifestError::IsShard { shard }),
            None => Ok(m),
        }
    }

    /// [`ManifestReader::new`], also reading the manifest of a shard (for `prov manifest
    /// merge`), whose `shard` must be a valid `K/N` with `shard_options`.
    pub fn new_shard(mut r: R) -> Result<Self, ManifestError> {
        let mut buf = Vec::new();
        r.read_until(b'\n', &mut buf)?;
        let header: ManifestHeader =
            serde_json::from_slice(&buf).map_err(|e| ManifestError::Header(e.to_string()))?;
        if header.format != FORMAT {
            return Err(ManifestError::Header(format!(
                "unknown format {:?} (expected {FORMAT})",
                header.format
            )));
        }
        if !["full", "none"].contains(&header.meta.as_str()) {
            return Err(ManifestError::Header(format!(
                "unknown meta {:?}",
                header.meta
            )));
        }
        if header.sources_root.is_some() != header.sources_size.is_some() {
            return Err(ManifestError::Header(
                "sources_root and sources_size come together".into(),
            ));
        }
        if header.passages_root.is_some() != header.passages_size.is_some() {
            return Err(ManifestError::Header(
                "passages_root and passages_size come together".into(),
            ));
        }
        if header.sources_root.is_some() && !header.has_meta() {
            return Err(ManifestError::Header(
                "a manifest without metadata has no source tree".into(),
            ));
        }
        if header.shard()?.is_some() != header.shard_options.is_some() {
            return Err(ManifestError::BadShard {
                shard: header.shard.clone().unwrap_or_default(),
            });
        }
        let sources = header
            .sources_root
            .map(|_| SourceTreeBuilder::new(SOURCES_BUDGET, None));
        Ok(ManifestReader {
            r,
            header,
            line: 1,
            root: StreamingRoot::new(),
            last: None,
            leaf_bytes: 0,
            done: false,
            buf,
            sources,
            derived: None,
            canonical: None,
        })
    }

    pub fn header(&self) -> &ManifestHeader {
        &self.header
    }

    /// Also rebuilds the source tree of a manifest with metadata whose header does not name one
    /// (written before source trees existed), for [`ManifestReader::verify_sources_to_end`].
    /// Call before reading any leaf.
    pub fn derive_sources(mut self) -> Self {
        if self.header.has_meta() && self.sources.is_none() && self.line == 1 {
            self.sources = Some(SourceTreeBuilder::new(SOURCES_BUDGET, None));
        }
        self
    }

    /// Does not rebuild the source tree the header names, so the end check leaves it unchecked:
    /// for a merge, which holds many readers at once (each rebuild sorts in memory of its
    /// own) and derives the merged set's source tree from the verified metadata instead.
    /// Call before reading any leaf.
    pub fn skip_sources(mut self) -> Self {
        if self.line == 1 {
            self.sources = None;
        }
        self
    }

    /// The next leaf, as [`Iterator::next`], with its metadata in canonical form (the bytes its
    /// `meta` digest is of; `None` without metadata), which the reader computed to verify it.
    pub fn next_canonical(
        &mut self,
    ) -> Option<Result<(ManifestEntry, CanonicalMeta), ManifestError>> {
        let e = self.next()?;
        Some(e.map(|e| (e, self.canonical.take())))
    }

    /// Reads every remaining leaf and returns the header once everything verified.
    pub fn verify_to_end(self) -> Result<ManifestHeader, ManifestError> {
        Ok(self.verify_sources_to_end()?.0)
    }

    /// [`ManifestReader::verify_to_end`], also returning the source tree rebuilt from the
    /// metadata (`None` without metadata, or when neither the header named one nor
    /// [`ManifestReader::derive_sources`] asked for it).
    pub fn verify_sources_to_end(
        mut self,
    ) -> Result<(ManifestHeader, Option<SourceTree>), ManifestError> {
        for e in self.by_ref() {
            e?;
        }
        Ok((self.header, self.derived))
    }

    fn read_entry(&mut self) -> Result<Option<ManifestEntry>, ManifestError> {
        self.buf.clear();
        if self.r.read_until(b'\n', &mut self.buf)? == 0 {
            self.check_end()?;
            return Ok(None);
        }
        self.line += 1;
        let line = self.line;
        let bad = |reason: String| ManifestError::Line { line, reason };
        let l: LeafLine = serde_json::from_slice(&self.buf).map_err(|e| bad(e.to_string()))?;
        let mut bytes = [0u8; SetLeaf::LEN];
        hex::decode_to_slice(&l.leaf, &mut bytes)
            .map_err(|e| bad(format!("leaf is not 144 hex digits: {e}")))?;
        if l.leaf.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad("leaf hex must be lowercase".into()));
        }
        let leaf = SetLeaf::from_bytes(&bytes);
        if self.last.is_some_and(|x| x >= leaf.cid) {
            return Err(ManifestError::NotSorted { line });
        }
        match (&l.meta, self.header.has_meta()) {
            (Some(m), true) => {
                let c = canonical(m).map_err(|e| bad(e.to_string()))?;
                if !m.is_object() || meta_digest(Some(&c)) != leaf.meta {
                    return Err(bad("metadata does not hash to the leaf's meta".into()));
                }
                if let Some(t) = self.sources.as_mut() {
                    t.push_meta(m, &leaf.cid)
                        .map_err(|e| ManifestError::Sources(Box::new(e)))?;
                }
                self.canonical = Some(c);
            }
            (None, false) if leaf.meta == Digest::default() => self.canonical = None,
            _ => {
                return Err(bad(format!(
                    "metadata does not fit meta {:?}",
                    self.header.meta
                )))
            }
        }
        // Found by fuzzing: sizes are outside input, and their sum must not wrap (or panic).
        self.leaf_bytes = self
            .leaf_bytes
            .checked_add(leaf.size)
            .ok_or_else(|| bad("leaf sizes add up to more than 2^64 bytes".into()))?;
        self.root.push(leaf.leaf_hash());
        self.last = Some(leaf.cid);
        Ok(Some(ManifestEntry { leaf, meta: l.meta }))
    }

    fn check_end(&mut self) -> Result<(), ManifestError> {
        let h = &self.header;
        let leaves = self.root.size().0;
        // Found by fuzzing: a saturating sum let `items = duplicates = 2^64 - 1` pass.
        let items = leaves.checked_add(h.duplicates).ok_or_else(|| {
            ManifestError::Header(format!(
                "{} duplicates and {leaves} leaves overflow the item count",
                h.duplicates
            ))
        })?;
        for (what, header, found) in [
            ("leaves", h.leaves, leaves),
            ("leaf_bytes", h.leaf_bytes, self.leaf_bytes),
            ("items", h.items, items),
        ] {
            if header != found {
                return Err(ManifestError::CountMismatch {
                    what,
                    header,
                    found,
                });
            }
        }
        let computed = self.root.root();
        if computed != h.root {
            return Err(ManifestError::RootMismatch {
                header: h.root,
                computed,
            });
        }
        if let Some(t) = self.sources.take() {
            let got = t
                .finish()
                .map_err(|e| ManifestError::Sources(Box::new(e)))?;
            if let Some((header_root, header_size)) = h.sources() {
                if (header_root, header_size) != (got.root, got.size) {
                    return Err(ManifestError::SourcesMismatch {
                        header_root,
                        header_size,
                        computed_root: got.root,
                        computed_size: got.size,
                    });
                }
            }
            self.derived = Some(got);
        }
        Ok(())
    }
}

impl<R: BufRead> Iterator for ManifestReader<R> {
    type Item = Result<ManifestEntry, ManifestError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.read_entry() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::leaf_meta_json;
    use std::io::Cursor;

    fn leaves(n: u32, with_meta: bool) -> Vec<(SetLeaf, Option<Vec<u8>>)> {
        let mut v: Vec<_> = (0..n)
            .map(|i| {
                let meta = with_meta.then(|| {
                    let entry = format!(r#"{{"path":"f{i}"}}"#);
                    leaf_meta_json([entry.as_bytes()])
                });
                let leaf = SetLeaf {
                    cid: ContentId::of(&i.to_be_bytes()),
                    size: u64::from(i) * 3,
                    meta: meta_digest(meta.as_deref()),
                };
                (leaf, meta)
            })
            .collect();
        v.sort_by_key(|(l, _)| l.cid);
        v
    }

    fn write(header: ManifestHeader, ls: &[(SetLeaf, Option<Vec<u8>>)], dups: u64) -> Vec<u8> {
        let mut w = ManifestWriter::new(Cursor::new(Vec::new()), header).unwrap();
        for (l, m) in ls {
            w.push(l, m.as_deref()).unwrap();
        }
        let counts = ItemCounts {
            items: ls.len() as u64 + dups,
            bytes: 0,
            skipped: 1,
        };
        w.finish(counts).unwrap().1.into_inner()
    }

    #[test]
    fn round_trip_verifies_and_root_matches_ledger_merkle() {
        for with_meta in [true, false] {
            let ls = leaves(37, with_meta);
            let meta = if with_meta { "full" } else { "none" };
            let bytes = write(ManifestHeader::new("jsonl", Some("text"), meta), &ls, 2);
            let r = ManifestReader::new(Cursor::new(&bytes)).unwrap();
            let want: Vec<Digest> = ls.iter().map(|(l, _)| l.leaf_hash()).collect();
            let want_root = ledger::merkle::root::<Blake3Set>(&want);
            assert_eq!(r.header().root, want_root);
            assert_eq!(r.header().duplicates, 2);
            let got: Vec<ManifestEntry> = r.map(|e| e.unwrap()).collect();
            assert_eq!(got.len(), 37);
            for (g, (l, m)) in got.iter().zip(&ls) {
                assert_eq!(&g.leaf, l);
                assert_eq!(g.meta.is_some(), m.is_some());
            }
        }
    }

    #[test]
    fn empty_manifest_has_the_empty_root() {
        let bytes = write(ManifestHeader::new("file", None, "none"), &[], 0);
        let h = ManifestReader::new(Cursor::new(&bytes))
            .unwrap()
            .verify_to_end()
            .unwrap();
        assert_eq!(h.root.0, *blake3::hash(b"").as_bytes());
        assert_eq!(h.leaves, 0);
    }

    #[test]
    fn writer_refuses_unsorted_leaves_and_wrong_metadata() {
        let ls = leaves(3, true);
        let mut w = ManifestWriter::new(
            Cursor::new(Vec::new()),
            ManifestHeader::new("file", None, "full"),
        )
        .unwrap();
        w.push(&ls[1].0, ls[1].1.as_deref()).unwrap();
        let e = w.push(&ls[0].0, ls[0].1.as_deref()).unwrap_err();
        assert!(matches!(e, ManifestError::NotSorted { line: 3 }));
        let e = w.push(&ls[2].0, ls[1].1.as_deref()).unwrap_err();
        assert!(matches!(e, ManifestError::Line { .. }));
        let e = w.push(&ls[2].0, None).unwrap_err();
        assert!(matches!(e, ManifestError::Line { .. }));
    }

    /// Each tampering must be caught, by the line it touches or by the final root check.
    #[test]
    fn reader_detects_tampering() {
        let ls = leaves(5, true);
        let good =
            String::from_utf8(write(ManifestHeader::new("file", None, "full"), &ls, 0)).unwrap();
        let lines: Vec<&str> = good.lines().collect();
        let swap = {
            let mut l = lines.clone();
            l.swap(2, 3);
            l.join("\n")
        };
        let drop_last = lines[..lines.len() - 1].join("\n");
        let meta_edit = good.replacen("\"path\":\"f", "\"path\":\"g", 1);
        let size_edit = {
            let first_leaf = &lines[1][9..9 + 144];
            let mut b = hex::decode(first_leaf).unwrap();
            b[39] ^= 1;
            good.replacen(first_leaf, &hex::encode(b), 1)
        };
        for (name, text) in [
            ("swap", swap),
            ("drop", drop_last),
            ("meta", meta_edit),
            ("size", size_edit),
        ] {
            let r = ManifestReader::new(Cursor::new(text.into_bytes()));
            let verdict = r.and_then(|r| r.verify_to_end());
            assert!(verdict.is_err(), "{name} went unnoticed");
        }
        let mut h: ManifestHeader = serde_json::from_str(lines[0]).unwrap();
        h.root = Digest([1; 32]);
        let text = format!(
            "{}\n{}\n",
            serde_json::to_string(&h).unwrap(),
            lines[1..].join("\n")
        );
        let verdict = ManifestReader::new(Cursor::new(text.into_bytes()))
            .unwrap()
            .verify_to_end();
        assert!(matches!(verdict, Err(ManifestError::RootMismatch { .. })));
    }

    /// Regression (found by fuzzing): leaf sizes summing past 2^64 panicked in debug builds and
    /// wrapped in release; `items = duplicates = 2^64 - 1` passed a saturating check. Both are
    /// malformed manifests now, reported as errors.
    #[test]
    fn reader_refuses_counts_that_overflow() {
        let zero = "0".repeat(64);
        let huge = format!("{zero}8000000000000000{zero}");
        let overflow = format!(
            "{{\"format\":\"prov-manifest/v1\",\"mode\":\"file\",\"meta\":\"none\",\"items\":2,\"bytes\":0,\"leaves\":2,\"leaf_bytes\":0,\"duplicates\":0,\"skipped\":0,\"root\":\"{zero}\"}}\n{{\"leaf\":\"{huge}\"}}\n{{\"leaf\":\"{}1{}\"}}\n",
            &zero[..63],
            &huge[64..]
        );
        let r = ManifestReader::new(overflow.as_bytes()).unwrap();
        let err = r.collect::<Result<Vec<_>, _>>().unwrap_err();
        assert!(err.to_string().contains("2^64"), "{err}");

        let one = leaves(1, false);
        let h = ManifestHeader::new("file", None, "none");
        let good = String::from_utf8(write(h, &one, 0)).unwrap();
        let max = u64::MAX.to_string();
        let saturated = good
            .replacen("\"items\":1", &format!("\"items\":{max}"), 1)
            .replacen("\"duplicates\":0", &format!("\"duplicates\":{max}"), 1);
        assert_ne!(saturated, good);
        let r = ManifestReader::new(saturated.as_bytes()).unwrap();
        let err = r.collect::<Result<Vec<_>, _>>().unwrap_err();
        assert!(err.to_string().contains("overflow"), "{err}");
    }
}
