//! C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): the log's read path as immutable files.
//!
//! A tile at level `L` and index `N` is up to 256 consecutive hashes of tree level `8 * L`:
//! `MTH(D[(N * 256 + i) * 256^L : (N * 256 + i + 1) * 256^L])` for `i` in `0..W`, concatenated,
//! 32 bytes each. Level 0 tiles hold leaf hashes; each hash of a level 1 tile is the root of a
//! full level 0 tile, and so on. The rightmost tiles of a tree are *partial* (`W < 256`) and are
//! served under `.p/<W>`. Entry bundles are the entries behind a level 0 tile, each prefixed with
//! its length as a big-endian `u16`.
//!
//! Tiles map onto stored hashes directly (the tile's hashes are the stored hashes at level
//! `8 * L`), so [`read_tile_data`] serves them from any [`HashReader`], and [`TileHashReader`]
//! turns fetched tiles back into a [`HashReader`]: a client holding tiles computes the root and
//! proofs with the same `tree` functions the log uses, and checks them against a checkpoint.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::hash::Sha256Log;
use crate::merkle;
use crate::tree::{self, split_stored_hash_index, stored_hash_index, HashReader, TreeError};
use crate::types::{Digest, TreeSize};

/// Tree levels per tile level.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile, and entries in a full bundle.
pub const TILE_WIDTH: u16 = 1 << TILE_HEIGHT;
/// The largest entry an entry bundle can carry (its length is a `u16`).
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;
/// The highest tile level the spec allows.
pub const MAX_TILE_LEVEL: u8 = 63;

/// Why a tile path, tile or entry bundle was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TileError {
    #[error("not a tile path: {0:?}")]
    BadPath(String),
    #[error("tile level {0} is above 63")]
    BadLevel(u8),
    #[error("tile width {0} is not in 1..=256")]
    BadWidth(u16),
    #[error("tile data is {got} bytes, want {want}")]
    WrongDataLength { want: usize, got: usize },
    #[error("entry of {0} bytes is larger than 65535")]
    EntryTooLarge(usize),
    #[error("bundle of {0} entries is larger than 256")]
    TooManyEntries(usize),
    #[error("entry bundle is truncated")]
    TruncatedBundle,
    #[error("tile {0} is beyond any supported tree")]
    BeyondTree(String),
    #[error(transparent)]
    Tree(#[from] TreeError),
}

/// A hash tile: level, index within the level, and width (256 = full).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TileId {
    pub level: u8,
    pub n: u64,
    pub width: u16,
}

impl TileId {
    /// A tile with checked level (0..=63) and width (1..=256).
    pub fn new(level: u8, n: u64, width: u16) -> Result<Self, TileError> {
        if level > MAX_TILE_LEVEL {
            return Err(TileError::BadLevel(level));
        }
        check_width(width)?;
        Ok(TileId { level, n, width })
    }

    pub fn is_partial(&self) -> bool {
        self.width < TILE_WIDTH
    }

    /// The tile's size in bytes: 32 per hash.
    pub fn byte_len(&self) -> usize {
        usize::from(self.width) * Digest::LEN
    }

    /// `tile/<L>/<N>[.p/<W>]`, e.g. `tile/0/x001/x234/067.p/8`.
    pub fn path(&self) -> String {
        format!("tile/{}/{}", self.level, index_path(self.n, self.width))
    }

    /// The inverse of [`TileId::path`]; only the canonical spelling is accepted (no leading
    /// zeros in `<L>` or `<W>`, no leading `x000` group, `.p/256` spelled as a full tile), so
    /// that one tile has exactly one path.
    pub fn parse_path(path: &str) -> Result<Self, TileError> {
        let bad = || TileError::BadPath(path.to_string());
        let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
        let (level, rest) = rest.split_once('/').ok_or_else(bad)?;
        let level: u8 = parse_decimal(level).ok_or_else(bad)?;
        let (n, width) = parse_index_path(rest).ok_or_else(bad)?;
        TileId::new(level, n, width)
    }

