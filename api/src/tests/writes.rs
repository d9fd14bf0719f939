//! The write API: submissions, their refusals, limits.

use axum::http::{header, Method, StatusCode};
use axum::response::IntoResponse as _;
use axum::Router;
use ledger::set::upload::{UploadFormat, UploadRequest};
use ledger::{ContentId, Digest};
use serde_json::Value;
use tower::ServiceExt as _;

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
    let r = upload_set(&h.router, &manifest).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
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
        sources: None,
        passages: None,
    });
    let wrong_count = Entry::sign(LOG, body, now(), None, &k).unwrap();
    post_entry(&h.router, &wrong_count)
        .await
        .assert_problem(422, "set-size-mismatch");

    // The jamming opt-out: anonymous, naming a set (stored or not).
    let o = OptOut {
        ids: Some(OptOutIds::Set {
            root: manifest.root(),
            size: 3,
        }),
        sites: vec![],
        scope: vec![Scope::TrainAi],
        passages: None,
    };
    let jam = Entry::anonymous(LOG, o, now(), None).unwrap();
    post_entry(&h.router, &jam)
        .await
        .assert_problem(422, "anonymous-optout-set");
    // Signed, naming a set that was never uploaded.
    let unstored = OptOut {
        ids: Some(OptOutIds::Set {
            root: set_of(&[b"never"]).root(),
            size: 1,
        }),
        sites: vec![],
        scope: vec![Scope::TrainAi],
        passages: None,
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

/// A request as if from `ip` (the server learns the peer from `ConnectInfo`).
async fn start_upload_from(router: &Router, ip: [u8; 4], request: Vec<u8>) -> Reply {
    use axum::extract::ConnectInfo;
    let mut req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/v1/uploads")
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(request))
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(std::net::SocketAddr::from((ip, 4000))));
    let resp = router.clone().oneshot(req).await.unwrap();
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

fn sized(root: u8, size: u64, k: Option<&ed25519_dalek::SigningKey>) -> Vec<u8> {
    upload_request_for(Digest([root; 32]), size, UploadFormat::Leaves, k)
}

