//! The two trees' hash rules (DESIGN.md, "Two trees, two hashes").
//!
//! Both trees have the RFC 6962 shape: leaf `H(0x00 || data)`, node `H(0x01 || left || right)`,
//! split at the largest power of two smaller than the size, and the empty tree's root is `H("")`.
//! The log uses SHA-256 ([`Sha256Log`]), sets use BLAKE3 ([`Blake3Set`]). Tree math is written
//! once, generic over [`TreeHasher`].

use sha2::{Digest as _, Sha256};

use crate::types::Digest;

/// A hash function with RFC 6962 domain separation.
pub trait TreeHasher: Clone + Copy + Send + Sync + 'static {
    /// `H("")`: the root of the empty tree.
    fn empty_root() -> Digest;
    /// `H(0x00 || data)`.
    fn leaf_hash(data: &[u8]) -> Digest;
    /// `H(0x01 || left || right)`.
    fn node_hash(left: &Digest, right: &Digest) -> Digest;
}

/// The log's hash: SHA-256, exactly as RFC 6962 / C2SP tlog-tiles.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sha256Log;

/// The sets' hash: BLAKE3-256 with the same domain separation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Blake3Set;

impl TreeHasher for Sha256Log {
    fn empty_root() -> Digest {
        Digest(Sha256::digest([]).into())
    }
    fn leaf_hash(data: &[u8]) -> Digest {
        let mut h = Sha256::new();
        h.update([0x00]);
        h.update(data);
        Digest(h.finalize().into())
    }
    fn node_hash(left: &Digest, right: &Digest) -> Digest {
        let mut h = Sha256::new();
        h.update([0x01]);
        h.update(left.0);
        h.update(right.0);
        Digest(h.finalize().into())
    }
}

impl TreeHasher for Blake3Set {
    fn empty_root() -> Digest {
        Digest(*blake3::hash(&[]).as_bytes())
    }
    fn leaf_hash(data: &[u8]) -> Digest {
        let mut h = blake3::Hasher::new();
        h.update(&[0x00]);
        h.update(data);
        Digest(*h.finalize().as_bytes())
    }
    fn node_hash(left: &Digest, right: &Digest) -> Digest {
        let mut buf = [0u8; 65];
        buf[0] = 0x01;
        buf[1..33].copy_from_slice(&left.0);
        buf[33..].copy_from_slice(&right.0);
        Digest(*blake3::hash(&buf).as_bytes())
    }
}

/// The log's leaf hash, `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Digest {
    Sha256Log::leaf_hash(entry)
}

/// The log's node hash, `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    Sha256Log::node_hash(left, right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_roots_are_hash_of_empty_string() {
        assert_eq!(
            Sha256Log::empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            Blake3Set::empty_root().to_hex(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn leaf_and_node_are_domain_separated() {
        let l = Sha256Log::leaf_hash(b"");
        assert_eq!(
            l.to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let b = Blake3Set::leaf_hash(b"x");
        let mut manual = vec![0u8];
        manual.extend_from_slice(b"x");
        assert_eq!(b.0, *blake3::hash(&manual).as_bytes());
        assert_ne!(
            Blake3Set::node_hash(&b, &b),
            Blake3Set::leaf_hash(&[b.0, b.0].concat())
        );
    }
}
