//! Sharded hashing (`HashConfig::shard`) and the merge (`hasher::merge`): a corpus hashed in 4
//! shards and merged gives the single run's manifest and passage leaves byte for byte (file
//! mode, JSON Lines, lines; with metadata and passages), duplicates across shards are merged and
//! counted, more shards than one pass opens merge in passes, and shards that do not fit
//! together (missing, repeated, another N, another mode or options, tampered) are refused.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use hasher::merge::{merge_to_file, MergeConfig, MergeError, PassagesFault, FAN_IN};
use hasher::pipeline::passage_leaves_path;
use hasher::shard::{shard_of, Shard};
use hasher::{HashConfig, ManifestError, ManifestReader, MetaMode, MetaSpec, Mode};

const PARAS: [&str; 5] = [
    "It was a bright cold day in April, and the clocks were striking thirteen in the town.",
    "Winston Smith slipped quickly through the glass doors of Victory Mansions, though not quickly enough.",
    "The hallway smelt of boiled cabbage and old rag mats, and a coloured poster was tacked to the wall.",
    "Outside, even through the shut window-pane, the world looked cold and the wind whirled dust.",
    "Down in the street little eddies of wind were whirling dust and torn paper into spirals.",
];

/// A text that recurs across files (so across shards) every few items.
fn text(i: usize) -> String {
    if i.is_multiple_of(4) {
        format!("{}\n\n{}", PARAS[i % 5], PARAS[(i / 4) % 5])
    } else {
        format!(
            "Item {i} is its own text, long enough to be a passage of its own here. {}",
            PARAS[i % 5]
        )
    }
}

/// 24 files under `dir`: whole texts (file mode), records (jsonl), or lines.
fn corpus(dir: &Path, mode: Mode) -> PathBuf {
    let root = dir.join("corpus");
    for f in 0..24 {
        let sub = root.join(format!("part{}", f % 3));
        std::fs::create_dir_all(&sub).unwrap();
        let body = match mode {
            Mode::File => text(f),
            Mode::Jsonl => (0..6)
                .map(|r| {
                    let i = f * 3 + r;
                    serde_json::json!({"text": text(i), "url": format!("https://e.x/{}/{r}", i % 7)})
                        .to_string()
                        + "\n"
                })
                .collect(),
            _ => (0..6).map(|r| format!("line {} of the corpus\n", (f * 5 + r) % 40)).collect(),
        };
        let ext = if mode == Mode::Jsonl { "jsonl" } else { "txt" };
        std::fs::write(sub.join(format!("f{f:02}.{ext}")), body).unwrap();
    }
    root
}

fn hash(paths: &[PathBuf], cfg: &HashConfig, out: &Path) -> hasher::Summary {
    let backend = hasher::CpuHasher::new(Some(2)).unwrap();
    hasher::hash_to_file(paths, cfg, &backend, out, &mut hasher::Quiet).unwrap()
}