    /// The stored hash indexes of this tile's hashes, in tile order. An error for a tile beyond
    /// any tree of up to [`tree::MAX_TREE_SIZE`] leaves, which a parsed path can name.
    pub fn stored_hash_indexes(&self) -> Result<Vec<u64>, TileError> {
        if self.leaf_end().is_none_or(|end| end > tree::MAX_TREE_SIZE) {
            return Err(TileError::BeyondTree(self.path()));
        }
        let tree_level = self.level * TILE_HEIGHT;
        let first = self.n << TILE_HEIGHT;
        Ok((0..u64::from(self.width))
            .map(|i| stored_hash_index(tree_level, first + i))
            .collect())
    }

    /// Whether the tree of `size` leaves has this tile's hashes: every hash the tile holds is
    /// the root of a complete subtree of that tree. True for the tiles of `size` and for the
    /// narrower partial tiles of smaller trees (which a log serves for older checkpoints).
    pub fn is_in_tree(&self, size: TreeSize) -> bool {
        self.leaf_end().is_some_and(|end| end <= size.0)
    }

    /// One past the last leaf under this tile's hashes, or `None` beyond `u64`.
    fn leaf_end(&self) -> Option<u64> {
        let shift = u32::from(self.level) * u32::from(TILE_HEIGHT);
        if shift >= 64 {
            return None;
        }
        let hashes_end = self
            .n
            .checked_mul(u64::from(TILE_WIDTH))?
            .checked_add(u64::from(self.width))?;
        let end = hashes_end.checked_shl(shift)?;
        (end >> shift == hashes_end).then_some(end)
    }
}

/// An entry bundle: the entries behind level 0 tile `n`, `width` of them (256 = full).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryBundleId {
    pub n: u64,
    pub width: u16,
}

impl EntryBundleId {
    pub fn new(n: u64, width: u16) -> Result<Self, TileError> {
        check_width(width)?;
        Ok(EntryBundleId { n, width })
    }

    pub fn is_partial(&self) -> bool {
        self.width < TILE_WIDTH
    }

    /// `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!("tile/entries/{}", index_path(self.n, self.width))
    }

    /// The inverse of [`EntryBundleId::path`], canonical spelling only.
    pub fn parse_path(path: &str) -> Result<Self, TileError> {
        let bad = || TileError::BadPath(path.to_string());
        let rest = path.strip_prefix("tile/entries/").ok_or_else(bad)?;
        let (n, width) = parse_index_path(rest).ok_or_else(bad)?;
        EntryBundleId::new(n, width)
    }

    /// The level 0 tile holding these entries' leaf hashes.
    pub fn tile(&self) -> TileId {
        TileId {
            level: 0,
            n: self.n,
            width: self.width,
        }
    }
}

/// The tiles that make up the tree of `size` leaves: at each level, the full tiles and, if the
/// level's hash count is not a multiple of 256, one partial tile. Level by level, left to right.
/// Enumerates every full tile, so for a large tree prefer [`tiles_added`].
pub fn tiles_for_size(size: TreeSize) -> Vec<TileId> {
    tiles_added(TreeSize(0), size)
}

/// The tiles that appear when the tree grows from `old` to `new` leaves (Go's `NewTiles`): every
/// full tile completed and every partial tile of `new`, at each level. This is what a sequencer
/// writes after a batch, and what a tile cache must fetch to follow the log.
pub fn tiles_added(old: TreeSize, new: TreeSize) -> Vec<TileId> {
    let mut tiles = Vec::new();
    let mut level = 0u8;
    while level <= MAX_TILE_LEVEL && level_hashes(new.0, level) > 0 {
        let old_count = level_hashes(old.0, level);
        let new_count = level_hashes(new.0, level);
        if old_count != new_count {
            let last_full = new_count >> TILE_HEIGHT;
            for n in (old_count >> TILE_HEIGHT)..last_full {
                tiles.push(TileId {
                    level,
                    n,
                    width: TILE_WIDTH,
                });
            }
            let width = (new_count % u64::from(TILE_WIDTH)) as u16;
            if width > 0 {
                tiles.push(TileId {
                    level,
                    n: last_full,
                    width,
                });
            }
        }
        level += 1;
    }
    tiles
}

