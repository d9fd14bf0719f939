//! The `prov serve --demo` seed (cli/src/demo.rs, compiled into this test) on a real RocksDB ledger in a temp dir: every
//! entry type is there, the opted-out text is in version 1 and not in version 2, the two
//! checkpoints' compliance bundles verify to the verdicts the explorer shows, every manifest root
//! is what `hasher` computes from the shipped file, and the seed refuses to touch a used ledger.

//!
//! Needs the `server` feature (the default), which `prov serve` and the demo live behind.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test
#![cfg(feature = "server")]

use std::collections::BTreeSet;
use std::path::Path;

// `prov` is a binary: the test compiles its demo module itself.
#[path = "../src/demo.rs"]
#[allow(dead_code)] // the binary's uses of the module are not all this test's
mod demo;

use demo::{DemoError, DemoSummary, CORPUS, CORPUS_FILE, OSI_FILE, V1_LINES};
use hasher::{hash_corpus, CpuHasher, HashConfig, Mode, Quiet};
use ledger::compliance::{verify_bundle, Verdict, Violation};
use ledger::entry::{Entry, EntryBody, EntryKind};
use ledger::ledger::Ledger;
use ledger::{ContentId, LeafIndex};

fn seeded(dir: &Path) -> (Ledger, DemoSummary) {
    demo::create(&dir.join("ledger"), "demo.test/log").unwrap()
}

fn entries(l: &Ledger) -> Vec<Entry> {
    (0..l.checkpoint().size().0)
        .map(|i| Entry::from_bytes(&l.entry(LeafIndex(i)).unwrap().unwrap()).unwrap())
        .collect()
}

#[test]
fn demo_log_has_every_entry_type_and_both_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let (l, s) = seeded(tmp.path());
    let all = entries(&l);
    assert_eq!(all.len() as u64, s.entries);
    assert_eq!(all.len(), 9);
    let kinds: BTreeSet<EntryKind> = all.iter().map(Entry::kind).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            EntryKind::Publisher,
            EntryKind::DatasetVersion,
            EntryKind::OptOut,
            EntryKind::ModelCheckpoint
        ])
    );

    let total = CORPUS.lines().count() as u64;
    assert_eq!(s.licences_v1.items, V1_LINES as u64);
    assert_eq!(s.licences_v2.items, total - 1);
    assert!(s.osi_approved.items > 100 && s.osi_approved.items < total);
    let EntryBody::DatasetVersion(v2) = all[s.licences_v2.index.0 as usize].body() else {
        panic!("licences@2 is not a dataset_version");
    };
    assert_eq!(v2.previous.as_ref().map(|p| p.as_str()), Some("1"));
    assert_eq!(v2.corpus_mode.to_string(), "jsonl:text");

    // The opted-out text: in version 1, not in version 2 (nor in the OSI subset).
    let sets = l.sets();
    assert!(sets.contains(&s.licences_v1.root, &s.opted_out).unwrap());
    assert!(!sets.contains(&s.licences_v2.root, &s.opted_out).unwrap());
    assert_eq!(
        l.dataset_versions_containing(&s.opted_out).unwrap(),
        vec![s.licences_v1.index]
    );
    // Its id is the BLAKE3 of the bare licence text, which is what the explorer hashes.
    let beerware = demo::corpus()
        .unwrap()
        .into_iter()
        .find(|r| r.id == demo::OPTED_OUT)
        .unwrap();
    assert_eq!(s.opted_out, ContentId::of(beerware.text.as_bytes()));
    assert_eq!(beerware.line, V1_LINES);
}

#[test]
fn demo_checkpoints_are_one_compliant_and_one_violating() {
    let tmp = tempfile::tempdir().unwrap();
    let (l, s) = seeded(tmp.path());

    let bundle = api::compliance::assemble(&l, s.violating).unwrap();
    let verdict = verify_bundle(&bundle, l.verifier_key()).unwrap();
    assert_eq!(
        verdict,
        Verdict::Violated {
            violations: vec![Violation {
                optout_index: s.optout_training,
                cid: s.opted_out,
                dataset: "spdx-archive/licences@1".into(),
            }],
            site_violations: vec![],
        }
    );

    let bundle = api::compliance::assemble(&l, s.compliant).unwrap();
    // Both opt-outs are below the compliant checkpoint's horizon; the search-only one is not a
    // training opt-out, so it is in the bundle but cannot make a violation.
    assert_eq!(bundle.optouts.len(), 2);
    assert_eq!(
        verify_bundle(&bundle, l.verifier_key()).unwrap(),
        Verdict::Compliant
    );
}

