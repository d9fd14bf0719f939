//! Passage trees over HTTP (issue 14), against a real server on loopback over a real RocksDB
//! ledger, spoken to over raw sockets: the `passages` upload format end to end (chunked, split
//! mid-leaf) and its refusals, the rules' problem types, and the three passage routes, whose
//! proofs are verified here as a client verifies them.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api::{Config, Server};
use ed25519_dalek::SigningKey;
use ledger::compliance::{verify_bundle_report, ComplianceBundle, Verdict};
use ledger::entry::{
    CorpusMode, DatasetRef, DatasetVersion, Entry, EntryBody, ModelCheckpoint, Name, OptOut,
    OptOutIds, Publisher, Scope, SetRef,
};
use ledger::ledger::Ledger;
use ledger::range::{verify_range, verify_ranges, Range, RangeLeaf, RangeProof, RangeTree};
use ledger::sequencer::SequencerConfig;
use ledger::set::upload::{UploadFormat, UploadRequest};
use ledger::set::SortedSet;
use ledger::types::{ContentId, Digest, LeafIndex, TreeSize};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ORIGIN: &str = "test.prov-ledger.local/log";
const PASSAGE_LEAVES: &str = "application/vnd.prov.passage-leaves";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

struct Reply {
    status: u16,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    fn assert_problem(&self, status: u16, slug: &str) {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.json()["type"],
            format!("urn:prov-ledger:problem:{slug}"),
            "{}",
            self.text()
        );
    }
}

/// One HTTP/1.1 request on a new connection, read to the end.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Reply {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        req.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut out))
        .await
        .expect("a reply within 60 s")
        .unwrap();
    let at = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP reply: {:?}", String::from_utf8_lossy(&out)));
    let head = String::from_utf8_lossy(&out[..at]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = out[at + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Reply { status, body }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + n]);
        b = &b[nl + 2 + n + 2..];
    }
}

/// Stops the server when dropped.
struct Stop(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for Stop {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// A server on loopback over a new RocksDB ledger with publisher `acme` (key 1) and, stored, a
/// manifest of 40 items (`item(0..40)`).
async fn serve() -> (SocketAddr, Ledger, SortedSet, tempfile::TempDir, Stop) {
    let dir = tempfile::tempdir().unwrap();
    let seq = SequencerConfig {
        max_delay: Duration::from_millis(1),
        ..Default::default()
    };
    let ledger = Ledger::create(&dir.path().join("ledger"), ORIGIN, seq).unwrap();
    let k = key(1);
    let body = EntryBody::Publisher(Publisher {
        name: Name::new("acme").unwrap(),
        key: k.verifying_key(),
    });
    ledger
        .submit(
            Entry::sign(ORIGIN, body, now(), None, &k)
                .unwrap()
                .as_bytes()
                .to_vec(),
        )
        .unwrap();
    let manifest = SortedSet::from_ids((0..40).map(item));
    let mut w = ledger.set_writer();
    for leaf in manifest.leaves() {
        w.push(leaf).unwrap();
    }
    w.commit(&manifest.root()).unwrap();
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    };
    config.limits.min_free_bytes = 0;
    let server = Server::with_ledger(ledger.clone(), config).await.unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until(async {
        let _ = rx.await;
    }));
    (addr, ledger, manifest, dir, Stop(Some(tx)))
}

fn item(i: u64) -> ContentId {
    ContentId::of(format!("item {i}").as_bytes())
}

fn pid(i: u64) -> ContentId {
    ContentId::of(format!("passage {i}").as_bytes())
}

/// The version's passage tree: passage `i` (i < 100) in items `i % 40` and `(i + 1) % 40`.
fn passage_tree() -> RangeTree {
    RangeTree::from_unsorted(
        (0..100u64)
            .flat_map(|i| {
                [
                    RangeLeaf::passage(&pid(i), &item(i % 40)),
                    RangeLeaf::passage(&pid(i), &item((i + 1) % 40)),
                ]
            })
            .collect(),
    )
}

fn leaf_bytes(leaves: &[RangeLeaf]) -> Vec<u8> {
    leaves.iter().flat_map(|l| l.as_bytes().to_vec()).collect()
}

