//! The compliance bundle route under load: heavy reads over the configured limit are answered
//! 503 with `Retry-After` (problem type `busy`) instead of queueing without bound; a built bundle
//! is cached and served again without a permit; a cancelled build stops.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use ed25519_dalek::SigningKey;
use ledger::entry::{
    CorpusMode, DatasetRef, DatasetVersion, Entry, EntryBody, ModelCheckpoint, Name, OptOut,
    OptOutIds, Publisher, Scope,
};
use ledger::ledger::Ledger;
use ledger::note::NoteSigner;
use ledger::sequencer::SequencerConfig;
use ledger::set::SortedSet;
use ledger::store::MemoryStore;
use ledger::{ContentId, LeafIndex};
use tower::ServiceExt as _;

fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

fn store(l: &Ledger, set: &SortedSet) {
    let mut w = l.set_writer();
    for leaf in set.leaves() {
        w.push(leaf).unwrap();
    }
    w.commit(&set.root()).unwrap();
}

/// A ledger with one dataset version, one opt-out and a checkpoint; the checkpoint's index.
fn ledger() -> (Ledger, u64) {
    let signer = NoteSigner::new("test.local/heavy", SigningKey::from_bytes(&[7; 32])).unwrap();
    let l = Ledger::create_with_store(
        Arc::new(MemoryStore::new()),
        signer,
        SequencerConfig {
            max_delay: std::time::Duration::from_millis(1),
            ..SequencerConfig::default()
        },
    )
    .unwrap();
    let k = SigningKey::from_bytes(&[3; 32]);
    let sign = |body: EntryBody| Entry::sign(body, 1_700_000_000, None, &k).unwrap();
    let submit = |e: Entry| l.submit(e.as_bytes().to_vec()).unwrap().index;
    submit(sign(EntryBody::Publisher(Publisher {
        name: name("acme"),
        key: k.verifying_key(),
    })));
    let set = SortedSet::from_ids((0..100u32).map(|i| ContentId::of(&i.to_be_bytes())));
    store(&l, &set);
    let dv = submit(sign(EntryBody::DatasetVersion(DatasetVersion {
        publisher: name("acme"),
        dataset: name("web"),
        version: name("1"),
        manifest_root: set.root(),
        item_count: 100,
        total_bytes: 0,
        corpus_mode: CorpusMode::File,
        licence: "CC0-1.0".into(),
        previous: None,
    })));
    let o = submit(
        Entry::anonymous(
            OptOut {
                ids: OptOutIds::Inline(vec![ContentId::of(b"elsewhere")]),
                scope: vec![Scope::TrainAi],
            },
            1_700_000_001,
            None,
        )
        .unwrap(),
    );
    let weights = SortedSet::from_ids([ContentId::of(b"w")]);
    store(&l, &weights);
    let m = submit(sign(EntryBody::ModelCheckpoint(ModelCheckpoint {
        publisher: name("acme"),
        model: name("lm"),
        checkpoint: name("c1"),
        weights_root: weights.root(),
        weights_count: 1,
        datasets: vec![DatasetRef {
            publisher: name("acme"),
            dataset: name("web"),
            version: name("1"),
            index: dv,
            manifest_root: set.root(),
        }],
        optout_horizon: o.0 + 1,
    })));
    (l, m.0)
}

async fn get(router: &axum::Router, path: &str) -> axum::response::Response {
    router
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn heavy_reads_over_the_limit_get_503() {
    let (l, m) = ledger();
    let mut config = api::Config::default();
    config.limits.heavy_reads = 2;
    let state = api::AppState::new(l.clone(), config);
    let router = api::router(state.clone());
    let path = format!("/v1/compliance/{m}");

    // Two heavy reads in flight (their permits held here): the third is refused at once.
    let a = state.heavy().try_permit().unwrap();
    let b = state.heavy().try_permit().unwrap();
    let r = get(&router, &path).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry: u64 = r.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert!(r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/problem+json"));
    let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    let p: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(p["type"], "urn:prov-ledger:problem:busy");
    assert_eq!(p["status"], 503);

    // One finishes: the bundle is built, and cached.
    drop(a);
    let r = get(&router, &path).await;
    assert_eq!(r.status(), StatusCode::OK);
    let first = axum::body::to_bytes(r.into_body(), 1 << 24).await.unwrap();
    assert_eq!(state.heavy().cache().len(), 1);
    assert!(state.heavy().cache().built_at(m).is_some());

    // Served from the cache without a permit, byte for byte, even with every permit taken and
    // the log grown since (the cached bundle's proofs lead to a checkpoint the log signed).
    let c = state.heavy().try_permit().unwrap();
    l.submit(
        Entry::anonymous(
            OptOut {
                ids: OptOutIds::Inline(vec![ContentId::of(b"later")]),
                scope: vec![Scope::TrainAi],
            },
            1_700_000_009,
            None,
        )
        .unwrap()
        .as_bytes()
        .to_vec(),
    )
    .unwrap();
    let r = get(&router, &path).await;
    assert_eq!(r.status(), StatusCode::OK);
    let again = axum::body::to_bytes(r.into_body(), 1 << 24).await.unwrap();
    assert_eq!(first, again);
    let bundle: ledger::compliance::ComplianceBundle = serde_json::from_slice(&again).unwrap();
    assert!(ledger::compliance::verify_bundle(&bundle, l.verifier_key()).is_ok());
    drop((b, c));
}

/// The build checks its cancellation flag (set when the request future is dropped) and stops.
#[test]
fn a_cancelled_build_stops() {
    let (l, m) = ledger();
    let cancelled = AtomicBool::new(true);
    let r = api::compliance::assemble_with(&l, LeafIndex(m), &cancelled);
    assert!(matches!(r, Err(api::ApiError::Unavailable(_))), "{r:?}");
    let r = api::compliance::assemble_with(&l, LeafIndex(m), &AtomicBool::new(false));
    assert!(r.is_ok());
}
