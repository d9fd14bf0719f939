//! Compliance bundles for many opt-outs against large dataset versions, on a real RocksDB ledger:
//! assembled with one multi-proof per dataset version, verified, and measured (size against the
//! first per-(id, version) layout, peak memory of the assembly from /proc/self/status).
//!
//! The assembly is measured in a child process (this test binary run again, on the ledger the
//! parent built and closed), so that neither building the sets nor the allocator's retained
//! pages blur the figure: the child's peak resident size after opening the ledger, against after
//! assembling, serializing and verifying the bundle. The full figure of issue 11 (1,000 ids x 10 versions of 10^6 items) is the
//! ignored test below; run it in release:
//! `cargo test -p api --release --test compliance_bounded -- --ignored --nocapture`.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Instant;

use ed25519_dalek::SigningKey;
use ledger::compliance::{verify_bundle, BundleSetProof, Verdict};
use ledger::entry::{
    CorpusMode, DatasetRef, DatasetVersion, Entry, EntryBody, ModelCheckpoint, Name, OptOut,
    OptOutIds, Publisher, Scope,
};
use ledger::ledger::Ledger;
use ledger::sequencer::SequencerConfig;
use ledger::set::{SetLeaf, SetRootBuilder, SortedSet};
use ledger::{ContentId, Digest, LeafIndex};

fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

/// Stores a set of `n` items (ids derived from `tag`) and returns its root. The ids are sorted
/// in memory (32 bytes each), then streamed into the store and the root builder.
fn store_set(l: &Ledger, tag: &str, n: u64) -> Digest {
    let mut ids: Vec<ContentId> = (0..n)
        .map(|i| ContentId::of(format!("{tag}/{i}").as_bytes()))
        .collect();
    ids.sort_unstable();
    let mut w = l.set_writer();
    let mut root = SetRootBuilder::new();
    for (i, cid) in ids.iter().enumerate() {
        let leaf = SetLeaf {
            cid: *cid,
            size: i as u64,
            meta: Digest::default(),
        };
        w.push(&leaf).unwrap();
        root.push(&leaf).unwrap();
    }
    let r = root.root();
    w.commit(&r).unwrap();
    r
}

fn store_sorted(l: &Ledger, set: &SortedSet) {
    let mut w = l.set_writer();
    for leaf in set.leaves() {
        w.push(leaf).unwrap();
    }
    w.commit(&set.root()).unwrap();
}

fn submit(l: &Ledger, e: &Entry) -> LeafIndex {
    l.submit(e.as_bytes().to_vec()).unwrap().index
}

