//! The read path: tiles, proofs, sets, datasets, content, opt-outs, models, compliance.

use axum::http::{header, Method, StatusCode};
use ledger::compliance::{verify_bundle, ComplianceBundle, Verdict};
use ledger::set::SetMembershipProof;
use ledger::tile::TileHashReader;
use ledger::{ContentId, LeafIndex, TlogProof, TreeSize};

use super::*;

/// Two publishers, a dataset with two versions (v2 without the opted-out document), one opt-out,
/// a compliant checkpoint (trained on v2) and a violating one (trained on v1).
struct World {
    h: Harness,
    v1: SortedSet,
    v2: SortedSet,
    compliant: u64,
    violating: u64,
}

async fn world() -> World {
    let h = harness();
    let (pa, pb) = (key(1), key(2));
    for (k, n) in [(&pa, "acme"), (&pb, "lab")] {
        assert_eq!(
            post_entry(&h.router, &publisher_entry(k, n)).await.status,
            StatusCode::CREATED
        );
    }
    let v1 = set_of(&[b"doc-a", b"doc-b", b"doc-c", b"secret"]);
    let v2 = set_of(&[b"doc-a", b"doc-b", b"doc-c"]);
    for s in [&v1, &v2] {
        let r = upload_set(&h.router, s).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        assert_valid("SetView", &r.json());
    }
    let i1 = post_entry(&h.router, &dataset_entry(&pa, "acme", "web", "1", &v1))
        .await
        .json()["index"]
        .as_u64()
        .unwrap();
    let i2 = post_entry(&h.router, &dataset_entry(&pa, "acme", "web", "2", &v2))
        .await
        .json()["index"]
        .as_u64()
        .unwrap();
    let opt = post_entry(&h.router, &optout_entry(&[ContentId::of(b"secret")], 1)).await;
    assert_eq!(opt.status, StatusCode::CREATED);
    let horizon = opt.json()["index"].as_u64().unwrap() + 1;
    let good = checkpoint_entry(
        &pb,
        "lab",
        "m",
        &[("acme", "web", "2", i2, v2.root())],
        horizon,
    );
    let compliant = post_entry(&h.router, &good).await.json()["index"]
        .as_u64()
        .unwrap();
    let bad = checkpoint_entry(
        &pb,
        "lab",
        "m2",
        &[("acme", "web", "1", i1, v1.root())],
        horizon,
    );
    let violating = post_entry(&h.router, &bad).await.json()["index"]
        .as_u64()
        .unwrap();
    World {
        h,
        v1,
        v2,
        compliant,
        violating,
    }
}

#[tokio::test]
async fn tiles_are_exact_and_cacheable() {
    let w = world().await;
    let r = get(&w.h.router, "/checkpoint").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type(), "text/plain; charset=utf-8");
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-cache");
    let cp = ledger::Checkpoint::verify(&r.text(), &vkey(&w.h)).unwrap();
    let size = cp.size.0;
    assert!(size >= 7);

    // Rebuild the root from the tiles alone, as an independent client would.
    let mut reader = TileHashReader::new();
    for t in ledger::tile::tiles_for_size(TreeSize(size)) {
        let r = get(&w.h.router, &format!("/{}", t.path())).await;
        assert_eq!(r.status, StatusCode::OK, "{}", t.path());
        assert_eq!(r.content_type(), "application/octet-stream");
        assert_eq!(r.headers[header::CACHE_CONTROL], crate::tiles::IMMUTABLE);
        reader.insert(t, &r.body).unwrap();
    }
    assert_eq!(
        ledger::tree::tree_hash(TreeSize(size), &reader).unwrap(),
        cp.root
    );

    // Entry bundle: the entries, length-prefixed, whose hashes are the level-0 tile.
    let r = get(&w.h.router, &format!("/tile/entries/000.p/{size}")).await;
    assert_eq!(r.status, StatusCode::OK);
    let entries = ledger::tile::decode_entry_bundle(&r.body).unwrap();
    assert_eq!(entries.len() as u64, size);

    // The JSON inclusion proof agrees with the one computed from tiles.
    let p = get(
        &w.h.router,
        &format!("/v1/entries/3/inclusion?tree_size={size}"),
    )
    .await
    .json();
    assert_valid("InclusionProof", &p);
    let from_tiles = ledger::tree::inclusion_proof(TreeSize(size), LeafIndex(3), &reader).unwrap();
    let hex: Vec<String> = from_tiles.iter().map(|d| d.to_hex()).collect();
    assert_eq!(p["hashes"], serde_json::json!(hex));

    get(&w.h.router, "/tile/0/000.p/200")
        .await
        .assert_problem(404, "not-found");
    get(&w.h.router, "/tile/0/0")
        .await
        .assert_problem(400, "bad-request");
    get(&w.h.router, "/tile/99/000")
        .await
        .assert_problem(400, "bad-request");
}

