//! Issue 13 over real HTTP on loopback with a real RocksDB ledger: a manifest uploaded with its
//! metadata, an item served with its metadata and inclusion proof (and an absent one with its
//! exclusion proof), the leaves listed with metadata, the statistics, and the uploads refused.
#![allow(clippy::unwrap_used)] // test helpers: a failure is the test's

use ledger::entry::{Entry, EntryBody, SetRef};
use ledger::range::{verify_range, Range, RangeLeaf, RangeProof, RangeTree};
use ledger::set::upload::{UploadFormat, UploadRequest};
use ledger::set::{self, SetExclusionProof, SetLeaf, SetMembershipProof, SortedSet};
use ledger::source::{source_key, Site};
use ledger::TreeSize;
use ledger::{ContentId, Digest};
use serde_json::Value;
use tests::fixtures::{self, key};
use tests::server::TestServer;
use tests::spec::assert_valid;

/// Canonical metadata of item `i` (keys sorted, no spaces).
fn meta_of(i: u64) -> String {
    let consent = if i.is_multiple_of(2) {
        r#""consent":"aipref:train-ai=n","#
    } else {
        ""
    };
    let licence = if i.is_multiple_of(3) {
        "MIT"
    } else {
        "CC-BY-4.0"
    };
    format!(
        r#"{{"sources":[{{{consent}"license":"{licence}","path":"c/{i}.txt","source":"https://h{}.example.com/{i}"}}]}}"#,
        i % 4
    )
}

/// The source tree of the metadata of [`manifest`]`(n)`, as anyone computes it.
fn source_tree(n: u64) -> RangeTree {
    RangeTree::from_unsorted(
        (0..n)
            .map(|i| {
                let url = format!("https://h{}.example.com/{i}", i % 4);
                let cid = ContentId::of(format!("item {i}").as_bytes());
                RangeLeaf::source(&source_key(&url), &cid)
            })
            .collect(),
    )
}

