//! Leaf metadata and the statistics derived from it at commit (issue 13). The rules are the
//! verifier's (`verifier::set::meta`, `verifier::set::stats`), re-exported here under the paths
//! the service has always used; the set store (`sets.rs`) runs them at upload and commit.

pub use verifier::set::meta::{LeafMeta, MetaError, SourceEntry, NONE};
pub use verifier::set::stats::{
    Counts, SetStats, StatsBuilder, Tally, MAX_HOSTS, MAX_VALUES, OTHER,
};
