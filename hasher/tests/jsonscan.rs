//! Issue 15, item 5: the `memchr` scanner behind `text::extract` gives exactly what the full
//! `serde_json` parser (`text::extract_full`) gives, on random records and their mutations:
//! nested objects, escapes of every kind (surrogate pairs and lone surrogates included), unicode,
//! the field's key inside strings and nested objects, repeated keys, numbers, bad bytes.
#![allow(clippy::unwrap_used)]

use hasher::{text, MetaField, MetaMode, MetaSpec};
use proptest::prelude::*;

/// A small deterministic generator, driven by proptest's seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }

    fn ws(&mut self, out: &mut String) {
        if self.below(4) == 0 {
            out.push_str(self.pick(&[" ", "\t", "  ", "\r", " \n "]));
        }
    }

    /// A JSON string with random characters, each written plainly or escaped.
    fn string(&mut self, out: &mut String, keyish: bool) {
        out.push('"');
        if keyish && self.below(2) == 0 {
            out.push_str(self.pick(&["text", "url", "meta", "id", "source", "tex", "texts"]));
        } else {
            for _ in 0..self.below(24) {
                let c = match self.below(16) {
                    0 => 'é',
                    1 => '😀',
                    2 => '\u{7f}',
                    3 => '"',
                    4 => '\\',
                    5 => '\n',
                    6 => '\u{1}',
                    7 => '中',
                    8 => '\u{2028}',
                    _ => (b'a' + self.below(26) as u8) as char,
                };
                match (c, self.below(5)) {
                    ('"', _) => out.push_str("\\\""),
                    ('\\', _) => out.push_str("\\\\"),
                    ('\n', _) => out.push_str("\\n"),
                    ('\u{1}', 0) => out.push('\u{1}'), // invalid unescaped
                    ('\u{1}', _) => out.push_str("\\u0001"),
                    (c, 0) => {
                        let mut buf = [0u16; 2];
                        for u in c.encode_utf16(&mut buf) {
                            out.push_str(&format!("\\u{u:04X}"));
                        }
                    }
                    (c, _) => out.push(c),
                }
            }
            match self.below(40) {
                0 => out.push_str("\\ud83d"),        // lone leading surrogate
                1 => out.push_str("\\ude00"),        // lone trailing surrogate
                2 => out.push_str("\\ud83d\\u0041"), // leading then not trailing
                3 => out.push_str("\\/\\b\\f\\r\\t"),
                4 => out.push_str("\\x"), // bad escape
                5 => out.push_str("text\\\":\\\"inside"),
                _ => {}
            }
        }
        out.push('"');
    }

    fn number(&mut self, out: &mut String) {
        out.push_str(self.pick(&[
            "0",
            "-1",
            "12",
            "3.5",
            "1e5",
            "-0.25E-3",
            "01",
            "1.",
            "-",
            "1e400",
            "18446744073709551616",
            "2.5e+10",
        ]));
    }

    fn value(&mut self, out: &mut String, depth: u32) {
        match self.below(if depth > 3 { 3 } else { 6 }) {
            0 => self.string(out, false),
            1 => self.number(out),
            2 => out.push_str(self.pick(&["true", "false", "null", "nul", "tru"])),
            3 => self.object(out, depth + 1),
            4 => {
                out.push('[');
                for i in 0..self.below(4) {
                    if i > 0 {
                        out.push(',');
                    }
                    self.ws(out);
                    self.value(out, depth + 1);
                    self.ws(out);
                }
                out.push(']');
            }
            _ => self.string(out, true),
        }
    }

    fn object(&mut self, out: &mut String, depth: u32) {
        out.push('{');
        let n = self.below(6);
        for i in 0..n {
            if i > 0 {
                out.push(',');
            }
            self.ws(out);
            self.string(out, true);
            self.ws(out);
            out.push(':');
            self.ws(out);
            self.value(out, depth);
            self.ws(out);
        }
        if self.below(30) == 0 {
            out.push(','); // trailing comma
        }
        out.push('}');
    }

    fn record(&mut self) -> Vec<u8> {
        let mut out = String::new();
        self.ws(&mut out);
        self.object(&mut out, 0);
        self.ws(&mut out);
        let mut b = out.into_bytes();
        match self.below(12) {
            0 if !b.is_empty() => {
                let i = self.below(b.len() as u64) as usize;
                b[i] = self.next() as u8;
            }
            1 if !b.is_empty() => {
                b.truncate(self.below(b.len() as u64) as usize);
            }
            2 => b.extend_from_slice(b" x"),
            3 => b.push(0xff),
            _ => {}
        }
        b
    }
}