#[tokio::test]
async fn inclusion_and_consistency_proofs_verify() {
    let w = world().await;
    let size = w.h.ledger.checkpoint().size().0;
    // tlog-proof text, by Accept and by path.
    let entry = w.h.ledger.entry(LeafIndex(2)).unwrap().unwrap();
    let r = call(
        &w.h.router,
        Method::GET,
        "/v1/entries/2/inclusion.tlog-proof",
        None,
        vec![],
    )
    .await;
    assert_eq!(r.content_type(), "text/plain; charset=utf-8");
    let proof = TlogProof::parse(&r.text()).unwrap();
    proof.verify(&vkey(&w.h), &entry).unwrap();
    let mut req = axum::http::Request::builder().uri("/v1/entries/2/inclusion");
    req = req.header(header::ACCEPT, "text/plain");
    let resp =
        w.h.router
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
    let text = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    TlogProof::parse(std::str::from_utf8(&text).unwrap())
        .unwrap()
        .verify(&vkey(&w.h), &entry)
        .unwrap();
    // Against a size with no signed checkpoint there is no tlog-proof.
    let unsigned = (1..size).find(|s| w.h.ledger.checkpoint_at(TreeSize(*s)).unwrap().is_none());
    if let Some(s) = unsigned {
        get(
            &w.h.router,
            &format!("/v1/entries/0/inclusion.tlog-proof?tree_size={s}"),
        )
        .await
        .assert_problem(404, "not-found");
    }

    let r = get(
        &w.h.router,
        &format!("/v1/proofs/consistency?old=2&new={size}"),
    )
    .await;
    let v = r.json();
    assert_valid("ConsistencyProof", &v);
    let hashes: Vec<ledger::Digest> = v["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| ledger::Digest::from_hex(h.as_str().unwrap()).unwrap())
        .collect();
    let old_root = ledger::store::log::tree_hash(&**w.h.ledger.store(), TreeSize(2)).unwrap();
    let new_root = w.h.ledger.checkpoint().checkpoint.root;
    ledger::verify_consistency::<ledger::Sha256Log>(
        TreeSize(2),
        TreeSize(size),
        &old_root,
        &new_root,
        &hashes,
    )
    .unwrap();
    get(
        &w.h.router,
        &format!("/v1/proofs/consistency?old=1&new={}", size + 5),
    )
    .await
    .assert_problem(404, "not-found");
}

#[tokio::test]
async fn sets_are_checked_before_they_are_stored() {
    let h = harness();
    let s = set_of(&[b"a", b"b", b"c"]);
    let uri = format!("/v1/sets/{}", s.root().to_hex());
    let put = |id: String, ct: &'static str, bytes: Vec<u8>| {
        let router = h.router.clone();
        async move {
            call(
                &router,
                Method::PUT,
                &format!("/v1/uploads/{id}"),
                Some(ct),
                bytes,
            )
            .await
        }
    };
    let signed = |root: Digest| upload_request_for(root, 3, UploadFormat::Leaves, Some(&key(9)));
    // Unsorted leaves.
    let mut bytes = leaves_bytes(&s);
    bytes.rotate_left(72);
    let id = upload_id(&h.router, signed(s.root())).await;
    put(id.clone(), "application/octet-stream", bytes)
        .await
        .assert_problem(422, "invalid-set");
    // The failed upload ended with its request.
    put(id, "application/octet-stream", leaves_bytes(&s))
        .await
        .assert_problem(404, "not-found");
    // A partial leaf.
    let mut bytes = leaves_bytes(&s);
    bytes.pop();
    let id = upload_id(&h.router, signed(s.root())).await;
    put(id, "application/octet-stream", bytes)
        .await
        .assert_problem(400, "bad-request");
    // Claimed root that is not theirs.
    let id = upload_id(&h.router, signed(Digest([0xab; 32]))).await;
    put(id, "application/octet-stream", leaves_bytes(&s))
        .await
        .assert_problem(422, "root-mismatch");
    // A body in another format than declared.
    let id = upload_id(&h.router, signed(s.root())).await;
    put(id.clone(), "text/csv", leaves_bytes(&s))
        .await
        .assert_problem(415, "unsupported-media-type");
    put(id, "application/x-ndjson", leaves_bytes(&s))
        .await
        .assert_problem(415, "unsupported-media-type");
    // More or fewer leaves than declared.
    let four = set_of(&[b"a", b"b", b"c", b"d"]);
    let id = upload_id(&h.router, signed(four.root())).await;
    put(id, "application/octet-stream", leaves_bytes(&four))
        .await
        .assert_problem(413, "upload-too-large");
    let two = set_of(&[b"a", b"b"]);
    let id = upload_id(&h.router, signed(two.root())).await;
    put(id, "application/octet-stream", leaves_bytes(&two))
        .await
        .assert_problem(422, "size-mismatch");
    get(&h.router, &uri).await.assert_problem(404, "not-found");
    // The root-keyed upload is retired.
    call(
        &h.router,
        Method::PUT,
        &uri,
        Some("application/octet-stream"),
        leaves_bytes(&s),
    )
    .await
    .assert_problem(410, "upload-flow-changed");

    // A manifest, in two chunks split mid-line.
    let mut manifest = format!(
        "{{\"format\":\"prov-manifest/v1\",\"root\":\"{}\"}}\n",
        s.root().to_hex()
    );
    for l in s.leaves() {
        manifest.push_str(&format!(
            "{{\"leaf\":\"{}\",\"meta\":null}}\n",
            hex::encode(l.to_bytes())
        ));
    }
    let (a, b) = manifest.as_bytes().split_at(manifest.len() / 2);
    let id = upload_id(
        &h.router,
        upload_request_for(s.root(), 3, UploadFormat::Manifest, None),
    )
    .await;
    let up = format!("/v1/uploads/{id}");
    let r = call(
        &h.router,
        Method::POST,
        &format!("{up}/chunks/0"),
        Some("application/x-ndjson"),
        a.to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_valid("ChunkReceipt", &r.json());
    call(
        &h.router,
        Method::POST,
        &format!("{up}/chunks/5"),
        Some("application/x-ndjson"),
        b.to_vec(),
    )
    .await
    .assert_problem(409, "chunk-out-of-order");
    let r = call(
        &h.router,
        Method::POST,
        &format!("{up}/chunks/1"),
        Some("application/x-ndjson"),
        b.to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = call(
        &h.router,
        Method::POST,
        &format!("{up}/commit"),
        None,
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_valid("SetView", &r.json());
    assert_eq!(r.json()["size"], 3);
    call(
        &h.router,
        Method::POST,
        &format!("{up}/commit"),
        None,
        vec![],
    )
    .await
    .assert_problem(404, "not-found");

    // Stored: info, leaves (paged), proofs.
    let r = get(&h.router, &format!("{uri}/leaves?limit=2"))
        .await
        .json();
    assert_valid("LeafPage", &r);
    assert_eq!(r["items"].as_array().unwrap().len(), 2);
    assert_eq!(r["next"], 2);
    let absent = ContentId::of(b"zzz");
    let r = get(&h.router, &format!("{uri}/proof/{absent}"))
        .await
        .json();
    assert_valid("SetMembershipProofJson", &r);
    let p: SetMembershipProof = serde_json::from_value(r).unwrap();
    assert_eq!(
        p.verify(&absent, &s.root(), s.size()).unwrap(),
        ledger::set::Membership::Excluded
    );
    let present = ContentId::of(b"b");
    let p: SetMembershipProof = serde_json::from_value(
        get(&h.router, &format!("{uri}/proof/{present}"))
            .await
            .json(),
    )
    .unwrap();
    assert_eq!(
        p.verify(&present, &s.root(), s.size()).unwrap(),
        ledger::set::Membership::Included
    );
}

#[tokio::test]
async fn datasets_content_optouts_and_models_are_listed() {
    let w = world().await;
    let r = get(&w.h.router, "/v1/datasets?limit=1").await.json();
    assert_valid("DatasetPage", &r);
    assert_eq!(r["items"][0]["label"], "acme/web@1");
    let next = r["next"].as_str().unwrap().to_string();
    let r = get(&w.h.router, &format!("/v1/datasets?limit=1&cursor={next}"))
        .await
        .json();
    assert_eq!(r["items"][0]["label"], "acme/web@2");
    assert!(r["next"].is_null());
    let r = get(&w.h.router, "/v1/datasets/acme/web").await.json();
    assert_eq!(r["items"].as_array().unwrap().len(), 2);
    let r = get(&w.h.router, "/v1/datasets/acme/web/2").await.json();
    assert_valid("DatasetVersionView", &r);
    assert_eq!(r["manifest_root"], w.v2.root().to_hex());
    assert_eq!(r["set_stored"], true);

    let secret = ContentId::of(b"secret");
    let r = get(
        &w.h.router,
        &format!("/v1/datasets/acme/web/2/proof/{secret}"),
    )
    .await
    .json();
    assert_valid("DatasetProof", &r);
    assert_eq!(r["included"], false);
    let r = get(&w.h.router, &format!("/v1/content/{secret}"))
        .await
        .json();
    assert_valid("ContentView", &r);
    assert_eq!(r["dataset_versions"].as_array().unwrap().len(), 1);
    assert_eq!(r["dataset_versions"][0]["dataset"]["label"], "acme/web@1");
    assert_eq!(r["checkpoints"].as_array().unwrap().len(), 1);
    assert_eq!(r["checkpoints"][0]["index"], w.violating);
    let p: SetMembershipProof =
        serde_json::from_value(r["dataset_versions"][0]["proof"].clone()).unwrap();
    assert_eq!(
        p.verify(&secret, &w.v1.root(), w.v1.size()).unwrap(),
        ledger::set::Membership::Included
    );

    let r = get(&w.h.router, "/v1/optouts?limit=10").await.json();
    assert_valid("EntryPage", &r);
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    assert_eq!(r["items"][0]["type"], "optout");

    let r = get(&w.h.router, "/v1/models/lab/m/checkpoints")
        .await
        .json();
    assert_valid("CheckpointPage", &r);
    assert_eq!(r["items"][0]["index"], w.compliant);
    assert_eq!(r["items"][0]["datasets"][0], "acme/web@2");
}

#[tokio::test]
async fn publishers_and_models_are_paged() {
    let w = world().await;
    let r = get(&w.h.router, "/v1/publishers?limit=1").await.json();
    assert_valid("PublisherPage", &r);
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    // Index order: names are length-prefixed, so shorter names come first.
    assert_eq!(r["items"][0]["name"], "lab");
    assert_eq!(r["items"][0]["index"], 1);
    let next = r["next"].as_str().unwrap().to_string();
    let r = get(
        &w.h.router,
        &format!("/v1/publishers?limit=1&cursor={next}"),
    )
    .await
    .json();
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    assert_eq!(r["items"][0]["name"], "acme");
    assert_eq!(r["items"][0]["index"], 0);
    assert!(r["next"].is_null());
    let r = get(&w.h.router, "/v1/publishers").await.json();
    let names: Vec<&str> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lab", "acme"]);
    assert!(r["next"].is_null());
    let single = get(&w.h.router, "/v1/publishers/lab").await.json();
    assert_eq!(r["items"][0]["key"], single["key"]);
    get(&w.h.router, "/v1/publishers?cursor=zz")
        .await
        .assert_problem(400, "bad-request");

    let r = get(&w.h.router, "/v1/models?limit=1").await.json();
    assert_valid("ModelPage", &r);
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    assert_eq!(r["items"][0]["publisher"], "lab");
    assert_eq!(r["items"][0]["model"], "m");
    assert_eq!(r["items"][0]["checkpoints"], 1);
    assert_eq!(r["items"][0]["latest"], w.compliant);
    let next = r["next"].as_str().unwrap().to_string();
    let r = get(&w.h.router, &format!("/v1/models?limit=1&cursor={next}"))
        .await
        .json();
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    assert_eq!(r["items"][0]["model"], "m2");
    assert_eq!(r["items"][0]["latest"], w.violating);
    assert!(r["next"].is_null());
    let r = get(&w.h.router, "/v1/models").await.json();
    assert_eq!(r["items"].as_array().unwrap().len(), 2);
    assert!(r["next"].is_null());
    get(&w.h.router, "/v1/models?cursor=00")
        .await
        .assert_problem(400, "bad-request");
}

#[tokio::test]
async fn compliance_bundles_verify_offline() {
    let w = world().await;
    let r = get(&w.h.router, &format!("/v1/compliance/{}", w.compliant)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_valid("ComplianceBundleJson", &v);
    let b: ComplianceBundle = serde_json::from_value(v).unwrap();
    assert!(matches!(
        verify_bundle(&b, &vkey(&w.h)),
        Ok(Verdict::Compliant)
    ));

    let b: ComplianceBundle = serde_json::from_value(
        get(&w.h.router, &format!("/v1/compliance/{}", w.violating))
            .await
            .json(),
    )
    .unwrap();
    match verify_bundle(&b, &vkey(&w.h)) {
        Ok(Verdict::Violated { violations, .. }) => {
            assert_eq!(violations.len(), 1);
            assert_eq!(violations[0].cid, ContentId::of(b"secret"));
            assert_eq!(violations[0].dataset, "acme/web@1");
        }
        other => panic!("expected a violation, got {other:?}"),
    }
    get(&w.h.router, "/v1/compliance/0")
        .await
        .assert_problem(404, "not-found");
    get(&w.h.router, "/v1/compliance/999")
        .await
        .assert_problem(404, "not-found");
}

#[tokio::test]
async fn operations_endpoints() {
    let w = world().await;
    let r = get(&w.h.router, "/healthz").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_valid("Health", &v);
    assert_eq!(v["verifier_key"], w.h.ledger.verifier_key().to_string());
    let r = get(&w.h.router, "/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text().contains("prov_http_requests_total"),
        "{}",
        r.text()
    );
    let r = get(&w.h.router, "/openapi.yaml").await;
    assert!(r.text().starts_with("openapi: 3.1.0"));
    let r = get(&w.h.router, "/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("text/html"));
    get(&w.h.router, "/assets/../../etc/passwd")
        .await
        .assert_problem(404, "not-found");
}

#[tokio::test]
async fn responses_are_gzipped_only_on_request() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    let js = "console.log('provenance');\n".repeat(64);
    std::fs::write(dir.path().join("assets/app.js"), &js).unwrap();
    let explorer = dir.path().to_path_buf();
    let h = harness_with(|c| c.explorer_dir = Some(explorer));
    let with = |uri: &str, gzip: bool| {
        let mut req = axum::http::Request::builder().uri(uri);
        if gzip {
            req = req.header(header::ACCEPT_ENCODING, "gzip");
        }
        h.router
            .clone()
            .oneshot(req.body(axum::body::Body::empty()).unwrap())
    };

    let resp = with("/assets/app.js", true).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_ENCODING], "gzip");
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(&body[..2], &[0x1f, 0x8b], "gzip magic");
    assert!(body.len() < js.len());

    let plain = get(&h.router, "/assets/app.js").await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain.headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(plain.body, js.as_bytes());

    // The checkpoint stays byte-exact for clients that do not ask for gzip.
    let plain = get(&h.router, "/checkpoint").await;
    assert!(plain.headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(plain.body, h.ledger.checkpoint().note.as_bytes());
}
