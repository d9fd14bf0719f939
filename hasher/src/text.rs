//! The text record modes: JSON Lines (`jsonl`) and plain lines (`lines`).
//!
//! Files are read in blocks of whole lines into reused buffers ([`BlockReader`]; decompressed
//! transparently when they start with the gzip or zstd magic bytes, whatever their name), and
//! blocks are cut into runs of lines that threads split into items in parallel
//! ([`split_lines`], [`lines`]; see `crate::textbatch`). A line is the bytes up to `\n`, without the `\n` and a `\r` before it (as Rust's
//! `str::lines`); a last line without a terminator still counts.
//!
//! A JSON Lines item is the UTF-8 bytes of one top-level string field after JSON decoding, so a
//! rights holder who has the text computes the same id without the dataset. Blank lines are not
//! records and are passed over. Only the wanted fields are materialised: the rest of each record
//! is validated and skipped without allocation.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use crate::meta::MetaField;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// How a text file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Opens `path` for reading its decompressed bytes. Detection is by magic bytes, which no UTF-8
/// text can start with, so a misnamed file still reads correctly.
///
/// A plain (uncompressed) local file is read as it is, with no buffer in between: the callers read
/// blocks of a megabyte or more, each straight into its block by one `read` (a `BufReader`
/// would copy every byte a second time whenever a block's room is smaller than its own).
pub fn open_text(path: &Path) -> io::Result<(Box<dyn Read + Send>, Compression)> {
    let (mut f, local): (Box<dyn Read + Send>, bool) = match crate::object::open(path)? {
        Some((object, _)) => (object, false), // s3://... (crate::object)
        None => (Box::new(File::open(path)?), true),
    };
    let mut magic = [0u8; 4];
    let mut n = 0;
    while n < magic.len() {
        match f.read(&mut magic[n..])? {
            0 => break,
            k => n += k,
        }
    }
    let head = io::Cursor::new(magic[..n].to_vec());
    let compressed = (n >= 2 && magic[..2] == GZIP_MAGIC) || (n == 4 && magic == ZSTD_MAGIC);
    if !compressed && local {
        return Ok((Box::new(head.chain(f)), Compression::None));
    }
    let raw = BufReader::with_capacity(1 << 20, head.chain(f));
    if n >= 2 && magic[..2] == GZIP_MAGIC {
        Ok((
            Box::new(flate2::read::MultiGzDecoder::new(raw)),
            Compression::Gzip,
        ))
    } else if n == 4 && magic == ZSTD_MAGIC {
        Ok((
            Box::new(zstd::Decoder::with_buffer(raw)?),
            Compression::Zstd,
        ))
    } else {
        Ok((Box::new(raw), Compression::None))
    }
}

/// Reads a text stream into blocks of whole lines, in buffers the caller hands back for reuse:
/// after the first blocks nothing is allocated or zeroed, and the bytes are copied once, by the
/// kernel's `read` into the buffer (only the partial line at a block's end is copied again, to
/// the front of the next block). Lines are not counted here: whoever walks a block's lines
/// counts them (see [`lines`]).
#[derive(Debug)]
pub struct BlockReader<R: Read> {
    r: R,
    block: usize,
    /// The partial line after the last block's last line end.
    carry: Vec<u8>,
    done: bool,
}

/// What [`BlockReader::next_block`] put in the buffer.
#[derive(Debug)]
pub struct BlockRead {
    /// The buffer's first `len` bytes are whole lines (the last one without its terminator only
    /// at the end of the stream).
    pub len: usize,
    /// The stream is over: no block follows this one.
    pub end: bool,
    /// The read error that ended the stream early. The lines before it are valid; the partial
    /// line it cut is dropped.
    pub err: Option<io::Error>,
}

impl<R: Read> BlockReader<R> {
    /// Blocks of about `block` bytes (more when one line is longer).
    pub fn new(r: R, block: usize) -> Self {
        BlockReader {
            r,
            block: block.max(1),
            carry: Vec::new(),
            done: false,
        }
    }

