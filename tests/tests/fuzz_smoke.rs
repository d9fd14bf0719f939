//! The fuzz targets of `fuzz/` on stable, in the normal `cargo test --workspace`: every target
//! body of `fuzz/src/checks.rs` (included by path, so libFuzzer and this test run the same code)
//! over
//!
//! 1. every seed in `fuzz/corpus/<target>/` and every reproducer in
//!    `fuzz/artifacts-found/<target>/`: each seed not named `bad-*` must parse, and at least one
//!    must reach the body's deepest check, so the round-trip and soundness assertions run;
//! 2. thousands of deterministic mutations of the seeds (bit flips, interesting bytes, tokens of
//!    the formats, truncations, insertions, deletions, copies, line swaps, splices between seeds),
//!    from a SplitMix64 stream seeded by the target's name;
//! 3. random byte strings.
//!
//! A body that panics, or an assertion in it that fails, fails the target's test, which prints
//! the input. `seed_corpus_is_what_the_generator_makes` keeps `fuzz/corpus/` equal to
//! `fuzz/src/seeds.rs`; `PROV_FUZZ_WRITE_SEEDS=1` rewrites it. docs/fuzzing.md has the rest.

#[path = "../../fuzz/src/checks.rs"]
mod checks;
#[path = "../../fuzz/src/seeds.rs"]
mod seeds;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

use checks::Reached;

/// Mutations per seed. The whole test takes about 10 s unoptimised on 2 cores.
const MUTATIONS_PER_SEED: usize = 4000;
/// Random inputs per target, on top of the mutations.
const RANDOM_INPUTS: usize = 2000;
/// Seeds stay small: the corpus is checked in.
const MAX_SEED_BYTES: usize = 16 * 1024;

fn body(target: &str) -> fn(&[u8]) -> Reached {
    match target {
        "checkpoint" => checks::checkpoint,
        "note" => checks::note,
        "vkey" => checks::vkey,
        "ids" => checks::ids,
        "tlog_proof" => checks::tlog_proof,
        "entry" => checks::entry,
        "tile" => checks::tile,
        "set_proof" => checks::set_proof,
        "compliance" => checks::compliance,
        "manifest" => checks::manifest,
        "upload_request" => checks::upload_request,
        "key_file" => checks::key_file,
        "consistency_proof" => checks::consistency_proof,
        "set_proof_file" => checks::set_proof_file,
        "range_proof" => checks::range_proof,
        "intoto_envelope" => checks::intoto_envelope,
        other => panic!("no fuzz target {other}"),
    }
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of a directory by name; none if it does not exist.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    read.map(|e| {
        let e = e.expect("a directory entry");
        let name = e.file_name().into_string().expect("a UTF-8 file name");
        (name, std::fs::read(e.path()).expect("a readable file"))
    })
    .collect()
}

/// Runs one input; on a panic, prints the input (so it can be replayed with `cargo fuzz run`)
/// and fails.
fn run_one(target: &str, what: &str, input: &[u8]) -> Reached {
    match catch_unwind(AssertUnwindSafe(|| body(target)(input))) {
        Ok(r) => r,
        Err(panic) => {
            let shown: String = input
                .escape_ascii()
                .to_string()
                .chars()
                .take(4000)
                .collect();
            eprintln!(
                "fuzz target {target} failed on {what} ({} bytes): b\"{shown}\"",
                input.len()
            );
            resume_unwind(panic)
        }
    }
}

/// SplitMix64: a small, fast, deterministic generator.
struct Rng(u64);

