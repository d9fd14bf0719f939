//! Key layouts of every record, in one place. `docs/storage.md` describes them byte by byte;
//! changing any of them is a format change (bump [`FORMAT_VERSION`]).
//!
//! All integers in keys are big-endian so that key order is numeric order.

use crate::types::Digest;

/// The on-disk format version, stored under [`META_FORMAT`].
pub const FORMAT_VERSION: u32 = 1;

/// `meta`: `format` -> u32 big-endian [`FORMAT_VERSION`].
pub const META_FORMAT: &[u8] = b"format";
/// `meta`: `origin` -> the log's name, UTF-8.
pub const META_ORIGIN: &[u8] = b"origin";
/// `meta`: `vkey` -> the C2SP verifier key (`name+hash+base64`), UTF-8.
pub const META_VKEY: &[u8] = b"vkey";
/// `meta`: `tree_size` -> u64 big-endian, the durable tree size, written in the same batch as
/// the entries it counts.
pub const META_TREE_SIZE: &[u8] = b"tree_size";

/// `meta`: `set/` + set id (u64) -> set root (32 bytes): the set id is committed.
pub const META_SET_PREFIX: &[u8] = b"set/";
/// `meta`: `set_stored/` + set id (u64) -> unix seconds (u64) when the set was stored (or last
/// uploaded again): the set may be collected once it is old and no entry names it. Sets stored
/// before this record existed have none and are never collected.
pub const META_SET_STORED_PREFIX: &[u8] = b"set_stored/";

/// `meta`: `set_sources/` + set id (u64) -> source-tree root (32) || size (u64): the source
/// tree derived from the set's metadata at commit (SPEC issue 13), stored under the set id in
/// `range_leaves` / `range_hashes`. Written in the set's commit batch.
pub const META_SET_SOURCES_PREFIX: &[u8] = b"set_sources/";
/// `meta`: `set_stats/` + set id (u64) -> the set's statistics, JSON
/// ([`crate::store::stats::SetStats`]). Written in the commit batch of every upload that
/// carried metadata, and only then: its presence says the set's metadata is stored.
pub const META_SET_STATS_PREFIX: &[u8] = b"set_stats/";

/// `meta`: `passages/` + passage-tree id (u64) -> root (32) || size (u64): the commit marker
/// of a passage tree (issue 14), stored under the id in `range_leaves` / `range_hashes`.
pub const META_PASSAGES_PREFIX: &[u8] = b"passages/";
/// `meta`: `passages_root/` + root (32) -> passage-tree id (u64) || size (u64).
pub const META_PASSAGES_ROOT_PREFIX: &[u8] = b"passages_root/";
/// `meta`: `passages_stored/` + passage-tree id (u64) -> unix seconds when it was stored (or
/// last uploaded again); dropped once the tree is found named, as `set_stored/`.
pub const META_PASSAGES_STORED_PREFIX: &[u8] = b"passages_stored/";

pub fn u64_key(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

pub fn read_u64(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(..8)?.try_into().ok()?))
}

/// `entries`: leaf index (u64) -> entry bytes.
pub fn entry_key(index: u64) -> [u8; 8] {
    u64_key(index)
}

/// `hashes`: stored hash index (u64, [`crate::tree::stored_hash_index`]) -> 32-byte hash.
pub fn hash_key(stored_index: u64) -> [u8; 8] {
    u64_key(stored_index)
}

/// `checkpoints`: tree size (u64) -> signed checkpoint note, UTF-8.
pub fn checkpoint_key(size: u64) -> [u8; 8] {
    u64_key(size)
}

/// `meta`: the commit marker of set `id`.
pub fn meta_set_key(id: u64) -> Vec<u8> {
    [META_SET_PREFIX, &id.to_be_bytes()].concat()
}

/// `meta`: the stored-time record of set `id`.
pub fn meta_set_stored_key(id: u64) -> Vec<u8> {
    [META_SET_STORED_PREFIX, &id.to_be_bytes()].concat()
}

/// `meta`: the source-tree record of set `id`.
pub fn meta_set_sources_key(id: u64) -> Vec<u8> {
    [META_SET_SOURCES_PREFIX, &id.to_be_bytes()].concat()
}

