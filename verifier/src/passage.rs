//! Passages: normalised sentences of a text, each named by the BLAKE3 of its normalised bytes, so
//! that a paragraph of a work found inside a record (re-wrapped, re-typed by a word processor,
//! surrounded by other text) gives the same ids as the work itself. `docs/formats.md`, section
//! "Passages", is the specification; `api/explorer/src/lib/passage.js` is the same function in
//! JavaScript and both replay `verifier/tests/data/passages.json`.
//!
//! [`normalise`]: (1) delete Default_Ignorable_Code_Point characters, (2) NFKC, (3) lowercase
//! each code point, (4) fold quotes, dashes and final sigma, (5) split into paragraphs at
//! whitespace holding two line breaks, fold other whitespace into one space, (6) join words
//! split by a hyphen ("well-known", "well-\nknown" and "well- known" all give "wellknown").
//! [`passages`] cuts each paragraph after sentence punctuation followed by a space (or, for
//! CJK, by nothing) and keeps sentences of at least [`MIN_PASSAGE_BYTES`] bytes. Every rule
//! looks only at neighbouring characters, never at where the text starts, so a record holding
//! the work cuts it where the work cuts itself.
//!
//! Pure: no I/O. One pass over the text with an ASCII fast path; NFKC runs only on the short
//! runs around non-ASCII characters, each cut where normalisation cannot reach across.

use std::collections::VecDeque;

use icu_normalizer::properties::CanonicalCombiningClassMapBorrowed;
use icu_normalizer::ComposingNormalizerBorrowed;

use crate::types::ContentId;

/// A passage shorter than this (normalised UTF-8 bytes) is dropped: short sentences ("Thank
/// you.", "Chapter 1.") are common to many texts and prove nothing about one of them.
pub const MIN_PASSAGE_BYTES: usize = 60;

/// One passage of a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passage {
    /// The normalised sentence (no leading or trailing space, no line break).
    pub text: String,
    /// BLAKE3 of `text`'s UTF-8 bytes, as a content id.
    pub id: ContentId,
    /// Byte offset in the original text of the first character that produced `text`.
    pub start: usize,
    /// Byte offset in the original text just after the last character that produced `text`.
    /// Where a boundary falls inside a run of characters that NFKC joins (a CJK full stop
    /// followed by a combining mark), the run is counted whole to the passage it ends, so
    /// passages never overlap: `start <= end`, and each starts at or after the previous end.
    pub end: usize,
}

/// The normalised text: paragraphs joined by `"\n\n"`, words by one space.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut first = true;
    for s in Sentences::new(text) {
        if !first {
            out.push_str(match s.sep {
                Sep::None => "",
                Sep::Space => " ",
                Sep::Paragraph => "\n\n",
            });
        }
        first = false;
        out.push_str(&s.text);
    }
    out
}

/// The passages of `text`, in order: sentences of at least [`MIN_PASSAGE_BYTES`] bytes.
pub fn passages(text: &str) -> Passages<'_> {
    Passages {
        inner: Sentences::new(text),
    }
}

/// Iterator over the passages of a text (see [`passages`]).
pub struct Passages<'a> {
    inner: Sentences<'a>,
}

impl Iterator for Passages<'_> {
    type Item = Passage;

    fn next(&mut self) -> Option<Passage> {
        for s in self.inner.by_ref() {
            if s.text.len() >= MIN_PASSAGE_BYTES {
                return Some(Passage {
                    id: ContentId::of(s.text.as_bytes()),
                    text: s.text,
                    start: s.start,
                    end: s.end,
                });
            }
        }
        None
    }
}

