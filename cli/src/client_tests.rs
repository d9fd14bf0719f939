//! The passage calls of [`crate::client::Client`] against a real service on loopback (crate
//! `api` in this process, RocksDB in a temporary directory), fed by the real commands: a corpus
//! hashed with its passage tree and published, and a version without one.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::Path;

use clap::Parser;
use ledger::{ContentId, Digest, TreeSize};
use verifier::range::{verify_range, verify_ranges, Range};

use crate::client::{Client, EntryView, MAX_PASSAGE_QUERY};
use crate::exit::Exit;

const WORK: &str = "The lighthouse keeper counted the ships that passed in the night, one by one. \
                    He wrote each name in a ledger that nobody else would ever read.";

/// Runs a `prov` command in this process.
fn prov(args: &[&str]) {
    let cli =
        crate::Cli::try_parse_from(std::iter::once("prov").chain(args.iter().copied())).unwrap();
    let exit = match cli.command {
        crate::Command::Keygen(a) => crate::cmd::keygen::run(&a).unwrap(),
        crate::Command::Publisher(c) => crate::cmd::publisher::run(&c).unwrap(),
        crate::Command::Publish(a) => crate::cmd::publish::run(&a).unwrap(),
        crate::Command::Hash(a) => {
            crate::cmd::hash::run(a).unwrap();
            Exit::Ok
        }
        _ => unreachable!("not used here"),
    };
    assert_eq!(exit, Exit::Ok, "{args:?}");
}

/// A service on a free loopback port over a new ledger in `dir`: its URL.
fn serve(dir: &Path) -> String {
    #[derive(clap::Parser)]
    struct Args {
        #[command(flatten)]
        serve: api::ServeArgs,
    }
    let data = dir.join("ledger");
    let args = Args::try_parse_from([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        data.to_str().unwrap(),
    ])
    .unwrap();
    let config = api::Config::load(&args.serve).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let server = api::Server::bind(config).await.unwrap();
            tx.send(server.local_addr().unwrap()).unwrap();
            server.run_until(std::future::pending()).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

#[test]
fn passage_calls_answer_with_proofs_that_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let url = serve(dir);
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let key = p("alice.key");
    prov(&["keygen", "--out", &key, "--name", "alice"]);
    prov(&["publisher", "register", "--key", &key, "--server", &url]);
    // One record embeds the work; 1,100 others give a tree of more than one page of leaves.
    let record = format!("Some other text first.\n\n{WORK}\n\nAnd other text after it.");
    let mut lines = vec![serde_json::json!({ "text": record }).to_string()];
    for i in 0..1100 {
        let t = format!("Filler record number {i}, with words enough to make one passage of it.");
        lines.push(serde_json::json!({ "text": t }).to_string());
    }
    std::fs::write(p("c.jsonl"), lines.join("\n") + "\n").unwrap();
    for (version, when) in [("v1", "auto"), ("v2", "none")] {
        let m = p(&format!("{version}.manifest"));
        prov(&[
            "hash",
            "--mode",
            "jsonl",
            "--passages",
            when,
            "--backend",
            "cpu",
            "--out",
            &m,
            &p("c.jsonl"),
        ]);
        prov(&[
            "publish",
            "--key",
            &key,
            "--dataset",
            "web",
            "--version",
            version,
            "--manifest",
            &m,
            "--server",
            &url,
        ]);
    }
    let c = Client::new(&url).unwrap();
    let work: Vec<ContentId> = verifier::passage::passages(WORK).map(|p| p.id).collect();
    assert_eq!(work.len(), 2);
    let absent = ContentId::of(b"absent");
    let ask = vec![work[1], absent, work[0], work[1]];

    // Many at once: one multi-range proof, against the tree the version entry names.
    let a = c.passages("alice/web@v1", &ask, 16).unwrap().unwrap();
    assert_eq!(a.dataset, "alice/web@v1");
    let entry: EntryView = c
        .get_json(&format!("/v1/entries/{}", a.entry_index))
        .unwrap();
    let e: serde_json::Value = serde_json::from_str(&entry.canonical).unwrap();
    assert_eq!(e["passages"]["root"], a.passages.root.as_str());
    assert_eq!(e["passages"]["size"], a.passages.size);
    let root = Digest::from_hex(&a.passages.root).unwrap();
    let size = TreeSize(a.passages.size);
    assert_eq!(size.0, 1102);
    let pids: Vec<ContentId> = a
        .results
        .iter()
        .map(|r| r.passage.parse().unwrap())
        .collect();
    let mut want = vec![work[0], work[1], absent];
    want.sort();
    assert_eq!(pids, want, "sorted and unique");
    let ranges: Vec<Range> = pids.iter().map(Range::passage).collect();
    let members = verify_ranges(&root, size, &ranges, &a.proof).unwrap();
    let record_cid = ContentId::of(record.as_bytes());
    for ((pid, m), r) in pids.iter().zip(&members).zip(&a.results) {
        assert_eq!(m.count, r.count);
        let want = u64::from(*pid != absent);
        assert_eq!(m.count, want, "{pid}");
        if want == 1 {
            assert_eq!(m.revealed[0].1.split_passage(), Some((*pid, record_cid)));
        }
    }

    // One at a time.
    let one = c.passage("alice/web@v1", &work[0], 16).unwrap().unwrap();
    assert_eq!(
        (one.count, one.passages.root.as_str()),
        (1, a.passages.root.as_str())
    );
    let m = verify_range(&root, size, &Range::passage(&work[0]), &one.proof).unwrap();
    assert_eq!(m.count, 1);

    // A version without a passage tree, and one that does not exist: None.
    assert!(c.passages("alice/web@v2", &ask, 16).unwrap().is_none());
    assert!(c.passage("alice/web@v2", &work[0], 16).unwrap().is_none());
    assert!(c.passages("alice/web@v9", &ask, 16).unwrap().is_none());

    // The stored tree's leaves, paged, checked against its root: the hasher's leaves file.
    let leaves = c.passage_tree_leaves(&root, size.0).unwrap().unwrap();
    let bytes: Vec<u8> = leaves.iter().flat_map(|l| l.as_bytes().to_vec()).collect();
    assert_eq!(bytes, std::fs::read(p("v1.manifest.passages")).unwrap());
    // Not stored: None; stored with another size: refused (it does not hash to the root).
    let other = Digest::from_hex(&"00".repeat(32)).unwrap();
    assert!(c.passage_tree_leaves(&other, 3).unwrap().is_none());
    assert!(c.passage_tree_leaves(&root, size.0 - 1).is_err());

    // Bad queries are refused before anything is sent.
    let many = vec![absent; MAX_PASSAGE_QUERY + 1];
    assert_eq!(
        c.passages("alice/web@v1", &many, 1).err().unwrap().exit,
        Exit::Invalid
    );
    assert_eq!(
        c.passages("alice/web@v1", &[], 1).err().unwrap().exit,
        Exit::Invalid
    );
    assert_eq!(
        c.passage("alice-web", &absent, 1).err().unwrap().exit,
        Exit::Invalid
    );
}
