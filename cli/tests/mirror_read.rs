//! Readers of a static mirror of the log (SPEC16 A, issue 16 item 1, reader half): a real `prov
//! serve` builds a ledger (a dataset version, an opt-out, a model checkpoint); its served bytes
//! (checkpoint, hash tiles, entry bundles, the leaves of stored sets) are copied into a mirror
//! laid out as `prov serve --publish` writes it; then `prov verify checkpoint|inclusion|
//! consistency --tiles`, `prov proof inclusion --tiles`, `prov verify compliance --tiles` and
//! `prov audit --tiles` read nothing but the mirror and the vkey.
//!
//! The mirror is a directory (also as a `file://` URL), and, where a Garage binary is installed,
//! a bucket of a real Garage on loopback read as `s3://` with credentials and as anonymous static
//! HTTP through Garage's website endpoint. The same corpus uploaded to the bucket hashes from
//! `s3://` to the local root, in one run and in 4 shards merged.
//!
//! Adversarial mirrors, each refused with its documented exit code: a flipped bit in a hash
//! tile (3), an entry bundle that omits an entry (3), a checkpoint signed by another log's key
//! (2), a compliance bundle that leaves out an opt-out (2, incomplete).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![cfg(feature = "server")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{json, ok, p, prov, register, Server, PROV};

/// A real ledger and what the readers are checked against.
struct Ledger {
    tmp: tempfile::TempDir,
    server: Server,
    vkey_file: PathBuf,
    /// The checkpoint after the first dataset version: the old side of a consistency check.
    early_checkpoint: PathBuf,
    /// The compliance bundle of the model checkpoint, and one with the opt-out removed.
    bundle: PathBuf,
    trimmed: PathBuf,
    /// The model checkpoint's entry index and its exact bytes, in a file.
    model_index: u64,
    model_entry: PathBuf,
}

impl Ledger {
    fn t(&self) -> &Path {
        self.tmp.path()
    }
    fn s(&self) -> &str {
        &self.server.url
    }
    fn vk(&self) -> &str {
        p(&self.vkey_file)
    }
}

fn get(url: &str) -> Option<Vec<u8>> {
    match ureq::get(url).call() {
        Ok(r) => {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut r.into_reader(), &mut out).unwrap();
            Some(out)
        }
        Err(ureq::Error::Status(404, _)) => None,
        Err(e) => panic!("GET {url}: {e}"),
    }
}