/// The tile of the tree of `size` leaves that holds, or can compute, stored hash `index`; its
/// width is the one the tree of `size` serves. An error if the hash is not in that tree.
pub fn tile_for_stored_hash(size: TreeSize, index: u64) -> Result<TileId, TileError> {
    let (level, n) = split_stored_hash_index(index);
    let (tile_level, sub) = (level / TILE_HEIGHT, level % TILE_HEIGHT);
    // The hash covers tile-level hashes [n << sub, (n + 1) << sub), all inside one tile.
    let end = (n + 1) << sub;
    let tile_n = (n << sub) >> TILE_HEIGHT;
    let available = level_hashes(size.0, tile_level);
    if end > available {
        return Err(TreeError::MissingHash { index }.into());
    }
    let width = (available - (tile_n << TILE_HEIGHT)).min(u64::from(TILE_WIDTH)) as u16;
    TileId::new(tile_level, tile_n, width)
}

/// The tiles of the tree of `size` that `op` (a root or proof computation from `tree`) reads:
/// what a client must fetch before running `op` again over a [`TileHashReader`] holding them.
/// The dry run hands `op` zero hashes, which is sound because the hashes a root or proof reads
/// depend only on sizes and indexes, never on hash values.
pub fn tiles_needed<T>(
    size: TreeSize,
    op: impl FnOnce(&dyn HashReader) -> Result<T, TreeError>,
) -> Result<Vec<TileId>, TileError> {
    let recorder = Recorder::default();
    op(&recorder)?;
    let mut tiles = recorder
        .0
        .into_inner()
        .into_iter()
        .map(|i| tile_for_stored_hash(size, i))
        .collect::<Result<Vec<_>, _>>()?;
    tiles.sort();
    tiles.dedup();
    Ok(tiles)
}

/// The bytes of `tile`: its hashes, 32 bytes each, concatenated, read with one call.
pub fn read_tile_data<R: HashReader + ?Sized>(
    tile: TileId,
    reader: &R,
) -> Result<Vec<u8>, TileError> {
    let indexes = tile.stored_hash_indexes()?;
    let hashes = reader.read_hashes(&indexes)?;
    if hashes.len() != indexes.len() {
        return Err(TreeError::WrongHashCount {
            want: indexes.len(),
            got: hashes.len(),
        }
        .into());
    }
    let mut out = Vec::with_capacity(tile.byte_len());
    for h in &hashes {
        out.extend_from_slice(h.as_bytes());
    }
    Ok(out)
}

/// A [`HashReader`] over fetched tiles: what a client that holds tiles, not a database, uses to
/// compute `tree::tree_hash` and proofs.
///
/// Tiles are not trusted by being inserted. A root computed from them must be compared with a
/// signed checkpoint's root, and a proof computed from them verified against it, as any proof
/// is; a tile that lies then fails that check.
#[derive(Clone, Debug, Default)]
pub struct TileHashReader {
    /// `(level, n)` to the widest data seen for that tile.
    tiles: HashMap<(u8, u64), Vec<Digest>>,
}

impl TileHashReader {
    pub fn new() -> Self {
        TileHashReader::default()
    }

    /// Adds `tile`'s bytes, checking their length. A wider version of a tile replaces a
    /// narrower one.
    pub fn insert(&mut self, tile: TileId, data: &[u8]) -> Result<(), TileError> {
        if data.len() != tile.byte_len() {
            return Err(TileError::WrongDataLength {
                want: tile.byte_len(),
                got: data.len(),
            });
        }
        let hashes: Vec<Digest> = data
            .chunks_exact(Digest::LEN)
            .map(Digest::from_slice)
            .collect::<Result<_, _>>()
            .map_err(|_| TileError::WrongDataLength {
                want: tile.byte_len(),
                got: data.len(),
            })?;
        let slot = self.tiles.entry((tile.level, tile.n)).or_default();
        if hashes.len() > slot.len() {
            *slot = hashes;
        }
        Ok(())
    }

    fn hash(&self, index: u64) -> Result<Digest, TreeError> {
        let (level, n) = split_stored_hash_index(index);
        let (tile_level, sub) = (level / TILE_HEIGHT, level % TILE_HEIGHT);
        let first = n << sub;
        let tile_n = first >> TILE_HEIGHT;
        let start = (first - (tile_n << TILE_HEIGHT)) as usize;
        let end = start + (1usize << sub);
        match self.tiles.get(&(tile_level, tile_n)) {
            Some(hashes) if end <= hashes.len() => Ok(if sub == 0 {
                hashes[start]
            } else {
                merkle::root::<Sha256Log>(&hashes[start..end])
            }),
            _ => Err(TreeError::MissingHash { index }),
        }
    }
}