fn specs() -> Vec<Vec<MetaField>> {
    let spec = |m: &[&str]| {
        MetaSpec::parse(
            MetaMode::Full,
            &m.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &[],
        )
        .unwrap()
        .fields
    };
    vec![
        Vec::new(),
        spec(&["source=url"]),
        spec(&["source=meta.url", "license=meta", "a=id"]),
    ]
}

/// An extraction's result in comparable form: the item and the metadata values, or the error.
type Outcome = Result<Option<(String, Vec<(usize, serde_json::Value)>)>, String>;

/// The scanner's answer and the full parser's.
fn both(line: &[u8], field: &str, meta: &[MetaField]) -> (Outcome, Outcome) {
    let fast = text::extract(line, field, meta).map(|o| o.map(|x| (x.text.into_owned(), x.meta)));
    let full = if line.iter().all(u8::is_ascii_whitespace) {
        Ok(None)
    } else {
        text::extract_full(line, field, meta).map(|x| Some((x.text.into_owned(), x.meta)))
    };
    (fast, full)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]
    #[test]
    fn scanner_matches_serde_json_on_random_records(seed in any::<u64>()) {
        let mut g = Gen(seed | 1);
        let line = g.record();
        for meta in specs() {
            for field in ["text", "meta"] {
                let (fast, full) = both(&line, field, &meta);
                prop_assert_eq!(&fast, &full, "{:?}", String::from_utf8_lossy(&line));
            }
        }
    }
}

#[test]
fn scanner_matches_serde_json_on_chosen_records() {
    let deep = format!(
        "{{\"text\":\"x\",\"m\":{}1{}}}",
        "[".repeat(127),
        "]".repeat(127)
    );
    let deeper = format!(
        "{{\"text\":\"x\",\"m\":{}1{}}}",
        "[".repeat(128),
        "]".repeat(128)
    );
    let deep_meta = format!(
        "{{\"text\":\"x\",\"url\":{}1{}}}",
        "[".repeat(127),
        "]".repeat(127)
    );
    let cases: Vec<&[u8]> = vec![
        br#"{"text":"plain"}"#,
        br#"{"text":"a","text":"b"}"#,
        br#"{"text":"a","text":3}"#,
        br#"{"text":3,"text":"a"}"#,
        br#"{"x":"\"text\":\"no\"","text":"yes"}"#,
        br#"{"x":{"text":"nested"}}"#,
        br#"{"x":{"text":"nested"},"text":"top"}"#,
        br#"{"text":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t"}"#,
        br#"{"text":"\ud83d"}"#,
        br#"{"text":"\ude00"}"#,
        br#"{"text":"\u00"}"#,
        br#"{"te\u0078t":"escaped key"}"#,
        br#"{"text":"x",}"#,
        br#"{"text":"x"} "#,
        br#" {"text":"x"}"#,
        br#"{"text":"x"}}"#,
        br#"{"text":"x","n":01}"#,
        br#"{"text":"x","n":1e400}"#,
        br#"{"text":"x","url":1e400}"#,
        br#"{"text":"x","n":-}"#,
        br#"{}"#,
        b"{\"text\":\"tab\there\"}",
        b"{\"text\":\"\xc3\"}",
        b"\x0c{\"text\":\"ff\"}",
        deep.as_bytes(),
        deeper.as_bytes(),
        deep_meta.as_bytes(),
    ];
    for line in cases {
        for meta in specs() {
            let (fast, full) = both(line, "text", &meta);
            assert_eq!(fast, full, "{:?}", String::from_utf8_lossy(line));
        }
    }
}
