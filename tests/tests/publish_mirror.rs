//! `prov serve --publish`: the log mirrored into a real object store (Garage on loopback,
//! tests/src/garage.rs; one test on a `file://` directory too), and the mirror checked from the
//! bucket alone: the checkpoint verifies with the log's key, and the tiles recomputed
//! independently (our `verifier`, and Cloudflare's `tlog_tiles` from the entry bundles) give the
//! signed root. Garage tests skip without the garage binary and fail under `CI` without it.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use api::{Config, ServeError, Server};
use bytes::Bytes;
use futures_util::TryStreamExt as _;
use ledger::entry::Entry;
use ledger::{ContentId, TreeSize, VerifierKey};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
use serde_json::Value;
use tests::fixtures;
use tests::garage::Garage;
use tlog_tiles::tlog::{self, Hash, HashReader};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A `prov serve` in-process, publishing to `url`.
struct Serve {
    addr: SocketAddr,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
}

impl Serve {
    async fn start(data_dir: &Path, url: &str, options: &[(String, String)]) -> Serve {
        let mut config = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_path_buf(),
            origin: Some(fixtures::ORIGIN.into()),
            publish: Some(url.to_string()),
            ..Config::default()
        };
        for (k, v) in options {
            config
                .publish_options
                .insert(k.to_ascii_lowercase(), v.clone());
        }
        config.limits.anonymous_optouts_per_minute = 1_000_000;
        config.limits.anonymous_optout_burst = 1_000_000;
        let server = Server::bind(config).await.expect("server binds");
        let addr = server.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run_until(async {
            let _ = rx.await;
        }));
        Serve {
            addr,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("http://{}{path}", self.addr))
            .send()
            .await
            .unwrap()
    }

    async fn health(&self) -> Value {
        self.get("/healthz").await.json().await.unwrap()
    }

    async fn vkey(&self) -> VerifierKey {
        let h = self.health().await;
        h["verifier_key"].as_str().unwrap().parse().unwrap()
    }

    async fn submit(&self, entry: &Entry) {
        let resp = self
            .client
            .post(format!("http://{}/v1/entries", self.addr))
            .header("content-type", "application/json")
            .body(entry.as_bytes().to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    }

    /// Appends `n` anonymous opt-outs (numbered from `first`), 16 at a time.
    async fn append(&self, first: u64, n: u64) {
        let mut at = first;
        while at < first + n {
            let end = (at + 16).min(first + n);
            let mut set = tokio::task::JoinSet::new();
            for i in at..end {
                let (client, addr) = (self.client.clone(), self.addr);
                set.spawn(async move {
                    let id = ContentId(*blake3::hash(&i.to_be_bytes()).as_bytes());
                    let e = fixtures::optout(&[id], i);
                    let resp = client
                        .post(format!("http://{addr}/v1/entries"))
                        .header("content-type", "application/json")
                        .body(e.as_bytes().to_vec())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
                });
            }
            while let Some(r) = set.join_next().await {
                r.unwrap();
            }
            at = end;
        }
    }

    async fn tree_size(&self) -> u64 {
        self.health().await["tree_size"].as_u64().unwrap()
    }

    /// Waits (90 s at most) until `/healthz` says the whole log is published; its `publish`.
    async fn wait_published(&self) -> Value {
        self.wait_publish(|p, size| {
            p["state"] == "ok" && p["lag_entries"] == 0 && p["published_size"] == size
        })
        .await
    }

    async fn wait_publish(&self, done: impl Fn(&Value, u64) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let h = self.health().await;
            let size = h["tree_size"].as_u64().unwrap();
            if done(&h["publish"], size) {
                return h["publish"].clone();
            }
            assert!(Instant::now() < deadline, "publish never got there: {h}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Every object under `prefix`, by its name below the prefix.
async fn objects(store: &dyn ObjectStore, prefix: &str) -> BTreeMap<String, Bytes> {
    let p = ObjectPath::from(prefix);
    let metas: Vec<_> = store.list(Some(&p)).try_collect().await.unwrap();
    let mut out = BTreeMap::new();
    for m in metas {
        let bytes = store.get(&m.location).await.unwrap().bytes().await.unwrap();
        let name = m.location.as_ref()[prefix.len()..]
            .trim_start_matches('/')
            .to_string();
        out.insert(name, bytes);
    }
    out
}

/// Every object's e-tag and modification time: what a rewrite would change.
async fn versions(
    store: &dyn ObjectStore,
    prefix: &str,
) -> BTreeMap<String, (Option<String>, i64)> {
    let p = ObjectPath::from(prefix);
    let metas: Vec<_> = store.list(Some(&p)).try_collect().await.unwrap();
    metas
        .into_iter()
        .map(|m| {
            (
                m.location.to_string(),
                (m.e_tag, m.last_modified.timestamp_millis()),
            )
        })
        .collect()
}

/// Checks a mirror from its objects alone: the checkpoint verifies with `vkey`; the hash tiles
/// give its root through `verifier`'s tile reader; the entry bundles, hashed by Cloudflare's
/// `tlog_tiles`, give the same root and the same hash tiles byte for byte. Returns the size.
fn verify_mirror(objs: &BTreeMap<String, Bytes>, vkey: &VerifierKey) -> u64 {
    let note = std::str::from_utf8(&objs["checkpoint"]).unwrap();
    let cp = ledger::Checkpoint::verify(note, vkey).expect("bucket checkpoint verifies");
    let size = cp.size.0;

    // Ours: the tiles of the tree of `size`, as a reader would fetch them.
    let mut reader = verifier::tile::TileHashReader::new();
    for id in verifier::tile::tiles_for_size(TreeSize(size)) {
        let data = objs
            .get(&id.path())
            .unwrap_or_else(|| panic!("{} missing from the bucket", id.path()));
        reader.insert(id, data).unwrap();
    }
    let root = verifier::tree::tree_hash(TreeSize(size), &reader).unwrap();
    assert_eq!(root, cp.root, "tiles give the signed root (verifier)");

    // Theirs: the entries from the bundles, hashed and tiled by tlog_tiles.
    let body_end = note.find("\n\n").unwrap() + 1;
    let tl_cp = tlog_tiles::Checkpoint::from_bytes(note[..body_end].as_bytes()).unwrap();
    assert_eq!(tl_cp.size(), size);
    let mut tree = Tree::default();
    let mut entries = 0u64;
    let mut n = 0u64;
    while entries < size {
        let width = (size - entries).min(256);
        let id = verifier::tile::EntryBundleId::new(n, width as u16).unwrap();
        let bundle = objs
            .get(&id.path())
            .unwrap_or_else(|| panic!("{} missing from the bucket", id.path()));
        let mut rest = &bundle[..];
        while !rest.is_empty() {
            let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            let data = &rest[2..2 + len];
            let hs = tlog::stored_hashes(entries, data, &tree).unwrap();
            tree.0.extend(hs);
            entries += 1;
            rest = &rest[2 + len..];
        }
        n += 1;
    }
    assert_eq!(entries, size);
    let tl_root = tlog::tree_hash(size, &tree).unwrap();
    assert_eq!(
        tl_root.0, cp.root.0,
        "entries give the signed root (tlog_tiles)"
    );
    assert_eq!(tl_cp.hash().0, cp.root.0);
    for t in tlog_tiles::Tile::new_tiles(8, 0, size) {
        let ours = t.path().replacen("tile/8/", "tile/", 1);
        let want = t.read_data(&tree).unwrap();
        assert_eq!(
            objs[&ours].as_ref(),
            want.as_slice(),
            "{ours}: tlog_tiles computes the same tile"
        );
    }
    size
}

#[derive(Default)]
struct Tree(Vec<Hash>);

impl HashReader for Tree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::Error> {
        Ok(indexes.iter().map(|&i| self.0[i as usize]).collect())
    }
}

fn options(garage: &Garage) -> Vec<(String, String)> {
    garage.env()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_tiles_recomputed_give_the_signed_root() {
    let Some(garage) = Garage::start_or_skip("bucket_tiles_recomputed_give_the_signed_root") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = Serve::start(
        &dir.path().join("ledger"),
        &garage.s3_url("log"),
        &options(&garage),
    )
    .await;
    let vkey = s.vkey().await;
    // A set named by an entry: its leaves are in the bucket before the checkpoint covering it.
    let acme = fixtures::key(1);
    s.submit(&fixtures::publisher(&acme, "acme")).await;
    let v1 = fixtures::set_of(&[b"a", b"b", b"c"]);
    upload_set(&s, &v1).await;
    s.submit(&fixtures::dataset_version(
        &acme, "acme", "web", "1", &v1, None,
    ))
    .await;
    // Past one full tile, so that level 1 has a tile too.
    s.append(0, 300).await;
    let size = s.tree_size().await;
    assert!(size > 256);
    let p = s.wait_published().await;
    assert_eq!(p["url"], garage.s3_url("log"));

    let store = garage.s3();
    let objs = objects(&*store, "log").await;
    assert_eq!(verify_mirror(&objs, &vkey), size);
    // Byte for byte the service's routes.
    let served = s.get("/checkpoint").await.bytes().await.unwrap();
    assert_eq!(objs["checkpoint"], served);
    for name in ["tile/0/000", "tile/entries/000", "tile/1/000.p/1"] {
        let served = s.get(&format!("/{name}")).await.bytes().await.unwrap();
        assert_eq!(objs[name], served, "{name}");
    }
    // The set's leaves, in the upload format.
    let set_obj = format!("sets/{}.leaves", v1.root().to_hex());
    assert_eq!(
        objs[&set_obj].as_ref(),
        fixtures::leaves_bytes(&v1).as_slice()
    );
    // And anonymously, through Garage's website endpoint: no key at all.
    let web = garage.web_url("log").unwrap();
    let anon = reqwest::get(format!("{web}/checkpoint")).await.unwrap();
    assert_eq!(anon.status(), 200);
    assert_eq!(anon.bytes().await.unwrap(), objs["checkpoint"]);
    // Metrics.
    let m = s.get("/metrics").await.text().await.unwrap();
    assert!(m.contains("prov_publish_lag_entries"), "{m}");
    assert!(m.contains("prov_publish_published_size"), "{m}");
    s.stop().await;
}

async fn upload_set(s: &Serve, set: &ledger::set::SortedSet) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[201u8; 32]);
    let req = tests::server::upload_request(set, Some(&key));
    let resp = s
        .client
        .post(format!("http://{}/v1/uploads", s.addr))
        .header("content-type", "application/json")
        .body(req)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let id = body["upload_id"].as_str().unwrap();
    let resp = s
        .client
        .put(format!("http://{}/v1/uploads/{id}", s.addr))
        .header("content-type", "application/octet-stream")
        .body(fixtures::leaves_bytes(set))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
}

/// The same mirror in a local directory (`file://`): runs without Garage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_mirror_recomputes_to_the_signed_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mirror");
    let s = Serve::start(
        &dir.path().join("ledger"),
        &format!("file://{}/log", root.display()),
        &[],
    )
    .await;
    let vkey = s.vkey().await;
    s.append(0, 270).await;
    s.wait_published().await;
    std::fs::create_dir_all(&root).unwrap();
    let store = object_store::local::LocalFileSystem::new_with_prefix(&root).unwrap();
    let objs = objects(&store, "log").await;
    assert_eq!(verify_mirror(&objs, &vkey), 270);
    s.stop().await;
}