impl Rng {
    fn for_target(target: &str) -> Self {
        // FNV-1a of the name, so each target gets its own stream.
        let h = target.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Rng(h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform enough in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Bytes that sit on the boundaries the parsers check.
const INTERESTING: &[u8] = &[
    0x00, 0x01, 0x09, b'\n', b'\r', b' ', b'"', b'+', b',', b'-', b'.', b'/', b'0', b'1', b'9',
    b':', b'=', b'@', b'A', b'F', b'Z', b'\\', b'a', b'f', b'x', b'z', b'{', b'}', 0x7f, 0x80,
    0xc3, 0xe2, 0xff,
];

/// Fragments of the formats under test.
const TOKENS: &[&[u8]] = &[
    b"\n",
    b"\n\n",
    b"0",
    b"00",
    b"-1",
    b"18446744073709551615",
    b"18446744073709551616",
    b"9007199254740991",
    b"9007199254740992",
    b"4611686018427387904",
    b"1e3",
    b"null",
    b"true",
    b"[]",
    b"{}",
    b"\"\"",
    b"\\u0000",
    b"\\ud800",
    b"\xe2\x80\x94 ",
    b"tile/",
    b"tile/entries/",
    b".p/",
    b"x000/",
    b"blake3:",
    b"index ",
    b"extra ",
    b"c2sp.org/tlog-proof@v1\n",
    b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    b"0000000000000000000000000000000000000000000000000000000000000000",
    b"\"nonce\":1,",
    b"\"sig\":",
    b"\"left\":",
    b"\"right\":",
    b"\"meta\":",
];

/// One input derived from `seed`: one to four mutations, some of which splice in `others`.
fn mutate(rng: &mut Rng, seed: &[u8], others: &[&[u8]]) -> Vec<u8> {
    let mut d = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = |rng: &mut Rng, d: &[u8]| rng.below(d.len() + 1);
        match rng.below(11) {
            0 if !d.is_empty() => {
                let i = rng.below(d.len());
                d[i] ^= 1 << rng.below(8);
            }
            1 if !d.is_empty() => {
                let i = rng.below(d.len());
                d[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let n = at(rng, &d);
                d.truncate(n);
            }
            3 if !d.is_empty() => {
                let i = rng.below(d.len());
                let n = 1 + rng.below(16.min(d.len() - i));
                d.drain(i..i + n);
            }
            4 => {
                let i = at(rng, &d);
                let bytes: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.byte()).collect();
                d.splice(i..i, bytes);
            }
            5 => {
                let i = at(rng, &d);
                let t = TOKENS[rng.below(TOKENS.len())];
                d.splice(i..i, t.iter().copied());
            }
            6 if !d.is_empty() => {
                let from = rng.below(d.len());
                let n = 1 + rng.below(64.min(d.len() - from));
                let piece = d[from..from + n].to_vec();
                let i = at(rng, &d);
                d.splice(i..i, piece);
            }
            7 if !others.is_empty() => {
                let o = others[rng.below(others.len())];
                let cut = at(rng, &d);
                let from = rng.below(o.len() + 1);
                d.truncate(cut);
                d.extend_from_slice(&o[from..]);
            }
            8 => {
                let mut lines: Vec<Vec<u8>> =
                    d.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
                let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
                match rng.below(3) {
                    0 => lines.swap(i, j),
                    1 => {
                        let line = lines[i].clone();
                        lines.insert(j, line);
                    }
                    _ => {
                        lines.remove(i);
                    }
                }
                d = lines.join(&b'\n');
            }
            9 if !d.is_empty() => {
                let i = rng.below(d.len());
                d[i] = if rng.below(2) == 0 {
                    d[i].wrapping_add(1)
                } else {
                    d[i].wrapping_sub(1)
                };
            }
            10 if !d.is_empty() && !others.is_empty() => {
                // Overwrite a piece with a piece of another seed at the same offset.
                let o = others[rng.below(others.len())];
                let i = rng.below(d.len());
                let n = rng
                    .below(32)
                    .min(d.len() - i)
                    .min(o.len().saturating_sub(i));
                if n > 0 {
                    d[i..i + n].copy_from_slice(&o[i..i + n]);
                }
            }
            _ => {}
        }
    }
    d.truncate(4 * MAX_SEED_BYTES);
    d
}

/// Runs a target over its seeds, their mutations and random inputs (see the module docs).
fn smoke(target: &str) {
    let started = Instant::now();
    let mut seeds = files(&fuzz_dir().join("corpus").join(target));
    assert!(!seeds.is_empty(), "no seeds in fuzz/corpus/{target}");
    for (name, bytes) in files(&fuzz_dir().join("artifacts-found").join(target)) {
        seeds.insert(format!("artifacts-found/{name}"), bytes);
    }

    let mut verified = 0;
    for (name, bytes) in &seeds {
        let r = run_one(target, &format!("seed {name}"), bytes);
        let invalid = name.starts_with("bad-") || name.starts_with("artifacts-found/");
        assert!(
            r.parsed || invalid,
            "seed fuzz/corpus/{target}/{name} does not parse: the body's checks never run on it"
        );
        verified += usize::from(r.verified);
    }
    assert!(
        verified > 0,
        "no seed of {target} reaches the deepest check"
    );

    let all: Vec<&[u8]> = seeds.values().map(Vec::as_slice).collect();
    let mut rng = Rng::for_target(target);
    let (mut runs, mut parsed, mut deep) = (0, 0, 0);
    for (k, seed) in all.iter().enumerate() {
        for i in 0..MUTATIONS_PER_SEED {
            let input = mutate(&mut rng, seed, &all);
            let r = run_one(target, &format!("mutation {i} of seed #{k}"), &input);
            runs += 1;
            parsed += usize::from(r.parsed);
            deep += usize::from(r.verified);
        }
    }
    let alphabet: Vec<u8> = all.concat();
    for i in 0..RANDOM_INPUTS {
        let len = rng.below(256);
        let input: Vec<u8> = if i % 2 == 0 {
            (0..len).map(|_| rng.byte()).collect()
        } else {
            (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect()
        };
        run_one(target, &format!("random input {i}"), &input);
        runs += 1;
    }
    eprintln!(
        "{target}: {} seeds, {runs} generated inputs ({parsed} parsed, {deep} reached the \
         deepest check) in {:.1?}",
        seeds.len(),
        started.elapsed()
    );
    assert!(
        parsed > 0,
        "no mutation of the {target} seeds parses: the mutator does not reach the checks"
    );
}

#[test]
fn fuzz_checkpoint() {
    smoke("checkpoint");
}

#[test]
fn fuzz_note() {
    smoke("note");
}

#[test]
fn fuzz_vkey() {
    smoke("vkey");
}

#[test]
fn fuzz_ids() {
    smoke("ids");
}

#[test]
fn fuzz_tlog_proof() {
    smoke("tlog_proof");
}

#[test]
fn fuzz_entry() {
    smoke("entry");
}

#[test]
fn fuzz_tile() {
    smoke("tile");
}

#[test]
fn fuzz_set_proof() {
    smoke("set_proof");
}

#[test]
fn fuzz_compliance() {
    smoke("compliance");
}

#[test]
fn fuzz_manifest() {
    smoke("manifest");
}

#[test]
fn fuzz_upload_request() {
    smoke("upload_request");
}

#[test]
fn fuzz_key_file() {
    smoke("key_file");
}

#[test]
fn fuzz_consistency_proof() {
    smoke("consistency_proof");
}

#[test]
fn fuzz_set_proof_file() {
    smoke("set_proof_file");
}

#[test]
fn fuzz_range_proof() {
    smoke("range_proof");
}

#[test]
fn fuzz_intoto_envelope() {
    smoke("intoto_envelope");
}

/// `fuzz/corpus/` is exactly what `fuzz/src/seeds.rs` generates (no stray or stale seed, no
/// corpus growth from a fuzzing run), every seed is small, and every target has a one-line
/// `fuzz_targets/<target>.rs` calling its body. `PROV_FUZZ_WRITE_SEEDS=1` rewrites the corpus.
#[test]
fn seed_corpus_is_what_the_generator_makes() {
    let write = std::env::var_os("PROV_FUZZ_WRITE_SEEDS").is_some();
    let generated = seeds::all();
    for seed in &generated {
        assert!(seeds::TARGETS.contains(&seed.target), "{}", seed.target);
        assert!(
            seed.bytes.len() <= MAX_SEED_BYTES,
            "seed {}/{} is {} bytes",
            seed.target,
            seed.name,
            seed.bytes.len()
        );
    }
    for target in seeds::TARGETS {
        let dir = fuzz_dir().join("corpus").join(target);
        let want: BTreeMap<&str, &[u8]> = generated
            .iter()
            .filter(|s| s.target == target)
            .map(|s| (s.name.as_str(), s.bytes.as_slice()))
            .collect();
        assert!(!want.is_empty(), "no seeds for {target}");
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            for name in files(&dir).keys() {
                if !want.contains_key(name.as_str()) {
                    std::fs::remove_file(dir.join(name)).unwrap();
                }
            }
            for (name, bytes) in &want {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
        let have = files(&dir);
        let have_names: Vec<&str> = have.keys().map(String::as_str).collect();
        let want_names: Vec<&str> = want.keys().copied().collect();
        assert_eq!(
            have_names, want_names,
            "fuzz/corpus/{target} is not what fuzz/src/seeds.rs makes; \
             rerun with PROV_FUZZ_WRITE_SEEDS=1"
        );
        for (name, bytes) in &want {
            assert!(
                have[*name] == *bytes,
                "fuzz/corpus/{target}/{name} differs from fuzz/src/seeds.rs; \
                 rerun with PROV_FUZZ_WRITE_SEEDS=1"
            );
        }

        let main =
            std::fs::read_to_string(fuzz_dir().join("fuzz_targets").join(format!("{target}.rs")))
                .unwrap();
        assert!(
            main.contains(&format!("prov_fuzz::checks::{target}(data);")),
            "fuzz/fuzz_targets/{target}.rs does not call its body"
        );
    }
}
