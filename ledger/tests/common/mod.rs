//! Helpers shared by the store, sequencer and crash tests.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // test helpers: a failure is a test failure

use ed25519_dalek::SigningKey;
use ledger::entry::{
    CorpusMode, DatasetRef, DatasetVersion, Entry, EntryBody, ModelCheckpoint, Name, OptOut,
    OptOutIds, Publisher, Scope,
};
use ledger::note::NoteSigner;
use ledger::types::{ContentId, Digest, LeafIndex};

pub const TIME: u64 = 1_780_000_000;

/// A fixed signer, so tests are deterministic.
pub fn signer(origin: &str) -> NoteSigner {
    NoteSigner::new(origin, SigningKey::from_bytes(&[42u8; 32])).unwrap()
}

/// A distinct, valid entry for each `i`: an anonymous opt-out of one id.
pub fn entry(i: u64) -> Vec<u8> {
    let o = OptOut {
        ids: OptOutIds::Inline(vec![ContentId::of(&i.to_be_bytes())]),
        scope: vec![Scope::TrainAi],
    };
    Entry::anonymous(o, TIME, Some(i))
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
    Entry::sign(body, TIME, None, by)
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
    });
    Entry::sign(body, TIME, None, by)
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
        weights_root: Digest([7; 32]),
        weights_count: 3,
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
    Entry::sign(body, TIME, None, by)
        .unwrap()
        .as_bytes()
        .to_vec()
}

/// A new ledger on the in-memory store, signed by [`signer`].
pub fn memory_ledger() -> ledger::ledger::Ledger {
    ledger::ledger::Ledger::create_with_store(
        std::sync::Arc::new(ledger::store::MemoryStore::new()),
        signer("example.org/log"),
        Default::default(),
    )
    .unwrap()
}