/// Default_Ignorable_Code_Point (Unicode 17 DerivedCoreProperties.txt; the property reserves
/// whole blocks, so it does not grow with new versions): invisible characters that one copy of a
/// text has and another lacks (soft hyphens, zero-width spaces and joiners, bidi marks, variation
/// selectors, tags). Deleted before anything else.
pub fn is_ignorable(c: char) -> bool {
    matches!(c as u32,
        0xAD | 0x34F | 0x61C | 0x115F..=0x1160 | 0x17B4..=0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8 | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

/// Unicode White_Space (PropList.txt), every version since 6.3.
pub fn is_whitespace(c: char) -> bool {
    matches!(c as u32, 0x09..=0x0D | 0x20 | 0x85 | 0xA0 | 0x1680 | 0x2000..=0x200A
        | 0x2028 | 0x2029 | 0x202F | 0x205F | 0x3000)
}

/// Sentence-ending punctuation, after normalisation (NFKC has already turned fullwidth
/// `！？．｡` into `!?.。`).
pub fn is_terminator(c: char) -> bool {
    matches!(
        c,
        '.' | '!'
            | '?'
            | '\u{3002}' // 。 ideographic full stop
            | '\u{061F}' // ؟ Arabic question mark
            | '\u{06D4}' // ۔ Urdu full stop
            | '\u{0964}' // । Devanagari danda
            | '\u{0965}' // ॥ double danda
            | '\u{0589}' // ։ Armenian full stop
            | '\u{1362}' // ። Ethiopic full stop
            | '\u{104B}' // ။ Myanmar section
            | '\u{17D4}' // ។ Khmer khan
    )
}

/// Closing quotes and brackets that stay with the sentence they end.
pub fn is_closer(c: char) -> bool {
    matches!(
        c,
        '"' | '\''
            | ')'
            | ']'
            | '}'
            | '»'
            | '«'
            | '›'
            | '‹'
            | '\u{3009}'
            | '\u{300B}'
            | '\u{300D}'
            | '\u{300F}'
            | '\u{3011}'
            | '\u{3015}'
            | '\u{3017}'
            | '\u{3019}'
            | '\u{301B}'
            | '\u{301E}'
            | '\u{301F}'
    )
}

/// Scripts written without spaces between sentences (CJK): a terminator followed directly by
/// one of these ends a sentence.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
        | 0x20000..=0x3FFFF)
}

/// Letters and digits (Unicode Alphabetic or General_Category N), between which a hyphen is
/// deleted.
pub fn is_alnum(c: char) -> bool {
    c.is_alphanumeric()
}

/// The fold of step 4, applied to each lowercased code point.
pub fn fold(c: char) -> char {
    match c {
        'ς' => 'σ',
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{2035}' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{2036}' => '"',
        '\u{2010}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}' | '\u{2212}' => '-',
        _ => c,
    }
}

/// Whether NFKC can never join `c` (non-ASCII, not ignorable) to what comes before it: its NFKD
/// begins with a starter that composes with nothing before it. Only a conservative set of
/// ranges is claimed (tests/passage_vectors.rs checks every code point of them against the
/// normalisation data): a character outside it just joins the preceding run, which is always
/// correct, only coarser for the offsets.
pub fn is_nfkc_boundary(c: char) -> bool {
    is_whitespace(c)
        || matches!(c as u32,
            0xA0..=0x24F | 0x370..=0x37F | 0x384..=0x3FF | 0x400..=0x482 | 0x48A..=0x52F
            | 0x2000..=0x206F | 0x3000..=0x3029 | 0x3030..=0x3098 | 0x309B..=0x30FF
            | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
            | 0xFF01..=0xFF9D | 0x20000..=0x3FFFF)
}

/// The separator before a sentence in the normalised text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Sep {
    /// None (text start, or a CJK sentence following another without a space).
    None,
    Space,
    Paragraph,
}

/// A sentence of any length, with what separates it from the previous one.
struct Sentence {
    text: String,
    start: usize,
    end: usize,
    sep: Sep,
}

/// Where the cutter is after the last character.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Term {
    /// Not after sentence punctuation.
    None,
    /// In a run of terminators.
    InTerminators,
    /// In the closers after a run of terminators.
    InClosers,
}

/// Steps 5-6 and the cut: takes normalised code points (each with the input range it came
/// from) and produces sentences.
struct Cutter {
    cur: String,
    cur_start: usize,
    cur_end: usize,
    /// The end of the last sentence.
    last_end: usize,
    /// The separator before `cur`.
    sep: Sep,
    /// Whether any sentence was produced (a leading paragraph break separates nothing).
    any: bool,
    ws: bool,
    breaks: u8,
    last_cr: bool,
    hyphen: Option<(usize, usize)>,
    term: Term,
    /// The current terminator run holds 。, which ends a sentence whatever follows.
    ideo: bool,
    prev_alnum: bool,
    out: VecDeque<Sentence>,
}

impl Cutter {
    fn new() -> Self {
        Cutter {
            cur: String::new(),
            cur_start: 0,
            cur_end: 0,
            last_end: 0,
            sep: Sep::None,
            any: false,
            ws: false,
            breaks: 0,
            last_cr: false,
            hyphen: None,
            term: Term::None,
            ideo: false,
            prev_alnum: false,
            out: VecDeque::new(),
        }
    }

