//! `prov hash --shard K/N` and `prov manifest merge` as a batch system runs them: the real
//! binary, four shard runs merged give the single run's manifest and passage leaves byte for
//! byte, duplicates across shards are counted, and shards that do not fit together are refused
//! with exit code 1 (a bad `--shard` with 2), writing nothing.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too, as tests may

use std::path::Path;
use std::process::{Command, Output};

fn prov(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_prov"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn json(o: Output) -> serde_json::Value {
    serde_json::from_slice(&ok(o).stdout).unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

const PARAS: [&str; 4] = [
    "It was a bright cold day in April, and the clocks were striking thirteen in the town.",
    "Winston Smith slipped quickly through the glass doors of Victory Mansions, though not quickly enough.",
    "The hallway smelt of boiled cabbage and old rag mats, and a coloured poster was tacked to the wall.",
    "Down in the street little eddies of wind were whirling dust and torn paper into spirals.",
];

/// 16 JSON Lines files whose records repeat across files, and 16 text files (each text twice).
fn corpus(dir: &Path) {
    for f in 0..16usize {
        let mut body = String::new();
        for r in 0..5 {
            let i = f * 5 + r;
            let text = if i.is_multiple_of(3) {
                PARAS[i % 4].to_string()
            } else {
                format!(
                    "Record {i} has a text of its own, long enough to be a passage. {}",
                    PARAS[i % 4]
                )
            };
            body += &serde_json::json!({"text": text, "url": format!("https://e.x/{}", i % 9)})
                .to_string();
            body.push('\n');
        }
        let p = dir.join(format!("j/part{}/f{f}.jsonl", f % 2));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
        let t = dir.join(format!("t/doc{f}.txt"));
        std::fs::create_dir_all(t.parent().unwrap()).unwrap();
        std::fs::write(t, format!("{}\n\n{}", PARAS[f % 4], PARAS[(f / 8) % 4])).unwrap();
    }
}

/// The batch recipe of docs/scale.md: N shard runs (here in turn), then one merge.
fn sharded(dir: &Path, common: &[&str], n: u32, tag: &str) -> Vec<String> {
    (1..=n)
        .map(|k| {
            let out = format!("{tag}-{k}-of-{n}.jsonl");
            let shard = format!("{k}/{n}");
            let mut args = vec!["hash"];
            args.extend_from_slice(common);
            args.extend_from_slice(&["--shard", &shard, "--out", &out, "--json"]);
            let j = json(prov(&args, dir));
            assert_eq!(j["shard"], shard.as_str());
            out
        })
        .collect()
}

#[test]
fn four_shards_merged_by_the_cli_are_the_single_run_byte_for_byte() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    corpus(dir);
    for (tag, common) in [
        (
            "jsonl",
            vec![
                "j",
                "--mode",
                "jsonl",
                "--meta-field",
                "source=url",
                "--meta-set",
                "license=CC-BY-4.0",
                "--passages",
                "auto",
            ],
        ),
        ("files", vec!["t", "--passages", "text"]),
    ] {
        let whole_out = format!("{tag}-whole.jsonl");
        let mut args = common.clone();
        args.insert(0, "hash");
        args.extend_from_slice(&["--out", &whole_out, "--json"]);
        let whole = json(prov(&args, dir));
        let shards = sharded(dir, &common, 4, tag);
        let merged_out = format!("{tag}-merged.jsonl");
        let mut args = vec!["manifest", "merge", &merged_out, "--json"];
        args.extend(shards.iter().rev().map(String::as_str));
        let m = json(prov(&args, dir));
        for k in [
            "root",
            "items",
            "leaves",
            "duplicates",
            "sources_root",
            "passages_root",
        ] {
            assert_eq!(m[k], whole[k], "{tag}: {k}");
        }
        assert_eq!(m["shards"], 4);
        let shard_leaves: u64 = shards
            .iter()
            .map(|s| {
                let h = hasher::ManifestReader::open_shard(&dir.join(s), 4096).unwrap();
                h.header().leaves
            })
            .sum();
        let cross = m["cross_shard_duplicates"].as_u64().unwrap();
        assert!(cross > 0, "{tag}: no duplicate across shards");
        assert_eq!(cross, shard_leaves - whole["leaves"].as_u64().unwrap());
        let read = |p: &str| std::fs::read(dir.join(p)).unwrap();
        assert!(
            read(&merged_out) == read(&whole_out),
            "{tag}: manifests differ"
        );
        assert!(
            read(&format!("{merged_out}.passages")) == read(&format!("{whole_out}.passages")),
            "{tag}: passage leaves differ"
        );
        // Without --json, stdout is the root alone; --shards-from reads the list.
        std::fs::write(dir.join("list"), shards.join("\n") + "\n").unwrap();
        let o = ok(prov(
            &["manifest", "merge", "again.jsonl", "--shards-from", "list"],
            dir,
        ));
        let root = String::from_utf8(o.stdout).unwrap();
        assert_eq!(root.trim(), whole["root"].as_str().unwrap());
    }
}

#[test]
fn shards_that_do_not_fit_together_are_refused_with_exit_1() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    corpus(dir);
    let common = ["j", "--mode", "jsonl", "--meta", "none"];
    let four = sharded(dir, &common, 4, "four");
    let three = sharded(dir, &common, 3, "three");
    let lines = sharded(dir, &["j", "--mode", "lines", "--meta", "none"], 4, "lines");
    let merge = |shards: &[&String], want: &str| {
        let mut args = vec!["manifest", "merge", "out.jsonl"];
        args.extend(shards.iter().map(|s| s.as_str()));
        let o = prov(&args, dir);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(code(&o), 1, "{want}: {err}");
        assert!(err.contains(want), "{want}: {err}");
        assert!(!dir.join("out.jsonl").exists());
    };
    merge(&[&four[0], &four[1], &four[3]], "1 of 4 shards missing: 3");
    merge(
        &[&four[0], &four[1], &four[2], &four[3], &four[2]],
        "given twice",
    );
    merge(
        &[&four[0], &three[1], &four[2], &four[3]],
        "is not one of 4",
    );
    merge(
        &[&four[0], &lines[1], &four[2], &four[3]],
        "mode \"lines\" differs",
    );
    // A whole manifest is not a shard, and a shard is not a whole manifest.
    let whole = json(prov(
        &[
            "hash", "j", "--mode", "jsonl", "--meta", "none", "--out", "w.jsonl", "--json",
        ],
        dir,
    ));
    assert!(whole["shard"].is_null());
    merge(
        &[&four[0], &"w.jsonl".to_string()],
        "not the manifest of a shard",
    );
    // A bad --shard is a usage error.
    for bad in ["5/4", "0/4", "1/65537", "x"] {
        let o = prov(&["hash", "j", "--shard", bad], dir);
        assert_eq!(code(&o), 2, "{bad}");
    }
}
