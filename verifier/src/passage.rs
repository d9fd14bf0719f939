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
use std::sync::OnceLock;

use icu_normalizer::properties::CanonicalCombiningClassMapBorrowed;
use icu_normalizer::ComposingNormalizerBorrowed;

use crate::entry::MAX_OPTOUT_PASSAGES;
use crate::range::RangeLeaf;
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

/// The passage-tree leaves of one work: `passage id || cid` ([`RangeLeaf::passage`]) for each
/// distinct passage of `text`, sorted and unique, `cid` the work's content id (BLAKE3 of the
/// file's bytes). What `prov optout WORK` stores (after [`optout_sample`]) and `prov check
/// WORK` looks up.
pub fn work_leaves(text: &str, cid: &ContentId) -> Vec<RangeLeaf> {
    let mut leaves: Vec<RangeLeaf> = passages(text)
        .map(|p| RangeLeaf::passage(&p.id, cid))
        .collect();
    leaves.sort_unstable();
    leaves.dedup();
    leaves
}

/// The leaves an opt-out names for a work: the first [`MAX_OPTOUT_PASSAGES`] of its sorted
/// leaves (its smallest passage ids), all of them for a shorter work. A bottom-k sample of
/// BLAKE3 ids is a uniform sample of the work's passages, so a dataset holding a fraction f of
/// the work holds about f * 4096 of them, while the opt-out stays bounded.
pub fn optout_sample(leaves: &[RangeLeaf]) -> &[RangeLeaf] {
    let k = usize::try_from(MAX_OPTOUT_PASSAGES).unwrap_or(usize::MAX);
    &leaves[..leaves.len().min(k)]
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
    c.is_ascii_alphanumeric() || (!c.is_ascii() && (is_stable_uncased(c) || c.is_alphanumeric()))
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

/// Code points that Unicode 18.0 assigned with normalisation data (a decomposition, a combining
/// class, or a part in a composition). The rules are pinned to Unicode 17.0 (Rust 1.95's
/// `char` tables, the ICU 78 of Node 20 and current browsers), where these are unassigned:
/// no decomposition, class 0, composing with nothing. ICU4X 2.4's data is 18.0, so these
/// bypass it. (The explorer's test compares every code point with the browser's 17.0 tables.)
pub fn is_unassigned_in_17_with_data(c: char) -> bool {
    matches!(c as u32,
        0x558 | 0x58B..=0x58C | 0x5C8..=0x5C9 | 0x1ADE..=0x1ADF | 0x1AEC..=0x1AF0
        | 0x209D..=0x209F | 0x107BB..=0x107BF | 0x10ECB..=0x10ECF | 0x10EF0..=0x10EF9
        | 0x1B123..=0x1B126 | 0x1D127..=0x1D128 | 0x1D250..=0x1D252 | 0x1D25B..=0x1D25C
        | 0x1D25F | 0x1D280..=0x1D281 | 0x1D6A6 | 0x1DF95 | 0x1DFCD..=0x1DFFF)
}

/// A speed-up, not a rule: characters that NFKC leaves alone, that have no lowercase and that
/// the fold leaves alone (CJK ideographs, kana, Hangul syllables; checked code point by code
/// point in tests/passage_vectors.rs).
pub fn is_stable_uncased(c: char) -> bool {
    matches!(c as u32, 0x3041..=0x3096 | 0x30A1..=0x30FA | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7A3 | 0x20000..=0x2A6DF)
}

/// A speed-up, not a rule: letters of Latin-1, Latin Extended-A/B, Greek and Cyrillic that NFKC
/// leaves alone when nothing joins them (checked code point by code point in
/// tests/passage_vectors.rs); they are only lowercased and folded.
pub fn is_stable_alone(c: char) -> bool {
    matches!(c as u32, 0xC0..=0x131 | 0x134..=0x13E | 0x141..=0x148 | 0x14A..=0x17E
        | 0x180..=0x1C3 | 0x1CD..=0x1F0 | 0x1F4..=0x24F | 0x386 | 0x388..=0x38A | 0x38C
        | 0x38E..=0x3A1 | 0x3A3..=0x3CE | 0x400..=0x45F)
}

/// `char::to_lowercase` of U+0000..U+04FF where it is one character, from a table built from it
/// on first use (the standard library's own lookup is a binary search).
fn lower_small(c: char) -> Option<char> {
    static TABLE: OnceLock<Vec<char>> = OnceLock::new();
    let t = TABLE.get_or_init(|| {
        (0u32..0x500)
            .map(|cp| {
                let c = char::from_u32(cp).unwrap_or('\0');
                let mut l = c.to_lowercase();
                match (l.next(), l.next()) {
                    (Some(x), None) => x,
                    _ => '\0', // several characters (U+0130): the caller asks the library
                }
            })
            .collect()
    });
    t.get(c as usize).copied().filter(|&l| l != '\0')
}

/// An ASCII byte that only ever gets appended (lowercased): not whitespace, a terminator, a
/// closer or a hyphen.
#[inline]
fn plain(b: u8) -> bool {
    PLAIN[usize::from(b)]
}

static PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x21;
    while b < 0x7F {
        t[b] = !matches!(
            b as u8,
            b'.' | b'!' | b'?' | b'"' | b'\'' | b')' | b']' | b'}' | b'-'
        );
        b += 1;
    }
    // Control characters that are not White_Space are plain too.
    let mut b = 0;
    while b < 0x20 {
        t[b] = !matches!(b, 0x09..=0x0D);
        b += 1;
    }
    t[0x7F] = true;
    t
};

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
    /// The last character of the paragraph so far (' ' at its start): a hyphen after a letter
    /// or digit is held back.
    prev: char,
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
            prev: ' ',
            out: VecDeque::new(),
        }
    }

    /// Whether the next plain ASCII byte (see [`plain`]) would just be appended: a sentence is
    /// under way and no space, hyphen or sentence end is pending.
    #[inline]
    fn quiet(&self) -> bool {
        !self.ws && self.hyphen.is_none() && self.term == Term::None && !self.cur.is_empty()
    }

    /// Appends `run` (plain ASCII bytes and single spaces between them, starting at input offset
    /// `s`) in a quiet state: exactly what pushing its bytes one by one does.
    #[inline]
    fn append_plain(&mut self, run: &str, s: usize) {
        let at = self.cur.len();
        self.cur.push_str(run);
        self.cur[at..].make_ascii_lowercase();
        self.cur_end = s + run.len();
        self.prev = run.chars().next_back().unwrap_or(' ');
    }

    /// One normalised code point, from input bytes `s..e`.
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
                self.prev = ' ';
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
        if c == '-' && is_alnum(self.prev) {
            self.hyphen = Some((s, e));
            self.prev = '-';
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
        self.prev = c;
        if is_terminator(c) {
            self.term = Term::InTerminators;
            self.ideo = c == '\u{3002}';
        }
    }

    /// Appends a terminator or closer continuing the current run.
    fn append(&mut self, c: char, e: usize) {
        self.cur.push(c);
        self.cur_end = e;
        self.prev = c;
    }

    fn emit_space(&mut self) {
        self.cur.push(' ');
        self.prev = ' ';
    }

    fn end_sentence(&mut self, next: Sep) {
        if self.cur.is_empty() {
            if self.any {
                self.sep = self.sep.max(next);
            }
            return;
        }
        // Copied at its size (most sentences are short and dropped); `cur` keeps its buffer.
        let text = self.cur.as_str().to_owned();
        self.cur.clear();
        self.out.push_back(Sentence {
            text,
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
                    if plain(b) && self.cutter.quiet() {
                        // The ASCII fast path: plain bytes and single spaces between them, up
                        // to the last one followed by ASCII.
                        let mut j = i + 1;
                        while j < n {
                            if plain(bytes[j]) {
                                j += 1;
                            } else if bytes[j] == b' ' && j + 1 < n && plain(bytes[j + 1]) {
                                j += 2;
                            } else {
                                break;
                            }
                        }
                        // The run ends on a plain byte; one followed by non-ASCII (perhaps a
                        // combining mark) goes to the unit path, and so does a space before it.
                        if j < n && bytes[j] >= 0x80 {
                            j -= 1;
                            if bytes[j - 1] == b' ' {
                                j -= 1;
                            }
                        }
                        self.cutter.append_plain(&self.text[i..j], i);
                        self.pos = j;
                        continue;
                    }
                    self.cutter
                        .push(char::from(b.to_ascii_lowercase()), i, i + 1);
                    self.pos = i + 1;
                } else if b >= 0x80 && self.stable_alone_at(i) {
                    // Done (a letter alone in its run that NFKC leaves alone).
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

    /// The unit path's result for a letter that is alone in its run (the next character is
    /// ASCII or a boundary) and that NFKC leaves alone, without building the run: pushes it,
    /// lowercased and folded, and returns true; otherwise does nothing and returns false.
    #[inline]
    fn stable_alone_at(&mut self, i: usize) -> bool {
        let rest = &self.text[i..];
        let mut it = rest.chars();
        let Some(c) = it.next() else { return false };
        let uncased = is_stable_uncased(c);
        if !uncased && !is_stable_alone(c) {
            return false;
        }
        let alone = match it.next() {
            None => true,
            Some(d) => {
                d.is_ascii()
                    || (!is_ignorable(d)
                        && (is_nfkc_boundary(d) || is_unassigned_in_17_with_data(d)))
            }
        };
        if !alone {
            return false;
        }
        let e = i + c.len_utf8();
        self.pos = e;
        if uncased {
            self.cutter.push(c, i, e);
        } else if let Some(l) = lower_small(c) {
            self.cutter.push(fold(l), i, e);
        } else {
            for l in c.to_lowercase() {
                self.cutter.push(fold(l), i, e);
            }
        }
        true
    }

    /// Normalises the run of characters that starts at `start` and ends before the next
    /// character NFKC cannot join to it, and feeds the result to the cutter.
    #[inline(never)]
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
            if is_unassigned_in_17_with_data(c) {
                // Inert under Unicode 17: itself, alone (lowercase of an unassigned code point
                // is itself).
                self.pos = end;
                self.cutter.push(c, start, end);
                return;
            }
            self.unit.push(c);
        }
        for (off, c) in chars {
            if is_ignorable(c) {
                end = start + off + c.len_utf8();
                continue;
            }
            if c.is_ascii() || is_nfkc_boundary(c) || is_unassigned_in_17_with_data(c) {
                break;
            }
            self.unit.push(c);
            end = start + off + c.len_utf8();
        }
        self.pos = end;
        let single = {
            let mut it = self.unit.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => Some(c),
                _ => None,
            }
        };
        if let Some(c) = single {
            if c.is_ascii() {
                self.cutter.push(c.to_ascii_lowercase(), start, end);
                return;
            }
            if is_stable_uncased(c) {
                // Alone in its run, NFKC leaves it, and it has no lowercase: itself.
                self.cutter.push(c, start, end);
                return;
            }
            if is_stable_alone(c) {
                match lower_small(c) {
                    Some(l) => self.cutter.push(fold(l), start, end),
                    None => {
                        for l in c.to_lowercase() {
                            self.cutter.push(fold(l), start, end);
                        }
                    }
                }
                return;
            }
        }
        self.nfkc.clear();
        let nfkc = ComposingNormalizerBorrowed::new_nfkc();
        // Writing into a String cannot fail.
        let _ = nfkc.normalize_to(&self.unit, &mut self.nfkc);
        for c in self.nfkc.chars() {
            if is_stable_uncased(c) {
                self.cutter.push(c, start, end);
                continue;
            }
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
    fn work_leaves_are_sorted_unique_and_name_the_work() {
        let cid = ContentId::of(b"the work");
        let t = format!("{LONG}\n\n{}\n\n{LONG}", LONG.replace("a", "b"));
        let leaves = work_leaves(&t, &cid);
        assert_eq!(leaves.len(), 2, "the repeated paragraph is one leaf");
        assert!(leaves.windows(2).all(|w| w[0] < w[1]));
        let ids: Vec<ContentId> = passages(&t).map(|p| p.id).collect();
        for l in &leaves {
            let (pid, c) = l.split_passage().unwrap();
            assert_eq!(c, cid);
            assert!(ids.contains(&pid));
        }
    }

    #[test]
    fn optout_sample_keeps_the_smallest_passage_ids() {
        let cid = ContentId::of(b"w");
        let mut all: Vec<RangeLeaf> = (0..5000u32)
            .map(|i| RangeLeaf::passage(&ContentId::of(&i.to_be_bytes()), &cid))
            .collect();
        all.sort();
        let s = optout_sample(&all);
        assert_eq!(s.len() as u64, MAX_OPTOUT_PASSAGES);
        assert_eq!(s, &all[..4096]);
        assert_eq!(optout_sample(&all[..10]).len(), 10);
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
