//! The service end to end over real HTTP on loopback, with a real RocksDB ledger in a temporary
//! directory: the publish / opt out / attest / prove loop, an independent tlog-tiles client,
//! graceful shutdown without losing an acknowledged write, and refusal of a non-ledger directory.

use ledger::compliance::{verify_bundle, ComplianceBundle, Verdict};
use ledger::tile::TileHashReader;
use ledger::{Checkpoint, ContentId, LeafIndex, TlogProof, TreeSize, VerifierKey};
use tests::fixtures::{self, key};
use tests::server::TestServer;
use tests::spec::assert_valid;

async fn vkey(s: &TestServer) -> VerifierKey {
    let (status, health) = s.get_json("/healthz").await;
    assert_eq!(status, 200);
    assert_valid("Health", &health);
    let vkey = health["verifier_key"].as_str().expect("verifier_key");
    VerifierKey::parse(vkey).expect("a C2SP vkey")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_optout_attest_and_prove_over_http() {
    let s = TestServer::start().await;
    let vk = vkey(&s).await;
    let (acme, lab) = (key(1), key(2));
    for (k, n) in [(&acme, "acme"), (&lab, "lab")] {
        let (status, receipt) = s.submit(&fixtures::publisher(k, n)).await;
        assert_eq!(status, 201, "{receipt}");
        assert_valid("Receipt", &receipt);
    }
    // Only the key bound to a name publishes under it.
    let v1 = fixtures::set_of(&[b"a", b"b", b"opted-out"]);
    let v2 = fixtures::set_of(&[b"a", b"b"]);
    s.upload_set(&v1).await;
    s.upload_set(&v2).await;
    s.upload_set(&fixtures::weights()).await;
    let (status, problem) = s
        .submit(&fixtures::dataset_version(
            &lab, "acme", "web", "1", &v1, None,
        ))
        .await;
    assert_eq!(status, 403, "{problem}");
    assert_valid("Problem", &problem);
    let (_, d1) = s
        .submit(&fixtures::dataset_version(
            &acme, "acme", "web", "1", &v1, None,
        ))
        .await;
    let (_, d2) = s
        .submit(&fixtures::dataset_version(
            &acme,
            "acme",
            "web",
            "2",
            &v2,
            Some("1"),
        ))
        .await;
    let (d1, d2) = (d1["index"].as_u64().unwrap(), d2["index"].as_u64().unwrap());
    // A version cannot be published twice, even re-signed at another time.
    let again = fixtures::dataset_version(&acme, "acme", "web", "1", &v2, None);
    assert_eq!(s.submit(&again).await.0, 409);

    let (status, opt) = s
        .submit(&fixtures::optout(&[ContentId::of(b"opted-out")], 1))
        .await;
    assert_eq!(status, 201);
    let horizon = opt["index"].as_u64().unwrap() + 1;
    let good = fixtures::model_checkpoint(
        &lab,
        "lab",
        "m",
        &[("acme", "web", "2", d2, v2.root())],
        horizon,
    );
    let bad = fixtures::model_checkpoint(
        &lab,
        "lab",
        "m",
        &[("acme", "web", "1", d1, v1.root())],
        horizon,
    );
    let good = s.submit(&good).await.1["index"].as_u64().unwrap();
    let bad = s.submit(&bad).await.1["index"].as_u64().unwrap();
    // A checkpoint cannot name a dataset version that is not in the log.
    let ghost = fixtures::model_checkpoint(
        &lab,
        "lab",
        "m",
        &[("acme", "web", "9", d1, v1.root())],
        horizon,
    );
    assert_eq!(s.submit(&ghost).await.0, 422);

    let (status, bundle) = s.get_json(&format!("/v1/compliance/{good}")).await;
    assert_eq!(status, 200);
    assert_valid("ComplianceBundleJson", &bundle);
    let bundle: ComplianceBundle = serde_json::from_value(bundle).unwrap();
    assert!(matches!(
        verify_bundle(&bundle, &vk),
        Ok(Verdict::Compliant)
    ));
    let (_, bundle) = s.get_json(&format!("/v1/compliance/{bad}")).await;
    let bundle: ComplianceBundle = serde_json::from_value(bundle).unwrap();
    assert!(matches!(
        verify_bundle(&bundle, &vk),
        Ok(Verdict::Violated { .. })
    ));

    let (_, models) = s.get_json("/v1/models/lab/m/checkpoints").await;
    assert_valid("CheckpointPage", &models);
    assert_eq!(models["items"].as_array().unwrap().len(), 2);
}

/// What an independent C2SP client does: verify the checkpoint with the published key, rebuild
/// the root from tiles, and check the JSON API's proofs against the tiles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_tiles_client_verifies_the_log() {
    // 300 requests at once from one address: above the opt-out burst and the per-address
    // connection cap (each request may open its own connection).
    let s = TestServer::start_with(|c| {
        c.limits.anonymous_optout_burst = 1000;
        c.limits.max_connections_per_ip = 1000;
    })
    .await;
    let vk = vkey(&s).await;
    // Enough entries for a full level-0 tile and a partial one.
    let mut handles = Vec::new();
    for n in 0..300u64 {
        let client = s.client.clone();
        let url = s.url("/v1/entries");
        let e = fixtures::optout(&[ContentId::of(&n.to_be_bytes())], n);
        handles.push(tokio::spawn(async move {
            client
                .post(url)
                .header("content-type", "application/json")
                .body(e.as_bytes().to_vec())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 201);
    }
    let resp = s.get("/checkpoint").await;
    assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
    let note = resp.text().await.unwrap();
    let cp = Checkpoint::verify(&note, &vk).unwrap();
    assert_eq!(cp.size, TreeSize(300));

    let mut reader = TileHashReader::new();
    for t in ledger::tile::tiles_for_size(cp.size) {
        let resp = s.get(&format!("/{}", t.path())).await;
        assert_eq!(resp.status(), 200, "{}", t.path());
        assert_eq!(resp.headers()["content-type"], "application/octet-stream");
        assert_eq!(
            resp.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        reader.insert(t, &resp.bytes().await.unwrap()).unwrap();
    }
    assert_eq!(ledger::tree::tree_hash(cp.size, &reader).unwrap(), cp.root);

    // Entry bundles hash to the level-0 tiles.
    let full = s.get("/tile/entries/000").await.bytes().await.unwrap();
    let entries = ledger::tile::decode_entry_bundle(&full).unwrap();
    assert_eq!(entries.len(), 256);
    let tile0 = s.get("/tile/0/000").await.bytes().await.unwrap();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(ledger::leaf_hash(e).0, tile0[i * 32..(i + 1) * 32]);
    }

    for index in [0u64, 255, 256, 299] {
        let (_, p) = s.get_json(&format!("/v1/entries/{index}/inclusion")).await;
        assert_valid("InclusionProof", &p);
        let want: Vec<String> = ledger::tree::inclusion_proof(cp.size, LeafIndex(index), &reader)
            .unwrap()
            .iter()
            .map(|d| d.to_hex())
            .collect();
        assert_eq!(p["hashes"], serde_json::json!(want), "index {index}");
        let text = s
            .get(&format!("/v1/entries/{index}/inclusion.tlog-proof"))
            .await
            .text()
            .await
            .unwrap();
        let (_, entry) = s.get_json(&format!("/v1/entries/{index}")).await;
        assert_valid("EntryView", &entry);
        TlogProof::parse(&text)
            .unwrap()
            .verify(&vk, entry["canonical"].as_str().unwrap().as_bytes())
            .unwrap();
    }
    let (_, page) = s.get_json("/v1/optouts?limit=1000").await;
    assert_valid("EntryPage", &page);
    assert_eq!(page["items"].as_array().unwrap().len(), 300);
}

/// Graceful shutdown loses no acknowledged write: every entry acknowledged before the stop is in
/// the reopened ledger, unchanged, and the ledger keeps accepting entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_shutdown_and_reopen() {
    let s = TestServer::start_with(|c| c.limits.anonymous_optout_burst = 1000).await;
    let mut acked = Vec::new();
    for n in 0..40u64 {
        let e = fixtures::optout(&[ContentId::of(&n.to_le_bytes())], n);
        let (status, r) = s.submit(&e).await;
        assert_eq!(status, 201);
        acked.push((r["index"].as_u64().unwrap(), e));
    }
    let data_dir = s.data_dir.clone();
    let dir = s.stop().await;
    let s = TestServer::reopen(&data_dir, dir).await;
    for (index, e) in &acked {
        let (status, v) = s.get_json(&format!("/v1/entries/{index}")).await;
        assert_eq!(status, 200);
        assert_eq!(v["canonical"].as_str().unwrap().as_bytes(), e.as_bytes());
    }
    let (status, _) = s
        .submit(&fixtures::optout(&[ContentId::of(b"after")], 99))
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_directory_that_is_not_a_ledger_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not a ledger").unwrap();
    let config = api::Config {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.path().to_path_buf(),
        ..api::Config::default()
    };
    let err = api::Server::bind(config).await.err().expect("refused");
    assert!(matches!(err, api::ServeError::Ledger(_)), "{err}");
    // Nothing was created in it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Issue 11's forged verdict and jamming opt-out, staged over real HTTP against a fresh
/// ledger: a version naming a root over unsorted leaves, an anonymous opt-out naming a set, an
/// entry signed for another log and one stamped years ago are each refused (422 with their own
/// type), and compliance answers for an honest checkpoint afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_unsorted_set_and_jamming_optout_are_refused_over_http() {
    use ledger::entry::{Entry, EntryBody, OptOut, OptOutIds, Publisher, Scope};
    use ledger::set::{SetLeaf, SortedSet};
    use ledger::{merkle, Blake3Set};

    let s = TestServer::start().await;
    let refused = |(status, problem): (u16, serde_json::Value), slug: &str| {
        assert_eq!(status, 422, "{problem}");
        assert_valid("Problem", &problem);
        assert_eq!(problem["type"], format!("urn:prov-ledger:problem:{slug}"));
    };
    let acme = key(1);
    assert_eq!(s.submit(&fixtures::publisher(&acme, "acme")).await.0, 201);

    // The forged verdict: a root over [a, c, x] with a < x < c, never storable.
    let mut ids = [b"x-a", b"x-b", b"x-c"].map(|b| ContentId::of(b));
    ids.sort();
    let leaves = [ids[0], ids[2], ids[1]].map(SetLeaf::id_only);
    let forged_root = merkle::root::<Blake3Set>(&leaves.map(|l| l.leaf_hash()));
    let forged = ledger::entry::DatasetVersion {
        publisher: fixtures::name("acme"),
        dataset: fixtures::name("web"),
        version: fixtures::name("1"),
        manifest_root: forged_root,
        item_count: 3,
        total_bytes: 0,
        corpus_mode: ledger::entry::CorpusMode::File,
        licence: "MIT".into(),
        previous: None,
        sources: None,
        passages: None,
    };
    let e = Entry::sign(
        fixtures::ORIGIN,
        EntryBody::DatasetVersion(forged),
        fixtures::now(),
        None,
        &acme,
    )
    .unwrap();
    refused(s.submit(&e).await, "set-not-stored");
    let request = ledger::set::upload::UploadRequest::anonymous(
        forged_root,
        3,
        ledger::set::upload::UploadFormat::Leaves,
        fixtures::now(),
    )
    .and_then(|r| r.signed(&acme))
    .and_then(|r| r.to_json())
    .unwrap();
    let (status, started) = s.post_upload_request(request).await;
    assert_eq!(status, 201, "{started}");
    let resp = s
        .client
        .put(s.url(&format!(
            "/v1/uploads/{}",
            started["upload_id"].as_str().unwrap()
        )))
        .header("content-type", "application/octet-stream")
        .body(
            leaves
                .iter()
                .flat_map(SetLeaf::to_bytes)
                .collect::<Vec<u8>>(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422, "unsorted leaves are never stored");
    refused(s.submit(&e).await, "set-not-stored");

    // The jamming opt-out: anonymous, naming a set (never uploaded, or stored).
    let big = SortedSet::from_ids((0..100u64).map(|i| ContentId::of(&i.to_be_bytes())));
    for stored in [false, true] {
        if stored {
            s.upload_set(&big).await;
        }
        let o = OptOut {
            ids: Some(OptOutIds::Set {
                root: big.root(),
                size: big.size().0,
            }),
            sites: vec![],
            scope: vec![Scope::TrainAi],
            passages: None,
        };
        let jam = Entry::anonymous(fixtures::ORIGIN, o, fixtures::now(), Some(7)).unwrap();
        refused(s.submit(&jam).await, "anonymous-optout-set");
    }

    // Cross-log replay and a time far from the log's clock.
    let body = || {
        EntryBody::Publisher(Publisher {
            name: fixtures::name("lab"),
            key: key(2).verifying_key(),
        })
    };
    let other_log = Entry::sign("other.example/log", body(), fixtures::now(), None, &key(2));
    refused(s.submit(&other_log.unwrap()).await, "wrong-log");
    let ten_years = fixtures::now() + 10 * 365 * 86_400;
    let future = Entry::sign(fixtures::ORIGIN, body(), ten_years, None, &key(2)).unwrap();
    refused(s.submit(&future).await, "time-skew");

    // Compliance still answers for an honest checkpoint: nothing jammed it.
    let v = fixtures::set_of(&[b"a", b"b"]);
    s.upload_set(&v).await;
    s.upload_set(&fixtures::weights()).await;
    let (_, d) = s
        .submit(&fixtures::dataset_version(
            &acme, "acme", "web", "1", &v, None,
        ))
        .await;
    let d = d["index"].as_u64().unwrap();
    let cp = fixtures::model_checkpoint(
        &acme,
        "acme",
        "m",
        &[("acme", "web", "1", d, v.root())],
        d + 1,
    );
    let (status, cp) = s.submit(&cp).await;
    assert_eq!(status, 201, "{cp}");
    let (status, bundle) = s.get_json(&format!("/v1/compliance/{}", cp["index"])).await;
    assert_eq!(status, 200, "{bundle}");
    let bundle: ComplianceBundle = serde_json::from_value(bundle).unwrap();
    assert!(matches!(
        verify_bundle(&bundle, &vkey(&s).await),
        Ok(Verdict::Compliant)
    ));
}

/// Issue 11, over a real socket: a second client who knows the root of someone's chunked
/// upload, but not its id, can neither add a chunk, commit nor abandon it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hijacked_upload_chunks_commit_and_abandon_are_refused() {
    let s = TestServer::start().await;
    let set = fixtures::set_of(&[b"a", b"b", b"c"]);
    let root = set.root().to_hex();
    let bytes = fixtures::leaves_bytes(&set);
    let id = s.start_upload(&set, Some(&key(1))).await;
    let post = |path: String, body: Vec<u8>| {
        let c = s.client.clone();
        let url = s.url(&path);
        async move {
            let r = c
                .post(url)
                .header("content-type", "application/octet-stream")
                .body(body)
                .send()
                .await
                .expect("POST");
            r.status().as_u16()
        }
    };
    assert_eq!(
        post(format!("/v1/uploads/{id}/chunks/0"), bytes[..72].to_vec()).await,
        200
    );

    // The stranger: the root-keyed routes of old, and ids guessed from what they know.
    let junk = fixtures::leaves_bytes(&fixtures::set_of(&[b"zzz"]));
    for path in [
        format!("/v1/sets/{root}/chunks/1"),
        format!("/v1/sets/{root}/commit"),
        format!("/v1/uploads/{root}/chunks/1"),
        format!("/v1/uploads/{}/chunks/1", "0".repeat(32)),
        format!("/v1/uploads/{}/commit", "f".repeat(32)),
    ] {
        let status = post(path.clone(), junk.clone()).await;
        assert!(status == 404 || status == 405, "{path}: {status}");
    }
    for path in [
        format!("/v1/sets/{root}/upload"),
        format!("/v1/uploads/{root}"),
    ] {
        let r = s.client.delete(s.url(&path)).send().await.expect("DELETE");
        assert!(
            [404, 405].contains(&r.status().as_u16()),
            "{path}: {}",
            r.status()
        );
    }
    let r = s
        .client
        .put(s.url(&format!("/v1/sets/{root}")))
        .body(bytes.clone())
        .send()
        .await
        .expect("PUT");
    assert_eq!(r.status().as_u16(), 410);
    // Their own upload of the same root is theirs alone.
    let theirs = s.start_upload(&set, None).await;
    assert_ne!(theirs, id);
    assert_eq!(
        post(format!("/v1/uploads/{theirs}/chunks/0"), junk.clone()).await,
        200
    );

    // The owner's upload is untouched: it goes on and stores the right set.
    assert_eq!(
        post(format!("/v1/uploads/{id}/chunks/1"), bytes[72..].to_vec()).await,
        200
    );
    let r = s
        .client
        .post(s.url(&format!("/v1/uploads/{id}/commit")))
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 201);
    let v: serde_json::Value = r.json().await.expect("JSON");
    assert_valid("SetView", &v);
    assert_eq!(v["root"], root);
    assert_eq!(v["size"], 3);
}

