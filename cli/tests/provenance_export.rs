//! `prov export provenance` and `prov verify provenance` against a real `prov serve` on
//! loopback: a checkpoint of alice's (several weight files, a nested one, a duplicate) trained on
//! her web-text dataset is exported as a DSSE-signed in-toto / SLSA statement, verified offline
//! and online, by this project and by the in-toto project's own Python packages; forgeries are
//! refused.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use common::web::{key_server, world, World};
use common::{json, ok, p, prov};
use verifier::export::intoto::{Envelope, Statement};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The weight files of checkpoint `alice/lm@c2`, relative to its directory.
const WEIGHTS: &[(&str, &[u8])] = &[
    ("model-00001-of-00002.safetensors", b"shard one bytes"),
    ("model-00002-of-00002.safetensors", b"shard two bytes"),
    ("tokenizer/tokenizer.json", b"{\"vocab\":{}}"),
    ("copy-of-shard-one.bin", b"shard one bytes"),
];

/// alice's second checkpoint `alice/lm@c2`, trained on `alice/web@v1`.
fn attest_c2(w: &World) {
    let dir = w.dir.join("weights-c2");
    for (name, bytes) in WEIGHTS {
        let f = dir.join(name);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, bytes).unwrap();
    }
    ok(
        &[
            "attest",
            "--key",
            p(&w.alice),
            "--model",
            "lm",
            "--checkpoint",
            "c2",
            "--weights",
            p(&dir),
            "--dataset",
            "web@v1",
            "--backend",
            "cpu",
            "--server",
            w.s(),
        ],
        0,
    );
}

fn export(w: &World, keys: &str, key: &Path, out: &Path) -> common::Run {
    prov(&[
        "export",
        "provenance",
        "--model",
        "alice/lm@c2",
        "--key",
        p(key),
        "--out",
        p(out),
        "--site-keys-base",
        keys,
        "--vkey",
        w.vk(),
        "--server",
        w.s(),
    ])
}

fn verify(w: &World, keys: &str, file: &Path, public: &str, online: bool) -> common::Run {
    let mut args = vec![
        "verify",
        "provenance",
        p(file),
        "--key",
        public,
        "--vkey",
        w.vk(),
        "--site-keys-base",
        keys,
        "--json",
    ];
    if online {
        args.extend_from_slice(&["--server", w.s()]);
    }
    prov(&args)
}

fn alice_key(w: &World) -> ed25519_dalek::SigningKey {
    let text = std::fs::read(&w.alice).unwrap();
    verifier::keyfile::parse(&text)
        .unwrap()
        .signing_key()
        .clone()
}

fn public_b64(k: &ed25519_dalek::SigningKey) -> String {
    B64.encode(k.verifying_key().as_bytes())
}

fn statement_of(file: &Path) -> (Envelope, Statement) {
    let env: Envelope = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let st: Statement = serde_json::from_slice(&B64.decode(&env.payload).unwrap()).unwrap();
    (env, st)
}

/// Signs `st` with `key` into `file` (the adversary holding the publisher's key).
fn resign(st: &Statement, key: &ed25519_dalek::SigningKey, file: &Path) {
    let env = Envelope::sign(st, key).unwrap();
    std::fs::write(file, serde_json::to_string_pretty(&env).unwrap()).unwrap();
}

fn world_c2(domains: &[&str]) -> (World, String) {
    let w = world(domains);
    let keys = key_server(vec![("example.com".into(), w.site_pub.clone())]);
    attest_c2(&w);
    (w, keys)
}

