//! A ledger with a web-text dataset published with its metadata, a signed opt-out of sites, a
//! model checkpoint and its saved compliance bundle; and a loopback server for sites' key files
//! (`--site-keys-base`). Shared by `site_optout.rs` and `training_summary.rs`.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;

use super::{json, ok, p, Server};

/// Three pages on `www.example.com` (two with one licence), one on `news.example.org`.
const CORPUS: &str = r#"{"text":"page one about cats","url":"https://www.example.com/cats","license":"CC-BY-4.0"}
{"text":"page two about dogs","url":"https://www.example.com/dogs","license":"CC-BY-4.0"}
{"text":"page three, unlicensed","url":"https://www.example.com/misc"}
{"text":"a news story","url":"https://news.example.org/story","license":"CC0-1.0"}
"#;

/// A loopback server answering `GET /<host>/.well-known/prov-ledger-keys` with `keys` for the
/// hosts given, 404 otherwise. Its base URL.
pub fn key_server(files: Vec<(String, String)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                    break;
                }
            }
            let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (code, body) = files
                .iter()
                .find(|(h, _)| path == format!("/{h}/.well-known/prov-ledger-keys"))
                .map(|(_, b)| (200, b.clone()))
                .unwrap_or((404, "not found".into()));
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

pub struct World {
    pub _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub server: Server,
    pub alice: PathBuf,
    /// The key that signed the site opt-outs, and its base64 public key.
    pub site_key: PathBuf,
    pub site_pub: String,
    /// The content ids of the three www.example.com pages, sorted.
    pub example_cids: Vec<String>,
    pub bundle: PathBuf,
}

impl World {
    pub fn s(&self) -> &str {
        &self.server.url
    }
    pub fn vk(&self) -> &str {
        &self.server.vkey
    }
}

pub fn cid(text: &str) -> String {
    format!("blake3:{}", blake3::hash(text.as_bytes()).to_hex())
}

/// A ledger with alice's web-text dataset `alice/web@v1` (with metadata and source tree), a
/// signed opt-out of `domains` (a URL prefix when it has `://`) by the site key (none when
/// empty), a checkpoint `alice/lm@c1` trained on it, and
/// its compliance bundle saved.
pub fn world(domains: &[&str]) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let server = Server::start(&dir.join("ledger"), false);
    let s = server.url.clone();
    let alice = dir.join("alice.key");
    ok(&["keygen", "--out", p(&alice), "--name", "alice"], 0);
    ok(
        &["publisher", "register", "--key", p(&alice), "--server", &s],
        0,
    );
    let site_key = dir.join("site.key");
    let out = ok(
        &["keygen", "--out", p(&site_key), "--name", "site", "--json"],
        0,
    );
    let site_pub = json(&out)["public_key"].as_str().unwrap().to_string();
    let corpus = dir.join("web.jsonl");
    std::fs::write(&corpus, CORPUS).unwrap();
    let manifest = dir.join("web.manifest");
    ok(
        &[
            "hash",
            "--mode",
            "jsonl",
            "--field",
            "text",
            "--meta-field",
            "source=url",
            "--meta-field",
            "license=license",
            "--backend",
            "cpu",
            "--out",
            p(&manifest),
            p(&corpus),
        ],
        0,
    );
    ok(
        &[
            "publish",
            "--key",
            p(&alice),
            "--dataset",
            "web",
            "--version",
            "v1",
            "--manifest",
            p(&manifest),
            "--server",
            &s,
        ],
        0,
    );
    if !domains.is_empty() {
        let mut args = vec!["optout", "--key", p(&site_key), "--server", &s];
        for d in domains {
            let flag = if d.contains("://") {
                "--url-prefix"
            } else {
                "--domain"
            };
            args.extend_from_slice(&[flag, d]);
        }
        ok(&args, 0);
    }
    let bundle = attest_and_prove(&dir, &server, &alice, "web@v1");
    let mut example_cids: Vec<String> = [
        "page one about cats",
        "page two about dogs",
        "page three, unlicensed",
    ]
    .iter()
    .map(|t| cid(t))
    .collect();
    example_cids.sort();
    World {
        _tmp: tmp,
        dir,
        server,
        alice,
        site_key,
        site_pub,
        example_cids,
        bundle,
    }
}

/// alice's checkpoint `alice/lm@c1` (placeholder weights) trained on `dataset` (`NAME@VERSION`
/// of hers), and its compliance bundle saved in `dir`: the bundle's path.
pub fn attest_and_prove(
    dir: &std::path::Path,
    server: &Server,
    alice: &std::path::Path,
    dataset: &str,
) -> PathBuf {
    let s = server.url.as_str();
    let weights = dir.join("weights");
    std::fs::create_dir_all(&weights).unwrap();
    std::fs::write(weights.join("w.bin"), b"weights").unwrap();
    ok(
        &[
            "attest",
            "--key",
            p(alice),
            "--model",
            "lm",
            "--checkpoint",
            "c1",
            "--weights",
            p(&weights),
            "--dataset",
            dataset,
            "--backend",
            "cpu",
            "--server",
            s,
        ],
        0,
    );
    let bundle = dir.join("bundle.json");
    ok(
        &[
            "proof",
            "compliance",
            "--model",
            "alice/lm",
            "--out",
            p(&bundle),
            "--vkey",
            &server.vkey,
            "--server",
            s,
        ],
        0,
    );
    bundle
}

/// A proxy in front of `upstream` that passes every GET through, rewriting `from` into `to` in
/// the answers to paths containing `when` (`meta=true`: the leaves pages with metadata;
/// `/items/`: the item view): a service that lies about its metadata.
pub fn lying_proxy(
    upstream: String,
    when: &'static str,
    from: &'static str,
    to: &'static str,
) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                    break;
                }
            }
            let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (code, mut body) = match ureq::get(&format!("{upstream}{path}")).call() {
                Ok(r) => {
                    let code = r.status();
                    let mut b = Vec::new();
                    r.into_reader().read_to_end(&mut b).unwrap();
                    (code, b)
                }
                Err(ureq::Error::Status(code, r)) => {
                    let mut b = Vec::new();
                    r.into_reader().read_to_end(&mut b).unwrap();
                    (code, b)
                }
                Err(_) => (502, Vec::new()),
            };
            if path.contains(when) {
                body = String::from_utf8(body)
                    .unwrap()
                    .replace(from, to)
                    .into_bytes();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    base
}
