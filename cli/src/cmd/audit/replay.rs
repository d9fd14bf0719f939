//! The sequencer's cross-entry acceptance rules, re-run by the auditor with the ledger's own rule
//! code (`ledger::store::index::apply`: one owner, no second copy of the rules to drift): every
//! entry is replayed, in log order, into an in-memory ledger store's index, exactly as the
//! sequencer indexes a batch. An entry the rules refuse is a breach; like an entry the sequencer
//! refused, it then leaves no trace in the index, so the entries after it are judged against the
//! log as the rules would have kept it.

use ledger::entry::Entry;
use ledger::store::index::{apply, BatchIndex, Prepared, Rejection, RuleContext};
use ledger::store::{Column, Durability, LogStore, MemoryStore, Record, WriteBatch};
use ledger::LeafIndex;

use super::sets::VerifiedSets;
use crate::exit::{Exit, Failure, OrExit};

/// The replayed index.
pub struct Replay {
    store: MemoryStore,
}

impl Replay {
    /// The index as a previous run left it.
    pub fn restore(records: Vec<Record>) -> Result<Self, Failure> {
        let store = MemoryStore::new();
        let mut b = WriteBatch::new();
        for (k, v) in records {
            b.put(Column::Index, k, v);
        }
        store
            .write(b, Durability::Synced)
            .or_exit(Exit::Local, "restoring the replayed index")?;
        Ok(Replay { store })
    }

    /// Every index record, for the state file.
    pub fn records(&self) -> Result<Vec<Record>, Failure> {
        // Every index key starts with a one-byte tag below 0xff (docs/storage.md).
        self.store
            .range(Column::Index, &[], &[0xff], usize::MAX)
            .or_exit(Exit::Local, "reading the replayed index")
    }

    /// Applies the rules to `entry` at `index`; on success its index records are kept.
    /// `Ok(Err(rejection))` is the rules' refusal; `Err` a failure of the in-memory store.
    pub fn check(
        &mut self,
        entry: Entry,
        index: LeafIndex,
        sets: &VerifiedSets<'_>,
        origin: &str,
    ) -> Result<Result<(), Rejection>, Failure> {
        let leaf_hash = entry.leaf_hash();
        let p = Prepared { entry, leaf_hash };
        let mut view = BatchIndex::new(&self.store);
        let verdict = apply_rules(&mut view, sets, origin, &p, index);
        let ops = view
            .into_ops()
            .or_exit(Exit::Local, "reading the replayed index")?;
        if verdict.is_ok() {
            let mut b = WriteBatch::new();
            for (k, v) in ops {
                b.put(Column::Index, k, v);
            }
            self.store
                .write(b, Durability::Synced)
                .or_exit(Exit::Local, "writing the replayed index")?;
        }
        Ok(verdict)
    }
}

/// The one call into the sequencer's rules. `now: None` because the sequencer's clock at
/// acceptance is not something an auditor can know (the time rule is the sequencer's own, at
/// submission), and no cap on opt-out sets because the server's configured cap is not public
/// either; the sets themselves are checked in full (see sets.rs).
fn apply_rules(
    view: &mut BatchIndex<'_>,
    sets: &VerifiedSets<'_>,
    origin: &str,
    p: &Prepared,
    index: LeafIndex,
) -> Result<(), Rejection> {
    let ctx = RuleContext {
        origin,
        now: None,
        max_skew_secs: 0,
        max_optout_set: u64::MAX,
        max_optout_passages: u64::MAX,
    };
    apply(view, sets, &ctx, p, index)
}
