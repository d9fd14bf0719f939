//! Issue 15 item 3, the service's side: `prov serve --set-hasher gpu` hands an upload's full
//! 256-leaf records to the device, 1,024 at a time (`ledger::store::setdevice`,
//! `hasher::records`), on a real loopback server: a set of 300,001 leaves published with
//! `prov publish` is committed, an inclusion and an exclusion proof from it verify, and
//! `/metrics` counts its full records' leaves on the device. `--set-hasher auto` on a software
//! adapter (lavapipe) keeps to the CPU.
//!
//! Skips, saying why, where the binary has no GPU backend or no adapter exists; in CI (`CI=true`,
//! lavapipe installed) a missing adapter is a failure.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too, as tests may

mod common;

use std::path::Path;

use common::{json, ok, p, prov, register, Server};

const LEAVES: u64 = 300_001;

/// Whether `prov` can open a device (`--backend gpu` on a one-line file), or why not.
fn device() -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("one.txt");
    std::fs::write(&f, b"one line\n").unwrap();
    let r = prov(&["hash", "--backend", "gpu", "--json", p(&f)]);
    if r.code == 0 {
        let j = json(&r.stdout);
        return Ok(j["device"].as_str().unwrap_or_default().to_string());
    }
    let why = r.stderr.trim().to_string();
    if why.contains("no usable gpu") && std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true but no gpu adapter: {why}");
    }
    if why.contains("no usable gpu") || why.contains("no gpu backend") {
        return Err(why);
    }
    panic!("prov hash --backend gpu failed: {why}");
}

/// `n` distinct lines, one item each in `--mode lines`.
fn corpus(path: &Path, n: u64) {
    let mut text = String::with_capacity(n as usize * 16);
    for i in 0..n {
        text.push_str(&format!("item number {i}\n"));
    }
    std::fs::write(path, text).unwrap();
}

fn metrics(url: &str) -> String {
    ureq::get(&format!("{url}/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap()
}

/// The value of the sample `name` (with its labels, as Prometheus prints them), 0 if absent.
fn sample(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .map_or(0, |v| v.trim().parse::<f64>().unwrap() as u64)
}

/// Publishes `LEAVES` lines as `alice/big@v1` on `server`, returns the publish output.
fn publish(server: &Server, t: &Path) -> String {
    let key = register(&server.url, t, "alice");
    let file = t.join("lines.txt");
    corpus(&file, LEAVES);
    ok(
        &[
            "publish",
            "--key",
            p(&key),
            "--dataset",
            "big",
            "--version",
            "v1",
            "--mode",
            "lines",
            "--meta",
            "none",
            "--backend",
            "cpu",
            "--server",
            &server.url,
            p(&file),
        ],
        0,
    )
}

fn proof(server: &Server, t: &Path, text: &str) -> serde_json::Value {
    let id = format!("blake3:{}", blake3::hash(text.as_bytes()).to_hex());
    let out = t.join("proof.json");
    json(&ok(
        &[
            "proof",
            "set",
            "--dataset",
            "alice/big@v1",
            "--id",
            &id,
            "--out",
            p(&out),
            "--vkey",
            &server.vkey,
            "--json",
            "--server",
            &server.url,
        ],
        0,
    ))
}

#[test]
fn serve_with_set_hasher_gpu_hashes_an_uploaded_set_on_the_device() {
    let device = match device() {
        Ok(d) => d,
        Err(why) => {
            eprintln!("SKIPPED: no gpu backend or adapter ({why})");
            return;
        }
    };
    eprintln!("set ingest on {device}");
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let server = Server::start_with(&t.join("ledger"), false, &["--set-hasher", "gpu"]);
    let out = publish(&server, t);
    assert!(out.contains("alice/big@v1"), "{out}");
    // The set is committed: the entry names it, and its proofs verify against the entry's root.
    let inc = proof(&server, t, "item number 123456");
    assert_eq!(inc["included"], true, "{inc}");
    assert_eq!(inc["set_size"], LEAVES, "{inc}");
    let exc = proof(&server, t, "not an item");
    assert_eq!(exc["included"], false, "{exc}");
    // Every full record went to the device: 1,171 records (one batch of 1,024 while uploading,
    // 147 at commit); the last 49 leaves are in the partial record, hashed by the root check.
    let m = metrics(&server.url);
    let full = LEAVES / 256 * 256;
    assert_eq!(
        sample(&m, "prov_set_ingest_leaves_total{hasher=\"device\"}"),
        full,
        "{m}"
    );
    assert_eq!(
        sample(&m, "prov_set_ingest_leaves_total{hasher=\"cpu\"}"),
        0,
        "{m}"
    );
    assert_eq!(sample(&m, "prov_set_ingest_device_refused_total"), 0, "{m}");
    assert_eq!(sample(&m, "prov_set_ingest_device_disabled"), 0, "{m}");
}

/// The default, `auto`, never hands set ingest to a software adapter: on lavapipe (or without
/// any adapter) every record is hashed on the CPU, and the set is stored all the same.
#[test]
fn serve_with_set_hasher_auto_keeps_a_software_adapter_off_set_ingest() {
    let software = match device() {
        Ok(d) => d.ends_with(", cpu)"),
        Err(_) => true,
    };
    if !software {
        eprintln!("SKIPPED: a hardware adapter is present; auto may choose it");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // `auto` caches what it learns of the adapters: in the test's own directory.
    let cache = t.join("cache");
    let env = [("XDG_CACHE_HOME".to_string(), p(&cache).to_string())];
    let server = Server::start_with_env(&t.join("ledger"), false, &[], &env);
    publish(&server, t);
    let inc = proof(&server, t, "item number 7");
    assert_eq!(inc["included"], true, "{inc}");
    let m = metrics(&server.url);
    assert_eq!(
        sample(&m, "prov_set_ingest_leaves_total{hasher=\"device\"}"),
        0,
        "{m}"
    );
    assert_eq!(
        sample(&m, "prov_set_ingest_leaves_total{hasher=\"cpu\"}"),
        LEAVES / 256 * 256,
        "{m}"
    );
}
