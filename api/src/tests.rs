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
use ledger::set::{SetLeaf, SortedSet};
use ledger::store::MemoryStore;
use ledger::{ContentId, Digest, LeafIndex, TlogProof};
use serde_json::Value;
use tower::ServiceExt as _;
use utoipa::OpenApi as _;

use crate::config::Config;
use crate::state::AppState;

pub(crate) struct Harness {
    pub router: Router,
    pub ledger: Ledger,
}

pub(crate) fn harness_with(tweak: impl FnOnce(&mut Config)) -> Harness {
    let signer = NoteSigner::new("test.local/log", SigningKey::from_bytes(&[7u8; 32])).unwrap();
    let ledger = Ledger::create_with_store(
        Arc::new(MemoryStore::new()),
        signer,
        SequencerConfig {
            max_delay: std::time::Duration::from_millis(1),
            ..SequencerConfig::default()
        },
    )
    .unwrap();
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
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body))
        })
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
        assert_eq!(self.status.as_u16(), status, "{}", String::from_utf8_lossy(&self.body));
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
        root.pointer(&format!("/components/schemas/{schema}")).is_some(),
        "no schema {schema}"
    );
    root["$ref"] = Value::String(format!("#/components/schemas/{schema}"));
    let v = jsonschema::draft202012::new(&root).unwrap();
    let errors: Vec<String> = v.iter_errors(value).map(|e| format!("{e} at {}", e.instance_path)).collect();
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
    Entry::sign(body, 1_700_000_000, None, k).unwrap()
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
    });
    Entry::sign(body, 1_700_000_001, None, k).unwrap()
}

pub(crate) fn optout_entry(ids: &[ContentId], nonce: u64) -> Entry {
    let mut ids = ids.to_vec();
    ids.sort();
    let o = OptOut {
        ids: OptOutIds::Inline(ids),
        scope: vec![Scope::TrainAi],
    };
    Entry::anonymous(o, 1_700_000_002, Some(nonce)).unwrap()
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
        weights_root: Digest([9; 32]),
        weights_count: 3,
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
    Entry::sign(body, 1_700_000_003, None, k).unwrap()
}

pub(crate) fn leaves_bytes(set: &SortedSet) -> Vec<u8> {
    set.leaves().iter().flat_map(SetLeaf::to_bytes).collect()
}

pub(crate) fn vkey(h: &Harness) -> ledger::VerifierKey {
    h.ledger.verifier_key().clone()
}

#[tokio::test]
async fn publisher_registers_and_replay_is_refused() {
    let h = harness();
    let k = key(1);
    let e = publisher_entry(&k, "acme");
    let r = call(&h.router, Method::POST, "/v1/publishers", Some("application/json"), e.as_bytes().to_vec()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    assert_valid("Receipt", &v);
    assert_eq!(v["index"], 0);
    assert_eq!(r.headers[header::LOCATION], "/v1/entries/0");
    let cp = ledger::Checkpoint::verify(v["checkpoint"].as_str().unwrap(), &vkey(&h)).unwrap();
    assert!(cp.size.0 >= 1);
    assert_eq!(v["leaf_hash"], e.leaf_hash().to_hex());

    post_entry(&h.router, &e).await.assert_problem(409, "replay");

    // The same name from another key.
    let other = publisher_entry(&key(2), "acme");
    post_entry(&h.router, &other).await.assert_problem(409, "name-taken");

    let r = get(&h.router, "/v1/publishers/acme").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_valid("PublisherView", &r.json());
    get(&h.router, "/v1/publishers/nobody").await.assert_problem(404, "not-found");
}

#[tokio::test]
async fn publishers_endpoint_refuses_other_entry_types() {
    let h = harness();
    let e = optout_entry(&[ContentId::of(b"x")], 1);
    call(&h.router, Method::POST, "/v1/publishers", Some("application/json"), e.as_bytes().to_vec())
        .await
        .assert_problem(400, "bad-request");
}

#[tokio::test]
async fn bad_input_is_a_4xx_problem_never_a_500() {
    let h = harness();
    let post = |body: &'static [u8]| {
        let router = h.router.clone();
        async move {
            call(&router, Method::POST, "/v1/entries", Some("application/json"), body.to_vec()).await
        }
    };
    post(b"{not json").await.assert_problem(400, "bad-request");
    post(b"[1,2]").await.assert_problem(400, "bad-request");
    post(b"{\"type\":\"nonsense\",\"time\":1}").await.assert_problem(422, "invalid-entry");

    // A bad signature: flip the signature of a valid entry.
    let e = publisher_entry(&key(1), "acme");
    let mut v: Value = serde_json::from_slice(e.as_bytes()).unwrap();
    let sig = v["sig"].as_str().unwrap().to_string();
    let flipped = if sig.starts_with('A') { format!("B{}", &sig[1..]) } else { format!("A{}", &sig[1..]) };
    v["sig"] = Value::String(flipped);
    let r = call(&h.router, Method::POST, "/v1/entries", Some("application/json"), serde_json::to_vec(&v).unwrap()).await;
    r.assert_problem(422, "bad-signature");

    // Unknown publisher.
    let set = set_of(&[b"a"]);
    post_entry(&h.router, &dataset_entry(&key(3), "ghost", "d", "1", &set))
        .await
        .assert_problem(422, "unknown-publisher");

    // Bad paths and queries.
    get(&h.router, "/v1/entries/abc").await.assert_problem(400, "bad-request");
    get(&h.router, "/v1/entries/99").await.assert_problem(404, "not-found");
    get(&h.router, "/v1/content/blake3:XYZ").await.assert_problem(400, "bad-request");
    get(&h.router, "/v1/proofs/consistency?old=0").await.assert_problem(400, "bad-request");
    get(&h.router, "/v1/proofs/consistency?old=x").await.assert_problem(400, "bad-request");
    get(&h.router, "/v1/no/such/route").await.assert_problem(404, "not-found");
    let r = call(&h.router, Method::DELETE, "/checkpoint", None, Vec::new()).await;
    r.assert_problem(405, "method-not-allowed");
}