    /// Fills `buf` with the next run of whole lines. `buf` keeps its length (at least the block
    /// size, zeroed only when it grows), so that a buffer handed back is reused as it is. After
    /// a block with `end`, every call returns an empty block with `end`.
    pub fn next_block(&mut self, buf: &mut Vec<u8>) -> BlockRead {
        if self.done {
            return BlockRead {
                len: 0,
                end: true,
                err: None,
            };
        }
        let mut have = self.carry.len();
        if buf.len() < have + self.block / 2 + 1 {
            // A fresh buffer (or one a long line outgrew) comes zeroed from the allocator
            // (calloc: the kernel's zero pages), without a pass of its own over the memory.
            // A buffer handed back is reused as it is: the carried line eats into its room.
            *buf = vec![0; have + self.block];
        }
        buf[..have].copy_from_slice(&self.carry);
        self.carry.clear();
        let mut want = buf.len() - have;
        loop {
            if buf.len() < have + want {
                // A line longer than the block: double the room, so a very long line costs
                // linear time.
                buf.resize(have + want, 0);
            }
            let (n, err) = fill(&mut self.r, &mut buf[have..have + want]);
            let fresh = have..have + n;
            have += n;
            if err.is_some() || n < want {
                self.done = true;
                let len = if err.is_some() {
                    memchr::memrchr(b'\n', &buf[..have]).map_or(0, |p| p + 1)
                } else {
                    have
                };
                return BlockRead {
                    len,
                    end: true,
                    err,
                };
            }
            // Only the fresh bytes can hold the last line end: what came before had none.
            if let Some(p) = memchr::memrchr(b'\n', &buf[fresh.clone()]) {
                let cut = fresh.start + p + 1;
                self.carry.extend_from_slice(&buf[cut..have]);
                return BlockRead {
                    len: cut,
                    end: false,
                    err: None,
                };
            }
            want = self.block.max(have);
        }
    }
}

/// Fills `buf` from `r` until it is full or the stream ends; returns the bytes read and the
/// error that stopped it early, if any. The bytes before an error are valid: their complete
/// lines still count, and the error is reported at the first line not yet returned.
pub fn fill(r: &mut impl Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (filled, Some(e)),
        }
    }
    (filled, None)
}

/// The lines of a run of whole lines, terminators stripped. A line is the bytes up to `\n`,
/// without it and a `\r` before it; a last line without a terminator still counts, and nothing
/// follows a final `\n`. Line ends are found with `memchr` (vectorised): a byte-at-a-time split
/// was a fifth of a JSON Lines run's time.
pub fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0usize;
    let mut ends = memchr::memchr_iter(b'\n', data);
    std::iter::from_fn(move || {
        if start >= data.len() {
            return None;
        }
        let end = ends.next().unwrap_or(data.len());
        let line = &data[start..end];
        start = end + 1;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    })
}

/// Where to cut `data` (whole lines) into about `parts` runs of whole lines for parallel work:
/// the end offsets of the runs, each just after a line end (the last is `data.len()`).
pub fn split_lines(data: &[u8], parts: usize) -> Vec<usize> {
    let parts = parts.max(1);
    let step = data.len().div_ceil(parts).max(1);
    let mut cuts = Vec::with_capacity(parts);
    let mut at = 0;
    while at < data.len() {
        let aim = (at + step).min(data.len());
        let cut = if aim >= data.len() {
            data.len()
        } else {
            // Just after the first line end at or after the aim (the line holding it stays whole).
            memchr::memchr(b'\n', &data[aim - 1..]).map_or(data.len(), |p| aim + p)
        };
        cuts.push(cut);
        at = cut;
    }
    cuts
}