/// Hashes `cfg` unsharded into `dir/whole.jsonl` and in `n` shards into `dir/shard-K.jsonl`.
fn hash_sharded(paths: &[PathBuf], cfg: &HashConfig, dir: &Path, n: u32) -> Vec<PathBuf> {
    hash(paths, cfg, &dir.join("whole.jsonl"));
    (1..=n)
        .map(|k| {
            let out = dir.join(format!("shard-{k}.jsonl"));
            let c = HashConfig {
                shard: Some(Shard::new(k, n).unwrap()),
                ..cfg.clone()
            };
            let s = hash(paths, &c, &out);
            assert_eq!(s.header.shard.as_deref(), Some(format!("{k}/{n}").as_str()));
            out
        })
        .collect()
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

fn small_merge() -> MergeConfig {
    MergeConfig {
        memory_budget: 4096, // spills the source tree's sort
        tmp_dir: None,
        threads: Some(2),
    }
}

fn assert_same_as_whole(dir: &Path, merged: &Path, passages: bool) {
    let whole = dir.join("whole.jsonl");
    assert_eq!(
        String::from_utf8(read(merged)).unwrap(),
        String::from_utf8(read(&whole)).unwrap(),
        "the merged manifest is not the single run's"
    );
    let (ms, ws) = (passage_leaves_path(merged), passage_leaves_path(&whole));
    assert_eq!(ms.exists(), passages);
    if passages {
        assert_eq!(read(&ms), read(&ws), "the merged passage leaves differ");
    }
    // And it reads back as a whole, verified manifest.
    ManifestReader::open(merged)
        .unwrap()
        .verify_to_end()
        .unwrap();
}

fn with_meta(mode: Mode) -> HashConfig {
    let mut meta = MetaSpec::parse(MetaMode::Full, &[], &["license=CC-BY-4.0".into()]).unwrap();
    if mode == Mode::Jsonl {
        meta = MetaSpec::parse(
            MetaMode::Full,
            &["source=url".into()],
            &["license=CC-BY-4.0".into()],
        )
        .unwrap();
    }
    HashConfig {
        mode,
        meta,
        passages: mode != Mode::Lines,
        memory_budget: 8192, // spills every sort
        ..HashConfig::default()
    }
}

/// The check the issue names: 4 shards merged give the single run's root and bytes, in each
/// mode, with metadata (and a source tree) and passages; duplicates across shards are one leaf
/// and counted.
#[test]
fn four_shards_merged_are_the_single_run_byte_for_byte() {
    for (mode, cfg) in [
        (Mode::File, with_meta(Mode::File)),
        (Mode::Jsonl, with_meta(Mode::Jsonl)),
        (Mode::Lines, with_meta(Mode::Lines)),
        (
            Mode::Jsonl,
            HashConfig {
                meta: MetaSpec::parse(MetaMode::None, &[], &[]).unwrap(),
                ..with_meta(Mode::Jsonl)
            },
        ),
    ] {
        let d = tempfile::tempdir().unwrap();
        let root = corpus(d.path(), mode);
        let shards = hash_sharded(std::slice::from_ref(&root), &cfg, d.path(), 4);
        let whole = ManifestReader::open(&d.path().join("whole.jsonl"))
            .unwrap()
            .verify_to_end()
            .unwrap();
        let mut items = 0;
        let mut shard_leaves = 0;
        for s in &shards {
            let h = ManifestReader::open_shard(s, 4096)
                .unwrap()
                .verify_to_end()
                .unwrap();
            assert!(h.items > 0, "a shard of this corpus is empty: {s:?}");
            items += h.items;
            shard_leaves += h.leaves;
        }
        assert_eq!(
            items, whole.items,
            "the shards are not a partition of the items"
        );
        let out = d.path().join("merged.jsonl");
        // Shards in any order.
        let mut given = shards.clone();
        given.reverse();
        let m = merge_to_file(&out, &given, &small_merge()).unwrap();
        assert_eq!(m.header.root, whole.root, "{mode:?}");
        assert_eq!(m.header, whole);
        assert_eq!(m.shards, 4);
        assert_eq!(m.passes, 1);
        assert!(
            m.cross_shard_duplicates > 0,
            "the corpus has no duplicate across shards"
        );
        assert_eq!(m.cross_shard_duplicates, shard_leaves - whole.leaves);
        assert_eq!(m.header.sources().is_some(), cfg.meta.enabled());
        assert_same_as_whole(d.path(), &out, cfg.passages);
    }
}

/// More shards than one pass opens: merged in passes through temporary files, same bytes.
#[test]
fn more_shards_than_the_fan_in_merge_in_passes() {
    let n = u32::try_from(FAN_IN).unwrap() + 6;
    let d = tempfile::tempdir().unwrap();
    let root = corpus(d.path(), Mode::Jsonl);
    let cfg = HashConfig {
        workers: Some(1),
        ..with_meta(Mode::Jsonl)
    };
    let shards = hash_sharded(std::slice::from_ref(&root), &cfg, d.path(), n);
    let out = d.path().join("merged.jsonl");
    let m = merge_to_file(&out, &shards, &small_merge()).unwrap();
    assert_eq!(m.passes, 2);
    assert_same_as_whole(d.path(), &out, true);
    // A shard that fails in a part of the first pass fails the merge, which writes nothing.
    let bad = shards
        .iter()
        .find(|s| passage_leaves_path(s).metadata().unwrap().len() > 64);
    let side = passage_leaves_path(bad.unwrap());
    let leaves = read(&side);
    std::fs::write(&side, &leaves[..leaves.len() - 1]).unwrap();
    std::fs::remove_file(&out).unwrap();
    let e = merge_to_file(&out, &shards, &small_merge()).unwrap_err();
    assert!(
        matches!(
            e,
            MergeError::Passages {
                reason: PassagesFault::Truncated(63),
                ..
            }
        ),
        "{e}"
    );
    assert!(!out.exists());
}

/// A shard is not a whole set: the reader every other command uses refuses it, and so does a
/// reader from before sharding (its header type denies unknown keys).
#[test]
fn a_shard_manifest_is_refused_where_a_whole_set_is_expected() {
    let d = tempfile::tempdir().unwrap();
    let root = corpus(d.path(), Mode::Lines);
    let shards = hash_sharded(
        std::slice::from_ref(&root),
        &with_meta(Mode::Lines),
        d.path(),
        2,
    );
    let e = ManifestReader::open(&shards[0]).err().unwrap();
    assert!(
        matches!(e, ManifestError::IsShard { ref shard } if shard == "1/2"),
        "{e}"
    );
    assert!(e.to_string().contains("prov manifest merge"), "{e}");
    // The header as a reader from before sharding parsed it.
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct OldHeader {
        format: String,
        mode: String,
        meta: String,
        items: u64,
        bytes: u64,
        leaves: u64,
        leaf_bytes: u64,
        duplicates: u64,
        skipped: u64,
        root: String,
        sources_root: Option<String>,
        sources_size: Option<u64>,
    }
    let first = |p: &Path| {
        String::from_utf8(read(p))
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string()
    };
    assert!(serde_json::from_str::<OldHeader>(&first(&shards[0])).is_err());
    // An unsharded manifest has no shard keys: the old reader still reads it.
    serde_json::from_str::<OldHeader>(&first(&d.path().join("whole.jsonl"))).unwrap();
}

/// Every way the shards may not fit together is refused with its own error.
#[test]
fn shards_that_do_not_fit_together_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let root = corpus(d.path(), Mode::Jsonl);
    let paths = std::slice::from_ref(&root);
    let cfg = with_meta(Mode::Jsonl);
    let four = hash_sharded(paths, &cfg, d.path(), 4);
    let out = d.path().join("merged.jsonl");
    let merge = |shards: &[PathBuf]| merge_to_file(&out, shards, &small_merge()).unwrap_err();

    // Missing shard.
    let e = merge(&four[..3]);
    assert!(
        matches!(e, MergeError::Missing { n: 4, ref missing } if missing == &[4]),
        "{e}"
    );
    // Repeated shard.
    let mut rep = four.clone();
    rep.push(four[1].clone());
    assert!(matches!(merge(&rep), MergeError::Repeated { .. }));
    // Mixed N.
    let other = d.path().join("three");
    std::fs::create_dir(&other).unwrap();
    let three = hash_sharded(paths, &cfg, &other, 3);
    let mixed = [four[0].clone(), three[1].clone(), four[2].clone()];
    assert!(matches!(merge(&mixed), MergeError::MixedCount { .. }));
    // Mixed modes: shard 2 of a lines run among a jsonl run's.
    let lines = d.path().join("lines.jsonl");
    hash(
        paths,
        &HashConfig {
            mode: Mode::Lines,
            meta: MetaSpec::parse(MetaMode::Full, &[], &["license=CC-BY-4.0".into()]).unwrap(),
            shard: Some(Shard::new(2, 4).unwrap()),
            ..cfg.clone()
        },
        &lines,
    );
    let e = merge(&[four[0].clone(), lines, four[2].clone(), four[3].clone()]);
    assert!(
        matches!(e, MergeError::Mismatch { what: "mode", .. }),
        "{e}"
    );
    // Mixed options not in the header: another --exclude, another --meta-set, --skip-invalid.
    for (i, c) in [
        HashConfig {
            exclude: vec!["*.tmp".into()],
            ..cfg.clone()
        },
        HashConfig {
            meta: MetaSpec::parse(
                MetaMode::Full,
                &["source=url".into()],
                &["license=MIT".into()],
            )
            .unwrap(),
            ..cfg.clone()
        },
        HashConfig {
            skip_invalid: true,
            ..cfg.clone()
        },
    ]
    .into_iter()
    .enumerate()
    {
        let p = d.path().join(format!("opt{i}.jsonl"));
        hash(
            paths,
            &HashConfig {
                shard: Some(Shard::new(3, 4).unwrap()),
                ..c
            },
            &p,
        );
        let e = merge(&[four[0].clone(), four[1].clone(), p, four[3].clone()]);
        assert!(
            matches!(
                e,
                MergeError::Mismatch {
                    what: "options (shard_options)",
                    ..
                }
            ),
            "{i}: {e}"
        );
    }
    // Mixed passages.
    let p = d.path().join("nopass.jsonl");
    hash(
        paths,
        &HashConfig {
            passages: false,
            shard: Some(Shard::new(3, 4).unwrap()),
            ..cfg.clone()
        },
        &p,
    );
    assert!(matches!(
        merge(&[four[0].clone(), four[1].clone(), p, four[3].clone()]),
        MergeError::Mismatch { .. }
    ));
    // A whole manifest among shards.
    let e = merge(&[four[0].clone(), d.path().join("whole.jsonl")]);
    assert!(matches!(e, MergeError::NotAShard { .. }), "{e}");
    assert!(matches!(merge(&[]), MergeError::NoShards));
    // The output cannot replace one of its inputs.
    let before = read(&four[2]);
    let e = merge_to_file(&four[2], &four, &small_merge()).unwrap_err();
    assert!(matches!(e, MergeError::OutIsShard { .. }), "{e}");
    assert_eq!(read(&four[2]), before);
    // Nothing was written by any refused merge.
    assert!(!out.exists());
    assert!(!passage_leaves_path(&out).exists());
}

