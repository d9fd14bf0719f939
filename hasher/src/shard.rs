//! Sharded hashing (docs/format-manifest.md, "Sharded runs"; docs/scale.md has the batch
//! recipes): `prov hash --shard K/N` hashes the files whose path falls in shard K of N, and
//! `prov manifest merge` ([`crate::merge`]) turns the N shard manifests into the manifest one
//! unsharded run writes.
//!
//! Which shard a file belongs to depends only on its path relative to the corpus path given on
//! the command line (what the metadata's `path` records), never on the machine, the walk order
//! or the file's contents, so any batch system can reproduce the split:
//!
//! ```text
//! shard(path) = 1 + (u64 big-endian of the first 8 bytes of BLAKE3("prov-shard/v1\n" || path)) mod N
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::HashError;

/// The domain-separation prefix of the shard hash.
pub const SHARD_DOMAIN: &[u8] = b"prov-shard/v1\n";

/// The most shards a run can be split into.
pub const MAX_SHARDS: u32 = 65536;

/// Shard `k` of `n` (1 <= k <= n <= [`MAX_SHARDS`]), written `K/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shard {
    k: u32,
    n: u32,
}

impl Shard {
    /// Shard `k` of `n`; `None` unless 1 <= k <= n <= [`MAX_SHARDS`].
    pub fn new(k: u32, n: u32) -> Option<Self> {
        (1..=n).contains(&k).then_some(())?;
        (n <= MAX_SHARDS).then_some(Shard { k, n })
    }

    /// The 1-based index of this shard.
    pub fn k(&self) -> u32 {
        self.k
    }

    /// The number of shards.
    pub fn n(&self) -> u32 {
        self.n
    }

    /// Whether the file at `rel` (relative to the corpus path, `/`-separated) is in this shard.
    pub fn contains(&self, rel: &str) -> bool {
        shard_of(rel, self.n) == self.k
    }
}

/// The shard (1..=n) of the file at `rel`, a path relative to the corpus path as given,
/// `/`-separated, UTF-8 (a file given directly: its file name). `n` must be at least 1.
pub fn shard_of(rel: &str, n: u32) -> u32 {
    let mut h = blake3::Hasher::new();
    h.update(SHARD_DOMAIN);
    h.update(rel.as_bytes());
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d.as_bytes()[..8]);
    let x = u64::from_be_bytes(first) % u64::from(n.max(1));
    // x < n <= u32::MAX, so the conversion cannot fail.
    1 + u32::try_from(x).unwrap_or(0)
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl FromStr for Shard {
    type Err = HashError;

    /// `K/N` in decimal, without signs, spaces or leading zeros.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            HashError::Config(format!(
                "shard {s:?}: expected K/N with 1 <= K <= N <= {MAX_SHARDS}"
            ))
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let num = |t: &str| -> Option<u32> {
            let canonical = !t.is_empty()
                && t.bytes().all(|b| b.is_ascii_digit())
                && (t == "0" || !t.starts_with('0'));
            canonical.then(|| t.parse().ok()).flatten()
        };
        let (k, n) = (num(k).ok_or_else(bad)?, num(n).ok_or_else(bad)?);
        Shard::new(k, n).ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_strings_parse_only_in_range_and_canonical() {
        assert_eq!("1/1".parse::<Shard>().unwrap(), Shard::new(1, 1).unwrap());
        assert_eq!("3/4".parse::<Shard>().unwrap().to_string(), "3/4");
        assert_eq!(
            "65536/65536".parse::<Shard>().unwrap().n(),
            65536,
            "the largest N"
        );
        for bad in [
            "", "0/4", "5/4", "4", "/4", "1/", "01/4", "1/04", "+1/4", " 1/4", "1/65537", "1/0",
            "a/b", "1/4/4", "-1/4",
        ] {
            assert!(bad.parse::<Shard>().is_err(), "{bad:?} parsed");
        }
    }

    /// The documented rule, computed by hand: a batch system that reimplements it from
    /// docs/format-manifest.md gets these numbers.
    #[test]
    fn shard_of_is_the_documented_rule() {
        let d = blake3::hash(b"prov-shard/v1\ndir/a.txt");
        let x = u64::from_be_bytes(d.as_bytes()[..8].try_into().unwrap());
        assert_eq!(u64::from(shard_of("dir/a.txt", 7)), 1 + x % 7);
        assert_eq!(shard_of("anything", 1), 1);
        // The worked example of docs/format-manifest.md, "Sharded runs".
        assert_eq!(x, 12389878989248021267);
        assert_eq!(
            (shard_of("dir/a.txt", 4), shard_of("dir/a.txt", 1024)),
            (4, 788)
        );
        // Spread: 4000 paths over 4 shards, none empty or lopsided.
        let mut counts = [0u32; 4];
        for i in 0..4000 {
            counts[shard_of(&format!("f/{i}.jsonl"), 4) as usize - 1] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }
}