#[test]
fn provenance_export_names_the_weights_datasets_and_verdict_and_verifies() {
    let (w, keys) = world_c2(&[]);
    let out = w.dir.join("c2.intoto.json");
    let r = export(&w, &keys, &w.alice, &out);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("4 weight files, 1 dataset versions, compliance compliant"),
        "{}",
        r.stdout
    );
    let (env, st) = statement_of(&out);
    assert_eq!(env.payload_type, "application/vnd.in-toto+json");
    assert_eq!(st.type_, "https://in-toto.io/Statement/v1");
    assert_eq!(st.predicate_type, "https://slsa.dev/provenance/v1");

    // Subjects: every weight file by its path, with BLAKE3 of its bytes (b3sum's digest).
    let mut want: Vec<(String, String)> = WEIGHTS
        .iter()
        .map(|(n, b)| (n.to_string(), blake3::hash(b).to_hex().to_string()))
        .collect();
    want.sort();
    let got: Vec<(String, String)> = st
        .subject
        .iter()
        .map(|s| (s.name.clone().unwrap(), s.digest["blake3"].clone()))
        .collect();
    assert_eq!(got, want);

    // The dependency: alice/web@v1's entry and manifest root, where it is logged.
    let view = ureq_get(&format!("{}/v1/datasets/alice/web/v1", w.s()));
    let bd = &st.predicate.build_definition;
    let origin = w.vk().split('+').next().unwrap();
    let dep = &bd.resolved_dependencies[0];
    assert_eq!(bd.resolved_dependencies.len(), 1);
    assert_eq!(
        dep.uri.as_deref(),
        Some(format!("prov://{origin}/datasets/alice/web@v1").as_str())
    );
    assert_eq!(
        dep.digest["prov-manifest-root"],
        view["manifest_root"].as_str().unwrap()
    );
    let ann = dep.annotations.as_ref().unwrap();
    assert_eq!(ann.entry_index, view["index"].as_u64().unwrap());
    assert!(ann.log_checkpoint.starts_with(&format!("{origin}\n")));
    assert_eq!(bd.external_parameters.model, "alice/lm@c2");
    assert_eq!(bd.external_parameters.datasets, vec!["alice/web@v1"]);
    assert_eq!(bd.internal_parameters.compliance.conclusion, "compliant");
    assert_eq!(bd.internal_parameters.compliance.exit, 0);
    assert_eq!(
        st.predicate.run_details.builder.id,
        format!("prov://{origin}/publishers/alice")
    );

    let public = public_b64(&alice_key(&w));
    for online in [false, true] {
        let r = verify(&w, &keys, &out, &public, online);
        assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
        assert_eq!(json(&r.stdout)["verified"], true, "{}", r.stdout);
    }
}

/// A GET answering JSON, over a plain socket.
fn ureq_get(url: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    json(body)
}

#[test]
fn a_flipped_payload_byte_is_refused() {
    let (w, keys) = world_c2(&[]);
    let out = w.dir.join("c2.intoto.json");
    assert_eq!(export(&w, &keys, &w.alice, &out).code, 0);
    let (mut env, _) = statement_of(&out);
    let mut payload = B64.decode(&env.payload).unwrap();
    // A subject digest's first hex digit, changed: still a well-formed statement.
    let at = String::from_utf8_lossy(&payload)
        .find("\"blake3\":\"")
        .unwrap()
        + 10;
    payload[at] = if payload[at] == b'0' { b'1' } else { b'0' };
    env.payload = B64.encode(&payload);
    let bad = w.dir.join("flipped.json");
    std::fs::write(&bad, serde_json::to_string(&env).unwrap()).unwrap();
    let r = verify(&w, &keys, &bad, &public_b64(&alice_key(&w)), false);
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("no signature verifies"), "{}", r.stderr);
}

#[test]
fn a_wrong_key_is_refused() {
    let (w, keys) = world_c2(&[]);
    let out = w.dir.join("c2.intoto.json");
    assert_eq!(export(&w, &keys, &w.alice, &out).code, 0);
    let r = verify(&w, &keys, &out, &w.site_pub, false);
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    // Exporting with a key that did not sign the checkpoint: refused, nothing written.
    let other = w.dir.join("other.json");
    let r = export(&w, &keys, &w.site_key, &other);
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("signed by another key"), "{}", r.stderr);
    assert!(!other.exists());
}

