//! The compliance bundle route under load: heavy reads over the configured limit are answered
//! 503 with `Retry-After` (problem type `busy`) instead of queueing without bound; a built bundle
//! is cached and served again without a permit; a cancelled build stops.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    ledger_sized(1, 100, 0)
}

/// `versions` dataset versions of `items` items, an opt-out of a set of `ids` ids (and one of an
/// inline id), and a checkpoint trained on all the versions; the checkpoint's index.
fn ledger_sized(versions: u32, items: u32, ids: u32) -> (Ledger, u64) {
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
    let sign = |body: EntryBody| Entry::sign("test.local/heavy", body, at(0), None, &k).unwrap();
    let submit = |e: Entry| l.submit(e.as_bytes().to_vec()).unwrap().index;
    submit(sign(EntryBody::Publisher(Publisher {
        name: name("acme"),
        key: k.verifying_key(),
    })));
    let mut refs = Vec::new();
    for v in 0..versions {
        let set =
            SortedSet::from_ids((0..items).map(|i| ContentId::of(format!("{v}/{i}").as_bytes())));
        store(&l, &set);
        let version = format!("{}", v + 1);
        let dv = submit(sign(EntryBody::DatasetVersion(DatasetVersion {
            publisher: name("acme"),
            dataset: name("web"),
            version: name(&version),
            manifest_root: set.root(),
            item_count: u64::from(items),
            total_bytes: 0,
            corpus_mode: CorpusMode::File,
            licence: "CC0-1.0".into(),
            previous: None,
            sources: None,
            passages: None,
        })));
        refs.push(DatasetRef {
            publisher: name("acme"),
            dataset: name("web"),
            version: name(&version),
            index: dv,
            manifest_root: set.root(),
        });
    }
    if ids > 0 {
        let set =
            SortedSet::from_ids((0..ids).map(|i| ContentId::of(format!("opt {i}").as_bytes())));
        store(&l, &set);
        submit(sign(EntryBody::OptOut(OptOut {
            ids: Some(OptOutIds::Set {
                root: set.root(),
                size: set.size().0,
            }),
            sites: vec![],
            scope: vec![Scope::TrainAi],
            passages: None,
        })));
    }
    let o = submit(
        Entry::anonymous(
            "test.local/heavy",
            OptOut {
                ids: Some(OptOutIds::Inline(vec![ContentId::of(b"elsewhere")])),
                sites: vec![],
                scope: vec![Scope::TrainAi],
                passages: None,
            },
            at(1),
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
        datasets: refs,
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
            "test.local/heavy",
            OptOut {
                ids: Some(OptOutIds::Inline(vec![ContentId::of(b"later")])),
                sites: vec![],
                scope: vec![Scope::TrainAi],
                passages: None,
            },
            at(9),
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

/// The client goes away mid-build: the request future is dropped, the build sees its flag at the
/// next batch of ids and stops, and its permit comes back long before a whole build would end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_stops_when_the_client_goes() {
    let (l, m) = ledger_sized(8, 20_000, 3_000);
    let full = {
        let t = Instant::now();
        api::compliance::assemble(&l, LeafIndex(m)).unwrap();
        t.elapsed()
    };
    let mut config = api::Config::default();
    config.limits.heavy_reads = 1;
    let state = api::AppState::new(l.clone(), config);
    let router = api::router(state.clone());
    let req = Request::get(format!("/v1/compliance/{m}"))
        .body(Body::empty())
        .unwrap();
    let task = tokio::spawn(router.oneshot(req));
    // Wait until the build has its permit, then go away.
    let t = Instant::now();
    while state.heavy().available() == 1 && t.elapsed() < full {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(state.heavy().available(), 0, "the build started");
    task.abort();
    let gone = Instant::now();
    while state.heavy().available() == 0 && gone.elapsed() < full * 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let back = gone.elapsed();
    eprintln!("permit back {back:?} after the client went; a whole build {full:?}");
    assert_eq!(state.heavy().available(), 1, "the permit came back");
    assert!(
        back < full / 3,
        "the permit came back {back:?} after the client went; a whole build takes {full:?}"
    );
    assert!(
        state.heavy().cache().is_empty(),
        "nothing half-built is cached"
    );
}

/// Entry times near the sequencer's clock, which refuses times more than 10 minutes away.
fn at(offset: u64) -> u64 {
    static BASE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }) + offset
}