/// Someone else's bytes at `tile/0/000` (a second log published to the same prefix, a damaged
/// copy): the publisher stops there, says so, and leaves the object alone.
async fn full_tile_with_other_bytes_is_never_overwritten(
    store: Arc<dyn ObjectStore>,
    prefix: &str,
    url: &str,
    options: &[(String, String)],
) {
    let bogus = Bytes::from(vec![0xAA; 256 * 32]);
    let tile = ObjectPath::from(format!("{prefix}/tile/0/000"));
    store
        .put(&tile, PutPayload::from(bogus.clone()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = Serve::start(&dir.path().join("ledger"), url, options).await;
    s.append(0, 260).await;
    let p = s.wait_publish(|p, _| p["state"] == "stopped").await;
    let err = p["last_error"].as_str().unwrap();
    assert!(err.contains("tile/0/000"), "{err}");
    assert!(p["published_size"].as_u64().unwrap() < 256, "{p}");
    assert!(p["lag_entries"].as_u64().unwrap() > 0, "{p}");
    let there = store.get(&tile).await.unwrap().bytes().await.unwrap();
    assert_eq!(there, bogus, "the foreign tile is left as it was");
    // The bucket's checkpoint, if any, never covers the tree the foreign tile would be part of.
    let cp = store
        .get(&ObjectPath::from(format!("{prefix}/checkpoint")))
        .await;
    if let Ok(cp) = cp {
        let text = String::from_utf8(cp.bytes().await.unwrap().to_vec()).unwrap();
        let size: u64 = text.lines().nth(1).unwrap().parse().unwrap();
        assert!(size < 256, "{text}");
    }
    let m = s.get("/metrics").await.text().await.unwrap();
    assert!(
        m.lines()
            .any(|l| l.starts_with("prov_publish_errors_total") && l.contains("conflict")),
        "{m}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_tile_with_other_bytes_in_garage_is_never_overwritten() {
    let Some(garage) =
        Garage::start_or_skip("full_tile_with_other_bytes_in_garage_is_never_overwritten")
    else {
        return;
    };
    full_tile_with_other_bytes_is_never_overwritten(
        garage.s3(),
        "conflict",
        &garage.s3_url("conflict"),
        &options(&garage),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_tile_with_other_bytes_in_a_directory_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let root: PathBuf = dir.path().join("mirror");
    std::fs::create_dir_all(&root).unwrap();
    let store: Arc<dyn ObjectStore> =
        Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&root).unwrap());
    full_tile_with_other_bytes_is_never_overwritten(
        store,
        "log",
        &format!("file://{}/log", root.display()),
        &[],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publisher_catches_up_after_the_store_was_down() {
    let Some(mut garage) = Garage::start_or_skip("publisher_catches_up_after_the_store_was_down")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = Serve::start(
        &dir.path().join("ledger"),
        &garage.s3_url("log"),
        &options(&garage),
    )
    .await;
    let vkey = s.vkey().await;
    s.append(0, 20).await;
    s.wait_published().await;
    garage.stop_node(0);
    // The sequencer does not wait for the store: appends go on while it is down.
    s.append(20, 40).await;
    let p = s
        .wait_publish(|p, _| p["state"] == "retrying" && p["last_error"].is_string())
        .await;
    assert!(p["lag_entries"].as_u64().unwrap() > 0, "{p}");
    garage.restart_node(0);
    let p = s.wait_published().await;
    assert_eq!(p["lag_entries"], 0);
    assert!(p["last_error"].is_null(), "{p}");
    let objs = objects(&*garage.s3(), "log").await;
    assert_eq!(verify_mirror(&objs, &vkey), s.tree_size().await);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_serve_resumes_from_the_bucket_without_rewriting() {
    let Some(garage) =
        Garage::start_or_skip("restarted_serve_resumes_from_the_bucket_without_rewriting")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let url = garage.s3_url("log");
    let store = garage.s3();
    let s = Serve::start(&data, &url, &options(&garage)).await;
    let vkey = s.vkey().await;
    s.append(0, 100).await;
    s.wait_published().await;
    // Keep the checkpoint of this size: put back later, it plays a crash after step 2 of a round.
    let old_checkpoint = s.get("/checkpoint").await.bytes().await.unwrap();
    s.append(100, 200).await;
    s.wait_published().await;
    s.stop().await;
    let before = versions(&*store, "log").await;

    // Restart: resumes from the bucket's checkpoint and rewrites nothing.
    let s = Serve::start(&data, &url, &options(&garage)).await;
    let p = s.wait_published().await;
    assert_eq!(p["published_size"].as_u64().unwrap(), 300);
    assert_eq!(versions(&*store, "log").await, before, "nothing rewritten");
    s.stop().await;

    // A crash between steps 2 and 3 leaves the bucket's checkpoint behind its tiles: the
    // restarted publisher replays the round from there, finds every object equal, and only
    // moves the checkpoint.
    store
        .put(
            &ObjectPath::from("log/checkpoint"),
            PutPayload::from(old_checkpoint),
        )
        .await
        .unwrap();
    let before = versions(&*store, "log").await;
    let s = Serve::start(&data, &url, &options(&garage)).await;
    s.wait_published().await;
    let after = versions(&*store, "log").await;
    for (name, v) in &before {
        if !name.ends_with("/checkpoint") {
            assert_eq!(after.get(name), Some(v), "{name} rewritten");
        }
    }
    s.append(300, 10).await;
    s.wait_published().await;
    let objs = objects(&*store, "log").await;
    assert_eq!(verify_mirror(&objs, &vkey), 310);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_node_cluster_keeps_publishing_and_verifying_with_a_node_down() {
    let Some(mut garage) = Garage::start_cluster(
        3,
        "three_node_cluster_keeps_publishing_and_verifying_with_a_node_down",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = Serve::start(
        &dir.path().join("ledger"),
        &garage.s3_url("log"),
        &options(&garage),
    )
    .await;
    let vkey = s.vkey().await;
    let store = garage.s3();
    s.append(0, 50).await;
    s.wait_published().await;
    assert_eq!(verify_mirror(&objects(&*store, "log").await, &vkey), 50);
    garage.stop_node(2);
    let mut last = 50;
    for round in 0..4u64 {
        s.append(50 + round * 70, 70).await;
        s.wait_published().await;
        // A reader that knows only the bucket and the key keeps verifying, growing each time.
        let size = verify_mirror(&objects(&*store, "log").await, &vkey);
        assert!(size > last, "{size} after {last}");
        last = size;
    }
    assert_eq!(last, 330);
    s.stop().await;
}
