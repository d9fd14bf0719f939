//! The fast path of [`crate::text::extract`]: a `memchr` scanner over one JSON Lines record that
//! finds the configured field among the top-level keys, decoding escapes only where a string has
//! them.
//!
//! Exactness by construction: the scanner answers only when it is sure. It walks the top-level
//! object itself (keys, string values, numbers and literals), hands nested objects and arrays to
//! `serde_json` (which validates or materialises them exactly as the full parser does), and
//! returns `None` on anything it does not handle or that is not valid: a key with an escape, a
//! lone surrogate escape, a trailing comma, a missing field, bytes after the object, a value nested
//! deeply enough to reach `serde_json`'s recursion limit, any error at all. The caller then runs
//! the full `serde_json` parser on the record, so results and error messages are always the
//! full parser's. The semantics both share (documented in docs/format-manifest.md): the field
//! is a top-level key only (the same key nested, or inside a string, is not it); a repeated key
//! counts its last occurrence; every byte of the record is validated.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde_json::Value;

use crate::meta::MetaField;
use crate::text::{record_meta, ExtractedAt, TextAt};

/// `serde_json`'s recursion limit is 128 levels and the record's own object is one of them: a
/// nested value with this many opening brackets (in any position, strings included) goes to the
/// full parser, which knows its true depth.
const DEEP: usize = 120;

/// `Some` when the record is a valid JSON object whose top level has `field` as a string;
/// `None` when the full parser must decide. A field with escapes is decoded at the end of
/// `scratch` (which is then left longer even when the answer is `None`).
pub(crate) fn extract<'de>(
    line: &'de [u8],
    field: &str,
    meta_fields: &[MetaField],
    scratch: &mut String,
) -> Option<ExtractedAt<'de>> {
    let mut s = Scanner { b: line, i: 0 };
    s.ws();
    s.eat(b'{')?;
    s.ws();
    let mut text = None;
    let mut meta: Vec<(usize, Value)> = Vec::new();
    loop {
        let key = s.key()?;
        s.ws();
        s.eat(b':')?;
        s.ws();
        if key == field {
            // A repeated field: the last one counts (an earlier decoded copy stays unused).
            text = Some(s.string_into(scratch)?);
        } else if meta_fields.iter().any(|f| first_is(f, key)) {
            let v = s.nested::<Value>()?;
            record_meta(meta_fields, &mut meta, key, v);
        } else {
            s.skip_value()?;
        }
        s.ws();
        match s.next()? {
            b',' => s.ws(),
            b'}' => break,
            _ => return None,
        }
    }
    s.ws();
    if s.i != line.len() {
        return None;
    }
    Some((text?, meta))
}

fn first_is(f: &MetaField, key: &str) -> bool {
    f.path.segments().first().is_some_and(|s| s == key)
}

struct Scanner<'de> {
    b: &'de [u8],
    i: usize,
}

