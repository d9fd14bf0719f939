//! The source tree a dataset version commits, recomputed from the metadata its leaves commit:
//! the host figures of a summary are then the ones the committed source tree proves.

use std::collections::BTreeMap;

use verifier::entry::DatasetVersion;
use verifier::range::{RangeLeaf, RangeRootBuilder};
use verifier::source::SourceKey;
use verifier::ContentId;

use crate::cmd::report::figures::SetRefJson;
use crate::exit::{Exit, Failure, OrExit};

/// Recomputes the source tree of `source_leaves` ((source key, cid) in order) and checks it
/// against the one `dv` commits, if it commits one.
pub fn check_source_tree(
    label: &str,
    dv: &DatasetVersion,
    source_leaves: &BTreeMap<(SourceKey, [u8; 32]), u64>,
) -> Result<Option<SetRefJson>, Failure> {
    let Some(want) = &dv.sources else {
        return Ok(None);
    };
    let mut b = RangeRootBuilder::new();
    for (key, cid) in source_leaves.keys() {
        b.push(&RangeLeaf::source(key, &ContentId(*cid)))
            .or_exit(Exit::Invalid, format!("{label}: source tree"))?;
    }
    if b.root() != want.root || b.size().0 != want.size {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "{label}: the metadata's sources make a tree of root {} ({} leaves), the entry commits {} ({} leaves)",
                b.root(),
                b.size(),
                want.root,
                want.size
            ),
        ));
    }
    Ok(Some(SetRefJson {
        root: want.root.to_hex(),
        size: want.size,
    }))
}
