//! Router tests: the whole service through `oneshot`, over an in-memory ledger, with every JSON
//! body validated against the generated OpenAPI document.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use ed25519_dalek::SigningKey;
use ledger::entry::{
    CorpusMode, DatasetRef, DatasetVersion, Entry, EntryBody, ModelCheckpoint, Name, OptOut,
    OptOutIds, Publisher, Scope,
};
use ledger::ledger::Ledger;
use ledger::note::NoteSigner;
use ledger::sequencer::SequencerConfig;
use ledger::set::upload::{UploadFormat, UploadRequest};
use ledger::set::{SetLeaf, SortedSet};
use ledger::store::MemoryStore;
use ledger::{ContentId, Digest, LeafIndex};
use serde_json::Value;
use tower::ServiceExt as _;
use utoipa::OpenApi as _;

use crate::config::Config;
use crate::state::AppState;

pub(crate) struct Harness {
    pub router: Router,
    pub ledger: Ledger,
}

/// The harness ledger's origin, which the test entries are bound to.
pub(crate) const LOG: &str = "test.local/log";

/// The entries' time: the test process's start, within the sequencer's allowed skew, and the
/// same for every entry so that a helper called twice gives the same bytes.
pub(crate) fn now() -> u64 {
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *START.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    })
}

/// The weights set every [`checkpoint_entry`] names; the harness stores it.
pub(crate) fn weights() -> SortedSet {
    set_of(&[b"weights 1", b"weights 2", b"weights 3"])
}

pub(crate) fn harness_with(tweak: impl FnOnce(&mut Config)) -> Harness {
    let signer = NoteSigner::new(LOG, SigningKey::from_bytes(&[7u8; 32])).unwrap();
    let ledger = Ledger::create_with_store(
        Arc::new(MemoryStore::new()),
        signer,
        SequencerConfig {
            max_delay: std::time::Duration::from_millis(1),
            ..SequencerConfig::default()
        },
    )
    .unwrap();
    let mut w = ledger.set_writer();
    for leaf in weights().leaves() {
        w.push(leaf).unwrap();
    }
    w.commit(&weights().root()).unwrap();
    let mut config = Config::default();
    tweak(&mut config);
    Harness {
        router: crate::router(AppState::new(ledger.clone(), config)),
        ledger,
    }
}

pub(crate) fn harness() -> Harness {
    harness_with(|_| {})
}

pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    /// Asserts a problem body with `status` and `slug`, valid against the Problem schema.
    pub fn assert_problem(&self, status: u16, slug: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.content_type(), crate::problem::PROBLEM_JSON);
        let v = self.json();
        assert_valid("Problem", &v);
        assert_eq!(v["status"], status);
        assert_eq!(v["type"], format!("urn:prov-ledger:problem:{slug}"), "{v}");
    }
}