/// What a JSON Lines record gave: its item and the raw values of the mapped metadata fields,
/// each with its index in the field list (see [`crate::meta::MetaSpec::resolve`]).
#[derive(Debug)]
pub struct Extracted<'de> {
    pub text: Cow<'de, str>,
    pub meta: Vec<(usize, Value)>,
}

/// Extracts `field` (a top-level string) and the values at the metadata fields' paths from one
/// JSON Lines record. `Ok(None)` for a blank line. Errors are short and say what was wrong.
///
/// Only a top-level key that some path starts with is materialised (as a `Value`, then walked
/// down the path); every other value is validated and skipped without allocation. A `memchr`
/// scanner (`jsonscan`) answers for the records it is sure of; the rest, and every invalid
/// record, go through `serde_json` ([`extract_full`]), so results and errors are the same.
pub fn extract<'de>(
    line: &'de [u8],
    field: &str,
    meta_fields: &[MetaField],
) -> Result<Option<Extracted<'de>>, String> {
    let mut scratch = String::new();
    Ok(
        extract_into(line, field, meta_fields, &mut scratch)?.map(|(at, meta)| {
            let text = match at {
                TextAt::Borrowed(s) => Cow::Borrowed(s),
                TextAt::Scratch(r) if r.start == 0 && r.end == scratch.len() => Cow::Owned(scratch),
                TextAt::Scratch(r) => Cow::Owned(scratch[r].to_string()),
            };
            Extracted { text, meta }
        }),
    )
}

/// Where [`extract_into`] left a record's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextAt<'de> {
    /// In the record itself (it had no escapes).
    Borrowed(&'de str),
    /// Decoded, at this range of the scratch string.
    Scratch(std::ops::Range<usize>),
}

/// A record's text and the raw values of its mapped metadata fields (see [`Extracted`]).
pub type ExtractedAt<'de> = (TextAt<'de>, Vec<(usize, Value)>);

/// [`extract`] without an allocation per record: a text with escapes is decoded onto the end of
/// `scratch`, which the caller keeps for many records (the pipeline keeps one per run of lines).
pub fn extract_into<'de>(
    line: &'de [u8],
    field: &str,
    meta_fields: &[MetaField],
    scratch: &mut String,
) -> Result<Option<ExtractedAt<'de>>, String> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let mark = scratch.len();
    if let Some(x) = crate::jsonscan::extract(line, field, meta_fields, scratch) {
        return Ok(Some(x));
    }
    // What the scanner decoded before it gave up is not wanted.
    scratch.truncate(mark);
    let x = extract_full(line, field, meta_fields)?;
    let at = match x.text {
        Cow::Borrowed(s) => TextAt::Borrowed(s),
        Cow::Owned(s) => {
            scratch.push_str(&s);
            TextAt::Scratch(mark..scratch.len())
        }
    };
    Ok(Some((at, x.meta)))
}

/// [`extract`] through `serde_json` alone (no scanner): the reference the scanner is tested
/// against, and what decides every record the scanner leaves (and every error message).
pub fn extract_full<'de>(
    line: &'de [u8],
    field: &str,
    meta_fields: &[MetaField],
) -> Result<Extracted<'de>, String> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let seed = Extract { field, meta_fields };
    let (text, meta) = seed.deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    let text = text.ok_or_else(|| format!("no field {field:?}"))?;
    Ok(Extracted { text, meta })
}

struct Extract<'a> {
    field: &'a str,
    meta_fields: &'a [MetaField],
}

type Found<'de> = (Option<Cow<'de, str>>, Vec<(usize, Value)>);

impl<'de> DeserializeSeed<'de> for Extract<'_> {
    type Value = Found<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Extract<'_> {
    type Value = Found<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut text = None;
        let mut meta: Vec<(usize, Value)> = Vec::new();
        let first = |f: &MetaField, key: &str| f.path.segments().first().is_some_and(|s| s == key);
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            if key == self.field {
                let Str(v) = map.next_value::<Str<'de>>().map_err(|e| {
                    serde::de::Error::custom(format_args!("field {:?}: {e}", self.field))
                })?;
                text = Some(v);
            } else if self.meta_fields.iter().any(|f| first(f, &key)) {
                let v: Value = map.next_value()?;
                record_meta(self.meta_fields, &mut meta, &key, v);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok((text, meta))
    }
}