/// Issue 11, the running service: a set that no entry names is deleted after
/// `sets.collect_after_secs`; a set an entry names stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unnamed_sets_are_collected_by_the_running_service() {
    // 3 s, not 1: stored times are whole seconds, so a set may look up to 1 s older than it is,
    // and the named set must not be collected between its upload and its entry.
    let s = TestServer::start_with(|c| c.sets.collect_after_secs = 3).await;
    let acme = key(1);
    assert_eq!(s.submit(&fixtures::publisher(&acme, "acme")).await.0, 201);
    let named = fixtures::set_of(&[b"a", b"b"]);
    let unnamed = fixtures::set_of(&[b"never", b"named"]);
    s.upload_set(&named).await;
    s.upload_set(&unnamed).await;
    let (status, body) = s
        .submit(&fixtures::dataset_version(
            &acme, "acme", "web", "1", &named, None,
        ))
        .await;
    assert_eq!(status, 201, "{body}");
    let path = |set: &ledger::set::SortedSet| format!("/v1/sets/{}", set.root().to_hex());
    let mut gone = false;
    for _ in 0..150 {
        if s.get(&path(&unnamed)).await.status().as_u16() == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "the unnamed set was not collected within 15 s");
    assert_eq!(s.get(&path(&named)).await.status().as_u16(), 200);
    let (_, v) = s.get_json(&format!("{}/leaves", path(&named))).await;
    assert_eq!(v["items"].as_array().map(Vec::len), Some(2));
}