impl HashReader for TileHashReader {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Digest>, TreeError> {
        indexes.iter().map(|&i| self.hash(i)).collect()
    }
}

/// Answers every read with zero hashes and remembers the indexes asked for.
#[derive(Default)]
struct Recorder(std::cell::RefCell<Vec<u64>>);

impl HashReader for Recorder {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Digest>, TreeError> {
        self.0.borrow_mut().extend_from_slice(indexes);
        Ok(vec![Digest::default(); indexes.len()])
    }
}

/// An entry bundle's bytes: each entry as its length (big-endian `u16`) then its bytes.
pub fn encode_entry_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, TileError> {
    if entries.len() > usize::from(TILE_WIDTH) {
        return Err(TileError::TooManyEntries(entries.len()));
    }
    let total: usize = entries.iter().map(|e| 2 + e.as_ref().len()).sum();
    let mut out = Vec::with_capacity(total);
    for e in entries {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLarge(e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// The entries of a bundle, borrowed from `bundle`. Refuses a truncated length or entry and more
/// than 256 entries.
pub fn decode_entry_bundle(bundle: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let mut entries = Vec::new();
    let mut rest = bundle;
    while !rest.is_empty() {
        let (len, tail) = rest.split_at_checked(2).ok_or(TileError::TruncatedBundle)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let (entry, tail) = tail
            .split_at_checked(len)
            .ok_or(TileError::TruncatedBundle)?;
        if entries.len() == usize::from(TILE_WIDTH) {
            return Err(TileError::TooManyEntries(entries.len() + 1));
        }
        entries.push(entry);
        rest = tail;
    }
    Ok(entries)
}

/// How many hashes tree level `8 * tile_level` has in the tree of `size` leaves.
fn level_hashes(size: u64, tile_level: u8) -> u64 {
    let shift = u32::from(tile_level) * u32::from(TILE_HEIGHT);
    size.checked_shr(shift).unwrap_or(0)
}

fn check_width(width: u16) -> Result<(), TileError> {
    if width == 0 || width > TILE_WIDTH {
        return Err(TileError::BadWidth(width));
    }
    Ok(())
}

/// `<N>[.p/<W>]`: `N` in zero-padded 3-digit groups, all but the last prefixed with `x`.
fn index_path(n: u64, width: u16) -> String {
    let mut groups = Vec::new();
    let mut rest = n;
    loop {
        groups.push(rest % 1000);
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    let mut out = String::new();
    for (i, g) in groups.iter().rev().enumerate() {
        if i + 1 < groups.len() {
            let _ = write!(out, "x{g:03}/");
        } else {
            let _ = write!(out, "{g:03}");
        }
    }
    if width < TILE_WIDTH {
        let _ = write!(out, ".p/{width}");
    }
    out
}

fn parse_index_path(s: &str) -> Option<(u64, u16)> {
    let (index, width) = match s.split_once(".p/") {
        Some((index, w)) => {
            let w: u16 = parse_decimal(w)?;
            if w == 0 || w >= TILE_WIDTH {
                return None;
            }
            (index, w)
        }
        None => (s, TILE_WIDTH),
    };
    let groups: Vec<&str> = index.split('/').collect();
    let (last, prefix) = groups.split_last()?;
    let mut n: u64 = 0;
    for (i, g) in prefix.iter().enumerate() {
        let digits = g.strip_prefix('x')?;
        let v = three_digits(digits)?;
        if i == 0 && v == 0 {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(v)?;
    }
    n = n.checked_mul(1000)?.checked_add(three_digits(last)?)?;
    Some((n, width))
}

fn three_digits(s: &str) -> Option<u64> {
    if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A decimal with no sign and no leading zeros.
fn parse_decimal<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{self, MemoryHashes};
    use crate::types::LeafIndex;

    /// A distinct stand-in for leaf hash `i`: only the bytes matter to tiles, and debug builds
    /// hash slowly.
    fn fake_leaf_hash(i: u64) -> Digest {
        let mut d = [0u8; 32];
        d[..8].copy_from_slice(&i.to_be_bytes());
        Digest(d)
    }

    /// A tree of 70,000 leaves (three tile levels), built once: it also serves every smaller
    /// tree, whose stored hashes are a prefix of its own.
    fn memory() -> &'static MemoryHashes {
        static TREE: std::sync::OnceLock<MemoryHashes> = std::sync::OnceLock::new();
        TREE.get_or_init(|| {
            let leaves: Vec<Digest> = (0..70_000u64).map(fake_leaf_hash).collect();
            MemoryHashes::from_leaf_hashes(&leaves)
        })
    }

    #[test]
    fn paths_follow_the_spec() {
        let cases = [
            (0, 0, 256, "tile/0/000"),
            (0, 1, 44, "tile/0/001.p/44"),
            (1, 0, 1, "tile/1/000.p/1"),
            (0, 1234067, 256, "tile/0/x001/x234/067"),
            (3, 1234067, 8, "tile/3/x001/x234/067.p/8"),
            (63, 999, 255, "tile/63/999.p/255"),
            (2, 1000, 256, "tile/2/x001/000"),
            (0, u64::MAX, 256, "tile/0/x018/x446/x744/x073/x709/x551/615"),
        ];
        for (level, n, width, path) in cases {
            let t = TileId::new(level, n, width).unwrap();
            assert_eq!(t.path(), path);
            assert_eq!(TileId::parse_path(path).unwrap(), t);
        }
        let b = EntryBundleId::new(1234067, 3).unwrap();
        assert_eq!(b.path(), "tile/entries/x001/x234/067.p/3");
        assert_eq!(EntryBundleId::parse_path(&b.path()).unwrap(), b);
        assert_eq!(
            EntryBundleId::new(5, 256).unwrap().path(),
            "tile/entries/005"
        );
    }

    #[test]
    fn non_canonical_or_malformed_paths_are_refused() {
        for p in [
            "tile/0/0",
            "tile/00/000",
            "tile/64/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/044",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/0/x1/002",
            "tile/0/xx01/002",
            "tile/0/000/",
            "tile/-1/000",
            "tile/0/+12",
            "tile/entries/000",
            "tiles/0/000",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
        ] {
            let r = TileId::parse_path(p);
            assert!(
                matches!(r, Err(TileError::BadPath(_) | TileError::BadLevel(_))),
                "{p}"
            );
        }
        assert!(matches!(
            EntryBundleId::parse_path("tile/0/000"),
            Err(TileError::BadPath(_))
        ));
        assert!(matches!(TileId::new(0, 0, 0), Err(TileError::BadWidth(0))));
        assert!(matches!(
            TileId::new(0, 0, 257),
            Err(TileError::BadWidth(257))
        ));
        assert!(matches!(
            TileId::new(64, 0, 1),
            Err(TileError::BadLevel(64))
        ));
    }

    #[test]
    fn tiles_for_size_matches_the_spec_examples() {
        // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level
        // 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and
        // one partial level 2 tile of width 1."
        let tiles = tiles_for_size(TreeSize(70_000));
        let full = |l: u8| {
            tiles
                .iter()
                .filter(|t| t.level == l && !t.is_partial())
                .count()
        };
        let partial: Vec<(u8, u64, u16)> = tiles
            .iter()
            .filter(|t| t.is_partial())
            .map(|t| (t.level, t.n, t.width))
            .collect();
        assert_eq!((full(0), full(1), full(2)), (273, 1, 0));
        assert_eq!(partial, vec![(0, 273, 112), (1, 1, 17), (2, 0, 1)]);
        assert_eq!(tiles.len(), 277);
        // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
        // tile of width 1."
        let t256: Vec<String> = tiles_for_size(TreeSize(256))
            .iter()
            .map(TileId::path)
            .collect();
        assert_eq!(t256, ["tile/0/000", "tile/1/000.p/1"]);
        assert!(tiles_for_size(TreeSize(0)).is_empty());
    }

    #[test]
    fn tiles_added_is_the_difference_of_tile_sets() {
        for (old, new) in [
            (0, 1),
            (1, 255),
            (255, 256),
            (256, 257),
            (300, 70_000),
            (5, 5),
        ] {
            let before = tiles_for_size(TreeSize(old));
            let after = tiles_for_size(TreeSize(new));
            let want: Vec<TileId> = after.into_iter().filter(|t| !before.contains(t)).collect();
            let mut got = tiles_added(TreeSize(old), TreeSize(new));
            got.sort();
            let mut want = want;
            want.sort();
            assert_eq!(got, want, "{old} -> {new}");
        }
    }

    #[test]
    fn tile_data_is_the_level_hashes_concatenated() {
        let m = memory();
        let t = TileId::new(1, 1, 17).unwrap();
        let data = read_tile_data(t, m).unwrap();
        assert_eq!(data.len(), 17 * 32);
        // Hash i of level 1 tile 1 is the root of leaves [(256 + i) * 256, (257 + i) * 256).
        let l0: Vec<Digest> = (0..256u64)
            .map(|i| fake_leaf_hash((256 + 3) * 256 + i))
            .collect();
        assert_eq!(
            &data[3 * 32..4 * 32],
            merkle::root::<Sha256Log>(&l0).as_bytes()
        );
        let l2 = read_tile_data(TileId::new(2, 0, 1).unwrap(), m).unwrap();
        let first_65536 = tree::tree_hash(TreeSize(65_536), m).unwrap();
        assert_eq!(l2, first_65536.as_bytes());
    }

    #[test]
    fn tile_hash_reader_reproduces_roots_and_proofs() {
        for size in [1u64, 2, 255, 256, 257, 300, 513, 65_535, 65_536, 70_000] {
            let m = memory();
            let s = TreeSize(size);
            let mut r = TileHashReader::new();
            for t in tiles_for_size(s) {
                r.insert(t, &read_tile_data(t, m).unwrap()).unwrap();
            }
            let root = tree::tree_hash(s, m).unwrap();
            assert_eq!(tree::tree_hash(s, &r).unwrap(), root, "size {size}");
            for i in [0, size / 3, size - 1] {
                let i = LeafIndex(i);
                let want = tree::inclusion_proof(s, i, m).unwrap();
                assert_eq!(tree::inclusion_proof(s, i, &r).unwrap(), want);
            }
            for old in [1, size / 2 + 1, size - 1].into_iter().filter(|&o| o > 0) {
                let o = TreeSize(old);
                let want = tree::consistency_proof(o, s, m).unwrap();
                assert_eq!(tree::consistency_proof(o, s, &r).unwrap(), want);
            }
        }
    }

    #[test]
    fn tile_hash_reader_reports_what_is_missing() {
        let m = memory();
        let mut r = TileHashReader::new();
        let t = TileId::new(0, 1, 44).unwrap();
        r.insert(t, &read_tile_data(t, m).unwrap()).unwrap();
        let got = tree::tree_hash(TreeSize(300), &r);
        let Err(TreeError::MissingHash { index }) = got else {
            panic!("expected a missing hash, got {got:?}");
        };
        let need = tile_for_stored_hash(TreeSize(300), index).unwrap();
        assert!(
            need.path() == "tile/0/000" || need.path() == "tile/1/000.p/1",
            "{need:?}"
        );
        let bad = r.insert(TileId::new(0, 0, 256).unwrap(), &[0u8; 31]);
        assert!(matches!(
            bad,
            Err(TileError::WrongDataLength {
                want: 8192,
                got: 31
            })
        ));
    }

    #[test]
    fn tile_for_stored_hash_uses_the_width_of_the_tree() {
        let s = TreeSize(300);
        let at = |level, n| tile_for_stored_hash(s, tree::stored_hash_index(level, n)).unwrap();
        assert_eq!(at(0, 5).path(), "tile/0/000");
        assert_eq!(at(0, 299).path(), "tile/0/001.p/44");
        assert_eq!(at(5, 8).path(), "tile/0/001.p/44");
        assert_eq!(at(8, 0).path(), "tile/1/000.p/1");
        assert!(matches!(
            tile_for_stored_hash(s, tree::stored_hash_index(0, 300)),
            Err(TileError::Tree(TreeError::MissingHash { .. }))
        ));
        assert!(tile_for_stored_hash(s, tree::stored_hash_index(6, 4)).is_err());
    }

    #[test]
    fn tiles_needed_are_enough_for_the_proof() -> Result<(), TileError> {
        let m = memory();
        let s = TreeSize(70_000);
        let (i, old) = (LeafIndex(1234), TreeSize(300));
        let mut need = tiles_needed(s, |r| tree::inclusion_proof(s, i, r))?;
        need.extend(tiles_needed(s, |r| tree::consistency_proof(old, s, r))?);
        need.extend(tiles_needed(s, |r| tree::tree_hash(s, r))?);
        let all = tiles_for_size(s);
        assert!(need.iter().all(|t| all.contains(t)), "{need:?}");
        assert!(need.len() < 20, "{}", need.len());
        let mut r = TileHashReader::new();
        for t in &need {
            r.insert(*t, &read_tile_data(*t, m)?)?;
        }
        assert_eq!(
            tree::inclusion_proof(s, i, &r)?,
            tree::inclusion_proof(s, i, m)?
        );
        assert_eq!(
            tree::consistency_proof(old, s, &r)?,
            tree::consistency_proof(old, s, m)?
        );
        assert_eq!(tree::tree_hash(s, &r)?, tree::tree_hash(s, m)?);
        let outside = tiles_needed(s, |r| tree::tree_hash(TreeSize(70_001), r));
        assert!(matches!(
            outside,
            Err(TileError::Tree(TreeError::MissingHash { .. }))
        ));
        Ok(())
    }

    #[test]
    fn tiles_beyond_the_tree_are_refused_not_overflowed() {
        let s = TreeSize(300);
        for (level, n, width, inside) in [
            (0u8, 0u64, 256u16, true),
            (0, 1, 44, true),
            (0, 1, 43, true),
            (0, 1, 45, false),
            (1, 0, 1, true),
            (1, 0, 2, false),
            (2, 0, 1, false),
            (7, 0, 1, false),
            (8, 0, 1, false),
            (63, u64::MAX, 256, false),
            (0, u64::MAX, 256, false),
        ] {
            let t = TileId::new(level, n, width).unwrap();
            assert_eq!(t.is_in_tree(s), inside, "{}", t.path());
        }
        for t in [
            TileId::new(63, 0, 1).unwrap(),
            TileId::new(8, 0, 1).unwrap(),
            TileId::new(0, u64::MAX, 256).unwrap(),
            TileId::new(7, 1 << 40, 256).unwrap(),
        ] {
            assert!(matches!(
                read_tile_data(t, memory()),
                Err(TileError::BeyondTree(_))
            ));
        }
    }

    #[test]
    fn entry_bundles_round_trip_and_refuse_bad_input() {
        let entries: Vec<Vec<u8>> = vec![b"".to_vec(), b"a".to_vec(), vec![7u8; MAX_ENTRY_LEN]];
        let bundle = encode_entry_bundle(&entries).unwrap();
        assert_eq!(&bundle[..5], [0, 0, 0, 1, b'a']);
        assert_eq!(&bundle[5..7], [0xff, 0xff]);
        let back = decode_entry_bundle(&bundle).unwrap();
        assert_eq!(back, entries.iter().map(Vec::as_slice).collect::<Vec<_>>());

        let too_big = encode_entry_bundle(&[vec![0u8; MAX_ENTRY_LEN + 1]]);
        assert!(matches!(too_big, Err(TileError::EntryTooLarge(65_536))));
        let too_many = encode_entry_bundle(&vec![b"x"; 257]);
        assert!(matches!(too_many, Err(TileError::TooManyEntries(257))));
        for cut in [1, 3, 6, bundle.len() - 1] {
            let r = decode_entry_bundle(&bundle[..cut]);
            assert!(matches!(r, Err(TileError::TruncatedBundle)), "cut {cut}");
        }
        let full = encode_entry_bundle(&vec![b"x"; 256]).unwrap();
        assert_eq!(decode_entry_bundle(&full).unwrap().len(), 256);
        let mut over = full.clone();
        over.extend_from_slice(&[0, 1, b'y']);
        assert!(matches!(
            decode_entry_bundle(&over),
            Err(TileError::TooManyEntries(257))
        ));
        assert!(decode_entry_bundle(&[]).unwrap().is_empty());
    }
}