#[tokio::test]
async fn canonicalises_pretty_json_before_submitting() {
    let h = harness();
    let e = publisher_entry(&key(1), "acme");
    let v: Value = serde_json::from_slice(e.as_bytes()).unwrap();
    let pretty = serde_json::to_vec_pretty(&v).unwrap();
    assert_ne!(pretty, e.as_bytes());
    let r = call(&h.router, Method::POST, "/v1/entries", Some("application/json"), pretty).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let got = get(&h.router, "/v1/entries/0").await.json();
    assert_valid("EntryView", &got);
    assert_eq!(got["canonical"].as_str().unwrap().as_bytes(), e.as_bytes());
    assert_eq!(got["leaf_hash"], e.leaf_hash().to_hex());
}

#[tokio::test]
async fn oversized_body_is_413_problem() {
    let h = harness_with(|c| c.limits.max_json_body = 1024);
    let body = vec![b' '; 4096];
    call(&h.router, Method::POST, "/v1/entries", Some("application/json"), body)
        .await
        .assert_problem(413, "payload-too-large");
}

#[tokio::test]
async fn anonymous_optouts_are_rate_limited_per_client() {
    let h = harness_with(|c| {
        c.limits.anonymous_optout_burst = 2;
        c.limits.anonymous_optouts_per_minute = 1;
    });
    for n in 0..2 {
        let r = post_entry(&h.router, &optout_entry(&[ContentId::of(b"x")], n)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let r = post_entry(&h.router, &optout_entry(&[ContentId::of(b"x")], 9)).await;
    r.assert_problem(429, "rate-limited");
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    // Signed entries are not limited by it.
    let r = post_entry(&h.router, &publisher_entry(&key(1), "acme")).await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[tokio::test]
async fn allow_list_keeps_other_publishers_out() {
    let allowed = key(1);
    let h = harness_with(|c| {
        c.publisher_allowlist = Some(vec![hex::encode(allowed.verifying_key().as_bytes())]);
    });
    let r = post_entry(&h.router, &publisher_entry(&allowed, "acme")).await;
    assert_eq!(r.status, StatusCode::CREATED);
    post_entry(&h.router, &publisher_entry(&key(2), "other"))
        .await
        .assert_problem(403, "forbidden");
    // Opt-outs stay open to anyone.
    let r = post_entry(&h.router, &optout_entry(&[ContentId::of(b"x")], 1)).await;
    assert_eq!(r.status, StatusCode::CREATED);
}