fn write_docs(dir: &Path, docs: &[(&str, &str)]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in docs {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir.to_path_buf()
}

/// A ledger with two dataset versions (the second without an opted-out document), an opt-out
/// and a model checkpoint trained on the second version, more than one entry bundle wide is not
/// needed: every reader's path through partial tiles is exercised at this size.
fn build_ledger() -> Ledger {
    build_ledger_on(|data| Server::start(data, false))
}

/// [`build_ledger`] on the server `start` starts on a data directory.
fn build_ledger_on(start: impl FnOnce(&Path) -> Server) -> Ledger {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().to_path_buf();
    let server = start(&t.join("ledger"));
    let s = server.url.clone();
    let vkey_file = t.join("vkey");
    std::fs::write(&vkey_file, format!("{}\n", server.vkey)).unwrap();
    let key = register(&s, &t, "alice");
    let publish = |version: &str, dir: &Path| {
        ok(
            &[
                "publish",
                "--key",
                p(&key),
                "--dataset",
                "web",
                "--version",
                version,
                "--mode",
                "file",
                "--backend",
                "cpu",
                "--json",
                "--server",
                &s,
                p(dir),
            ],
            0,
        )
    };
    let v1 = write_docs(
        &t.join("v1"),
        &[("1", "one page"), ("2", "opted out"), ("3", "three")],
    );
    publish("v1", &v1);
    let early_checkpoint = t.join("early.checkpoint");
    std::fs::write(&early_checkpoint, get(&format!("{s}/checkpoint")).unwrap()).unwrap();
    let doc = t.join("doc.txt");
    std::fs::write(&doc, "opted out").unwrap();
    let out = ok(&["optout", p(&doc), "--json", "--server", &s], 0);
    let optout_index = json(&out)["index"].as_u64().unwrap();
    let v2 = write_docs(&t.join("v2"), &[("1", "one page"), ("3", "three")]);
    publish("v2", &v2);
    write_docs(&t.join("weights"), &[("model.bin", "weights")]);
    let out = ok(
        &[
            "attest",
            "--key",
            p(&key),
            "--model",
            "lm",
            "--checkpoint",
            "c1",
            "--weights",
            p(&t.join("weights")),
            "--backend",
            "cpu",
            "--dataset",
            "web@v2",
            "--json",
            "--server",
            &s,
        ],
        0,
    );
    let model_index = json(&out)["index"].as_u64().unwrap();
    let bundle = t.join("bundle.json");
    ok(
        &[
            "proof",
            "compliance",
            &model_index.to_string(),
            "--out",
            p(&bundle),
            "--vkey",
            p(&vkey_file),
            "--server",
            &s,
        ],
        0,
    );
    let mut b = json(&std::fs::read_to_string(&bundle).unwrap());
    let optouts = b["optouts"].as_array_mut().unwrap();
    let before = optouts.len();
    optouts.retain(|o| {
        !o["proof"]
            .as_str()
            .unwrap()
            .contains(&format!("\nindex {optout_index}\n"))
    });
    assert_eq!(optouts.len(), before - 1, "the bundle carries the opt-out");
    let trimmed = t.join("trimmed.json");
    std::fs::write(&trimmed, serde_json::to_vec(&b).unwrap()).unwrap();
    let view =
        json(&String::from_utf8(get(&format!("{s}/v1/entries/{model_index}")).unwrap()).unwrap());
    let model_entry = t.join("model.entry");
    std::fs::write(&model_entry, view["canonical"].as_str().unwrap()).unwrap();
    Ledger {
        tmp,
        server,
        vkey_file,
        early_checkpoint,
        bundle,
        trimmed,
        model_index,
        model_entry,
    }
}

/// `tile/<L>/` index path of tile `n` (C2SP tlog-tiles: groups of three digits, `x` prefixes).
fn index_path(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// The tile paths of a tree of `size` at one level's width `w` (`size` at that level).
fn tile_paths(prefix: &str, size: u64) -> Vec<String> {
    let (full, partial) = (size / 256, size % 256);
    let mut out: Vec<String> = (0..full)
        .map(|n| format!("{prefix}/{}", index_path(n)))
        .collect();
    if partial > 0 {
        out.push(format!("{prefix}/{}.p/{partial}", index_path(full)));
    }
    out
}

/// Every 64-hex value under a key ending in `root` in an entry's JSON view.
fn roots_in(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match x.as_str() {
                    Some(h) if k.ends_with("root") && h.len() == 64 => out.push(h.to_string()),
                    _ => roots_in(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| roots_in(x, out)),
        _ => {}
    }
}

/// The service's static objects, as `prov serve --publish` mirrors them: the checkpoint, the
/// hash tiles and entry bundles of its size, and the leaves (and metadata) of every stored set
/// an entry names.
fn mirror_objects(s: &str) -> Vec<(String, Vec<u8>)> {
    let note = get(&format!("{s}/checkpoint")).unwrap();
    let size: u64 = String::from_utf8_lossy(&note)
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut paths = tile_paths("tile/entries", size);
    let mut level_size = size;
    for level in 0.. {
        if level_size == 0 {
            break;
        }
        paths.extend(tile_paths(&format!("tile/{level}"), level_size));
        level_size /= 256;
    }
    let mut out: Vec<(String, Vec<u8>)> = paths
        .into_iter()
        .map(|path| {
            let b = get(&format!("{s}/{path}")).unwrap();
            (path, b)
        })
        .collect();
    let mut roots = Vec::new();
    for i in 0..size {
        let view = json(&String::from_utf8(get(&format!("{s}/v1/entries/{i}")).unwrap()).unwrap());
        roots_in(&view, &mut roots);
    }
    roots.sort();
    roots.dedup();
    for root in roots {
        let url = format!("{s}/v1/sets/{root}/leaves?offset=0&limit=100000&meta=true");
        let Some(page) = get(&url) else { continue };
        let page = json(&String::from_utf8(page).unwrap());
        let (mut leaves, mut meta, mut any_meta) = (Vec::new(), String::new(), false);
        for item in page["items"].as_array().unwrap() {
            let cid = item["cid"].as_str().unwrap().trim_start_matches("blake3:");
            leaves.extend(hex::decode(cid).unwrap());
            leaves.extend(item["size"].as_u64().unwrap().to_be_bytes());
            leaves.extend(hex::decode(item["meta"].as_str().unwrap()).unwrap());
            match item.get("metadata").filter(|m| !m.is_null()) {
                Some(m) => {
                    any_meta = true;
                    meta.push_str(&serde_json::to_string(m).unwrap());
                }
                None => meta.push_str("null"),
            }
            meta.push('\n');
        }
        out.push((format!("sets/{root}.leaves"), leaves));
        if any_meta {
            out.push((format!("sets/{root}.meta"), meta.into_bytes()));
        }
    }
    // Last, as the publisher writes it.
    out.push(("checkpoint".to_string(), note));
    out
}

fn write_mirror(dir: &Path, objects: &[(String, Vec<u8>)]) {
    for (path, bytes) in objects {
        let f = dir.join(path);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, bytes).unwrap();
    }
}

/// `prov` with extra environment variables (a store's credentials).
fn prov_env(args: &[&str], env: &[(String, String)]) -> common::Run {
    let o = Command::new(PROV)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    common::Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn ok_env(args: &[&str], env: &[(String, String)], want: i32) -> String {
    let r = prov_env(args, env);
    assert_eq!(
        r.code, want,
        "prov {args:?} exited {} (want {want})\nstdout: {}\nstderr: {}",
        r.code, r.stdout, r.stderr
    );
    r.stdout
}

/// Everything a reader does with only `location` and the vkey, honest mirror.
fn readers_verify(l: &Ledger, location: &str, env: &[(String, String)]) {
    let vk = l.vk();
    let size: u64 = std::fs::read_to_string(l.t().join("size"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let out = ok_env(
        &[
            "verify",
            "checkpoint",
            "--vkey",
            vk,
            "--tiles",
            location,
            "--json",
        ],
        env,
        0,
    );
    assert_eq!(json(&out)["tree_size"], size, "{location}");
    let out = ok_env(
        &[
            "verify",
            "inclusion",
            "--vkey",
            vk,
            "--entry",
            p(&l.model_entry),
            "--tiles",
            location,
            "--json",
        ],
        env,
        0,
    );
    assert_eq!(
        json(&out)["index"],
        l.model_index,
        "found by reading the bundles"
    );
    let proof = l.t().join("mirror.tlog-proof");
    ok_env(
        &[
            "proof",
            "inclusion",
            &l.model_index.to_string(),
            "--out",
            p(&proof),
            "--vkey",
            vk,
            "--tiles",
            location,
        ],
        env,
        0,
    );
    ok(
        &[
            "verify",
            "inclusion",
            "--vkey",
            vk,
            "--entry",
            p(&l.model_entry),
            p(&proof),
        ],
        0,
    );
    ok_env(
        &[
            "verify",
            "consistency",
            "--vkey",
            vk,
            p(&l.early_checkpoint),
            "--tiles",
            location,
        ],
        env,
        0,
    );
    let out = ok_env(
        &[
            "verify",
            "compliance",
            "--vkey",
            vk,
            "--complete",
            "--tiles",
            location,
            "--json",
            p(&l.bundle),
        ],
        env,
        0,
    );
    assert_eq!(json(&out)["complete"], true, "{out}");
    // The opt-out left out of the bundle is found in the mirror's entry bundles.
    let r = prov_env(
        &[
            "verify",
            "compliance",
            "--vkey",
            vk,
            "--complete",
            "--tiles",
            location,
            p(&l.trimmed),
        ],
        env,
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("incomplete"), "{}", r.stderr);
    // In which dataset versions is a document: found by reading the bundles and set leaves.
    let doc = l.t().join("doc1.txt");
    std::fs::write(&doc, "one page").unwrap();
    let out = ok_env(
        &[
            "check",
            p(&doc),
            "--vkey",
            vk,
            "--tiles",
            location,
            "--json",
        ],
        env,
        0,
    );
    let j = json(&out);
    let mut versions: Vec<&str> = j["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dataset"].as_str().unwrap())
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, ["alice/web@v1", "alice/web@v2"], "{out}");
    assert_eq!(
        j["checkpoints"][0]["model_checkpoint"], "alice/lm@c1",
        "{out}"
    );
    std::fs::write(&doc, "in no dataset").unwrap();
    ok_env(
        &["check", p(&doc), "--vkey", vk, "--tiles", location],
        env,
        1,
    );
}

fn audit_verifies(l: &Ledger, location: &str, env: &[(String, String)], tag: &str) {
    let state = l.t().join(format!("audit-{tag}.json"));
    let out = ok_env(
        &[
            "audit",
            "--vkey",
            l.vk(),
            "--tiles",
            location,
            "--state",
            p(&state),
            "--json",
        ],
        env,
        0,
    );
    assert!(!out.is_empty());
}

fn setup() -> (Ledger, Vec<(String, Vec<u8>)>) {
    let l = build_ledger();
    let objects = mirror_objects(l.s());
    let note = &objects.last().unwrap().1;
    let size = String::from_utf8_lossy(note)
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    std::fs::write(l.t().join("size"), size).unwrap();
    (l, objects)
}

#[test]
fn readers_verify_from_a_directory_mirror_with_only_the_vkey() {
    let (mut l, objects) = setup();
    let dir = l.t().join("mirror");
    write_mirror(&dir, &objects);
    let url = format!("file://{}", dir.display());
    // The service is gone: only the mirror is read.
    l.server.child.kill().unwrap();
    readers_verify(&l, &url, &[]);
    readers_verify(&l, p(&dir), &[]);
    audit_verifies(&l, &url, &[], "file");
}

/// A copy of `objects` with `f` applied to the object at `path`.
fn altered(
    objects: &[(String, Vec<u8>)],
    path: &str,
    f: impl Fn(&mut Vec<u8>),
) -> Vec<(String, Vec<u8>)> {
    let mut out = objects.to_vec();
    let o = out.iter_mut().find(|(p, _)| p == path).unwrap();
    f(&mut o.1);
    out
}

#[test]
fn a_mirror_with_a_flipped_bit_in_a_tile_is_refused_with_exit_3() {
    let (l, objects) = setup();
    let tile = objects
        .iter()
        .find(|(p, _)| p.starts_with("tile/0/"))
        .unwrap()
        .0
        .clone();
    let bad = altered(&objects, &tile, |b| b[5] ^= 0x10);
    let dir = l.t().join("flipped");
    write_mirror(&dir, &bad);
    let url = format!("file://{}", dir.display());
    let r = prov(&["verify", "checkpoint", "--vkey", l.vk(), "--tiles", &url]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("disagree"), "{}", r.stderr);
    // The proof of the model's entry runs through the flipped hash too.
    let r = prov(&[
        "verify",
        "inclusion",
        "--vkey",
        l.vk(),
        "--entry",
        p(&l.model_entry),
        "--index",
        &l.model_index.to_string(),
        "--tiles",
        &url,
    ]);
    assert_ne!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn a_mirror_whose_entry_bundle_omits_an_entry_is_refused_with_exit_3() {
    let (l, objects) = setup();
    let bundle = objects
        .iter()
        .find(|(p, _)| p.starts_with("tile/entries/"))
        .unwrap()
        .0
        .clone();
    // Entry bundles are 2-byte big-endian lengths, each followed by the entry: drop the first.
    let bad = altered(&objects, &bundle, |b| {
        let n = usize::from(u16::from_be_bytes([b[0], b[1]]));
        b.drain(..2 + n);
    });
    let dir = l.t().join("short");
    write_mirror(&dir, &bad);
    let r = prov(&["verify", "checkpoint", "--vkey", l.vk(), "--tiles", p(&dir)]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    let r = prov(&[
        "audit",
        "--vkey",
        l.vk(),
        "--tiles",
        p(&dir),
        "--state",
        p(&l.t().join("a.json")),
    ]);
    assert_ne!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn a_mirror_whose_checkpoint_is_signed_by_another_key_is_refused_with_exit_2() {
    let (l, objects) = setup();
    let other = Server::start(&l.t().join("other-ledger"), false);
    let foreign = get(&format!("{}/checkpoint", other.url)).unwrap();
    let bad = altered(&objects, "checkpoint", |b| *b = foreign.clone());
    let dir = l.t().join("foreign");
    write_mirror(&dir, &bad);
    let url = format!("file://{}", dir.display());
    for args in [
        vec!["verify", "checkpoint", "--vkey", l.vk(), "--tiles", &url],
        vec![
            "verify",
            "inclusion",
            "--vkey",
            l.vk(),
            "--entry",
            p(&l.model_entry),
            "--tiles",
            &url,
        ],
        vec![
            "audit",
            "--vkey",
            l.vk(),
            "--tiles",
            &url,
            "--state",
            p(&l.t().join("f.json")),
        ],
    ] {
        let r = prov(&args);
        assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
        // Refused for the signature, not for the command line.
        let why = ["no signature", "does not verify"];
        assert!(
            why.iter().any(|w| r.stderr.contains(w)),
            "{args:?}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("Usage"), "{args:?}: {}", r.stderr);
    }
}

/// `prov serve --publish URL` with `env` (the store's credentials).
fn serve_publishing(data: &Path, url: &str, env: &[(String, String)]) -> Server {
    Server::start_with_env(data, false, &["--publish", url], env)
}

/// Waits (90 s at most) until the server's `/healthz` says its whole log is published.
fn wait_published(l: &Ledger) {
    let note = get(&format!("{}/checkpoint", l.s())).unwrap();
    let size: u64 = String::from_utf8_lossy(&note)
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    std::fs::write(l.t().join("size"), size.to_string()).unwrap();
    for _ in 0..900 {
        let h = json(&String::from_utf8(get(&format!("{}/healthz", l.s())).unwrap()).unwrap());
        let p = &h["publish"];
        if p["published_size"] == size && p["lag_entries"] == 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the log was not published within 90 s");
}

#[test]
fn readers_verify_what_prov_serve_publish_wrote_to_a_directory() {
    let d = tempfile::tempdir().unwrap();
    let url = format!("file://{}", d.path().join("mirror").display());
    let mut l = build_ledger_on(|data| serve_publishing(data, &url, &[]));
    wait_published(&l);
    l.server.child.kill().unwrap();
    readers_verify(&l, &url, &[]);
    audit_verifies(&l, &url, &[], "published-file");
}

#[test]
fn garage_readers_verify_what_prov_serve_publish_wrote_to_the_bucket() {
    let Some(g) = tests::garage::Garage::start_or_skip("mirror_read garage publish") else {
        return;
    };
    let env = g.env();
    let url = g.s3_url("published");
    let mut l = build_ledger_on(|data| serve_publishing(data, &url, &env));
    wait_published(&l);
    l.server.child.kill().unwrap();
    // Only the bucket's address (with credentials, or anonymous static HTTP) and the vkey.
    readers_verify(&l, &url, &env);
    audit_verifies(&l, &url, &env, "published-s3");
    if let Some(web) = g.web_url("published") {
        readers_verify(&l, &web, &[]);
    }
}

/// Uploads `objects` under `prefix` in the bucket.
fn upload(g: &tests::garage::Garage, prefix: &str, objects: &[(String, Vec<u8>)]) {
    use object_store::ObjectStore;
    let s3 = g.s3();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        for (path, bytes) in objects {
            let key = object_store::path::Path::from(format!("{prefix}/{path}"));
            s3.put(&key, bytes.clone().into()).await.unwrap();
        }
    });
}

fn root_of(out: &str) -> String {
    json(out)["root"].as_str().unwrap().to_string()
}

#[test]
fn garage_a_bucket_mirror_verifies_and_a_bucket_corpus_hashes_to_the_local_root() {
    let Some(g) = tests::garage::Garage::start_or_skip("mirror_read garage") else {
        return;
    };
    let env = g.env();
    let (l, objects) = setup();
    upload(&g, "log", &objects);
    // With the bucket's address and credentials, and anonymously over its static website.
    readers_verify(&l, &g.s3_url("log"), &env);
    audit_verifies(&l, &g.s3_url("log"), &env, "s3");
    if let Some(web) = g.web_url("log") {
        readers_verify(&l, &web, &[]);
    }
    // A tile flipped in the bucket is refused there too.
    let tile = objects
        .iter()
        .find(|(p, _)| p.starts_with("tile/0/"))
        .unwrap()
        .0
        .clone();
    upload(&g, "flipped", &altered(&objects, &tile, |b| b[40] ^= 1));
    let r = prov_env(
        &[
            "verify",
            "checkpoint",
            "--vkey",
            l.vk(),
            "--tiles",
            &g.s3_url("flipped"),
        ],
        &env,
    );
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);

    // A corpus: nested files (one above the large-file threshold, streamed in ranges) and
    // JSON Lines.
    let corpus = l.t().join("corpus");
    let mut files: Vec<(String, Vec<u8>)> = (0..40)
        .map(|i| {
            (
                format!("d{}/f{i}.txt", i % 3),
                format!("document {i}").into_bytes(),
            )
        })
        .collect();
    files.push((
        "big.bin".into(),
        (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect(),
    ));
    files.push(("a.txt".into(), b"document 1".to_vec())); // a duplicate
    write_mirror(&corpus, &files);
    upload(&g, "corpus", &files);
    let local = root_of(&ok(&["hash", p(&corpus), "--backend", "cpu", "--json"], 0));
    let remote = ok_env(
        &[
            "hash",
            &g.s3_url("corpus"),
            "--backend",
            "cpu",
            "--json",
            "--object-range-mib",
            "1",
        ],
        &env,
        0,
    );
    assert_eq!(root_of(&remote), local);
    assert_eq!(json(&remote)["items"], 42);
    let mut shards = Vec::new();
    for k in 1..=4 {
        let out = l.t().join(format!("shard-{k}.jsonl"));
        ok_env(
            &[
                "hash",
                &g.s3_url("corpus"),
                "--backend",
                "cpu",
                "--shard",
                &format!("{k}/4"),
                "--out",
                p(&out),
                "--json",
            ],
            &env,
            0,
        );
        shards.push(out);
    }
    let merged = l.t().join("merged.jsonl");
    let mut args = vec!["manifest", "merge", p(&merged), "--json"];
    args.extend(shards.iter().map(|s| p(s)));
    assert_eq!(root_of(&ok(&args, 0)), local);
}
