//! Signed entries and sets for tests: deterministic keys (from a seed byte), the four entry
//! types of DESIGN.md, bound to [`ORIGIN`] (the test server's log) and stamped with the test
//! process's start time (the sequencer refuses times far from its clock).

use ed25519_dalek::SigningKey;
use ledger::entry::{
    CorpusMode, DatasetRef, DatasetVersion, Entry, EntryBody, ModelCheckpoint, Name, OptOut,
    OptOutIds, Publisher, Scope,
};
use ledger::set::{SetLeaf, SortedSet};
use ledger::{ContentId, Digest, LeafIndex};

/// The origin of [`crate::server::TestServer`]'s logs, which the entries here are bound to.
pub const ORIGIN: &str = "test.prov-ledger.local/log";

/// The entries' time: when the test process first asked, so that a fixture built twice is the
/// same bytes.
pub fn now() -> u64 {
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *START.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

/// The weights set every [`model_checkpoint`] names: upload it before logging one.
pub fn weights() -> SortedSet {
    set_of(&[b"weights: config.json", b"weights: model.safetensors"])
}

/// A key from a seed byte: the same seed gives the same key.
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn name(s: &str) -> Name {
    Name::new(s).expect("valid name")
}

pub fn publisher(k: &SigningKey, n: &str) -> Entry {
    let body = EntryBody::Publisher(Publisher {
        name: name(n),
        key: k.verifying_key(),
    });
    Entry::sign(ORIGIN, body, now(), None, k).expect("sign")
}

/// A set of the content ids of `items`.
pub fn set_of(items: &[&[u8]]) -> SortedSet {
    SortedSet::from_ids(items.iter().map(|b| ContentId::of(b)))
}

/// The set's leaves as the 72-byte concatenation a `leaves` upload (`PUT /v1/uploads/{id}`) takes.
pub fn leaves_bytes(set: &SortedSet) -> Vec<u8> {
    set.leaves().iter().flat_map(SetLeaf::to_bytes).collect()
}

pub fn dataset_version(
    k: &SigningKey,
    publisher: &str,
    dataset: &str,
    version: &str,
    set: &SortedSet,
    previous: Option<&str>,
) -> Entry {
    let body = EntryBody::DatasetVersion(DatasetVersion {
        publisher: name(publisher),
        dataset: name(dataset),
        version: name(version),
        manifest_root: set.root(),
        item_count: set.size().0,
        total_bytes: 0,
        corpus_mode: CorpusMode::File,
        licence: "CC-BY-4.0".into(),
        previous: previous.map(name),
        sources: None,
        passages: None,
    });
    Entry::sign(ORIGIN, body, now(), None, k).expect("sign")
}

/// An anonymous `train-ai` opt-out of `ids`; `nonce` keeps equal opt-outs distinct.
pub fn optout(ids: &[ContentId], nonce: u64) -> Entry {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    let o = OptOut {
        ids: Some(OptOutIds::Inline(ids)),
        sites: vec![],
        scope: vec![Scope::TrainAi],
        passages: None,
    };
    Entry::anonymous(ORIGIN, o, now(), Some(nonce)).expect("opt-out")
}

/// A dataset version a checkpoint names: (publisher, dataset, version, entry index, root).
pub type DatasetSpec<'a> = (&'a str, &'a str, &'a str, u64, Digest);

pub fn model_checkpoint(
    k: &SigningKey,
    publisher: &str,
    model: &str,
    datasets: &[DatasetSpec<'_>],
    horizon: u64,
) -> Entry {
    let body = EntryBody::ModelCheckpoint(ModelCheckpoint {
        publisher: name(publisher),
        model: name(model),
        checkpoint: name("final"),
        weights_root: weights().root(),
        weights_count: weights().size().0,
        datasets: datasets
            .iter()
            .map(|(p, d, v, i, r)| DatasetRef {
                publisher: name(p),
                dataset: name(d),
                version: name(v),
                index: LeafIndex(*i),
                manifest_root: *r,
            })
            .collect(),
        optout_horizon: horizon,
    });
    Entry::sign(ORIGIN, body, now(), None, k).expect("sign")
}
