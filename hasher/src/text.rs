//! The text record modes: JSON Lines (`jsonl`) and plain lines (`lines`).
//!
//! Files are read in chunks of whole lines (decompressed transparently when they start with the
//! gzip or zstd magic bytes, whatever their name), and chunks are split into items by worker
//! threads. A line is the bytes up to `\n`, without the `\n` and a `\r` before it (as Rust's
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
pub fn open_text(path: &Path) -> io::Result<(Box<dyn Read + Send>, Compression)> {
    let mut f: Box<dyn Read + Send> = match crate::object::open(path)? {
        Some((object, _)) => object, // s3://... (crate::object)
        None => Box::new(File::open(path)?),
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

/// Cuts a stream of byte blocks into chunks of whole lines, counting lines, so that workers can
/// split chunks independently and still name each line's number. It owns only the partial line
/// at the end of the last block; blocks are borrowed, so the thread that fills them (a
/// decompressor, in the pipeline) can reuse its buffers.
#[derive(Debug)]
pub struct LineSplitter {
    carry: Vec<u8>,
    next_line: u64,
}

/// A run of whole lines and the 1-based number of its first line.
#[derive(Debug)]
pub struct Chunk {
    pub first_line: u64,
    pub data: Vec<u8>,
}

impl Default for LineSplitter {
    fn default() -> Self {
        LineSplitter {
            carry: Vec::new(),
            next_line: 1,
        }
    }
}

impl LineSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of the first line not yet returned in a chunk: where a read error happened.
    pub fn next_line(&self) -> u64 {
        self.next_line
    }

    /// Takes the next block; returns the lines it completes (with the partial line carried
    /// from earlier blocks), or `None` while no line has ended yet.
    pub fn push(&mut self, block: &[u8]) -> Option<Chunk> {
        let Some(pos) = memchr::memrchr(b'\n', block) else {
            // One line longer than a block: keep it until it ends.
            self.carry.extend_from_slice(block);
            return None;
        };
        let cut = pos + 1;
        // Exact capacity and `extend_from_slice`: one copy, no zeroing.
        let mut data = Vec::with_capacity(self.carry.len() + cut);
        data.extend_from_slice(&self.carry);
        data.extend_from_slice(&block[..cut]);
        self.carry.clear();
        self.carry.extend_from_slice(&block[cut..]);
        Some(self.emit(data))
    }

    /// The end of the stream: the last line, when it has no terminator.
    pub fn finish(&mut self) -> Option<Chunk> {
        if self.carry.is_empty() {
            return None;
        }
        let data = std::mem::take(&mut self.carry);
        Some(self.emit(data))
    }

    fn emit(&mut self, data: Vec<u8>) -> Chunk {
        let first_line = self.next_line;
        self.next_line += memchr::memchr_iter(b'\n', &data).count() as u64;
        if data.last() != Some(&b'\n') {
            self.next_line += 1;
        }
        Chunk { first_line, data }
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

/// A [`LineSplitter`] over a reader on the calling thread: chunks of about `target` bytes.
/// (The pipeline runs the reader on a thread of its own instead; see `pipeline::read_records`.)
pub struct LineChunker<R: Read> {
    r: R,
    block: Vec<u8>,
    splitter: LineSplitter,
    eof: bool,
    pending_error: Option<io::Error>,
}

impl<R: Read> LineChunker<R> {
    pub fn new(r: R, target: usize) -> Self {
        LineChunker {
            r,
            block: vec![0; target.max(1)],
            splitter: LineSplitter::new(),
            eof: false,
            pending_error: None,
        }
    }

    /// The number of the line the next chunk starts with: where a read error happened.
    pub fn next_line(&self) -> u64 {
        self.splitter.next_line()
    }

    /// The next chunk, `None` at the end. On a read error (a corrupt compressed stream) the
    /// complete lines read before it have already been returned.
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if let Some(e) = self.pending_error.take() {
            return Err(e);
        }
        while !self.eof {
            let (n, err) = fill(&mut self.r, &mut self.block);
            let chunk = self.splitter.push(&self.block[..n]);
            if let Some(e) = err {
                // Hand back the complete lines first; the error comes on the next call. The
                // partial line after them is dropped: the stream ends at the error.
                self.eof = true;
                self.splitter.carry.clear();
                match chunk {
                    Some(c) => {
                        self.pending_error = Some(e);
                        return Ok(Some(c));
                    }
                    None => return Err(e),
                }
            }
            if n < self.block.len() {
                self.eof = true;
            }
            if chunk.is_some() {
                return Ok(chunk);
            }
        }
        Ok(self.splitter.finish())
    }
}

/// The lines of a chunk, each with its number, terminators stripped. Line ends are found with
/// `memchr` (vectorised): a byte-at-a-time split was a fifth of a JSON Lines run's time.
pub fn lines(chunk: &Chunk) -> impl Iterator<Item = (u64, &[u8])> {
    let data = chunk.data.as_slice();
    let mut start = 0usize;
    let mut ends = memchr::memchr_iter(b'\n', data);
    let mut n = chunk.first_line;
    std::iter::from_fn(move || {
        if start >= data.len() {
            return None;
        }
        let end = ends.next().unwrap_or(data.len());
        let line = &data[start..end];
        start = end + 1;
        let item = (n, line.strip_suffix(b"\r").unwrap_or(line));
        n += 1;
        Some(item)
    })
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
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if let Some(x) = crate::jsonscan::extract(line, field, meta_fields) {
        return Ok(Some(x));
    }
    extract_full(line, field, meta_fields).map(Some)
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

    fn all_lines(data: &[u8], target: usize) -> Vec<(u64, Vec<u8>)> {
        let mut c = LineChunker::new(data, target);
        let mut out = Vec::new();
        while let Some(ch) = c.next_chunk().unwrap() {
            out.extend(lines(&ch).map(|(n, l)| (n, l.to_vec())));
        }
        out
    }

    #[test]
    fn chunking_never_splits_or_renumbers_lines() {
        let text = b"alpha\r\nbeta\n\ngamma-is-a-longer-line\ndelta";
        let want: Vec<(u64, Vec<u8>)> = ["alpha", "beta", "", "gamma-is-a-longer-line", "delta"]
            .iter()
            .enumerate()
            .map(|(i, l)| (i as u64 + 1, l.as_bytes().to_vec()))
            .collect();
        for target in [1, 3, 7, 64, 1 << 20] {
            assert_eq!(all_lines(text, target), want, "target={target}");
        }
        assert!(all_lines(b"", 4).is_empty());
        assert_eq!(all_lines(b"x\n", 4), vec![(1, b"x".to_vec())]);
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
        let r = zstd::Decoder::new(&z[..]).unwrap();
        let mut c = LineChunker::new(r, 4096);
        let mut n = 0;
        let err = loop {
            match c.next_chunk() {
                Ok(Some(ch)) => n += lines(&ch).count() as u64,
                Ok(None) => panic!("truncated stream read as complete"),
                Err(e) => break e,
            }
        };
        assert!(n < 60_000);
        assert_eq!(c.next_line(), n + 1);
        assert!(!err.to_string().is_empty());
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