/// A manifest of `n` items with metadata: (its set, its JSON Lines text).
fn manifest(n: u64) -> (SortedSet, String) {
    let mut items: Vec<(SetLeaf, String)> = (0..n)
        .map(|i| {
            let meta = meta_of(i);
            let leaf = SetLeaf {
                cid: ContentId::of(format!("item {i}").as_bytes()),
                size: 100 + i,
                meta: Digest(*blake3::hash(meta.as_bytes()).as_bytes()),
            };
            (leaf, meta)
        })
        .collect();
    items.sort_by_key(|(l, _)| l.cid);
    let set = SortedSet::new(items.iter().map(|(l, _)| *l).collect()).unwrap();
    let mut text = format!(
        "{{\"format\":\"prov-manifest/v1\",\"meta\":\"full\",\"root\":\"{}\"}}\n",
        set.root().to_hex()
    );
    for (leaf, meta) in &items {
        text.push_str(&format!(
            "{{\"leaf\":\"{}\",\"meta\":{meta}}}\n",
            hex_of(&leaf.to_bytes())
        ));
    }
    (set, text)
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Uploads a manifest body for `root`/`size`: the status and JSON answer of the PUT.
async fn put_manifest(s: &TestServer, root: Digest, size: u64, body: String) -> (u16, Value) {
    let k = key(201);
    let now = fixtures::now();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let nonce = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let req = UploadRequest::anonymous(root, size, UploadFormat::Manifest, now)
        .unwrap()
        .with_nonce(nonce)
        .unwrap()
        .signed(&k)
        .unwrap();
    let (status, created) = s.post_upload_request(req.to_json().unwrap()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["upload_id"].as_str().unwrap();
    let resp = s
        .client
        .put(s.url(&format!("/v1/uploads/{id}")))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// A server holding `acme/web@1`, a 40-item manifest with metadata.
async fn published() -> (TestServer, SortedSet) {
    let s = TestServer::start().await;
    let acme = key(1);
    let (status, r) = s.submit(&fixtures::publisher(&acme, "acme")).await;
    assert_eq!(status, 201, "{r}");
    let (set, text) = manifest(40);
    let (status, r) = put_manifest(&s, set.root(), 40, text).await;
    assert_eq!(status, 201, "{r}");
    let tree = source_tree(40);
    let entry = with_sources(&acme, &set, "1", Some((tree.root(), tree.size().0)));
    let (status, r) = s.submit(&entry).await;
    assert_eq!(status, 201, "{r}");
    (s, set)
}

/// `acme/web@<v>` over `set`, with `sources` (root, size) when given.
fn with_sources(
    k: &ed25519_dalek::SigningKey,
    set: &SortedSet,
    v: &str,
    sources: Option<(Digest, u64)>,
) -> Entry {
    let entry = fixtures::dataset_version(k, "acme", "web", v, set, None);
    let EntryBody::DatasetVersion(mut d) = entry.body().clone() else {
        unreachable!()
    };
    d.sources = sources.map(|(root, size)| SetRef { root, size });
    Entry::sign(
        fixtures::ORIGIN,
        EntryBody::DatasetVersion(d),
        fixtures::now(),
        None,
        k,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_is_served_with_its_metadata_and_a_verifiable_inclusion_proof() {
    let (s, set) = published().await;
    let leaf = set.leaves()[7];
    let (status, item) = s
        .get_json(&format!("/v1/datasets/acme/web/1/items/{}", leaf.cid))
        .await;
    assert_eq!(status, 200, "{item}");
    assert_valid("ItemView", &item);
    assert_eq!(item["dataset"], "acme/web@1");
    assert_eq!(item["manifest_root"], set.root().to_hex());
    assert_eq!(item["item_count"], 40);
    // The metadata is what the leaf commits to: BLAKE3 of its canonical JSON.
    let canonical = serde_json_canonicalizer::to_vec(&item["meta"]).unwrap();
    assert_eq!(*blake3::hash(&canonical).as_bytes(), leaf.meta.0);
    assert_eq!(item["leaf"]["meta"], leaf.meta.to_hex());
    let proof = set::parse_membership_proof_json(item.clone()).unwrap();
    assert!(matches!(proof, SetMembershipProof::Included(_)));
    proof.verify(&leaf.cid, &set.root(), set.size()).unwrap();

    // Absent: 404 item-not-found, with an exclusion proof that verifies.
    let absent = ContentId::of(b"not in the manifest");
    let (status, problem) = s
        .get_json(&format!("/v1/datasets/acme/web/1/items/{absent}"))
        .await;
    assert_eq!(status, 404, "{problem}");
    assert_valid("Problem", &problem);
    assert_eq!(problem["type"], "urn:prov-ledger:problem:item-not-found");
    let exclusion: SetExclusionProof =
        serde_json::from_value(problem["exclusion"].clone()).unwrap();
    set::verify_exclusion(&exclusion, &absent, &set.root(), set.size()).unwrap();

    // An unknown version is a plain 404.
    let (status, problem) = s
        .get_json(&format!("/v1/datasets/acme/web/9/items/{absent}"))
        .await;
    assert_eq!(status, 404, "{problem}");
    assert_eq!(problem["type"], "urn:prov-ledger:problem:not-found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaves_are_listed_with_their_metadata_on_request() {
    let (s, set) = published().await;
    let root = set.root().to_hex();
    let (status, page) = s
        .get_json(&format!(
            "/v1/sets/{root}/leaves?offset=30&limit=20&meta=true"
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    assert_valid("LeafPage", &page);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    for (i, it) in items.iter().enumerate() {
        let leaf = set.leaves()[30 + i];
        assert_eq!(it["cid"], leaf.cid.to_string());
        let canonical = serde_json_canonicalizer::to_vec(&it["metadata"]).unwrap();
        assert_eq!(
            *blake3::hash(&canonical).as_bytes(),
            leaf.meta.0,
            "leaf {i}"
        );
    }
    // Without meta=true, no metadata member (the old answer).
    let (_, page) = s.get_json(&format!("/v1/sets/{root}/leaves?limit=2")).await;
    assert!(page["items"][0].get("metadata").is_none(), "{page}");
    // A set stored without metadata: null.
    let plain = fixtures::set_of(&[b"x", b"y"]);
    s.upload_set(&plain).await;
    let (_, page) = s
        .get_json(&format!(
            "/v1/sets/{}/leaves?meta=true",
            plain.root().to_hex()
        ))
        .await;
    assert!(page["items"][0]["metadata"].is_null(), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_of_a_dataset_version_come_from_its_metadata() {
    let (s, set) = published().await;
    let (status, stats) = s.get_json("/v1/datasets/acme/web/1/stats").await;
    assert_eq!(status, 200, "{stats}");
    assert_valid("StatsView", &stats);
    assert_eq!(stats["manifest_root"], set.root().to_hex());
    // Recomputed here from the metadata: MIT on every third item.
    let sum = |f: &dyn Fn(u64) -> bool| -> (u64, u64) {
        let hits: Vec<u64> = (0..40).filter(|&i| f(i)).collect();
        (hits.len() as u64, hits.iter().map(|i| 100 + i).sum())
    };
    let licences = stats["licences"].as_array().unwrap();
    let mit = licences.iter().find(|t| t["value"] == "MIT").unwrap();
    assert_eq!(
        (
            mit["items"].as_u64().unwrap(),
            mit["bytes"].as_u64().unwrap()
        ),
        sum(&|i| i % 3 == 0)
    );
    let consent = stats["consent"].as_array().unwrap();
    let n = consent
        .iter()
        .find(|t| t["value"] == "aipref:train-ai=n")
        .unwrap();
    assert_eq!(
        (n["items"].as_u64().unwrap(), n["bytes"].as_u64().unwrap()),
        sum(&|i| i % 2 == 0)
    );
    // A version whose manifest was stored without metadata has no statistics.
    let acme = key(1);
    let plain = fixtures::set_of(&[b"p", b"q"]);
    s.upload_set(&plain).await;
    let (status, r) = s
        .submit(&fixtures::dataset_version(
            &acme,
            "acme",
            "web",
            "2",
            &plain,
            Some("1"),
        ))
        .await;
    assert_eq!(status, 201, "{r}");
    let (status, problem) = s.get_json("/v1/datasets/acme/web/2/stats").await;
    assert_eq!(status, 404, "{problem}");
    assert_eq!(problem["type"], "urn:prov-ledger:problem:no-metadata");
}

/// The attack: a publisher uploads a manifest whose metadata is not what its leaves commit to
/// (another licence), hoping the service's figures describe it. Refused with 422.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_with_metadata_that_does_not_match_its_leaves_is_refused() {
    let s = TestServer::start().await;
    let (set, text) = manifest(3);
    let forged = text.replacen("\"license\":\"CC-BY-4.0\"", "\"license\":\"CC0-1.0\"", 1);
    assert_ne!(forged, text);
    let (status, problem) = put_manifest(&s, set.root(), 3, forged).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["type"], "urn:prov-ledger:problem:meta-mismatch");
    let (status, _) = s
        .get_json(&format!("/v1/sets/{}", set.root().to_hex()))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_leaf_metadata_is_refused() {
    let s = TestServer::start().await;
    let meta = format!(r#"{{"sources":[{{"path":"{}"}}]}}"#, "a".repeat(70_000));
    let leaf = SetLeaf {
        cid: ContentId::of(b"big"),
        size: 1,
        meta: Digest(*blake3::hash(meta.as_bytes()).as_bytes()),
    };
    let set = SortedSet::new(vec![leaf]).unwrap();
    let text = format!(
        "{{\"format\":\"prov-manifest/v1\",\"meta\":\"full\",\"root\":\"{}\"}}\n{{\"leaf\":\"{}\",\"meta\":{meta}}}\n",
        set.root().to_hex(),
        hex_of(&leaf.to_bytes())
    );
    let (status, problem) = put_manifest(&s, set.root(), 1, text).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["type"], "urn:prov-ledger:problem:meta-too-large");
}

/// Verifies a site answer against the `sources` it names (and that those are the version's).
fn verify_site(answer: &Value, site: &str, root: Digest, size: u64) -> u64 {
    assert_eq!(answer["sources"]["root"], root.to_hex());
    assert_eq!(answer["sources"]["size"], size);
    let proof: RangeProof = serde_json::from_value(answer["proof"].clone()).unwrap();
    let range = Range::site(&Site::parse(site).unwrap());
    let m = verify_range(&root, TreeSize(size), &range, &proof).unwrap();
    assert_eq!(answer["count"], m.count);
    m.count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_gets_a_verified_count_or_exclusion_in_each_dataset_version() {
    let (s, _set) = published().await;
    let tree = source_tree(40);
    let (root, size) = (tree.root(), tree.size().0);
    let (_, v) = s.get_json("/v1/datasets/acme/web/1").await;
    assert_valid("DatasetVersionView", &v);
    assert_eq!(v["metadata_stored"], true, "{v}");
    assert_eq!(v["sources"]["root"], root.to_hex(), "{v}");
    assert_eq!(v["sources"]["size"], size, "{v}");
    // Present: h1.example.com holds items 1, 5, 9, ...: 10 of them; reveal 4 still proves 10.
    let (status, a) = s
        .get_json("/v1/datasets/acme/web/1/sites/h1.example.com?reveal=4")
        .await;
    assert_eq!(status, 200, "{a}");
    assert_valid("SiteProofView", &a);
    assert_eq!(a["site"], "h1.example.com");
    assert_eq!(a["dataset"], "acme/web@1");
    assert_eq!(verify_site(&a, "h1.example.com", root, size), 10);
    // The whole domain: all 40.
    let (_, a) = s
        .get_json("/v1/datasets/acme/web/1/sites/example.com")
        .await;
    assert_eq!(verify_site(&a, "example.com", root, size), 40);
    // Absent: a verified exclusion.
    let (status, a) = s.get_json("/v1/datasets/acme/web/1/sites/absent.org").await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(verify_site(&a, "absent.org", root, size), 0);
    // A URL prefix, percent-encoded in the path.
    let (status, a) = s
        .get_json("/v1/datasets/acme/web/1/sites/https%3A%2F%2Fh2.example.com%2F1")
        .await;
    assert_eq!(status, 200, "{a}");
    // Items 10, 14, 18 are under h2 with a path starting /1.
    assert_eq!(verify_site(&a, "https://h2.example.com/1", root, size), 3);
    // Every version with a source tree.
    let (status, page) = s.get_json("/v1/sites/h1.example.com?reveal=2").await;
    assert_eq!(status, 200, "{page}");
    assert_valid("SitePage", &page);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["dataset"], "acme/web@1");
    let mut one = items[0].clone();
    assert_eq!(verify_site(&one, "h1.example.com", root, size), 10);
    // One flipped bit in a revealed leaf and the proof no longer verifies.
    let leaf = one["proof"]["leaves"][0]["leaf"]
        .as_str()
        .unwrap()
        .to_string();
    let flipped = format!(
        "{}{}",
        &leaf[..leaf.len() - 1],
        if leaf.ends_with('0') { "1" } else { "0" }
    );
    one["proof"]["leaves"][0]["leaf"] = Value::String(flipped);
    let proof: RangeProof = serde_json::from_value(one["proof"].clone()).unwrap();
    let range = Range::site(&Site::parse("h1.example.com").unwrap());
    assert!(verify_range(&root, TreeSize(size), &range, &proof).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_without_a_source_tree_is_404_and_bad_sites_are_400() {
    let (s, set) = published().await;
    let acme = key(1);
    let (status, r) = s.submit(&with_sources(&acme, &set, "2", None)).await;
    assert_eq!(status, 201, "{r}");
    let (status, p) = s
        .get_json("/v1/datasets/acme/web/2/sites/example.com")
        .await;
    assert_eq!(status, 404, "{p}");
    assert_eq!(p["type"], "urn:prov-ledger:problem:no-source-tree");
    // Only the version with a tree is listed.
    let (_, page) = s.get_json("/v1/sites/example.com?limit=1").await;
    let listed: Vec<&Value> = page["items"].as_array().unwrap().iter().collect();
    assert!(listed.len() <= 1);
    for bad in [
        "/v1/sites/localhost",
        "/v1/sites/1.2.3.4",
        "/v1/datasets/acme/web/1/sites/x?reveal=10001",
    ] {
        let (status, p) = s.get_json(bad).await;
        assert_eq!(status, 400, "{bad}: {p}");
    }
}

/// The sources rule over HTTP: a claim that leaves out a domain's items is refused with 422
/// `sources-mismatch`; one for a leaves-only upload with `sources-not-stored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_claims_the_ledger_cannot_match_are_refused_over_http() {
    let (s, set) = published().await;
    let acme = key(1);
    let forged = RangeTree::from_unsorted(
        source_tree(40)
            .leaves()
            .iter()
            .filter(|l| !l.split_source().unwrap().0.starts_with("com.example.h1."))
            .cloned()
            .collect(),
    );
    let (status, p) = s
        .submit(&with_sources(
            &acme,
            &set,
            "3",
            Some((forged.root(), forged.size().0)),
        ))
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["type"], "urn:prov-ledger:problem:sources-mismatch");
    let plain = fixtures::set_of(&[b"l1", b"l2"]);
    s.upload_set(&plain).await;
    let (status, p) = s
        .submit(&with_sources(&acme, &plain, "4", Some((forged.root(), 2))))
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["type"], "urn:prov-ledger:problem:sources-not-stored");
}

/// Issue 13's check, end to end on a real server and RocksDB: a signed `train-ai` opt-out of a
/// domain present in the dataset makes the next checkpoint's compliance bundle a verified
/// violation naming the domain's items; a domain absent from it is a verified exclusion (no
/// violation, its range proof shows 0); and one flipped bit in a range proof fails the bundle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_bundles_prove_site_opt_outs_both_ways() {
    use ledger::compliance::{verify_bundle_report, ComplianceBundle, Verdict};
    use ledger::entry::{OptOut, Scope};
    let (s, set) = published().await;
    let (status, health) = s.get_json("/healthz").await;
    assert_eq!(status, 200);
    let vkey = ledger::VerifierKey::parse(health["verifier_key"].as_str().unwrap()).unwrap();
    // The site owner's signed opt-out: one domain present, one absent.
    let owner = key(9);
    let o = OptOut {
        ids: None,
        sites: vec![
            Site::parse("absent.org").unwrap(),
            Site::parse("h1.example.com").unwrap(),
        ],
        scope: vec![Scope::TrainAi],
        passages: None,
    };
    let optout = Entry::sign(
        fixtures::ORIGIN,
        EntryBody::OptOut(o),
        fixtures::now(),
        None,
        &owner,
    )
    .unwrap();
    let (status, r) = s.submit(&optout).await;
    assert_eq!(status, 201, "{r}");
    let horizon = r["index"].as_u64().unwrap() + 1;
    s.upload_set(&fixtures::weights()).await;
    let (_, v) = s.get_json("/v1/datasets/acme/web/1").await;
    let d_index = v["index"].as_u64().unwrap();
    let cp = fixtures::model_checkpoint(
        &key(1),
        "acme",
        "m",
        &[("acme", "web", "1", d_index, set.root())],
        horizon,
    );
    let (status, r) = s.submit(&cp).await;
    assert_eq!(status, 201, "{r}");
    let cp_index = r["index"].as_u64().unwrap();

    let resp = s.get(&format!("/v1/compliance/{cp_index}")).await;
    assert_eq!(resp.status().as_u16(), 200);
    let json: Value = resp.json().await.unwrap();
    assert_valid("ComplianceBundleJson", &json);
    assert_eq!(json["source_proofs"].as_array().unwrap().len(), 2, "{json}");
    let bundle: ComplianceBundle = serde_json::from_value(json.clone()).unwrap();
    let report = verify_bundle_report(&bundle, &vkey).unwrap();
    let Verdict::Violated {
        violations,
        site_violations,
    } = &report.verdict
    else {
        panic!("expected a violation: {:?}", report.verdict);
    };
    assert!(violations.is_empty());
    assert_eq!(site_violations.len(), 1, "{site_violations:?}");
    let v = &site_violations[0];
    assert_eq!(v.site.to_string(), "h1.example.com");
    assert_eq!(v.dataset, "acme/web@1");
    assert_eq!(v.count, 10);
    let mut want: Vec<ContentId> = (0..40u64)
        .filter(|i| i % 4 == 1)
        .map(|i| ContentId::of(format!("item {i}").as_bytes()))
        .collect();
    want.sort();
    assert_eq!(v.cids, want);
    // The absent domain: its proof is a verified exclusion.
    let tree = source_tree(40);
    let absent = bundle
        .source_proofs
        .iter()
        .find(|p| p.site.to_string() == "absent.org")
        .unwrap();
    let m = verify_range(
        &tree.root(),
        tree.size(),
        &Range::site(&absent.site),
        &absent.proof,
    )
    .unwrap();
    assert_eq!(m.count, 0);
    // One flipped bit in a helper hash: the offline verifier rejects the bundle.
    let mut bad = bundle.clone();
    let p = bad
        .source_proofs
        .iter_mut()
        .find(|p| !p.proof.hashes.is_empty())
        .unwrap();
    p.proof.hashes[0].0[0] ^= 1;
    assert!(verify_bundle_report(&bad, &vkey).is_err());
}
