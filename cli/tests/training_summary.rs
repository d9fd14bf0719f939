//! `prov report training-summary` and `prov verify training-summary` against a real
//! `prov serve` on loopback: the summary of a model trained on a web-text dataset published with
//! its metadata recomputes from the read API, in JSON and Markdown; a tampered figure fails.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::Path;

use common::web::{key_server, lying_proxy, world, World};
use common::{json, ok, p, prov};

fn summary(w: &World, format: &str, out: &Path, keys: &str) {
    ok(
        &[
            "report",
            "training-summary",
            "--model",
            "alice/lm@c1",
            "--format",
            format,
            "--out",
            p(out),
            "--site-keys-base",
            keys,
            "--vkey",
            w.vk(),
            "--server",
            w.s(),
        ],
        0,
    );
}

fn verify_summary(w: &World, file: &Path, keys: &str) -> common::Run {
    prov(&[
        "verify",
        "training-summary",
        p(file),
        "--server",
        w.s(),
        "--site-keys-base",
        keys,
        "--vkey",
        w.vk(),
    ])
}

#[test]
fn training_summary_recomputes_and_a_tampered_figure_fails() {
    // example.com opted out by a key the site lists: a violation the summary's 3.1 reports.
    let w = world(&["example.com"]);
    let keys = key_server(vec![("example.com".into(), w.site_pub.clone())]);
    let (js, md) = (w.dir.join("summary.json"), w.dir.join("summary.md"));
    summary(&w, "json", &js, &keys);
    summary(&w, "md", &md, &keys);
    let v: serde_json::Value = json(&std::fs::read_to_string(&js).unwrap());
    let d = &v["datasets"][0];
    assert_eq!(d["dataset"], "alice/web@v1");
    assert_eq!(d["items"], 4);
    let lic = d["licences"].as_array().unwrap();
    assert!(
        lic.iter()
            .any(|l| l["value"] == "CC-BY-4.0" && l["items"] == 2),
        "{d}"
    );
    assert!(
        lic.iter()
            .any(|l| l["value"] == "(none)" && l["items"] == 1),
        "{d}"
    );
    // Two domain names: the top 10 % is one, the largest by bytes.
    assert_eq!(v["scraped"]["domains"], 2);
    assert_eq!(v["scraped"]["top_domains"][0]["domain"], "www.example.com");
    assert_eq!(v["scraped"]["top_domains"][0]["items"], 3);
    assert_eq!(v["compliance"]["conclusion"], "violated");
    assert_eq!(v["compliance"]["site_violations"], 1);
    assert_eq!(v["compliance"]["exit"], 1);
    assert!(d["sources"]["root"].is_string(), "{d}");
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(
        text.contains("### 2.3 Data crawled and scraped from online sources"),
        "{text}"
    );
    assert!(text.contains("| 1 | www.example.com | 3 |"), "{text}");

    let r = verify_summary(&w, &js, &keys);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let r = verify_summary(&w, &md, &keys);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);

    // A tampered figure in the JSON: 3 items from www.example.com become 2.
    let mut bad = v.clone();
    bad["scraped"]["top_domains"][0]["items"] = 2.into();
    let bad_js = w.dir.join("bad.json");
    std::fs::write(&bad_js, serde_json::to_string_pretty(&bad).unwrap()).unwrap();
    let r = verify_summary(&w, &bad_js, &keys);
    assert_eq!(r.code, 1, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("scraped.top_domains[0].items"),
        "{}",
        r.stdout
    );
    // A tampered table in the Markdown (its embedded figures left alone).
    let bad_md = w.dir.join("bad.md");
    std::fs::write(
        &bad_md,
        text.replacen(
            "| 1 | www.example.com | 3 |",
            "| 1 | www.example.com | 1 |",
            1,
        ),
    )
    .unwrap();
    let r = verify_summary(&w, &bad_md, &keys);
    assert_eq!(r.code, 1, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(r.stdout.contains("markdown line"), "{}", r.stdout);
}

#[test]
fn a_service_that_lies_about_licences_cannot_make_a_summary() {
    let w = world(&[]);
    let keys = key_server(vec![]);
    let js = w.dir.join("summary.json");
    summary(&w, "json", &js, &keys);
    let proxy = lying_proxy(w.s().to_string(), "meta=true", "CC-BY-4.0", "CC0-1.0");
    // Reporting through the liar: the metadata no longer hashes to what the leaves commit.
    let r = prov(&[
        "report",
        "training-summary",
        "--model",
        "alice/lm@c1",
        "--format",
        "json",
        "--vkey",
        w.vk(),
        "--server",
        &proxy,
    ]);
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("metadata hashes to"), "{}", r.stderr);
    // Verifying an honest summary through the liar: refused, not "differs".
    let r = prov(&[
        "verify",
        "training-summary",
        p(&js),
        "--server",
        &proxy,
        "--site-keys-base",
        &keys,
        "--vkey",
        w.vk(),
    ]);
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
}

/// One definition of the figures (docs/api.md, "Statistics"): what the summary recomputes from
/// the leaves and metadata it verified equals what the service derived at commit and serves at
/// `/stats`, which the summary never reads.
#[test]
fn summary_figures_are_the_services_stats() {
    let w = world(&[]);
    let keys = key_server(vec![]);
    let js = w.dir.join("summary.json");
    summary(&w, "json", &js, &keys);
    let v: serde_json::Value = json(&std::fs::read_to_string(&js).unwrap());
    let d = &v["datasets"][0];
    let stats = ureq::get(&format!("{}/v1/datasets/alice/web/v1/stats", w.s()))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let stats = json(&stats);
    for k in ["licences", "consent", "no_source"] {
        assert_eq!(d[k], stats[k], "{k}: summary {d}\n/stats {stats}");
    }
    // The summary lists the hosts of its top domains (2.3) and counts them all.
    let served = stats["hosts"].as_array().unwrap();
    assert_eq!(d["domains"], served.len(), "summary {d}\n/stats {stats}");
    let listed = d["hosts"].as_array().unwrap();
    assert!(!listed.is_empty(), "{d}");
    for h in listed {
        assert!(served.contains(h), "{h} not in /stats {stats}");
    }
}
