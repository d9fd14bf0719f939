//! The write API: submissions, their refusals, limits.

use axum::http::{header, Method, StatusCode};
use ledger::ContentId;
use serde_json::Value;

use super::*;

#[tokio::test]
async fn publisher_registers_and_replay_is_refused() {
    let h = harness();
    let k = key(1);
    let e = publisher_entry(&k, "acme");
    let r = call(
        &h.router,
        Method::POST,
        "/v1/publishers",
        Some("application/json"),
        e.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    assert_valid("Receipt", &v);
    assert_eq!(v["index"], 0);
    assert_eq!(r.headers[header::LOCATION], "/v1/entries/0");
    let cp = ledger::Checkpoint::verify(v["checkpoint"].as_str().unwrap(), &vkey(&h)).unwrap();
    assert!(cp.size.0 >= 1);
    assert_eq!(v["leaf_hash"], e.leaf_hash().to_hex());

    post_entry(&h.router, &e)
        .await
        .assert_problem(409, "replay");

    // The same name from another key.
    let other = publisher_entry(&key(2), "acme");
    post_entry(&h.router, &other)
        .await
        .assert_problem(409, "name-taken");

    let r = get(&h.router, "/v1/publishers/acme").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_valid("PublisherView", &r.json());
    get(&h.router, "/v1/publishers/nobody")
        .await
        .assert_problem(404, "not-found");
}

#[tokio::test]
async fn publishers_endpoint_refuses_other_entry_types() {
    let h = harness();
    let e = optout_entry(&[ContentId::of(b"x")], 1);
    call(
        &h.router,
        Method::POST,
        "/v1/publishers",
        Some("application/json"),
        e.as_bytes().to_vec(),
    )
    .await
    .assert_problem(400, "bad-request");
}

#[tokio::test]
async fn bad_input_is_a_4xx_problem_never_a_500() {
    let h = harness();
    let post = |body: &'static [u8]| {
        let router = h.router.clone();
        async move {
            call(
                &router,
                Method::POST,
                "/v1/entries",
                Some("application/json"),
                body.to_vec(),
            )
            .await
        }
    };
    post(b"{not json").await.assert_problem(400, "bad-request");
    post(b"[1,2]").await.assert_problem(400, "bad-request");
    post(b"{\"type\":\"nonsense\",\"time\":1}")
        .await
        .assert_problem(422, "invalid-entry");

    // A bad signature: flip the signature of a valid entry.
    let e = publisher_entry(&key(1), "acme");
    let mut v: Value = serde_json::from_slice(e.as_bytes()).unwrap();
    let sig = v["sig"].as_str().unwrap().to_string();
    let first = if sig.starts_with('A') { 'B' } else { 'A' };
    let flipped = format!("{first}{}", sig.get(1..).unwrap());
    v["sig"] = Value::String(flipped);
    let r = call(
        &h.router,
        Method::POST,
        "/v1/entries",
        Some("application/json"),
        serde_json::to_vec(&v).unwrap(),
    )
    .await;
    r.assert_problem(422, "bad-signature");

    // Unknown publisher.
    let set = set_of(&[b"a"]);
    post_entry(&h.router, &dataset_entry(&key(3), "ghost", "d", "1", &set))
        .await
        .assert_problem(422, "unknown-publisher");

    // Bad paths and queries.
    get(&h.router, "/v1/entries/abc")
        .await
        .assert_problem(400, "bad-request");
    get(&h.router, "/v1/entries/99")
        .await
        .assert_problem(404, "not-found");
    get(&h.router, "/v1/content/blake3:XYZ")
        .await
        .assert_problem(400, "bad-request");
    get(&h.router, "/v1/proofs/consistency?old=0")
        .await
        .assert_problem(400, "bad-request");
    get(&h.router, "/v1/proofs/consistency?old=x")
        .await
        .assert_problem(400, "bad-request");
    get(&h.router, "/v1/no/such/route")
        .await
        .assert_problem(404, "not-found");
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
    let r = call(
        &h.router,
        Method::POST,
        "/v1/entries",
        Some("application/json"),
        pretty,
    )
    .await;
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
    call(
        &h.router,
        Method::POST,
        "/v1/entries",
        Some("application/json"),
        body,
    )
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

/// The acceptance rules of issue 11 through the router: each attack is refused with a 422 and
/// its own problem type, and nothing is logged.
#[tokio::test]
async fn forged_unbound_and_jamming_entries_are_refused_with_their_own_type() {
    let h = harness();
    let k = key(1);
    let r = post_entry(&h.router, &publisher_entry(&k, "acme")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let size = || h.ledger.checkpoint().size().0;
    let logged = size();

    // A dataset version naming a root that was never uploaded.
    let manifest = set_of(&[b"doc-a", b"doc-b", b"doc-c"]);
    post_entry(&h.router, &dataset_entry(&k, "acme", "web", "1", &manifest))
        .await
        .assert_problem(422, "set-not-stored");
    let put = |set: &SortedSet| {
        let router = h.router.clone();
        let uri = format!("/v1/sets/{}", set.root().to_hex());
        let body = leaves_bytes(set);
        async move {
            let r = call(
                &router,
                Method::PUT,
                &uri,
                Some("application/octet-stream"),
                body,
            )
            .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        }
    };
    put(&manifest).await;
    // ... and one claiming another size than the stored set's.
    let body = EntryBody::DatasetVersion(DatasetVersion {
        publisher: name("acme"),
        dataset: name("web"),
        version: name("1"),
        manifest_root: manifest.root(),
        item_count: 4,
        total_bytes: 0,
        corpus_mode: CorpusMode::File,
        licence: "MIT".into(),
        previous: None,
    });
    let wrong_count = Entry::sign(LOG, body, now(), None, &k).unwrap();
    post_entry(&h.router, &wrong_count)
        .await
        .assert_problem(422, "set-size-mismatch");

    // The jamming opt-out: anonymous, naming a set (stored or not).
    let o = OptOut {
        ids: OptOutIds::Set {
            root: manifest.root(),
            size: 3,
        },
        scope: vec![Scope::TrainAi],
    };
    let jam = Entry::anonymous(LOG, o, now(), None).unwrap();
    post_entry(&h.router, &jam)
        .await
        .assert_problem(422, "anonymous-optout-set");
    // Signed, naming a set that was never uploaded.
    let unstored = OptOut {
        ids: OptOutIds::Set {
            root: set_of(&[b"never"]).root(),
            size: 1,
        },
        scope: vec![Scope::TrainAi],
    };
    let e = Entry::sign(LOG, EntryBody::OptOut(unstored), now(), None, &key(5)).unwrap();
    post_entry(&h.router, &e)
        .await
        .assert_problem(422, "set-not-stored");

    // Unbound, for another log, or at another time.
    let body = || {
        EntryBody::Publisher(Publisher {
            name: name("other"),
            key: key(6).verifying_key(),
        })
    };
    let v1 = Entry::sign_v1(body(), now(), None, &key(6)).unwrap();
    post_entry(&h.router, &v1)
        .await
        .assert_problem(422, "unbound-entry");
    let elsewhere = Entry::sign("elsewhere.example/log", body(), now(), None, &key(6)).unwrap();
    post_entry(&h.router, &elsewhere)
        .await
        .assert_problem(422, "wrong-log");
    let ancient = Entry::sign(LOG, body(), 0, None, &key(6)).unwrap();
    post_entry(&h.router, &ancient)
        .await
        .assert_problem(422, "time-skew");
    assert_eq!(size(), logged, "nothing was logged");

    // A horizon that goes backwards.
    let v = post_entry(&h.router, &dataset_entry(&k, "acme", "web", "1", &manifest)).await;
    assert_eq!(v.status, StatusCode::CREATED, "{}", v.text());
    let v = v.json()["index"].as_u64().unwrap();
    let trained = [("acme", "web", "1", v, manifest.root())];
    let first = checkpoint_entry(&k, "acme", "m", &trained, v + 1);
    assert_eq!(
        post_entry(&h.router, &first).await.status,
        StatusCode::CREATED
    );
    post_entry(&h.router, &checkpoint_entry(&k, "acme", "m", &trained, v))
        .await
        .assert_problem(422, "horizon-backwards");
}