pub(crate) async fn call(
    router: &Router,
    method: Method,
    uri: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    let resp = router
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub(crate) async fn get(router: &Router, uri: &str) -> Reply {
    call(router, Method::GET, uri, None, Vec::new()).await
}

pub(crate) async fn post_entry(router: &Router, entry: &Entry) -> Reply {
    call(
        router,
        Method::POST,
        "/v1/entries",
        Some("application/json"),
        entry.as_bytes().to_vec(),
    )
    .await
}

/// Validates `value` against `#/components/schemas/<schema>` of the generated document.
pub(crate) fn assert_valid(schema: &str, value: &Value) {
    let mut root = serde_json::to_value(crate::openapi::ApiDoc::openapi()).unwrap();
    assert!(
        root.pointer(&format!("/components/schemas/{schema}"))
            .is_some(),
        "no schema {schema}"
    );
    root["$ref"] = Value::String(format!("#/components/schemas/{schema}"));
    let v = jsonschema::draft202012::new(&root).unwrap();
    let errors: Vec<String> = v
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{schema}: {errors:#?}\n{value:#}");
}

pub(crate) fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub(crate) fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

pub(crate) fn publisher_entry(k: &SigningKey, n: &str) -> Entry {
    let body = EntryBody::Publisher(Publisher {
        name: name(n),
        key: k.verifying_key(),
    });
    Entry::sign(LOG, body, now(), None, k).unwrap()
}

pub(crate) fn set_of(items: &[&[u8]]) -> SortedSet {
    SortedSet::from_ids(items.iter().map(|b| ContentId::of(b)))
}

pub(crate) fn dataset_entry(k: &SigningKey, p: &str, d: &str, v: &str, set: &SortedSet) -> Entry {
    let body = EntryBody::DatasetVersion(DatasetVersion {
        publisher: name(p),
        dataset: name(d),
        version: name(v),
        manifest_root: set.root(),
        item_count: set.size().0,
        total_bytes: 0,
        corpus_mode: CorpusMode::File,
        licence: "CC-BY-4.0".into(),
        previous: None,
        sources: None,
        passages: None,
    });
    Entry::sign(LOG, body, now(), None, k).unwrap()
}

pub(crate) fn optout_entry(ids: &[ContentId], nonce: u64) -> Entry {
    let mut ids = ids.to_vec();
    ids.sort();
    let o = OptOut {
        ids: Some(OptOutIds::Inline(ids)),
        sites: vec![],
        scope: vec![Scope::TrainAi],
        passages: None,
    };
    Entry::anonymous(LOG, o, now(), Some(nonce)).unwrap()
}

pub(crate) fn checkpoint_entry(
    k: &SigningKey,
    p: &str,
    model: &str,
    datasets: &[(&str, &str, &str, u64, Digest)],
    horizon: u64,
) -> Entry {
    let body = EntryBody::ModelCheckpoint(ModelCheckpoint {
        publisher: name(p),
        model: name(model),
        checkpoint: name("step-1000"),
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
    Entry::sign(LOG, body, now(), None, k).unwrap()
}

/// An upload request for `set` (72-byte leaves), signed by `key` or anonymous, stamped now,
/// with a random nonce.
pub(crate) fn upload_request(set: &SortedSet, key: Option<&SigningKey>) -> Vec<u8> {
    upload_request_for(set.root(), set.size().0, UploadFormat::Leaves, key)
}

pub(crate) fn upload_request_for(
    root: Digest,
    size: u64,
    format: UploadFormat,
    key: Option<&SigningKey>,
) -> Vec<u8> {
    let now = crate::uploads::unix_now();
    let nonce = rand::random::<u64>() >> 11;
    let r = UploadRequest::anonymous(root, size, format, now)
        .unwrap()
        .with_nonce(nonce)
        .unwrap();
    let r = match key {
        Some(k) => r.signed(k).unwrap(),
        None => r,
    };
    r.to_json().unwrap()
}

/// `POST /v1/uploads` with a request's bytes.
pub(crate) async fn start_upload(router: &Router, request: Vec<u8>) -> Reply {
    call(
        router,
        Method::POST,
        "/v1/uploads",
        Some("application/json"),
        request,
    )
    .await
}

/// Starts an upload and returns its id; panics unless it started.
pub(crate) async fn upload_id(router: &Router, request: Vec<u8>) -> String {
    let r = start_upload(router, request).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    assert_valid("UploadCreated", &v);
    v["upload_id"].as_str().unwrap().to_string()
}

/// Uploads `set` whole (signed by a fixed key): `POST /v1/uploads`, then `PUT` the leaves.
pub(crate) async fn upload_set(router: &Router, set: &SortedSet) -> Reply {
    let id = upload_id(router, upload_request(set, Some(&key(200)))).await;
    call(
        router,
        Method::PUT,
        &format!("/v1/uploads/{id}"),
        Some("application/octet-stream"),
        leaves_bytes(set),
    )
    .await
}

pub(crate) fn leaves_bytes(set: &SortedSet) -> Vec<u8> {
    set.leaves().iter().flat_map(SetLeaf::to_bytes).collect()
}

pub(crate) fn vkey(h: &Harness) -> ledger::VerifierKey {
    h.ledger.verifier_key().clone()
}

mod reads;
mod writes;