impl<'de> Scanner<'de> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    /// JSON whitespace (space, tab, line feed, carriage return), as `serde_json` skips it.
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// The raw bytes of a string starting at `"` (quotes excluded) and whether it has escapes.
    fn raw_string(&mut self) -> Option<(&'de [u8], bool)> {
        self.eat(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            let at = self.i + memchr::memchr2(b'"', b'\\', &self.b[self.i..])?;
            if self.b[at] == b'"' {
                self.i = at + 1;
                return Some((&self.b[start..at], escaped));
            }
            // Skip the escaped byte (a quote or backslash among them); what it means is decided
            // when decoding.
            escaped = true;
            self.i = at + 2;
            if self.i > self.b.len() {
                return None;
            }
        }
    }

    /// A key: a string without escapes (keys with escapes are left to the full parser).
    fn key(&mut self) -> Option<&'de str> {
        let (raw, escaped) = self.raw_string()?;
        if escaped {
            return None;
        }
        plain(raw)
    }

    /// A string value, decoded: borrowed when it has no escapes.
    fn string(&mut self) -> Option<Cow<'de, str>> {
        let (raw, escaped) = self.raw_string()?;
        let s = plain(raw)?;
        if escaped {
            decode(s).map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(s))
        }
    }

    /// A string value: borrowed when it has no escapes, else decoded onto the end of `scratch`.
    fn string_into(&mut self, scratch: &mut String) -> Option<TextAt<'de>> {
        let (raw, escaped) = self.raw_string()?;
        let s = plain(raw)?;
        if escaped {
            let start = scratch.len();
            decode_into(s, scratch)?;
            Some(TextAt::Scratch(start..scratch.len()))
        } else {
            Some(TextAt::Borrowed(s))
        }
    }

    /// Skips one value of any kind, validating it.
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => self.nested::<IgnoredAny>().map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    /// Any value, through `serde_json` (nested objects and arrays, and meta values).
    fn nested<T: serde::de::DeserializeOwned>(&mut self) -> Option<T> {
        let rest = &self.b[self.i..];
        let mut it = serde_json::Deserializer::from_slice(rest).into_iter::<T>();
        let v = it.next()?.ok()?;
        let used = it.byte_offset();
        let opens = memchr::memchr2_iter(b'{', b'[', &rest[..used]).count();
        if opens >= DEEP {
            return None;
        }
        self.i += used;
        Some(v)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// A JSON number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            self.digit()?;
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            self.digit()?;
            self.digits();
        }
        // Syntax only, as the full parser skips a value it does not keep (`IgnoredAny`).
        Some(())
    }

    fn digit(&mut self) -> Option<()> {
        self.next()?.is_ascii_digit().then_some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
    }
}

/// The raw bytes of a string as `str`: valid UTF-8 and no control character (which JSON
/// forbids unescaped). Escapes are ASCII, so the raw bytes are valid UTF-8 exactly when the
/// decoded string's literal runs are.
fn plain(raw: &[u8]) -> Option<&str> {
    // Branch-free over 64-byte blocks, so that it vectorises.
    let control = raw
        .chunks(64)
        .any(|c| c.iter().fold(0u8, |acc, &b| acc | u8::from(b < 0x20)) != 0);
    if control {
        return None;
    }
    std::str::from_utf8(raw).ok()
}

/// Decodes the escapes of a string's raw text (valid UTF-8, checked by [`plain`]). `None` on a
/// bad escape or a surrogate escape that is not a pair (the full parser decides those).
fn decode(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    decode_into(s, &mut out)?;
    Some(out)
}

/// [`decode`] onto the end of `out`.
fn decode_into(s: &str, out: &mut String) -> Option<()> {
    let b = s.as_bytes();
    out.reserve(s.len());
    let mut i = 0;
    while let Some(k) = memchr::memchr(b'\\', &b[i..]) {
        let at = i + k;
        // `at` is a backslash (ASCII), so both slices fall on character boundaries.
        out.push_str(s.get(i..at)?);
        let c = match *b.get(at + 1)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hex = s.get(at + 2..at + 6)?;
                if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                    return None;
                }
                let mut n = u32::from_str_radix(hex, 16).ok()?;
                i = at + 6;
                if (0xD800..0xDC00).contains(&n) {
                    // A leading surrogate must be followed by `\u` and a trailing one.
                    let low = s.get(i..i + 6)?.strip_prefix("\\u")?;
                    if !low.bytes().all(|h| h.is_ascii_hexdigit()) {
                        return None;
                    }
                    let low = u32::from_str_radix(low, 16).ok()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return None;
                    }
                    n = 0x10000 + ((n - 0xD800) << 10) + (low - 0xDC00);
                    i += 6;
                }
                out.push(char::from_u32(n)?); // a lone trailing surrogate is `None`
                continue;
            }
            _ => return None,
        };
        out.push(c);
        i = at + 2;
    }
    out.push_str(s.get(i..)?);
    Some(())
}