/// A tampered shard does not merge: an edited leaf fails its root, a passage leaf dropped or
/// a missing passage leaves file fails the shard's passage tree.
#[test]
fn a_tampered_shard_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let root = corpus(d.path(), Mode::Jsonl);
    let four = hash_sharded(
        std::slice::from_ref(&root),
        &with_meta(Mode::Jsonl),
        d.path(),
        4,
    );
    let out = d.path().join("merged.jsonl");
    // A leaf's size edited (and its metadata left alone): the shard's counts no longer hold.
    // A leaf found in no other shard (one in several is refused earlier, as a size conflict).
    let text = String::from_utf8(read(&four[0])).unwrap();
    let others: String = four[1..]
        .iter()
        .map(|p| String::from_utf8(read(p)).unwrap())
        .collect();
    let leaf = text
        .lines()
        .skip(1)
        .map(|l| &l[9..9 + 144])
        .find(|l| !others.contains(&l[..64]))
        .unwrap();
    let mut b = hex::decode(leaf).unwrap();
    b[39] ^= 1;
    std::fs::write(&four[0], text.replacen(leaf, &hex::encode(b), 1)).unwrap();
    let e = merge_to_file(&out, &four, &small_merge()).unwrap_err();
    assert!(
        matches!(
            e,
            MergeError::Shard {
                source: ManifestError::CountMismatch {
                    what: "leaf_bytes",
                    ..
                },
                ..
            }
        ),
        "{e}"
    );
    // One found in another shard too: the two shards disagree on its size.
    let dup = text
        .lines()
        .skip(1)
        .map(|l| &l[9..9 + 144])
        .find(|l| others.contains(&l[..64]))
        .unwrap();
    let mut b = hex::decode(dup).unwrap();
    b[39] ^= 1;
    std::fs::write(&four[0], text.replacen(dup, &hex::encode(b), 1)).unwrap();
    let e = merge_to_file(&out, &four, &small_merge()).unwrap_err();
    assert!(matches!(e, MergeError::SizeConflict { .. }), "{e}");
    std::fs::write(&four[0], &text).unwrap();
    merge_to_file(&out, &four, &small_merge()).unwrap();

    let side = passage_leaves_path(&four[1]);
    let leaves = read(&side);
    std::fs::write(&side, &leaves[64..]).unwrap();
    let e = merge_to_file(&out, &four, &small_merge()).unwrap_err();
    assert!(
        matches!(
            e,
            MergeError::Passages {
                reason: PassagesFault::TreeMismatch { .. },
                ..
            }
        ),
        "{e}"
    );
    std::fs::remove_file(&side).unwrap();
    let e = merge_to_file(&out, &four, &small_merge()).unwrap_err();
    assert!(
        matches!(
            e,
            MergeError::Passages {
                reason: PassagesFault::Missing,
                ..
            }
        ),
        "{e}"
    );
}

/// The split is by path only, as documented: each file is in the shard `shard_of` names.
#[test]
fn each_file_is_in_the_shard_its_path_names() {
    let d = tempfile::tempdir().unwrap();
    let root = corpus(d.path(), Mode::File);
    let cfg = HashConfig {
        meta: MetaSpec::parse(MetaMode::Full, &[], &[]).unwrap(),
        ..HashConfig::default()
    };
    for k in 1..=3 {
        let out = d.path().join(format!("s{k}.jsonl"));
        hash(
            std::slice::from_ref(&root),
            &HashConfig {
                shard: Some(Shard::new(k, 3).unwrap()),
                ..cfg.clone()
            },
            &out,
        );
        let r = ManifestReader::open_shard(&out, 4096).unwrap();
        for e in r {
            let meta = e.unwrap().meta.unwrap();
            for s in meta["sources"].as_array().unwrap() {
                let p = s["path"].as_str().unwrap();
                assert_eq!(shard_of(p, 3), k, "{p}");
            }
        }
    }
}