/// Each root equals what `prov hash --mode jsonl` (hasher's pipeline, with [`demo::meta_spec`])
/// computes from the file a person can cut from the shipped corpus: the demo is reproducible.
#[test]
fn demo_roots_match_hasher_on_the_shipped_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (l, s) = seeded(tmp.path());
    let lines: Vec<&str> = CORPUS.lines().collect();
    let osi: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains("\"osi_approved\":true"))
        .collect();
    let v2: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i + 1 != V1_LINES)
        .map(|(_, l)| *l)
        .collect();
    let cases = [
        ("v1", CORPUS_FILE, &lines[..V1_LINES], &s.licences_v1),
        ("v2", CORPUS_FILE, &v2[..], &s.licences_v2),
        ("osi", OSI_FILE, &osi[..], &s.osi_approved),
    ];
    for (dir, file, content, d) in cases {
        let (want, index) = (d.root, d.index);
        let d = tmp.path().join(dir);
        std::fs::create_dir(&d).unwrap();
        let path = d.join(file);
        std::fs::write(&path, content.join("\n") + "\n").unwrap();
        let header = hash_file(&path);
        assert_eq!(header.root, want, "{dir}");
        // The source tree the demo's entry commits (and the ledger recomputed from the stored
        // metadata before it accepted the entry) is the one `prov hash` writes.
        let (sources, passages) = dataset_trees(&l, index);
        assert_eq!(
            header.sources_root.zip(header.sources_size),
            Some((sources.root, sources.size)),
            "{dir}"
        );
        // So is its passage tree (issue 14), which the ledger stores.
        assert_eq!(
            header.passages(),
            Some((passages.root, passages.size)),
            "{dir}"
        );
        let (tree, _) = l.sets().passage_tree(&passages.root).unwrap().unwrap();
        assert_eq!(tree.root().unwrap(), passages.root, "{dir}");
    }
}

/// The source tree and the passage tree a demo `dataset_version` commits.
fn dataset_trees(l: &Ledger, index: LeafIndex) -> (ledger::entry::SetRef, ledger::entry::SetRef) {
    let e = Entry::from_bytes(&l.entry(index).unwrap().unwrap()).unwrap();
    let EntryBody::DatasetVersion(dv) = e.body() else {
        panic!("entry {index:?} is not a dataset version")
    };
    (
        dv.sources.expect("the demo commits a source tree"),
        dv.passages.expect("the demo commits a passage tree"),
    )
}

#[test]
fn demo_refuses_a_used_ledger_and_an_existing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let (l, s) = seeded(tmp.path());
    assert!(matches!(demo::seed(&l), Err(DemoError::NotEmpty(n)) if n == s.entries));
    assert_eq!(l.checkpoint().size().0, s.entries);

    let existing = tmp.path().join("existing");
    std::fs::create_dir(&existing).unwrap();
    assert!(matches!(
        demo::create(&existing, "demo.test/log"),
        Err(DemoError::Exists(_))
    ));
    assert_eq!(std::fs::read_dir(&existing).unwrap().count(), 0);
}

/// What `prov serve --demo` does: bind (which creates the ledger), seed, serve. A server that
/// opened an existing ledger is refused and the ledger left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_seeds_only_a_server_that_created_its_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let config = |dir: &str| api::Config {
        data_dir: tmp.path().join(dir),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..api::Config::default()
    };
    let server = api::Server::bind(config("new")).await.unwrap();
    let s = demo::seed_server(&server).await.unwrap();
    assert_eq!(server.state().ledger().checkpoint().size().0, s.entries);
    assert!(s.to_string().contains("ckpt-2 is compliant"));
    drop(server);

    let (l, s) = seeded(tmp.path());
    l.close();
    drop(l);
    let server = api::Server::bind(config("ledger")).await.unwrap();
    assert!(matches!(
        demo::seed_server(&server).await,
        Err(DemoError::Exists(_))
    ));
    assert_eq!(server.state().ledger().checkpoint().size().0, s.entries);
}

/// Two demo ledgers hold the same statements at the same indexes (fixed keys, the same roots);
/// each entry is bound to its own log, and the log's checkpoint key differs.
#[test]
fn demo_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, _) = seeded(tmp.path());
    let (b, _) = demo::create(&tmp.path().join("b"), "demo.test/other").unwrap();
    let said = |l: &Ledger| {
        entries(l)
            .iter()
            .map(|e| (e.body().clone(), e.signer().copied(), e.nonce()))
            .collect::<Vec<_>>()
    };
    assert_eq!(said(&a), said(&b));
    for (l, origin) in [(&a, "demo.test/log"), (&b, "demo.test/other")] {
        assert!(entries(l).iter().all(|e| e.log() == Some(origin)));
    }
    assert_ne!(a.verifier_key().to_string(), b.verifier_key().to_string());
}

fn hash_file(path: &Path) -> hasher::ManifestHeader {
    let cfg = HashConfig {
        mode: Mode::Jsonl,
        field: "text".into(),
        meta: demo::meta_spec().unwrap(),
        workers: Some(1),
        passages: true,
        ..HashConfig::default()
    };
    let (summary, _) = hash_corpus::<std::fs::File>(
        &[path.to_path_buf()],
        &cfg,
        &CpuHasher::new(Some(1)).unwrap(),
        None,
        &mut Quiet,
    )
    .unwrap();
    summary.header
}

/// The service (`api`) does not depend on `hasher` (corpus walking, Parquet, Arrow, zstd): the
/// demo, which builds its manifests by hasher's rule, is seeded here, where `prov` is assembled.
/// Fails on a tree where `api` (or anything it builds on) depends on `hasher` again.
#[test]
fn api_does_not_depend_on_hasher() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-p", "api", "-e", "normal"])
        .args(["--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let tree = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let crates: BTreeSet<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    // The tree is api's: it names api, the ledger and the HTTP stack.
    for dep in ["api", "ledger", "axum"] {
        assert!(crates.contains(dep), "{dep} missing from\n{tree}");
    }
    assert!(!crates.contains("hasher"), "api depends on hasher:\n{tree}");
}
