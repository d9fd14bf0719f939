//! The leaves of a logged set with their metadata, verified before an export uses them: the
//! leaves hash to the root the (verified) entry commits, there are as many as it says, and each
//! leaf's served metadata hashes to the leaf's `meta`. Nothing the server says is exported
//! otherwise.

use ledger::set::SetLeaf;
use ledger::Digest;
use serde_json::Value;
use verifier::set::meta::check_digest;
use verifier::set::SetRootBuilder;

use crate::client::Client;
use crate::exit::{Exit, Failure, OrExit};
use crate::logread;

/// One leaf and its verified metadata (`None` for a leaf without).
#[derive(Clone, Debug)]
pub struct VerifiedLeaf {
    pub leaf: SetLeaf,
    pub metadata: Option<Value>,
}

impl VerifiedLeaf {
    /// The source entries of the metadata (`{"sources":[entry, ...]}`), empty without.
    pub fn sources(&self) -> &[Value] {
        self.metadata
            .as_ref()
            .and_then(|m| m.get("sources"))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }
}

/// Every leaf of set `root` (of `count` leaves), in order, verified; `label` names the set in
/// errors.
pub fn verified_leaves(
    client: &Client,
    root: &Digest,
    count: u64,
    label: &str,
) -> Result<Vec<VerifiedLeaf>, Failure> {
    let mut builder = SetRootBuilder::new();
    let mut out = Vec::new();
    let found = logread::set_leaves_with_meta(client, root, |item| {
        let (leaf, n) = (&item.leaf, builder.size().0);
        builder.push(leaf).or_exit(
            Exit::Invalid,
            format!("{label}: the leaves served are not the committed set"),
        )?;
        let metadata = match item.metadata() {
            Some(m) => {
                check_digest(m, &leaf.meta)
                    .or_exit(Exit::Invalid, format!("{label}: leaf {n} ({})", leaf.cid))?;
                Some(m.clone())
            }
            None if leaf.meta != Digest::default() => {
                return Err(Failure::msg(
                    Exit::Server,
                    format!(
                        "{label}: leaf {n} ({}) commits metadata the server does not serve",
                        leaf.cid
                    ),
                ))
            }
            None => None,
        };
        out.push(VerifiedLeaf {
            leaf: *leaf,
            metadata,
        });
        Ok(true)
    })?;
    if !found {
        return Err(Failure::msg(
            Exit::Server,
            format!(
                "{label}: the server does not have the set {}",
                root.to_hex()
            ),
        ));
    }
    if builder.root() != *root || builder.size().0 != count {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "{label}: the leaves served hash to {} ({} leaves), not the committed {} ({count} leaves)",
                builder.root(),
                builder.size(),
                root,
            ),
        ));
    }
    Ok(out)
}