    /// An ASCII letter, digit or punctuation mark that is none of: whitespace, terminator,
    /// closer, hyphen; in a quiet state (no pending space, hyphen or terminator) it is just
    /// appended. The caller has lowercased it.
    #[inline]
    fn push(&mut self, c: char, s: usize, e: usize) {
        if is_whitespace(c) {
            if matches!(c, '\n' | '\x0B' | '\x0C' | '\r' | '\u{85}' | '\u{2028}') {
                if !(c == '\n' && self.last_cr) {
                    self.breaks = self.breaks.saturating_add(1);
                }
            } else if c == '\u{2029}' {
                self.breaks = self.breaks.saturating_add(2);
            }
            self.last_cr = c == '\r';
            self.ws = true;
            return;
        }
        self.last_cr = false;
        if self.ws {
            self.ws = false;
            let paragraph = self.breaks >= 2;
            self.breaks = 0;
            if paragraph {
                if let Some((hs, he)) = self.hyphen.take() {
                    self.emit('-', hs, he);
                }
                self.end_sentence(Sep::Paragraph);
                self.prev_alnum = false;
                self.term = Term::None;
            } else if let Some((hs, he)) = self.hyphen.take() {
                if !is_alnum(c) {
                    self.emit('-', hs, he);
                    self.emit_space();
                }
            } else if self.term != Term::None {
                self.end_sentence(Sep::Space);
                self.term = Term::None;
            } else if !self.cur.is_empty() {
                self.emit_space();
            }
        } else if let Some((hs, he)) = self.hyphen.take() {
            if !is_alnum(c) {
                self.emit('-', hs, he);
            }
        }
        match self.term {
            Term::InTerminators if is_terminator(c) => {
                self.ideo |= c == '\u{3002}';
                self.append(c, e);
                return;
            }
            Term::InTerminators | Term::InClosers if is_closer(c) => {
                self.term = Term::InClosers;
                self.append(c, e);
                return;
            }
            Term::InTerminators | Term::InClosers => {
                if self.ideo || is_cjk(c) {
                    self.end_sentence(Sep::None);
                }
                self.term = Term::None;
            }
            Term::None => {}
        }
        if c == '-' && self.prev_alnum {
            self.hyphen = Some((s, e));
            self.prev_alnum = false;
            return;
        }
        self.emit(c, s, e);
    }

    /// Appends a character that may start a run of terminators.
    fn emit(&mut self, c: char, s: usize, e: usize) {
        if self.cur.is_empty() {
            // A boundary inside a run NFKC joined: the run goes to the sentence it ends.
            self.cur_start = s.max(self.last_end);
        }
        self.cur.push(c);
        self.cur_end = e;
        self.prev_alnum = is_alnum(c);
        if is_terminator(c) {
            self.term = Term::InTerminators;
            self.ideo = c == '\u{3002}';
        }
    }

    /// Appends a terminator or closer continuing the current run.
    fn append(&mut self, c: char, e: usize) {
        self.cur.push(c);
        self.cur_end = e;
        self.prev_alnum = false;
    }

    fn emit_space(&mut self) {
        self.cur.push(' ');
        self.prev_alnum = false;
    }

    fn end_sentence(&mut self, next: Sep) {
        if self.cur.is_empty() {
            if self.any {
                self.sep = self.sep.max(next);
            }
            return;
        }
        self.out.push_back(Sentence {
            text: std::mem::take(&mut self.cur),
            start: self.cur_start,
            end: self.cur_end,
            sep: self.sep,
        });
        self.last_end = self.cur_end;
        self.any = true;
        self.sep = next;
    }

    fn finish(&mut self) {
        if let Some((hs, he)) = self.hyphen.take() {
            self.emit('-', hs, he);
        }
        self.end_sentence(Sep::None);
    }
}

/// Steps 1-4 over the input, feeding the cutter.
struct Sentences<'a> {
    text: &'a str,
    pos: usize,
    done: bool,
    cutter: Cutter,
    unit: String,
    nfkc: String,
}

impl<'a> Sentences<'a> {
    fn new(text: &'a str) -> Self {
        Sentences {
            text,
            pos: 0,
            done: false,
            cutter: Cutter::new(),
            unit: String::new(),
            nfkc: String::new(),
        }
    }

