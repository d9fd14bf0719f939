//! Sorted sets (DESIGN.md, "Set leaves and proofs"): a dataset version's manifest, a batch of
//! opt-outs, a model's weight files. Leaves are sorted by content id and unique; the tree is the
//! RFC 6962 shape with BLAKE3 ([`crate::Blake3Set`]).

use crate::types::{ContentId, Digest};

/// One set leaf: `cid (32 bytes) || size (u64 big-endian) || meta (32 bytes)`, 72 bytes.
/// `meta` is the BLAKE3 of the item's metadata in canonical JSON (RFC 8785), or 32 zero bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SetLeaf {
    pub cid: ContentId,
    pub size: u64,
    pub meta: Digest,
}

impl SetLeaf {
    pub const LEN: usize = 72;

    pub fn to_bytes(&self) -> [u8; 72] {
        let mut out = [0u8; 72];
        out[..32].copy_from_slice(&self.cid.0);
        out[32..40].copy_from_slice(&self.size.to_be_bytes());
        out[40..].copy_from_slice(&self.meta.0);
        out
    }

    pub fn from_bytes(b: &[u8; 72]) -> Self {
        let mut cid = [0u8; 32];
        cid.copy_from_slice(&b[..32]);
        let mut size = [0u8; 8];
        size.copy_from_slice(&b[32..40]);
        let mut meta = [0u8; 32];
        meta.copy_from_slice(&b[40..]);
        SetLeaf {
            cid: ContentId(cid),
            size: u64::from_be_bytes(size),
            meta: Digest(meta),
        }
    }

    /// `BLAKE3(0x00 || leaf bytes)`.
    pub fn leaf_hash(&self) -> Digest {
        <crate::hash::Blake3Set as crate::hash::TreeHasher>::leaf_hash(&self.to_bytes())
    }
}