#[test]
fn a_publisher_who_restates_a_violated_verdict_as_compliant_is_caught_online() {
    // example.com opted out by a key the site lists: the checkpoint's verdict is `violated`.
    let (w, keys) = world_c2(&["example.com"]);
    let out = w.dir.join("c2.intoto.json");
    let r = export(&w, &keys, &w.alice, &out);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let (_, mut st) = statement_of(&out);
    let c = &mut st.predicate.build_definition.internal_parameters.compliance;
    assert_eq!(c.conclusion, "violated");
    (c.conclusion, c.exit, c.violations) = ("compliant".into(), 0, 0);
    let forged = w.dir.join("forged.json");
    let alice = alice_key(&w);
    resign(&st, &alice, &forged);
    let public = public_b64(&alice);
    // Offline, the publisher's signature is all there is to check.
    assert_eq!(verify(&w, &keys, &forged, &public, false).code, 0);
    let r = verify(&w, &keys, &forged, &public, true);
    assert_eq!(r.code, 1, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("internalParameters.compliance"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_log_checkpoint_forged_by_the_publisher_is_refused_offline_with_the_logs_key() {
    let (w, keys) = world_c2(&[]);
    let out = w.dir.join("c2.intoto.json");
    assert_eq!(export(&w, &keys, &w.alice, &out).code, 0);
    let (_, mut st) = statement_of(&out);
    let alice = alice_key(&w);
    // alice names a bigger log than there is, signing its checkpoint with her own key under
    // the log's name: her signature on the statement holds, the log's on the checkpoint not.
    let origin = st
        .predicate
        .build_definition
        .internal_parameters
        .log
        .clone();
    let signer = verifier::note::NoteSigner::new(&origin, alice.clone()).unwrap();
    let fake = verifier::Checkpoint {
        origin,
        size: verifier::TreeSize(1000),
        root: verifier::Digest([7; 32]),
    }
    .sign(&signer)
    .unwrap();
    st.predicate.build_definition.resolved_dependencies[0]
        .annotations
        .as_mut()
        .unwrap()
        .log_checkpoint = fake;
    let forged = w.dir.join("forged.json");
    resign(&st, &alice, &forged);
    let r = verify(&w, &keys, &forged, &public_b64(&alice), false);
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("resolvedDependencies[0]"), "{}", r.stderr);
    // The honest export passes the same check.
    let r = verify(&w, &keys, &out, &public_b64(&alice), false);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(json(&r.stdout)["checked"]
        .as_str()
        .unwrap()
        .contains("log's checkpoints"));
}

#[test]
fn a_publisher_who_swaps_a_dependency_or_a_weight_file_is_caught_online() {
    let (w, keys) = world_c2(&[]);
    let out = w.dir.join("c2.intoto.json");
    assert_eq!(export(&w, &keys, &w.alice, &out).code, 0);
    let (_, st) = statement_of(&out);
    let alice = alice_key(&w);
    let public = public_b64(&alice);

    let mut dep = st.clone();
    dep.predicate.build_definition.resolved_dependencies[0]
        .digest
        .insert("prov-manifest-root".into(), "ab".repeat(32));
    let mut weights = st.clone();
    weights.subject[0]
        .digest
        .insert("blake3".into(), "cd".repeat(32));
    for (st, what) in [(dep, "resolvedDependencies"), (weights, "subject")] {
        let forged = w.dir.join("forged.json");
        resign(&st, &alice, &forged);
        let r = verify(&w, &keys, &forged, &public, true);
        assert_eq!(r.code, 1, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
        assert!(r.stdout.contains(what), "{}", r.stdout);
    }
}

/// The venv's python with in-toto, securesystemslib and in-toto-attestation (`PROV_PYTHON`,
/// which scripts/test sets); `None`, with a message, where they are not there.
fn intoto_python() -> Option<PathBuf> {
    let Some(py) = std::env::var_os("PROV_PYTHON").map(PathBuf::from) else {
        eprintln!("skipped: PROV_PYTHON is not set (scripts/test sets it to the project venv)");
        return None;
    };
    let r = std::process::Command::new(&py)
        .args([
            "-c",
            "import in_toto, securesystemslib, in_toto_attestation",
        ])
        .output();
    match r {
        Ok(o) if o.status.success() => Some(py),
        _ => {
            eprintln!(
                "skipped: {} lacks in-toto / securesystemslib / in-toto-attestation (scripts/setup installs them)",
                py.display()
            );
            None
        }
    }
}

#[test]
fn an_independent_in_toto_verifier_accepts_the_export_and_refuses_a_wrong_key() {
    let Some(py) = intoto_python() else { return };
    let (w, keys) = world_c2(&[]);
    let out = w.dir.join("c2.intoto.json");
    assert_eq!(export(&w, &keys, &w.alice, &out).code, 0);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/intoto_verify.py");
    let run = |public: &ed25519_dalek::VerifyingKey| {
        std::process::Command::new(&py)
            .arg(&script)
            .arg(&out)
            .arg(hex::encode(public.as_bytes()))
            .output()
            .unwrap()
    };
    let alice = alice_key(&w);
    let o = run(&alice.verifying_key());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&stdout);
    let (env, st) = statement_of(&out);
    assert_eq!(v["keyid"], env.signatures[0].keyid);
    for (name, bytes) in WEIGHTS {
        assert_eq!(
            v["subjects"][name]["blake3"],
            blake3::hash(bytes).to_hex().as_str(),
            "{v}"
        );
    }
    assert_eq!(
        v["dependencies"][0]["uri"],
        st.predicate.build_definition.resolved_dependencies[0]
            .uri
            .as_deref()
            .unwrap()
    );
    assert_eq!(v["conclusion"], "compliant");
    let other = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let o = run(&other.verifying_key());
    assert!(!o.status.success(), "a wrong key verified");

    // The worked example of docs/formats.md (publisher key 32 bytes of 0x07), too.
    let page = include_str!("../../docs/formats.md");
    let section = &page[page
        .find("\n## in-toto / SLSA provenance export\n")
        .unwrap()..];
    let at = section.find("```json\n{\n  \"payload\"").unwrap() + 8;
    let example = &section[at..at + section[at..].find("```").unwrap()];
    std::fs::write(&out, example).unwrap();
    let o = run(&ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        json(&stdout)["subjects"]["model.safetensors"]["blake3"],
        blake3::hash(b"weights").to_hex().as_str()
    );
}