    /// Feeds input until the cutter holds a sentence or the input ends.
    fn fill(&mut self) {
        let bytes = self.text.as_bytes();
        let n = bytes.len();
        while self.cutter.out.is_empty() && self.pos < n {
            // Batches of input between checks of the output queue.
            let stop = (self.pos + 4096).min(n);
            while self.pos < stop {
                let i = self.pos;
                let b = bytes[i];
                if b < 0x80 && (i + 1 == n || bytes[i + 1] < 0x80) {
                    self.cutter
                        .push(char::from(b.to_ascii_lowercase()), i, i + 1);
                    self.pos = i + 1;
                } else {
                    self.unit_at(i);
                }
            }
        }
        if self.pos >= n && !self.done {
            self.done = true;
            self.cutter.finish();
        }
    }

    /// Normalises the run of characters that starts at `start` and ends before the next
    /// character NFKC cannot join to it, and feeds the result to the cutter.
    fn unit_at(&mut self, start: usize) {
        let text = self.text;
        let mut chars = text[start..].char_indices();
        self.unit.clear();
        let mut end = start;
        // The first character, whatever it is (the start of the text, or a boundary).
        if let Some((_, c)) = chars.next() {
            end = start + c.len_utf8();
            if is_ignorable(c) {
                self.pos = end;
                return;
            }
            self.unit.push(c);
        }
        for (off, c) in chars {
            if is_ignorable(c) {
                end = start + off + c.len_utf8();
                continue;
            }
            if c.is_ascii() || is_nfkc_boundary(c) {
                break;
            }
            self.unit.push(c);
            end = start + off + c.len_utf8();
        }
        self.pos = end;
        let single_plain = {
            let mut it = self.unit.chars();
            matches!((it.next(), it.next()), (Some(c), None) if c.is_ascii())
        };
        if single_plain {
            let c = self.unit.as_bytes()[0].to_ascii_lowercase();
            self.cutter.push(char::from(c), start, end);
            return;
        }
        self.nfkc.clear();
        let nfkc = ComposingNormalizerBorrowed::new_nfkc();
        // Writing into a String cannot fail.
        let _ = nfkc.normalize_to(&self.unit, &mut self.nfkc);
        for c in self.nfkc.chars() {
            for l in c.to_lowercase() {
                self.cutter.push(fold(l), start, end);
            }
        }
    }
}

impl Iterator for Sentences<'_> {
    type Item = Sentence;

    fn next(&mut self) -> Option<Sentence> {
        if self.cutter.out.is_empty() && !self.done {
            self.fill();
        }
        self.cutter.out.pop_front()
    }
}

/// The canonical combining class of `c` (for tests of [`is_nfkc_boundary`]).
#[doc(hidden)]
pub fn combining_class(c: char) -> u8 {
    CanonicalCombiningClassMapBorrowed::new().get_u8(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: &str) -> Vec<String> {
        passages(t).map(|p| p.text).collect()
    }

    const LONG: &str = "the quick brown fox jumps over the lazy dog again and again today.";

    #[test]
    fn rewrapped_and_embedded_paragraph_gives_the_same_passages() {
        let work = "The quick brown fox jumps over the lazy dog again and again today. \
                    It was a well-known fact that foxes are quick, and “dogs” are lazy.";
        let record = "Menu | Home\nSome other text here!  The quick brown\nfox jumps over the \
                      lazy dog again and\u{a0}again today.  It was a well-\nknown fact that \
                      foxes are quick, and \"dogs\" are lazy. Comments (3)";
        let w = texts(work);
        assert_eq!(w.len(), 2, "{w:?}");
        let r = texts(record);
        for p in &w {
            assert!(r.contains(p), "{p:?} not in {r:?}");
        }
    }

    #[test]
    fn offsets_point_at_the_original_text() {
        let t = format!("Intro.  {}\n\nNext.", LONG.to_uppercase());
        let p: Vec<Passage> = passages(&t).collect();
        assert_eq!(p.len(), 1);
        assert_eq!(&t[p[0].start..p[0].end], LONG.to_uppercase());
        assert_eq!(p[0].text, LONG);
        assert_eq!(p[0].id, ContentId::of(LONG.as_bytes()));
    }

    #[test]
    fn short_sentences_are_dropped() {
        assert!(texts("Thank you. See you soon!").is_empty());
    }

    #[test]
    fn normalise_keeps_paragraphs() {
        assert_eq!(normalise("  A\r\n b \r\n\r\n C  "), "a b\n\nc");
        assert_eq!(normalise("e\u{200B}\u{301}"), "é");
        assert_eq!(normalise("ΟΔΟΣ"), "οδοσ");
        assert_eq!(normalise("你好！我们。他们"), "你好!我们。他们");
    }
}