fn upload_request(root: Digest, size: u64) -> Vec<u8> {
    UploadRequest::anonymous(root, size, UploadFormat::Passages, now())
        .unwrap()
        .with_nonce(rand::random::<u64>() >> 11)
        .unwrap()
        .signed(&key(1))
        .unwrap()
        .to_json()
        .unwrap()
}

async fn start_upload(addr: SocketAddr, root: Digest, size: u64) -> String {
    let r = request(
        addr,
        "POST",
        "/v1/uploads",
        Some("application/json"),
        &upload_request(root, size),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["upload_id"].as_str().unwrap().to_string()
}

/// Uploads `leaves` claiming `root` in chunks of `split` bytes, then commits.
async fn upload_chunked(
    addr: SocketAddr,
    leaves: &[RangeLeaf],
    root: Digest,
    split: usize,
) -> Reply {
    let id = start_upload(addr, root, leaves.len() as u64).await;
    for (seq, chunk) in leaf_bytes(leaves).chunks(split).enumerate() {
        let r = request(
            addr,
            "POST",
            &format!("/v1/uploads/{id}/chunks/{seq}"),
            Some(PASSAGE_LEAVES),
            chunk,
        )
        .await;
        if r.status != 200 {
            return r;
        }
    }
    request(addr, "POST", &format!("/v1/uploads/{id}/commit"), None, b"").await
}

fn version_entry(v: &str, manifest: &SortedSet, passages: Option<SetRef>) -> Vec<u8> {
    let body = EntryBody::DatasetVersion(DatasetVersion {
        publisher: Name::new("acme").unwrap(),
        dataset: Name::new("web").unwrap(),
        version: Name::new(v).unwrap(),
        manifest_root: manifest.root(),
        item_count: manifest.size().0,
        total_bytes: 4000,
        corpus_mode: CorpusMode::JsonLines {
            field: "text".into(),
        },
        licence: "CC-BY-4.0".into(),
        previous: None,
        sources: None,
        passages,
    });
    Entry::sign(ORIGIN, body, now(), None, &key(1))
        .unwrap()
        .as_bytes()
        .to_vec()
}

async fn post_entry(addr: SocketAddr, entry: &[u8]) -> Reply {
    request(addr, "POST", "/v1/entries", Some("application/json"), entry).await
}

fn proof_of(v: &Value) -> RangeProof {
    serde_json::from_value(v["proof"].clone()).unwrap()
}

#[tokio::test]
async fn a_passage_tree_uploads_in_chunks_and_its_passages_are_proven_over_http() {
    let (addr, _ledger, manifest, _dir, _stop) = serve().await;
    let tree = passage_tree();
    // Chunks of 1000 bytes: leaves split across chunks.
    let r = upload_chunked(addr, tree.leaves(), tree.root(), 1000).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json(), json!({"root": tree.root().to_hex(), "size": 200}));
    let claim = SetRef {
        root: tree.root(),
        size: 200,
    };
    let r = post_entry(addr, &version_entry("1", &manifest, Some(claim))).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let entry_index = r.json()["index"].as_u64().unwrap();
    // The version's view names its passage tree.
    let r = request(addr, "GET", "/v1/datasets/acme/web/1", None, b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["passages"],
        json!({"root": tree.root().to_hex(), "size": 200})
    );

    // One passage, present: its two items, proven against the entry's passages.
    let r = request(
        addr,
        "GET",
        &format!("/v1/datasets/acme/web/1/passages/{}", pid(7)),
        None,
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["dataset"], "acme/web@1");
    assert_eq!(v["entry_index"], entry_index);
    assert_eq!(
        v["passages"],
        json!({"root": tree.root().to_hex(), "size": 200})
    );
    assert_eq!(v["count"], 2);
    let range = Range::passage(&pid(7));
    let m = verify_range(&tree.root(), TreeSize(200), &range, &proof_of(&v)).unwrap();
    assert_eq!(m.count, 2);
    let items: Vec<ContentId> = m
        .revealed
        .iter()
        .map(|(_, l)| l.split_passage().unwrap().1)
        .collect();
    let mut expected = vec![item(7), item(8)];
    expected.sort();
    assert_eq!(items, expected);

    // Absent: proven excluded.
    let absent = ContentId::of(b"a passage of a work nobody used");
    let r = request(
        addr,
        "GET",
        &format!("/v1/datasets/acme/web/1/passages/{absent}?reveal=3"),
        None,
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["count"], 0);
    let m = verify_range(
        &tree.root(),
        TreeSize(200),
        &Range::passage(&absent),
        &proof_of(&v),
    )
    .unwrap();
    assert_eq!(m.count, 0);

    // Many at once, unsorted and repeated: one multi-range proof, results sorted by pid.
    let asked = [pid(50), absent, pid(3), pid(50), pid(99)];
    let body =
        json!({"passages": asked.iter().map(ToString::to_string).collect::<Vec<_>>(), "reveal": 4});
    let r = request(
        addr,
        "POST",
        "/v1/datasets/acme/web/1/passages",
        Some("application/json"),
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let mut pids = [pid(50), absent, pid(3), pid(99)];
    pids.sort();
    let results: Vec<(String, u64)> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["passage"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = pids
        .iter()
        .map(|p| (p.to_string(), if *p == absent { 0 } else { 2 }))
        .collect();
    assert_eq!(results, expected);
    let ranges: Vec<Range> = pids.iter().map(Range::passage).collect();
    let members = verify_ranges(&tree.root(), TreeSize(200), &ranges, &proof_of(&v)).unwrap();
    let counts: Vec<u64> = members.iter().map(|m| m.count).collect();
    assert_eq!(counts, expected.iter().map(|e| e.1).collect::<Vec<_>>());
    // A flipped bit in the proof is refused.
    let mut bad = proof_of(&v);
    bad.hashes[0].0[0] ^= 1;
    assert!(verify_ranges(&tree.root(), TreeSize(200), &ranges, &bad).is_err());

    // The stored tree's leaves, paged.
    let r = request(
        addr,
        "GET",
        &format!(
            "/v1/passages/{}/leaves?start=190&limit=50",
            tree.root().to_hex()
        ),
        None,
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["size"], 200);
    assert_eq!(v["start"], 190);
    let got: Vec<String> = serde_json::from_value(v["leaves"].clone()).unwrap();
    let want: Vec<String> = tree.leaves()[190..].iter().map(RangeLeaf::to_hex).collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn passage_uploads_refuse_wrong_type_unsorted_partial_and_wrong_root() {
    let (addr, ledger, _manifest, _dir, _stop) = serve().await;
    let tree = passage_tree();
    let leaves = tree.leaves();

    // 415: a passage upload sent as 72-byte set leaves.
    let id = start_upload(addr, tree.root(), 200).await;
    let r = request(
        addr,
        "PUT",
        &format!("/v1/uploads/{id}"),
        Some("application/octet-stream"),
        &leaf_bytes(leaves),
    )
    .await;
    r.assert_problem(415, "unsupported-media-type");

    // 422: unsorted leaves (which could prove a passage both in and out).
    let mut swapped = leaves.to_vec();
    swapped.swap(10, 11);
    let r = upload_chunked(addr, &swapped, tree.root(), 64 * 50).await;
    r.assert_problem(422, "invalid-set");

    // 422: a root the leaves do not hash to.
    let r = upload_chunked(addr, leaves, Digest([9; 32]), 64 * 50).await;
    r.assert_problem(422, "root-mismatch");

    // 422: a partial 64-byte leaf at the end (PUT whole).
    let id = start_upload(addr, tree.root(), 200).await;
    let mut bytes = leaf_bytes(leaves);
    bytes.truncate(bytes.len() - 10);
    let r = request(
        addr,
        "PUT",
        &format!("/v1/uploads/{id}"),
        Some(PASSAGE_LEAVES),
        &bytes,
    )
    .await;
    r.assert_problem(422, "partial-passage-leaf");

    // Nothing refused was stored.
    assert_eq!(ledger.sets().passage_info(&tree.root()).unwrap(), None);
    assert_eq!(ledger.sets().passage_info(&Digest([9; 32])).unwrap(), None);
}

#[tokio::test]
async fn passage_rules_answer_with_their_problem_types() {
    let (addr, _ledger, manifest, _dir, _stop) = serve().await;
    let tree = passage_tree();
    let claim = SetRef {
        root: tree.root(),
        size: 200,
    };
    // Before the upload: passages-not-stored.
    let r = post_entry(addr, &version_entry("1", &manifest, Some(claim))).await;
    r.assert_problem(422, "passages-not-stored");
    let r = upload_chunked(addr, tree.leaves(), tree.root(), 1 << 20).await;
    assert_eq!(r.status, 201, "{}", r.text());
    // Another size: passages-not-stored.
    let wrong = SetRef {
        root: tree.root(),
        size: 199,
    };
    let r = post_entry(addr, &version_entry("1", &manifest, Some(wrong))).await;
    r.assert_problem(422, "passages-not-stored");
    // An anonymous opt-out naming it: anonymous-passages.
    let o = OptOut {
        ids: Some(OptOutIds::Inline(vec![ContentId::of(b"the work")])),
        sites: vec![],
        scope: vec![Scope::TrainAi],
        passages: Some(claim),
    };
    let anon = Entry::anonymous(ORIGIN, o.clone(), now(), Some(1)).unwrap();
    let r = post_entry(addr, anon.as_bytes()).await;
    r.assert_problem(422, "anonymous-passages");
    // A signed one over the default limit of 4096 passages: optout-passages-too-large.
    let big = RangeTree::from_unsorted(
        (0..4097u64)
            .map(|i| RangeLeaf::passage(&pid(i), &ContentId::of(b"the work")))
            .collect(),
    );
    let r = upload_chunked(addr, big.leaves(), big.root(), 1 << 20).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let too_big = OptOut {
        passages: Some(SetRef {
            root: big.root(),
            size: 4097,
        }),
        ..o.clone()
    };
    let signed = Entry::sign(ORIGIN, EntryBody::OptOut(too_big), now(), Some(2), &key(5)).unwrap();
    let r = post_entry(addr, signed.as_bytes()).await;
    r.assert_problem(422, "optout-passages-too-large");
    // Signed, stored, within the limit: accepted.
    let signed = Entry::sign(ORIGIN, EntryBody::OptOut(o), now(), Some(3), &key(5)).unwrap();
    let r = post_entry(addr, signed.as_bytes()).await;
    assert_eq!(r.status, 201, "{}", r.text());
}

#[tokio::test]
async fn passage_routes_refuse_what_they_cannot_answer() {
    let (addr, _ledger, manifest, _dir, _stop) = serve().await;
    // A version without a passage tree: 404 no-passage-tree, on both routes.
    let r = post_entry(addr, &version_entry("1", &manifest, None)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = request(
        addr,
        "GET",
        &format!("/v1/datasets/acme/web/1/passages/{}", pid(1)),
        None,
        b"",
    )
    .await;
    r.assert_problem(404, "no-passage-tree");
    let one = json!({"passages": [pid(1).to_string()]}).to_string();
    let r = request(
        addr,
        "POST",
        "/v1/datasets/acme/web/1/passages",
        Some("application/json"),
        one.as_bytes(),
    )
    .await;
    r.assert_problem(404, "no-passage-tree");
    // An unknown version: 404.
    let r = request(
        addr,
        "POST",
        "/v1/datasets/acme/web/9/passages",
        Some("application/json"),
        one.as_bytes(),
    )
    .await;
    r.assert_problem(404, "not-found");
    // 4,097 ids: 413 too-many-passages (the body itself is within the route's limit).
    let many: Vec<String> = (0..4097).map(|i| pid(i).to_string()).collect();
    let body = json!({ "passages": many }).to_string();
    let r = request(
        addr,
        "POST",
        "/v1/datasets/acme/web/1/passages",
        Some("application/json"),
        body.as_bytes(),
    )
    .await;
    r.assert_problem(413, "too-many-passages");
    // 4,096 ids at reveal 17: over the 65,536 leaves one answer may reveal.
    let body = json!({ "passages": many[..4096], "reveal": 17 }).to_string();
    let r = request(
        addr,
        "POST",
        "/v1/datasets/acme/web/1/passages",
        Some("application/json"),
        body.as_bytes(),
    )
    .await;
    r.assert_problem(413, "too-many-passages");
    // No ids: 422; a malformed id or field: 400.
    let r = request(
        addr,
        "POST",
        "/v1/datasets/acme/web/1/passages",
        Some("application/json"),
        br#"{"passages":[]}"#,
    )
    .await;
    r.assert_problem(422, "no-passages");
    for bad in [
        r#"{"passages":["blake3:XYZ"]}"#,
        r#"{"passages":["abc"],"reveal":1}"#,
        r#"{"passages":[],"extra":1}"#,
        r#"not json"#,
    ] {
        let r = request(
            addr,
            "POST",
            "/v1/datasets/acme/web/1/passages",
            Some("application/json"),
            bad.as_bytes(),
        )
        .await;
        r.assert_problem(400, "bad-request");
    }
    let r = request(
        addr,
        "GET",
        "/v1/datasets/acme/web/1/passages/notanid",
        None,
        b"",
    )
    .await;
    r.assert_problem(400, "bad-request");
    // Leaves of a tree that is not stored: 404; not a root: 400.
    let root = Digest([3; 32]).to_hex();
    let r = request(
        addr,
        "GET",
        &format!("/v1/passages/{root}/leaves"),
        None,
        b"",
    )
    .await;
    r.assert_problem(404, "not-found");
    let r = request(addr, "GET", "/v1/passages/xyz/leaves", None, b"").await;
    r.assert_problem(400, "bad-request");
}

/// A checkpoint of `acme/model` trained on `versions` (name, entry index), horizon `horizon`;
/// the weights set is stored first.
fn checkpoint_entry(
    ledger: &Ledger,
    manifest: &SortedSet,
    versions: &[(&str, u64)],
    horizon: u64,
) -> Vec<u8> {
    let weights = SortedSet::from_ids([ContentId::of(b"weights")]);
    let mut w = ledger.set_writer();
    for leaf in weights.leaves() {
        w.push(leaf).unwrap();
    }
    w.commit(&weights.root()).unwrap();
    let body = EntryBody::ModelCheckpoint(ModelCheckpoint {
        publisher: Name::new("acme").unwrap(),
        model: Name::new("model").unwrap(),
        checkpoint: Name::new("step-1").unwrap(),
        weights_root: weights.root(),
        weights_count: 1,
        datasets: versions
            .iter()
            .map(|(v, i)| DatasetRef {
                publisher: Name::new("acme").unwrap(),
                dataset: Name::new("web").unwrap(),
                version: Name::new(*v).unwrap(),
                index: LeafIndex(*i),
                manifest_root: manifest.root(),
            })
            .collect(),
        optout_horizon: horizon,
    });
    Entry::sign(ORIGIN, body, now(), None, &key(1))
        .unwrap()
        .as_bytes()
        .to_vec()
}

/// A signed opt-out of one work by its passages (and its cid).
async fn passage_optout(addr: SocketAddr, work: ContentId, pids: &[ContentId], nonce: u64) -> u64 {
    let tree =
        RangeTree::from_unsorted(pids.iter().map(|p| RangeLeaf::passage(p, &work)).collect());
    let r = upload_chunked(addr, tree.leaves(), tree.root(), 1 << 20).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let o = OptOut {
        ids: Some(OptOutIds::Inline(vec![work])),
        sites: vec![],
        scope: vec![Scope::TrainAi],
        passages: Some(SetRef {
            root: tree.root(),
            size: tree.size().0,
        }),
    };
    let e = Entry::sign(ORIGIN, EntryBody::OptOut(o), now(), Some(nonce), &key(9)).unwrap();
    let r = post_entry(addr, e.as_bytes()).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["index"].as_u64().unwrap()
}

/// A model trained on a version that holds an opted-out work's passage: the service's bundle
/// carries the opt-out's passage tree and a multi-range proof per version with a passage tree;
/// after a JSON round trip it verifies as Violated, naming the passage, the work and the items;
/// a work whose passages are absent is proven excluded; a version without a passage tree is
/// reported unchecked without changing the verdict; a bundle stripped of a passage proof is
/// invalid, never "compliant".
#[tokio::test]
async fn compliance_bundle_names_opted_out_passages_found_in_training_data() {
    let (addr, ledger, manifest, _dir, _stop) = serve().await;
    let tree = passage_tree();
    let r = upload_chunked(addr, tree.leaves(), tree.root(), 4096).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let claim = SetRef {
        root: tree.root(),
        size: 200,
    };
    let r = post_entry(addr, &version_entry("1", &manifest, Some(claim))).await;
    let v1 = r.json()["index"].as_u64().unwrap();
    let r = post_entry(addr, &version_entry("2", &manifest, None)).await;
    let v2 = r.json()["index"].as_u64().unwrap();

    // Work A: one passage in the training data (passage 7: items 7 and 8), one not.
    let work_a = ContentId::of(b"work A");
    let absent_a = ContentId::of(b"a sentence only work A has");
    let optout_a = passage_optout(addr, work_a, &[pid(7), absent_a], 1).await;
    // Work B: none of its passages is in the training data.
    let work_b = ContentId::of(b"work B");
    let absent_b: Vec<ContentId> = (0..5).map(|i| ContentId::of(&[b'b', i])).collect();
    let optout_b = passage_optout(addr, work_b, &absent_b, 2).await;

    let horizon = ledger.checkpoint().size().0;
    let cp = checkpoint_entry(&ledger, &manifest, &[("1", v1), ("2", v2)], horizon);
    let r = post_entry(addr, &cp).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let model = r.json()["index"].as_u64().unwrap();

    let r = request(addr, "GET", &format!("/v1/compliance/{model}"), None, b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let bundle: ComplianceBundle = serde_json::from_slice(&r.body).unwrap();
    // A JSON round trip changes nothing.
    let again: ComplianceBundle =
        serde_json::from_str(&serde_json::to_string(&bundle).unwrap()).unwrap();
    assert_eq!(again, bundle);
    assert_eq!(bundle.passage_optouts.len(), 2);
    assert_eq!(
        bundle.passage_proofs.len(),
        2,
        "one per opt-out, for version 1 only"
    );

    let report = verify_bundle_report(&again, ledger.verifier_key()).unwrap();
    assert!(
        matches!(&report.verdict, Verdict::Violated { violations, site_violations }
            if violations.is_empty() && site_violations.is_empty()),
        "{:?}",
        report.verdict
    );
    assert_eq!(
        report.passage_violations.len(),
        1,
        "{:?}",
        report.passage_violations
    );
    let pv = &report.passage_violations[0];
    assert_eq!(pv.optout_index, LeafIndex(optout_a));
    assert_eq!(pv.dataset, "acme/web@1");
    assert_eq!(pv.work, work_a);
    assert_eq!(pv.passage, pid(7));
    assert_eq!(pv.count, 2);
    let mut items = vec![item(7), item(8)];
    items.sort();
    assert_eq!(pv.items, items);
    let mut unchecked: Vec<(u64, String)> = report
        .passages_unchecked
        .iter()
        .map(|u| (u.optout_index.0, u.dataset.clone()))
        .collect();
    unchecked.sort();
    assert_eq!(
        unchecked,
        vec![
            (optout_a, "acme/web@2".to_string()),
            (optout_b, "acme/web@2".to_string())
        ]
    );

    // Work B's passages: proven excluded from version 1.
    let proof_b = &bundle
        .passage_proofs
        .iter()
        .find(|p| p.optout.0 == optout_b)
        .unwrap()
        .proof;
    let mut sorted_b = absent_b.clone();
    sorted_b.sort();
    let ranges: Vec<Range> = sorted_b.iter().map(Range::passage).collect();
    let members = verify_ranges(&tree.root(), TreeSize(200), &ranges, proof_b).unwrap();
    assert!(members.iter().all(|m| m.count == 0));

    // Stripped of work A's proof, the bundle is invalid, not compliant.
    let mut stripped = again.clone();
    stripped.passage_proofs.retain(|p| p.optout.0 != optout_a);
    assert!(verify_bundle_report(&stripped, ledger.verifier_key()).is_err());
}