/// `meta`: the commit marker of passage tree `id`.
pub fn meta_passages_key(id: u64) -> Vec<u8> {
    [META_PASSAGES_PREFIX, &id.to_be_bytes()].concat()
}

/// `meta`: the record of the passage tree with `root`.
pub fn meta_passages_root_key(root: &Digest) -> Vec<u8> {
    [META_PASSAGES_ROOT_PREFIX, &root.0].concat()
}

/// `meta`: the stored-time record of passage tree `id`.
pub fn meta_passages_stored_key(id: u64) -> Vec<u8> {
    [META_PASSAGES_STORED_PREFIX, &id.to_be_bytes()].concat()
}

/// `meta`: the statistics record of set `id`.
pub fn meta_set_stats_key(id: u64) -> Vec<u8> {
    [META_SET_STATS_PREFIX, &id.to_be_bytes()].concat()
}

/// `set_meta`: set id (u64) || leaf index (u64) -> the leaf's metadata, canonical JSON
/// (RFC 8785), at most [`crate::store::sets::MAX_META_LEN`] bytes.
pub fn set_meta_key(id: u64, index: u64) -> [u8; 16] {
    set_leaves_key(id, index)
}

/// `source_scratch` tag of the source leaves (the source tree, in order).
pub const SCRATCH_TREE: u8 = 0;
/// `source_scratch` tag of the host records (the per-host statistics, grouped).
pub const SCRATCH_HOSTS: u8 = 1;

/// `source_scratch`: set id (u64) || tag (u8) || [host || 0x00, for [`SCRATCH_HOSTS`]] ||
/// source leaf (source key || 0x00 || cid) -> the content's size (u64). Written while an upload
/// streams in; RocksDB returns it sorted at commit, which deletes it.
pub fn source_scratch_key(id: u64, tag: u8, host: &[u8], leaf: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + host.len() + 1 + leaf.len());
    k.extend_from_slice(&id.to_be_bytes());
    k.push(tag);
    if tag == SCRATCH_HOSTS {
        k.extend_from_slice(host);
        k.push(0);
    }
    k.extend_from_slice(leaf);
    k
}

/// `range_leaves`: set id (u64) || chunk (u64) -> up to 256 leaves, each a u16 big-endian length
/// and that many bytes: leaves `[chunk * 256, chunk * 256 + 256)` of the set's source tree.
pub fn range_leaves_key(id: u64, chunk: u64) -> [u8; 16] {
    set_leaves_key(id, chunk)
}

/// `range_hashes`: as [`set_hashes_key`], for the set's source tree.
pub fn range_hashes_key(id: u64, level: u8, chunk: u64) -> [u8; 17] {
    set_hashes_key(id, level, chunk)
}

/// `range_roots`: source-tree root (32) || owning set id (u64) -> size (u64).
pub fn range_root_key(root: &Digest, id: u64) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(&root.0);
    k[32..].copy_from_slice(&id.to_be_bytes());
    k
}

/// `set_roots`: set root (32 bytes) -> set id (u64) || leaf count (u64).
pub fn set_root_key(root: &Digest) -> [u8; 32] {
    root.0
}

/// `set_leaves`: set id (u64) || chunk (u64) -> up to 256 leaves of 72 bytes, leaves
/// `[chunk * 256, chunk * 256 + 256)`.
pub fn set_leaves_key(id: u64, chunk: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&id.to_be_bytes());
    k[8..].copy_from_slice(&chunk.to_be_bytes());
    k
}

/// `set_hashes`: set id (u64) || level (u8, a multiple of 8) || chunk (u64) -> up to 256 hashes
/// of 32 bytes, the complete subtrees `[chunk * 256, chunk * 256 + 256)` of that level.
pub fn set_hashes_key(id: u64, level: u8, chunk: u64) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[..8].copy_from_slice(&id.to_be_bytes());
    k[8] = level;
    k[9..].copy_from_slice(&chunk.to_be_bytes());
    k
}

/// The first key after every key that starts with `prefix` (None when there is none: all 0xff).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_the_next_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
    }

    #[test]
    fn integer_keys_sort_numerically() {
        assert!(entry_key(255) < entry_key(256));
        assert!(set_hashes_key(1, 8, 300) < set_hashes_key(1, 16, 0));
        assert!(set_leaves_key(1, u64::MAX) < set_leaves_key(2, 0));
    }
}
