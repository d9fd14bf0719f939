//! Helpers shared by the store, sequencer and crash tests.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // test helpers: a failure is a test failure

use ed25519_dalek::SigningKey;
use ledger::entry::{
    CorpusMode, DatasetRef, DatasetVersion, Entry, EntryBody, ModelCheckpoint, Name, OptOut,
    OptOutIds, Publisher, Scope,
};
use ledger::ledger::Ledger;
use ledger::note::NoteSigner;
use ledger::set::SortedSet;
use ledger::types::{ContentId, Digest, LeafIndex};

/// The origin of the tests' ledgers, which their entries are bound to.
pub const LOG: &str = "example.org/log";

/// The entries' time: the test process's start, so that the sequencer's clock accepts them and
/// the same helper call gives the same bytes throughout a test.
pub fn now() -> u64 {
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *START.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    })
}

/// A set of `n` ids (distinct for each `seed`), stored in `l`: its root and size, what an entry
/// naming it claims.
pub fn stored_set(l: &Ledger, n: u64, seed: u64) -> (Digest, u64) {
    store(l, &set_of(n, seed))
}

/// A set of `n` ids, distinct for each `seed`.
pub fn set_of(n: u64, seed: u64) -> SortedSet {
    SortedSet::from_ids((0..n).map(|i| ContentId::of(format!("{seed}/{i}").as_bytes())))
}

/// Stores `set` in `l`.
pub fn store(l: &Ledger, set: &SortedSet) -> (Digest, u64) {
    let mut w = l.set_writer();
    for leaf in set.leaves() {
        w.push(leaf).unwrap();
    }
    let info = w.commit(&set.root()).unwrap();
    (info.root, info.size.0)
}

/// The weights set every [`model_checkpoint`] names; [`memory_ledger`] stores it.
pub fn weights() -> SortedSet {
    set_of(3, 0x7e16)
}

/// A fixed signer, so tests are deterministic.
pub fn signer(origin: &str) -> NoteSigner {
    NoteSigner::new(origin, SigningKey::from_bytes(&[42u8; 32])).unwrap()
}

/// A distinct, valid entry for each `i`: an anonymous opt-out of one id, for [`LOG`].
pub fn entry(i: u64) -> Vec<u8> {
    entry_for(LOG, i)
}

/// [`entry`] for the log named `log`.
pub fn entry_for(log: &str, i: u64) -> Vec<u8> {
    let o = OptOut {
        ids: Some(OptOutIds::Inline(vec![ContentId::of(&i.to_be_bytes())])),
        sites: vec![],
        scope: vec![Scope::TrainAi],
        passages: None,
    };
    Entry::anonymous(log, o, now(), Some(i))
        .unwrap()
        .as_bytes()
        .to_vec()
}

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

/// `name` bound to `new`, signed by `by`.
pub fn publisher(n: &str, new: &SigningKey, by: &SigningKey) -> Vec<u8> {
    let body = EntryBody::Publisher(Publisher {
        name: name(n),
        key: new.verifying_key(),
    });
    Entry::sign(LOG, body, now(), None, by)
        .unwrap()
        .as_bytes()
        .to_vec()
}

/// `publisher/dataset@version` with manifest `root` of `count` items, signed by `by`, padded
/// with a licence string of `pad` bytes.
pub fn dataset_version(
    p: &str,
    d: &str,
    v: &str,
    root: Digest,
    count: u64,
    by: &SigningKey,
    pad: usize,
) -> Vec<u8> {
    let body = EntryBody::DatasetVersion(DatasetVersion {
        publisher: name(p),
        dataset: name(d),
        version: name(v),
        manifest_root: root,
        item_count: count,
        total_bytes: count * 1000,
        corpus_mode: CorpusMode::File,
        licence: "CC-BY-4.0".to_string() + &" OR MIT".repeat(pad / 7),
        previous: None,
        sources: None,
        passages: None,
    });
    Entry::sign(LOG, body, now(), None, by)
        .unwrap()
        .as_bytes()
        .to_vec()
}

/// A checkpoint of `publisher/model@ckpt` trained on `datasets` (key, index, root).
pub fn model_checkpoint(
    p: &str,
    model: &str,
    ckpt: &str,
    datasets: &[(&str, &str, &str, LeafIndex, Digest)],
    horizon: u64,
    by: &SigningKey,
) -> Vec<u8> {
    let body = EntryBody::ModelCheckpoint(ModelCheckpoint {
        publisher: name(p),
        model: name(model),
        checkpoint: name(ckpt),
        weights_root: weights().root(),
        weights_count: weights().size().0,
        datasets: datasets
            .iter()
            .map(|(p, d, v, i, r)| DatasetRef {
                publisher: name(p),
                dataset: name(d),
                version: name(v),
                index: *i,
                manifest_root: *r,
            })
            .collect(),
        optout_horizon: horizon,
    });
    Entry::sign(LOG, body, now(), None, by)
        .unwrap()
        .as_bytes()
        .to_vec()
}

/// A new ledger named [`LOG`] on the in-memory store, signed by [`signer`], with the
/// [`weights`] set stored.
pub fn memory_ledger() -> Ledger {
    let l = bare_memory_ledger();
    store(&l, &weights());
    l
}

/// A new ledger named [`LOG`] on the in-memory store, with no sets.
pub fn bare_memory_ledger() -> Ledger {
    Ledger::create_with_store(
        std::sync::Arc::new(ledger::store::MemoryStore::new()),
        signer(LOG),
        Default::default(),
    )
    .unwrap()
}

/// `entries` as a log of exactly them (index = position), its checkpoint signed by `log_key`:
/// the signed note, and each entry with its tlog-proof against it, as a compliance bundle
/// carries them.
pub fn logged_entries(
    entries: &[ledger::entry::Entry],
    log_key: &NoteSigner,
) -> (String, Vec<ledger::compliance::BundleEntry>) {
    use ledger::{merkle, Sha256Log};
    let hashes: Vec<Digest> = entries
        .iter()
        .map(ledger::entry::Entry::leaf_hash)
        .collect();
    let cp = ledger::checkpoint::Checkpoint {
        origin: log_key.name().to_string(),
        size: ledger::TreeSize(hashes.len() as u64),
        root: merkle::root::<Sha256Log>(&hashes),
    };
    let note = cp.sign(log_key).unwrap();
    let logged = (0..entries.len())
        .map(|i| {
            let proof = ledger::tlog_proof::TlogProof {
                extra: None,
                index: LeafIndex(i as u64),
                proof: merkle::inclusion_proof::<Sha256Log>(&hashes, LeafIndex(i as u64)).unwrap(),
                checkpoint: note.clone(),
            };
            ledger::compliance::BundleEntry::new(&entries[i], &proof)
        })
        .collect();
    (note, logged)
}

/// `n` leaves whose metadata (the bytes `meta_of(i)`, digested into the leaf) goes with them,
/// sorted by content id: what a set upload with metadata sends.
pub fn leaves_with(
    n: u64,
    meta_of: impl Fn(u64) -> Vec<u8>,
) -> Vec<(ledger::set::SetLeaf, Vec<u8>)> {
    let mut v: Vec<(ledger::set::SetLeaf, Vec<u8>)> = (0..n)
        .map(|i| {
            let meta = meta_of(i);
            let leaf = ledger::set::SetLeaf {
                cid: ContentId::of(&i.to_be_bytes()),
                size: 10 + i,
                meta: Digest(*blake3::hash(&meta).as_bytes()),
            };
            (leaf, meta)
        })
        .collect();
    v.sort_by_key(|(l, _)| l.cid);
    v
}
