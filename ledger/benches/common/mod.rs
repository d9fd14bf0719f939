//! What the store benches share (`store.rs`, `scale.rs`).

use ledger::checkpoint::Checkpoint;
use ledger::hash::leaf_hash;
use ledger::note::NoteSigner;
use ledger::sequencer::{sign_checkpoint, stage_append};
use ledger::store::{index, Durability, LogStore};
use ledger::tree::RightEdge;
use ledger::types::{Digest, TreeSize};

/// A log appended to as the sequencer appends accepted entries: the durable right edge and the
/// last signed checkpoint.
pub struct Appender {
    pub edge: RightEdge,
    pub last: Checkpoint,
}

impl Appender {
    /// An empty log.
    pub fn new(signer: &NoteSigner) -> Self {
        Appender {
            edge: RightEdge::new(),
            last: Checkpoint {
                origin: signer.name().into(),
                size: TreeSize(0),
                root: Digest::default(),
            },
        }
    }

    /// One batch as the sequencer writes it (`stage_append`, with the replay records its rules
    /// add for entries like these), then the checked, signed checkpoint (`sign_checkpoint`): two
    /// synced writes.
    pub fn append(&mut self, store: &dyn LogStore, signer: &NoteSigner, entries: &[Vec<u8>]) {
        let size0 = self.edge.size().0;
        let index_ops = entries.iter().enumerate().map(|(k, e)| {
            let idx = size0 + k as u64;
            (index::replay_key(&leaf_hash(e)), idx.to_be_bytes().to_vec())
        });
        let staged = stage_append(&self.edge, entries.iter().map(Vec::as_slice), index_ops);
        store.write(staged.wb, Durability::Synced).expect("write");
        self.edge = staged.edge;
        let (cp, _, cb) = sign_checkpoint(store, signer, &self.last, &self.edge).expect("sign");
        store.write(cb, Durability::Synced).expect("write");
        self.last = cp;
    }
}

/// This process's CPU time (user + system, all threads) in seconds, from `/proc/self/stat`: on
/// a shared machine, figures per CPU-second do not depend on what else runs. 0 elsewhere.
pub fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat(5); `rest` starts at field 3.
    (ticks(11) + ticks(12)) / 100.0
}
