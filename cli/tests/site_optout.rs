//! Opt-outs by site, end to end against a real `prov serve` on loopback: a web-text corpus
//! (records with `text`, `url`, a licence) published with its metadata, a signed `--domain`
//! opt-out, a model checkpoint, its compliance bundle; the site's keys served from a second
//! loopback server at `<base>/<host>/.well-known/prov-ledger-keys` (`--site-keys-base`), as
//! `https://<host>/.well-known/prov-ledger-keys` would be.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::net::TcpListener;

use common::web::{cid, key_server, lying_proxy, world, World};
use common::{json, ok, p, prov};

fn verify_compliance(w: &World, extra: &[&str]) -> common::Run {
    let mut args = vec!["verify", "compliance", "--vkey", w.vk()];
    args.extend_from_slice(extra);
    args.push(p(&w.bundle));
    prov(&args)
}

#[test]
fn site_optout_with_keys_served_is_a_violation_naming_the_items() {
    let w = world(&["example.com"]);
    let keys = key_server(vec![(
        "example.com".into(),
        format!("# example.com\n{}\n", w.site_pub),
    )]);
    let r = verify_compliance(&w, &["--server", w.s(), "--site-keys-base", &keys]);
    assert_eq!(r.code, 1, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(r.stdout.contains("example.com"), "{}", r.stdout);
    for c in &w.example_cids {
        assert!(
            r.stdout.contains(c.as_str()),
            "{c} not named:\n{}",
            r.stdout
        );
    }
    assert!(!r.stdout.contains(&cid("a news story")), "{}", r.stdout);
    // JSON: the site violation with its count, items and the control verdict.
    let r = verify_compliance(
        &w,
        &["--server", w.s(), "--site-keys-base", &keys, "--json"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = json(&r.stdout);
    assert_eq!(v["conclusion"], "violated");
    let sv = &v["verdict"]["site_violations"][0];
    assert_eq!(sv["site"], "example.com");
    assert_eq!(sv["count"], 3);
    assert_eq!(v["site_control"][0]["control"], "verified");
}

#[test]
fn site_optout_offline_is_unverified_not_violated() {
    let w = world(&["example.com"]);
    let r = verify_compliance(&w, &["--offline"]);
    assert_eq!(r.code, 8, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    for c in &w.example_cids {
        assert!(
            r.stdout.contains(c.as_str()),
            "{c} not named:\n{}",
            r.stdout
        );
    }
    // Online, but the site's key file cannot be read: unverified too.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let r = verify_compliance(&w, &["--server", w.s(), "--site-keys-base", &dead]);
    assert_eq!(r.code, 8, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
}

#[test]
fn stranger_site_optout_is_ignored_when_the_site_lists_another_key() {
    let w = world(&["example.com"]);
    // The site lists its own key, not the one that signed the opt-out.
    let owner = w.dir.join("owner.key");
    let out = ok(
        &["keygen", "--out", p(&owner), "--name", "owner", "--json"],
        0,
    );
    let owner_pub = json(&out)["public_key"].as_str().unwrap().to_string();
    let keys = key_server(vec![("example.com".into(), owner_pub)]);
    let r = verify_compliance(&w, &["--server", w.s(), "--site-keys-base", &keys]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("not authorised"), "{}", r.stderr);
}

#[test]
fn absent_domain_is_a_verified_exclusion_and_a_flipped_bit_fails() {
    let w = world(&["absent.example"]);
    let keys = key_server(vec![("absent.example".into(), w.site_pub.clone())]);
    let r = verify_compliance(&w, &["--server", w.s(), "--site-keys-base", &keys]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    // Offline: compliant, not checked for completeness.
    assert_eq!(verify_compliance(&w, &["--offline"]).code, 6);
    // `check --site`: present and absent, from verified range proofs.
    let (s, vk) = (w.s(), w.vk());
    let out = ok(
        &[
            "check",
            "--site",
            "example.com",
            "--model",
            "alice/lm@c1",
            "--vkey",
            vk,
            "--server",
            s,
            "--json",
        ],
        0,
    );
    let v = json(&out);
    assert_eq!(v["datasets"][0]["count"], 3, "{out}");
    ok(
        &[
            "check",
            "--site",
            "absent.example",
            "--model",
            "alice/lm@c1",
            "--vkey",
            vk,
            "--server",
            s,
        ],
        1,
    );
    ok(
        &[
            "check",
            "--site",
            "https://www.example.com/dogs",
            "--model",
            "alice/lm",
            "--vkey",
            vk,
            "--server",
            s,
        ],
        0,
    );
    // Without --model: every dataset version the server lists for the site, each verified.
    let out = ok(
        &[
            "check",
            "--site",
            "example.com",
            "--vkey",
            vk,
            "--server",
            s,
            "--json",
        ],
        0,
    );
    assert_eq!(json(&out)["datasets"][0]["count"], 3, "{out}");
    // One flipped bit in the saved bundle's range proof: it no longer verifies.
    let text = std::fs::read_to_string(&w.bundle).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let proofs = v["source_proofs"].as_array().unwrap();
    assert!(!proofs.is_empty(), "the bundle carries range proofs");
    let hash = proofs[0]["proof"]["hashes"][0]
        .as_str()
        .or_else(|| proofs[0]["proof"]["leaves"][0]["leaf"].as_str())
        .unwrap()
        .to_string();
    let first = hash.as_bytes()[0];
    let flipped_char = char::from(if first == b'0' { b'1' } else { b'0' });
    let flipped = format!("{flipped_char}{}", &hash[1..]);
    let bad = text.replacen(&hash, &flipped, 1);
    assert_ne!(bad, text);
    let bad_path = w.dir.join("bad-bundle.json");
    std::fs::write(&bad_path, bad).unwrap();
    let r = prov(&[
        "verify",
        "compliance",
        "--vkey",
        vk,
        "--offline",
        p(&bad_path),
    ]);
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
}

#[test]
fn anonymous_site_optout_and_withdrawn_scope_are_refused_before_sending() {
    let w = world(&["absent.example"]);
    let r = prov(&["optout", "--domain", "example.com", "--server", w.s()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--key"), "{}", r.stderr);
    let r = prov(&[
        "optout",
        "--key",
        p(&w.site_key),
        "--domain",
        "example.com",
        "--scope",
        "ai-use",
        "--server",
        w.s(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("draft-ietf-aipref-vocab"), "{}", r.stderr);
    let _ = &w.alice;
}

#[test]
fn url_prefix_optout_covers_only_its_prefix() {
    let w = world(&["https://www.example.com/dogs"]);
    let keys = key_server(vec![("example.com".into(), w.site_pub.clone())]);
    let r = verify_compliance(
        &w,
        &["--server", w.s(), "--site-keys-base", &keys, "--json"],
    );
    assert_eq!(r.code, 1, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let v = json(&r.stdout);
    let sv = &v["verdict"]["site_violations"][0];
    assert_eq!(sv["site"], "https://www.example.com/dogs");
    assert_eq!(sv["count"], 1);
    assert_eq!(sv["cids"][0], cid("page two about dogs").as_str());
    // The key listed by the parent domain speaks for the URL prefix on its subdomain.
    assert_eq!(v["site_control"][0]["control"], "verified");
    assert_eq!(v["site_control"][0]["host"], "example.com");
}

/// A stranger's site opt-out cannot make a model that trained on a version without a source tree
/// unprovable for everyone: online, the site's key file decides (another key listed: the opt-out
/// is ignored and the model is compliant; the signer listed: exit 9, the sites cannot be
/// decided); offline, nothing is known (exit 9, never compliant, never violated).
#[test]
fn stranger_site_optout_cannot_jam_a_version_without_a_source_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = common::Server::start(&dir.join("ledger"), false);
    let (s, vk) = (server.url.clone(), server.vkey.clone());
    let alice = dir.join("alice.key");
    ok(&["keygen", "--out", p(&alice), "--name", "alice"], 0);
    ok(
        &["publisher", "register", "--key", p(&alice), "--server", &s],
        0,
    );
    let corpus = dir.join("web.jsonl");
    std::fs::write(
        &corpus,
        "{\"text\":\"a page\",\"url\":\"https://www.example.com/a\"}\n",
    )
    .unwrap();
    // Published with `--meta none`: no metadata, so no source tree.
    ok(
        &[
            "publish",
            "--key",
            p(&alice),
            "--dataset",
            "web",
            "--version",
            "v1",
            "--mode",
            "jsonl",
            "--field",
            "text",
            "--meta",
            "none",
            "--backend",
            "cpu",
            "--server",
            &s,
            p(&corpus),
        ],
        0,
    );
    let stranger = dir.join("stranger.key");
    let stranger_pub = json(&ok(
        &[
            "keygen",
            "--out",
            p(&stranger),
            "--name",
            "stranger",
            "--json",
        ],
        0,
    ))["public_key"]
        .as_str()
        .unwrap()
        .to_string();
    ok(
        &[
            "optout",
            "--key",
            p(&stranger),
            "--domain",
            "example.com",
            "--server",
            &s,
        ],
        0,
    );
    let bundle = common::web::attest_and_prove(dir, &server, &alice, "web@v1");
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", "compliance", "--vkey", vk.as_str(), "--json"];
        args.extend_from_slice(extra);
        args.push(p(&bundle));
        prov(&args)
    };
    // Offline: the site cannot be decided.
    let r = verify(&["--offline"]);
    assert_eq!(r.code, 9, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(json(&r.stdout)["conclusion"], "sites_unproven");
    // The site lists another key: the stranger's opt-out binds nothing.
    let other = key_server(vec![(
        "example.com".into(),
        "iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=\n".into(),
    )]);
    let r = verify(&["--server", &s, "--site-keys-base", &other]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(json(&r.stdout)["conclusion"], "compliant");
    // The site lists the signer: a real request the version cannot answer.
    let listed = key_server(vec![("example.com".into(), format!("{stranger_pub}\n"))]);
    let r = verify(&["--server", &s, "--site-keys-base", &listed]);
    assert_eq!(r.code, 9, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
}

/// `prov check FILE` shows an item's licence and source only from metadata whose canonical JSON
/// hashes to the `meta` digest of the leaf its verified inclusion proof shows: a service that
/// changes the licence in the item view is refused (exit 2), not believed.
#[test]
fn check_refuses_item_metadata_its_leaf_does_not_commit() {
    let w = world(&[]);
    let doc = w.dir.join("doc.txt");
    std::fs::write(&doc, "page one about cats").unwrap();
    let out = ok(&["check", p(&doc), "--vkey", w.vk(), "--server", w.s()], 0);
    assert!(out.contains("licence CC-BY-4.0"), "{out}");
    assert!(out.contains("https://www.example.com/cats"), "{out}");
    let liar = lying_proxy(w.s().to_string(), "/items/", "CC-BY-4.0", "CC0-1.0");
    let r = prov(&["check", p(&doc), "--vkey", w.vk(), "--server", &liar]);
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("not what its leaf commits"),
        "{}",
        r.stderr
    );
}