/// Issue 11: uploads were keyed by root, so anyone who knew a root could add a chunk to,
/// commit or abandon another client's upload. Now every step needs the upload id.
#[tokio::test]
async fn hijacked_upload_chunks_commit_and_abandon_are_refused() {
    let h = harness();
    let s = set_of(&[b"a", b"b", b"c"]);
    let root = s.root().to_hex();
    let bytes = leaves_bytes(&s);
    let victim = upload_id(&h.router, upload_request(&s, Some(&key(1)))).await;
    let up = format!("/v1/uploads/{victim}");
    let r = call(
        &h.router,
        Method::POST,
        &format!("{up}/chunks/0"),
        Some("application/octet-stream"),
        bytes[..72].to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // The attacker knows the root. The root-keyed routes are gone.
    let junk = leaves_bytes(&set_of(&[b"zzz"]));
    for (method, path) in [
        (Method::POST, format!("/v1/sets/{root}/chunks/1")),
        (Method::POST, format!("/v1/sets/{root}/commit")),
        (Method::DELETE, format!("/v1/sets/{root}/upload")),
    ] {
        let r = call(
            &h.router,
            method.clone(),
            &path,
            Some("application/octet-stream"),
            junk.clone(),
        )
        .await;
        assert!(
            r.status == StatusCode::NOT_FOUND || r.status == StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {}",
            r.status
        );
    }
    call(
        &h.router,
        Method::PUT,
        &format!("/v1/sets/{root}"),
        Some("application/octet-stream"),
        bytes.clone(),
    )
    .await
    .assert_problem(410, "upload-flow-changed");
    // Guessed ids (including the root itself and a near miss of the real id) find nothing.
    let mut near = victim.clone().into_bytes();
    near[31] = if near[31] == b'0' { b'1' } else { b'0' };
    let near = String::from_utf8(near).unwrap();
    for guess in [root.clone(), near, "0".repeat(32), victim.to_uppercase()] {
        let base = format!("/v1/uploads/{guess}");
        call(
            &h.router,
            Method::POST,
            &format!("{base}/chunks/1"),
            Some("application/octet-stream"),
            junk.clone(),
        )
        .await
        .assert_problem(404, "not-found");
        call(
            &h.router,
            Method::POST,
            &format!("{base}/commit"),
            None,
            vec![],
        )
        .await
        .assert_problem(404, "not-found");
        call(&h.router, Method::DELETE, &base, None, vec![])
            .await
            .assert_problem(404, "not-found");
    }
    // Starting an upload of the same root gives the attacker an upload of their own, which
    // does not touch the victim's.
    let attacker = upload_id(&h.router, upload_request(&s, None)).await;
    assert_ne!(attacker, victim);
    call(
        &h.router,
        Method::DELETE,
        &format!("/v1/uploads/{attacker}"),
        None,
        vec![],
    )
    .await;

    // The victim's upload is intact: it goes on from chunk 1 and commits the right set.
    let r = call(
        &h.router,
        Method::POST,
        &format!("{up}/chunks/1"),
        Some("application/octet-stream"),
        bytes[72..].to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["leaves"], 3);
    let r = call(
        &h.router,
        Method::POST,
        &format!("{up}/commit"),
        None,
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["root"], root);
    assert_eq!(r.json()["size"], 3);
}

/// Issue 11: uploads had no quota. A key gets `per_key` uploads in progress and
/// `leaves_in_flight_per_key` leaves; over either it is told when to retry (429), and a set
/// over `max_set_leaves` is never taken (413).
#[tokio::test]
async fn upload_quota_per_key_is_enforced() {
    let h = harness_with(|c| {
        c.uploads.per_key = 2;
        c.uploads.per_address = 100;
        c.uploads.leaves_in_flight_per_key = 10;
        c.limits.max_set_leaves = 8;
    });
    let (k, other) = (key(1), key(2));
    let a = upload_id(&h.router, sized(1, 4, Some(&k))).await;
    let _b = upload_id(&h.router, sized(2, 4, Some(&k))).await;
    let r = start_upload(&h.router, sized(3, 1, Some(&k))).await;
    r.assert_problem(429, "too-many-uploads");
    let retry: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // Another key is not affected.
    upload_id(&h.router, sized(3, 1, Some(&other))).await;
    // Abandoning one frees its place.
    let r = call(
        &h.router,
        Method::DELETE,
        &format!("/v1/uploads/{a}"),
        None,
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // Leaves in flight: 4 + 7 > 10.
    let r = start_upload(&h.router, sized(4, 7, Some(&k))).await;
    r.assert_problem(429, "upload-quota-exceeded");
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    upload_id(&h.router, sized(4, 6, Some(&k))).await;
    // One set over max_set_leaves: 413, whatever is in flight.
    start_upload(&h.router, sized(5, 9, Some(&other)))
        .await
        .assert_problem(413, "upload-too-large");
}

/// Issue 11: anonymous uploads are small and few per address, and throwaway keys from one
/// address do not multiply the address's quota.
#[tokio::test]
async fn anonymous_upload_quota_is_enforced() {
    let h = harness_with(|c| {
        c.uploads.anonymous_per_address = 2;
        c.uploads.per_address = 3;
    });
    let cap = h_cap();
    let me = [10, 0, 0, 1];
    for root in [1u8, 2] {
        let r = start_upload_from(&h.router, me, sized(root, 10, None)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let r = start_upload_from(&h.router, me, sized(3, 10, None)).await;
    r.assert_problem(429, "too-many-uploads");
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    // Another address may.
    let r = start_upload_from(&h.router, [10, 0, 0, 2], sized(3, 10, None)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // A signed upload from the same address fits under per_address ...
    let r = start_upload_from(&h.router, me, sized(4, 10, Some(&key(1)))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // ... and a throwaway key does not buy more.
    let r = start_upload_from(&h.router, me, sized(5, 10, Some(&key(2)))).await;
    r.assert_problem(429, "too-many-uploads");
    // Anonymous uploads are small: one over the cap is refused outright.
    let r = start_upload_from(&h.router, [10, 0, 0, 3], sized(6, cap + 1, None)).await;
    r.assert_problem(413, "upload-too-large");
    let r = start_upload_from(&h.router, [10, 0, 0, 3], sized(6, cap, None)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

fn h_cap() -> u64 {
    crate::config::UploadLimits::default().anonymous_max_leaves
}

/// Issue 11: an upload request is the uploader's word; one that its signature does not cover,
/// an old one, or one replayed is refused.
#[tokio::test]
async fn upload_request_with_bad_signature_is_refused() {
    let h = harness();
    let k = key(1);
    let good = sized(1, 3, Some(&k));
    let v: Value = serde_json::from_slice(&good).unwrap();
    // Any field changed after signing.
    for (field, new) in [
        ("size", serde_json::json!(4)),
        ("root", serde_json::json!(Digest([2; 32]).to_hex())),
        ("format", serde_json::json!("manifest")),
    ] {
        let mut w = v.clone();
        w[field] = new;
        start_upload(&h.router, serde_json::to_vec(&w).unwrap())
            .await
            .assert_problem(422, "bad-signature");
    }
    // Someone else's key claimed as the signer.
    let mut w = v.clone();
    w["signer"] = serde_json::json!(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        key(2).verifying_key().as_bytes()
    ));
    start_upload(&h.router, serde_json::to_vec(&w).unwrap())
        .await
        .assert_problem(422, "bad-signature");
    // A signature without a signer.
    let mut w = v.clone();
    w.as_object_mut().unwrap().remove("signer");
    start_upload(&h.router, serde_json::to_vec(&w).unwrap())
        .await
        .assert_problem(422, "bad-signature");
    // Signed, but stamped 11 minutes ago.
    let old = UploadRequest::sign(
        Digest([1; 32]),
        3,
        UploadFormat::Leaves,
        crate::uploads::unix_now() - 660,
        &k,
    )
    .unwrap()
    .to_json()
    .unwrap();
    start_upload(&h.router, old)
        .await
        .assert_problem(422, "stale-upload-request");
    // Malformed: 400.
    start_upload(&h.router, b"{\"root\":1}".to_vec())
        .await
        .assert_problem(400, "bad-request");
    // The good one works once; the same bytes again are a replay.
    upload_id(&h.router, good.clone()).await;
    start_upload(&h.router, good)
        .await
        .assert_problem(409, "upload-request-replay");
}

/// An upload nobody finishes does not hold its place for ever: after `idle_secs` without a
/// request it is dropped, its id answers 404 and its quota is free again.
#[tokio::test]
async fn idle_uploads_expire_and_free_their_quota() {
    let h = harness_with(|c| {
        c.uploads.per_key = 1;
        c.uploads.idle_secs = 1;
    });
    let k = key(1);
    let id = upload_id(&h.router, sized(1, 3, Some(&k))).await;
    start_upload(&h.router, sized(2, 3, Some(&k)))
        .await
        .assert_problem(429, "too-many-uploads");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    upload_id(&h.router, sized(2, 3, Some(&k))).await;
    call(
        &h.router,
        Method::POST,
        &format!("/v1/uploads/{id}/chunks/0"),
        Some("application/octet-stream"),
        vec![0; 72],
    )
    .await
    .assert_problem(404, "not-found");
}

/// Starting uploads costs the server (and its replay memory) something: one address may start
/// only `starts_per_minute` (burst `start_burst`), refused ones included.
#[tokio::test]
async fn upload_requests_are_rate_limited_per_address() {
    let h = harness_with(|c| {
        c.uploads.starts_per_minute = 1;
        c.uploads.start_burst = 2;
    });
    let me = [10, 0, 0, 1];
    let r = start_upload_from(&h.router, me, sized(1, 3, Some(&key(1)))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    start_upload_from(&h.router, me, b"{}".to_vec())
        .await
        .assert_problem(400, "bad-request");
    let r = start_upload_from(&h.router, me, sized(2, 3, Some(&key(2)))).await;
    r.assert_problem(429, "upload-rate-limited");
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    let r = start_upload_from(&h.router, [10, 0, 0, 2], sized(2, 3, Some(&key(2)))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

/// A registered publisher's opt-outs escape the per-client opt-out limit, so a stranger could
/// register throwaway names and then opt out without limit. New names are rate-limited per
/// client instead (a key change of an existing name is not a new name).
#[tokio::test]
async fn throwaway_publisher_registrations_are_rate_limited() {
    let h = harness_with(|c| {
        c.limits.publisher_registrations_per_minute = 1;
        c.limits.publisher_registration_burst = 2;
    });
    for (i, n) in ["a1", "a2"].into_iter().enumerate() {
        let r = post_entry(&h.router, &publisher_entry(&key(i as u8 + 1), n)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let size = h.ledger.checkpoint().size().0;
    let r = post_entry(&h.router, &publisher_entry(&key(9), "a3")).await;
    r.assert_problem(429, "rate-limited");
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(h.ledger.checkpoint().size().0, size, "nothing was logged");
}

/// The service decodes each entry itself (once) and submits it typed, so a malformed entry never
/// reaches the sequencer: its refusal must still be the one the sequencer gives the same bytes
/// (status and problem type), or clients would see two contracts for one rule.
#[tokio::test]
async fn malformed_entries_are_refused_exactly_as_the_sequencer_refuses_them() {
    let h = harness_with(|c| c.limits.max_json_body = 1 << 20);
    let mut flipped: Value =
        serde_json::from_slice(publisher_entry(&key(1), "acme").as_bytes()).unwrap();
    let sig = flipped["sig"].as_str().unwrap().to_string();
    let first = if sig.starts_with('A') { 'B' } else { 'A' };
    flipped["sig"] = Value::String(format!("{first}{}", sig.get(1..).unwrap()));
    let cases: Vec<(&str, Value)> = vec![
        (
            "unknown type",
            serde_json::json!({"type": "nonsense", "time": 1}),
        ),
        (
            "missing field",
            serde_json::json!({"type": "optout", "time": 1}),
        ),
        (
            "too large",
            serde_json::json!({"type": "optout", "time": 1, "pad": "x".repeat(70_000)}),
        ),
        ("bad signature", flipped),
    ];
    for (what, v) in cases {
        let bytes = serde_json_canonicalizer::to_vec(&v).unwrap();
        let r = call(
            &h.router,
            Method::POST,
            "/v1/entries",
            Some("application/json"),
            bytes.clone(),
        )
        .await;
        let refused = h.ledger.submit(bytes).expect_err(what);
        let resp = crate::problem::ApiError::from(refused).into_response();
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let sequencer: Value = serde_json::from_slice(&body).unwrap();
        let slug = sequencer["type"]
            .as_str()
            .unwrap()
            .trim_start_matches("urn:prov-ledger:problem:")
            .to_string();
        assert!(status.is_client_error(), "{what}: {status}");
        r.assert_problem(status.as_u16(), &slug);
    }
}
