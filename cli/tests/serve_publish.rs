//! `prov serve --publish URL` as a user runs it: the flag reaches the publisher (the demo log
//! mirrored into a `file://` directory, byte for byte the service's checkpoint and tiles), and a
//! URL it cannot use is refused before anything is created (exit 2). The mirror itself, against
//! a real Garage, is tested in tests/tests/publish_mirror.rs.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::time::{Duration, Instant};

use common::{prov, Server};

fn get(url: &str) -> String {
    ureq::get(url).call().unwrap().into_string().unwrap()
}

#[test]
fn serve_publish_mirrors_the_demo_log_into_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    let url = format!("file://{}", mirror.display());
    let s = Server::start_with(
        &dir.path().join("data"),
        false,
        &["--demo", "--publish", &url],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let health = loop {
        let h: serde_json::Value =
            serde_json::from_str(&get(&format!("{}/healthz", s.url))).unwrap();
        if h["publish"]["state"] == "ok" && h["publish"]["lag_entries"] == 0 {
            break h;
        }
        assert!(Instant::now() < deadline, "never published: {h}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let size = health["tree_size"].as_u64().unwrap();
    assert!(size > 0);
    assert_eq!(health["publish"]["published_size"], size);
    assert_eq!(health["publish"]["url"], url.as_str());
    let served = get(&format!("{}/checkpoint", s.url));
    assert_eq!(
        std::fs::read_to_string(mirror.join("checkpoint")).unwrap(),
        served
    );
    let tile = format!("tile/0/000.p/{size}");
    let resp = ureq::get(&format!("{}/{tile}", s.url)).call().unwrap();
    let mut served = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut served).unwrap();
    assert_eq!(std::fs::read(mirror.join(&tile)).unwrap(), served);
}

#[test]
fn serve_refuses_a_publish_url_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for bad in [
        "http://example.com/log",
        "s3:///no-bucket",
        "file://relative/dir",
    ] {
        let r = prov(&["serve", "--data", data.to_str().unwrap(), "--publish", bad]);
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
        assert!(r.stderr.contains("publish"), "{bad}: {}", r.stderr);
        assert!(!data.exists(), "{bad}: no ledger is created");
    }
}