/// Records the value `v` of the top-level key `key` for every metadata field whose path starts
/// with it (shared by the scanner and the full parser, so both keep the same values in the same
/// order).
pub(crate) fn record_meta(
    meta_fields: &[MetaField],
    meta: &mut Vec<(usize, Value)>,
    key: &str,
    v: Value,
) {
    let first = |f: &MetaField| f.path.segments().first().is_some_and(|s| s == key);
    let mut hits = meta_fields.iter().enumerate().filter(|(_, f)| first(f));
    if let (Some((i, f)), None) = (hits.next(), hits.next()) {
        if f.path.segments().len() == 1 {
            // The usual case, one top-level field: the value itself, no copy.
            meta.retain(|(j, _)| *j != i);
            meta.push((i, v));
            return;
        }
    }
    for (i, f) in meta_fields.iter().enumerate() {
        if !first(f) {
            continue;
        }
        // A repeated key: the last occurrence wins, as in most JSON readers.
        meta.retain(|(j, _)| *j != i);
        let found = f.path.segments()[1..]
            .iter()
            .try_fold(&v, |at, seg| at.as_object().and_then(|o| o.get(seg)));
        if let Some(x) = found {
            meta.push((i, x.clone()));
        }
    }
}

/// A JSON string that borrows from the input unless it had escapes.
struct Str<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Every line of `data` read through a `BlockReader` of `block` bytes, by reading only
    /// `step` bytes per `read` call (so that reads end anywhere), with each block's lines.
    fn all_lines(data: &[u8], block: usize, step: usize) -> Vec<Vec<u8>> {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(self.1).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut r = BlockReader::new(Trickle(data, step), block);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            let b = r.next_block(&mut buf);
            assert!(b.err.is_none());
            let run = &buf[..b.len];
            if !b.end {
                assert_eq!(run.last(), Some(&b'\n'), "a block ends with a line end");
            }
            out.extend(lines(run).map(<[u8]>::to_vec));
            if b.end {
                break;
            }
        }
        out
    }

    #[test]
    fn blocks_never_split_lines_whatever_the_block_size() {
        let text = b"alpha\r\nbeta\n\ngamma-is-a-longer-line\ndelta";
        let want: Vec<Vec<u8>> = ["alpha", "beta", "", "gamma-is-a-longer-line", "delta"]
            .iter()
            .map(|l| l.as_bytes().to_vec())
            .collect();
        for block in [1, 3, 7, 64, 1 << 20] {
            for step in [1, 5, 1 << 20] {
                assert_eq!(
                    all_lines(text, block, step),
                    want,
                    "block={block} step={step}"
                );
            }
        }
        assert!(all_lines(b"", 4, 4).is_empty());
        assert_eq!(all_lines(b"x\n", 4, 4), vec![b"x".to_vec()]);
        assert_eq!(all_lines(b"x\n\n", 1, 1), vec![b"x".to_vec(), Vec::new()]);
        // A line many times the block size, then short ones.
        let long = [vec![b'L'; 10_000], b"\nshort\n".to_vec()].concat();
        let got = all_lines(&long, 16, 7);
        assert_eq!(got, vec![vec![b'L'; 10_000], b"short".to_vec()]);
    }

    #[test]
    fn split_lines_cuts_only_after_line_ends() {
        let data = b"a\nbb\nccc\n\ndddd\ne";
        for parts in 1..12 {
            let cuts = split_lines(data, parts);
            assert_eq!(cuts.last(), Some(&data.len()), "parts={parts}");
            let mut at = 0;
            let mut joined = Vec::new();
            for &c in &cuts {
                assert!(c > at, "parts={parts} cuts={cuts:?}");
                if c < data.len() {
                    assert_eq!(data[c - 1], b'\n', "parts={parts} cuts={cuts:?}");
                }
                joined.extend(lines(&data[at..c]).map(<[u8]>::to_vec));
                at = c;
            }
            assert_eq!(joined, lines(data).map(<[u8]>::to_vec).collect::<Vec<_>>());
        }
        assert!(split_lines(b"", 4).is_empty());
    }

    #[test]
    fn compressed_files_are_detected_by_magic() {
        let d = tempfile::tempdir().unwrap();
        let body = b"{\"text\":\"hi\"}\n".repeat(100);
        let gz = d.path().join("a.data");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&body).unwrap();
        std::fs::write(&gz, e.finish().unwrap()).unwrap();
        let zs = d.path().join("b.jsonl");
        std::fs::write(&zs, zstd::encode_all(&body[..], 1).unwrap()).unwrap();
        let plain = d.path().join("c");
        std::fs::write(&plain, &body).unwrap();
        for (p, want) in [
            (gz, Compression::Gzip),
            (zs, Compression::Zstd),
            (plain, Compression::None),
        ] {
            let (mut r, c) = open_text(&p).unwrap();
            assert_eq!(c, want);
            let mut got = Vec::new();
            r.read_to_end(&mut got).unwrap();
            assert_eq!(got, body);
        }
    }

    #[test]
    fn corrupt_stream_yields_complete_lines_then_the_error() {
        let body = b"one\ntwo\nthree\n".repeat(20_000);
        let mut z = zstd::encode_all(&body[..], 1).unwrap();
        let mid = z.len() / 2;
        z.truncate(mid);
        let mut r = BlockReader::new(zstd::Decoder::new(&z[..]).unwrap(), 4096);
        let mut buf = Vec::new();
        let mut n = 0;
        let err = loop {
            let b = r.next_block(&mut buf);
            assert!(
                b.len == 0 || buf[b.len - 1] == b'\n',
                "a cut line was returned"
            );
            n += lines(&buf[..b.len]).count();
            if let Some(e) = b.err {
                break e;
            }
            assert!(!b.end, "truncated stream read as complete");
        };
        assert!(n < 60_000);
        assert!(!err.to_string().is_empty());
        assert!(r.next_block(&mut buf).end);
    }

    #[test]
    fn extract_decodes_escapes_and_maps_fields() {
        let line =
            br#"{"id":1,"text":"caf\u00e9 \"q\"","url":"https://e.x/","nested":{"a":[1,2]}}"#;
        let spec = crate::MetaSpec::parse(
            crate::MetaMode::Full,
            &[
                "source=url".into(),
                "a=nested.a".into(),
                "gone=nested.b.c".into(),
            ],
            &[],
        )
        .unwrap();
        let e = extract(line, "text", &spec.fields).unwrap().unwrap();
        assert_eq!(e.text, "café \"q\"");
        assert_eq!(
            e.meta,
            vec![
                (0, Value::from("https://e.x/")),
                (1, serde_json::json!([1, 2]))
            ]
        );
        let plain = extract(br#"{"text":"plain"}"#, "text", &[])
            .unwrap()
            .unwrap();
        assert!(matches!(plain.text, Cow::Borrowed("plain")));
        assert!(extract(b"   ", "text", &[]).unwrap().is_none());
    }

    #[test]
    fn extract_rejects_bad_records() {
        for bad in [
            &b"not json"[..],
            br#"{"text":3}"#,
            br#"{"body":"x"}"#,
            br#"["text"]"#,
            br#"{"text":"x"} trailing"#,
            b"{\"text\":\"\xff\"}",
            br#"{"text":"\ud800"}"#,
        ] {
            let r = extract(bad, "text", &[]);
            assert!(r.is_err(), "{:?} accepted", String::from_utf8_lossy(bad));
        }
    }
}