/// Kilobytes from a `/proc/self/status` line (`VmHWM`, `VmRSS`).
fn status_kb(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// Resets the peak resident size to the current one (Linux: `5` to /proc/self/clear_refs).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

struct Figure {
    bundle_bytes: usize,
    old_layout_bytes: Option<usize>,
    peak_growth_kb: Option<u64>,
    assemble_secs: f64,
    verify_secs: f64,
    leaf_bytes: u64,
    violations: usize,
    multi_proofs: u64,
    child_peak_kb: u64,
}

/// A ledger with `versions` dataset versions of `items` items each, a signed opt-out of a set
/// of `optouts` ids (none in any version) and an inline one of an id in the last version; the
/// bundle of a checkpoint trained on all the versions.
fn run(versions: u64, items: u64, optouts: u64, old_layout: bool) -> Figure {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::create(
        &dir.path().join("ledger"),
        "test.local/bounded",
        SequencerConfig::default(),
    )
    .unwrap();
    let k = SigningKey::from_bytes(&[3; 32]);
    let sign =
        |body: EntryBody, t: u64| Entry::sign("test.local/bounded", body, t, None, &k).unwrap();
    submit(
        &l,
        &sign(
            EntryBody::Publisher(Publisher {
                name: name("acme"),
                key: k.verifying_key(),
            }),
            at(0),
        ),
    );
    let mut refs = Vec::new();
    for v in 0..versions {
        let root = store_set(&l, &format!("v{v}"), items);
        let version = format!("{v}");
        let i = submit(
            &l,
            &sign(
                EntryBody::DatasetVersion(DatasetVersion {
                    publisher: name("acme"),
                    dataset: name("web"),
                    version: name(&version),
                    manifest_root: root,
                    item_count: items,
                    total_bytes: 0,
                    corpus_mode: CorpusMode::File,
                    licence: "CC0-1.0".into(),
                    previous: None,
                    sources: None,
                    passages: None,
                }),
                at(1),
            ),
        );
        refs.push(DatasetRef {
            publisher: name("acme"),
            dataset: name("web"),
            version: name(&version),
            index: i,
            manifest_root: root,
        });
    }
    let optout_set = SortedSet::from_ids(
        (0..optouts).map(|i| ContentId::of(format!("not in any dataset {i}").as_bytes())),
    );
    store_sorted(&l, &optout_set);
    submit(
        &l,
        &sign(
            EntryBody::OptOut(OptOut {
                ids: Some(OptOutIds::Set {
                    root: optout_set.root(),
                    size: optout_set.size().0,
                }),
                sites: vec![],
                scope: vec![Scope::TrainAi],
                passages: None,
            }),
            at(2),
        ),
    );
    let hit = ContentId::of(format!("v{}/7", versions - 1).as_bytes());
    let horizon = submit(
        &l,
        &sign(
            EntryBody::OptOut(OptOut {
                ids: Some(OptOutIds::Inline(vec![hit])),
                sites: vec![],
                scope: vec![Scope::TrainAi],
                passages: None,
            }),
            at(3),
        ),
    )
    .0 + 1;
    let weights = SortedSet::from_ids([ContentId::of(b"weights")]);
    store_sorted(&l, &weights);
    let model = submit(
        &l,
        &sign(
            EntryBody::ModelCheckpoint(ModelCheckpoint {
                publisher: name("acme"),
                model: name("lm"),
                checkpoint: name("c1"),
                weights_root: weights.root(),
                weights_count: 1,
                datasets: refs.clone(),
                optout_horizon: horizon,
            }),
            at(100),
        ),
    );
    drop(optout_set);
    let old_layout_bytes = old_layout.then(|| old_layout_size(&l, model, &refs, hit));
    l.close();
    drop(l);

    // The measurement, in a fresh process.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "measure_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            CHILD_ENV,
            format!("{}:{}", model.0, dir.path().join("ledger").display()),
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.split_once("FIGURE ").map(|(_, f)| f))
        .unwrap_or_else(|| {
            panic!(
                "no figure from the child: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let field = |k: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    Figure {
        bundle_bytes: field("bundle_bytes") as usize,
        old_layout_bytes,
        peak_growth_kb: (field("measured") > 0.0).then(|| field("growth_kb") as u64),
        assemble_secs: field("assemble_secs"),
        verify_secs: field("verify_secs"),
        leaf_bytes: versions * items * SetLeaf::LEN as u64,
        violations: field("violations") as usize,
        multi_proofs: field("multi_proofs") as u64,
        child_peak_kb: field("peak_kb") as u64,
    }
}

const CHILD_ENV: &str = "PROV_BOUNDED_CHILD";

/// The child's side of [`run`]: assemble, serialize and verify the bundle of the checkpoint
/// entry on the ledger named by `PROV_BOUNDED_CHILD` (`index:dir`), and print the figure.
#[test]
#[ignore]
fn measure_child() {
    let Ok(arg) = std::env::var(CHILD_ENV) else {
        return; // run only by `run`
    };
    let (index, dir) = arg.split_once(':').unwrap();
    let l = Ledger::open(std::path::Path::new(dir), SequencerConfig::default()).unwrap();
    let measured = reset_peak();
    let before = status_kb("VmHWM");
    let t = Instant::now();
    let bundle = api::compliance::assemble(&l, LeafIndex(index.parse().unwrap())).unwrap();
    let json = serde_json::to_vec(&bundle).unwrap();
    let assemble_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let verdict = verify_bundle(&bundle, l.verifier_key()).unwrap();
    let verify_secs = t.elapsed().as_secs_f64();
    let after = status_kb("VmHWM");
    let violations = match verdict {
        Verdict::Violated { violations, .. } => violations.len(),
        Verdict::Compliant => 0,
    };
    assert!(bundle.set_proofs.is_empty());
    println!(
        "FIGURE bundle_bytes={} growth_kb={} measured={} assemble_secs={assemble_secs:.3} \
         verify_secs={verify_secs:.3} violations={violations} multi_proofs={} peak_kb={after}",
        json.len(),
        after.saturating_sub(before),
        u8::from(measured),
        bundle.multi_proofs.len(),
    );
}

/// The first layout's size, one proof per (id, version), for the same checkpoint; it still
/// verifies, to the same verdict.
fn old_layout_size(l: &Ledger, model: LeafIndex, refs: &[DatasetRef], hit: ContentId) -> usize {
    let bundle = api::compliance::assemble(l, model).unwrap();
    let mut ids: Vec<ContentId> = bundle.optout_sets[0].leaves.iter().map(|l| l.cid).collect();
    ids.push(hit);
    let mut proofs = Vec::new();
    for r in refs {
        for id in &ids {
            proofs.push(BundleSetProof {
                dataset: format!("acme/web@{}", r.version),
                proof: l.set_proof(&r.manifest_root, id).unwrap(),
            });
        }
    }
    let mut old = bundle;
    old.multi_proofs.clear();
    old.set_proofs = proofs;
    old.horizon_entry = None;
    let v = verify_bundle(&old, l.verifier_key()).unwrap();
    assert!(matches!(v, Verdict::Violated { ref violations, .. } if violations.len() == 1));
    serde_json::to_vec(&old).unwrap().len()
}

/// The jam: opt-outs naming many ids against large dataset versions. Assembly and verification
/// stay bounded: the bundle is far smaller than the first layout's, and the assembly's peak
/// memory is far below the dataset versions' leaves (it never holds them).
#[test]
fn bundle_for_many_optouts_is_bounded() {
    let (versions, items, optouts) = (3, 100_000, 1_000);
    let f = run(versions, items, optouts, true);
    eprintln!(
        "{optouts} opt-out ids x {versions} versions of {items} items: bundle {} bytes (first layout {:?}), \
         assembly peak +{:?} KiB, assemble {:.2} s, verify {:.2} s",
        f.bundle_bytes, f.old_layout_bytes, f.peak_growth_kb, f.assemble_secs, f.verify_secs
    );
    assert_eq!(f.violations, 1, "the one opted-out id in the last version");
    assert_eq!(f.multi_proofs, versions);
    let old = f.old_layout_bytes.unwrap();
    assert!(
        f.bundle_bytes * 2 < old,
        "bundle {} bytes, first layout {old}",
        f.bundle_bytes
    );
    // Per id and version: two revealed leaves and a few hashes, not a path per leaf.
    assert!(f.bundle_bytes < (optouts * versions) as usize * 1_200);
    if let Some(kb) = f.peak_growth_kb {
        assert!(
            kb * 1024 < f.leaf_bytes / 2,
            "assembly grew the peak by {kb} KiB; the versions' leaves are {} bytes",
            f.leaf_bytes
        );
    }
}

/// The full figure of issue 11 (docs/performance.md): 1,000 opt-out ids x 10 dataset versions
/// of 10^6 items. Minutes in release; run it by hand.
#[test]
#[ignore]
fn bundle_for_many_optouts_full_figure() {
    let f = run(10, 1_000_000, 1_000, false);
    eprintln!(
        "1000 opt-out ids x 10 versions of 10^6 items: bundle {} bytes, assembly peak +{:?} KiB \
         (leaves {} bytes), assemble {:.2} s, verify {:.2} s, assembling process peak {} KiB",
        f.bundle_bytes,
        f.peak_growth_kb,
        f.leaf_bytes,
        f.assemble_secs,
        f.verify_secs,
        f.child_peak_kb
    );
    assert_eq!(f.violations, 1);
}

/// Entry times near the sequencer's clock, which refuses times more than 10 minutes away.
fn at(offset: u64) -> u64 {
    static BASE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }) + offset
}
