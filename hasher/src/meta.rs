//! Item metadata (DESIGN.md, "Set leaves"): what each item's leaf commits to besides its bytes.
//!
//! An item's metadata is a JSON object (its *source entry*):
//! - `path`: the file holding the item, relative to the corpus path it was found under, with `/`
//!   separators (a file given directly is named by its file name);
//! - `line` (JSON Lines and lines modes, 1-based) or `row` (Parquet, 0-based);
//! - fields mapped from the record with `--meta-field KEY=FIELD`, and constants given with
//!   `--meta-set KEY=VALUE`. The standard keys are `source` (a URI), `license` (an SPDX
//!   expression), `consent` (the signal observed at collection, written `<vocabulary>:<value>`
//!   with vocabulary `tdmrep`, `aipref` or `c2pa`) and `collected` (an RFC 3339 time).
//!
//! A leaf's metadata is `{"sources":[entry, ...]}`, the canonical (RFC 8785) entries of every item
//! with that content id, sorted by their canonical bytes: duplicates merge into one leaf whose
//! metadata lists all of them, and the order of discovery cannot change the root. The leaf's
//! `meta` is BLAKE3 of that object's canonical JSON, or 32 zero bytes with `--meta none`.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::error::HashError;
use crate::jcs;

/// Keys the hasher fills in itself, which `--meta-field` and `--meta-set` may not take.
pub const RESERVED_KEYS: [&str; 3] = ["path", "line", "row"];

/// Whether leaves carry metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetaMode {
    /// Each leaf commits to its sources' metadata.
    #[default]
    Full,
    /// A pure content set: every leaf's `meta` is 32 zero bytes and no metadata is stored.
    None,
}

impl FromStr for MetaMode {
    type Err = HashError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "full" => Ok(MetaMode::Full),
            "none" => Ok(MetaMode::None),
            other => Err(HashError::Config(format!(
                "unknown --meta {other:?} (expected full or none)"
            ))),
        }
    }
}

impl MetaMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            MetaMode::Full => "full",
            MetaMode::None => "none",
        }
    }
}

/// How to build each item's source entry: the mode, the record fields mapped in, the constants.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetaSpec {
    pub mode: MetaMode,
    /// The record fields mapped in, in the order given (explicit ones, then consent signals, then
    /// a preset's).
    pub fields: Vec<MetaField>,
    /// Constant entries added to every item.
    pub constants: BTreeMap<String, Value>,
}

/// One record field (or nested path) copied into every item's source entry.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaField {
    /// The key in the source entry (`consent` for every consent signal).
    pub key: String,
    /// Where the value is in the record.
    pub path: FieldPath,
    /// How the value is turned into the entry's value.
    pub kind: FieldKind,
    /// A preset's field: a Parquet file without the column is no error (the key is left out),
    /// since layouts differ between releases of a corpus. Explicit fields must exist.
    pub optional: bool,
}

/// How a field's value is written into the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// As found (JSON: the value itself; Parquet: see `columnar`).
    Plain,
    /// A consent signal observed at collection, normalised to `<vocabulary>:<value>` strings.
    Consent(Vocabulary),
    /// `--meta-field consent=PATH`: values already written `<vocabulary>:<value>` (a string or an
    /// array of them), checked and normalised the same way.
    Labelled,
}

/// The consent vocabularies `--meta-consent` understands (docs/format-manifest.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Vocabulary {
    /// IETF aipref: the value of a `Content-Usage` header, e.g. `train-ai=n, search=y`.
    Aipref,
    /// W3C TDMRep: the `tdm-reservation` value, `1` (rights reserved) or `0`.
    Tdmrep,
    /// The robots.txt decision for the URL at collection: `allow` or `disallow`.
    Robots,
}

impl Vocabulary {
    pub fn as_str(&self) -> &'static str {
        match self {
            Vocabulary::Aipref => "aipref",
            Vocabulary::Tdmrep => "tdmrep",
            Vocabulary::Robots => "robots",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "aipref" => Some(Vocabulary::Aipref),
            "tdmrep" => Some(Vocabulary::Tdmrep),
            "robots" => Some(Vocabulary::Robots),
            _ => None,
        }
    }

    /// The normalised signals a record's value stands for (`aipref` may give several), or why
    /// the value is not one this vocabulary knows. A value already in normalised form
    /// (`robots:disallow`) is accepted as itself, so a manifest's metadata can be hashed again.
    pub fn normalise(&self, v: &Value) -> Result<Vec<String>, String> {
        let prefix = self.as_str();
        let bad = || format!("{prefix} consent value {v} is not understood");
        match self {
            Vocabulary::Aipref => {
                let s = v.as_str().ok_or_else(bad)?;
                let mut prefs = BTreeMap::new();
                for member in s.split(',') {
                    let m = member.trim();
                    let m = m.strip_prefix("aipref:").unwrap_or(m);
                    let (k, val) = m.split_once('=').ok_or_else(bad)?;
                    let key_ok = k
                        .bytes()
                        .next()
                        .is_some_and(|b| b.is_ascii_lowercase() || b == b'*')
                        && k.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.*".contains(&b)
                        });
                    if !key_ok || !["y", "n"].contains(&val) {
                        return Err(bad());
                    }
                    // A structured-field dictionary: the last value of a repeated key wins.
                    prefs.insert(k.to_string(), val.to_string());
                }
                Ok(prefs
                    .into_iter()
                    .map(|(k, val)| format!("aipref:{k}={val}"))
                    .collect())
            }
            Vocabulary::Tdmrep => {
                let one = match v {
                    Value::Bool(b) => *b,
                    Value::Number(n) if n.as_u64() == Some(1) => true,
                    Value::Number(n) if n.as_u64() == Some(0) => false,
                    Value::String(s) => {
                        match s.trim().strip_prefix("tdmrep:").unwrap_or(s.trim()) {
                            "1" => true,
                            "0" => false,
                            _ => return Err(bad()),
                        }
                    }
                    _ => return Err(bad()),
                };
                Ok(vec![format!("tdmrep:{}", u8::from(one))])
            }
            Vocabulary::Robots => {
                let s = v.as_str().ok_or_else(bad)?.trim().to_ascii_lowercase();
                let s = s.strip_prefix("robots:").unwrap_or(&s);
                let d = match s {
                    "allow" | "allowed" => "allow",
                    "disallow" | "disallowed" => "disallow",
                    _ => return Err(bad()),
                };
                Ok(vec![format!("robots:{d}")])
            }
        }
    }
}

/// A path to a value inside a record: segments separated by `.`, each a key of a JSON object
/// (or a field of a Parquet struct column). A backslash makes the next character literal, so
/// `a\.b` is the one key `a.b` and `a\\b` the key `a\b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    segments: Vec<String>,
    text: String,
}

impl FieldPath {
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut segments = Vec::new();
        let mut cur = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => cur.push(chars.next().ok_or("ends in a lone backslash")?),
                '.' => segments.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        segments.push(cur);
        if segments.iter().any(String::is_empty) {
            return Err(format!("path {s:?} has an empty segment"));
        }
        Ok(FieldPath {
            segments,
            text: s.to_string(),
        })
    }

    /// The keys from the record's top level down.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The named layouts of `--meta-preset`, each `(key, path)`. Checked against the published
/// schemas (docs/format-manifest.md, "Presets"): C4 (`text`, `timestamp`, `url`), FineWeb (`text`,
/// `id`, `dump`, `url`, `date`, `file_path`, `language`, `language_score`, `token_count`; FineWeb-Edu
/// has no `date`), Dolma (`id`, `text`, `source` (a corpus name, not a URI), `added`, `created`,
/// `metadata` with the page's `url` for web sources).
pub const PRESETS: [(&str, &[(&str, &str)]); 4] = [
    ("web", &[("source", "url")]),
    ("c4", &[("source", "url"), ("collected", "timestamp")]),
    ("fineweb", &[("source", "url"), ("collected", "date")]),
    (
        "dolma",
        &[("source", "metadata.url"), ("collected", "added")],
    ),
];

impl MetaSpec {
    /// Parses `--meta-field KEY=PATH` and `--meta-set KEY=VALUE` options, refusing reserved,
    /// empty or repeated keys so that a key always means one thing.
    pub fn parse(mode: MetaMode, fields: &[String], sets: &[String]) -> Result<Self, HashError> {
        let mut spec = MetaSpec {
            mode,
            ..MetaSpec::default()
        };
        let mut seen = std::collections::BTreeSet::new();
        for (opt, list) in [("--meta-field", fields), ("--meta-set", sets)] {
            for item in list {
                let (k, v) = item.split_once('=').ok_or_else(|| {
                    HashError::Config(format!("{opt} {item:?}: expected KEY=VALUE"))
                })?;
                if k.is_empty() || RESERVED_KEYS.contains(&k) || !seen.insert(k.to_string()) {
                    return Err(HashError::Config(format!(
                        "{opt} {item:?}: key must be non-empty, given once, and not one of {}",
                        RESERVED_KEYS.join(", ")
                    )));
                }
                if opt == "--meta-field" {
                    let path = FieldPath::parse(v)
                        .map_err(|e| HashError::Config(format!("{opt} {item:?}: {e}")))?;
                    let kind = if k == "consent" {
                        FieldKind::Labelled
                    } else {
                        FieldKind::Plain
                    };
                    spec.fields.push(MetaField {
                        key: k.to_string(),
                        path,
                        kind,
                        optional: false,
                    });
                } else if k == "consent" {
                    // One spelling per decision, as for mapped signals.
                    let mut got = normalise_labelled(&Value::String(v.to_string()))
                        .map_err(|e| HashError::Config(format!("{opt} {item:?}: {e}")))?;
                    got.sort();
                    got.dedup();
                    spec.constants.insert(k.to_string(), consent_value(got));
                } else {
                    spec.constants
                        .insert(k.to_string(), Value::String(v.to_string()));
                }
            }
        }
        Ok(spec)
    }

    /// Adds `--meta-consent VOCAB=PATH[,VOCAB=PATH...]`: each record field holds a consent
    /// signal of one vocabulary (`aipref`, `tdmrep`, `robots`), normalised into the `consent`
    /// key (with a `--meta-field consent=PATH`'s labelled values, if any). Refused when
    /// `--meta-set consent=...` gives a constant, or a vocabulary is given twice.
    pub fn add_consent(&mut self, option: &str) -> Result<(), HashError> {
        let bad = |why: String| HashError::Config(format!("--meta-consent {option:?}: {why}"));
        if self.constants.contains_key("consent") {
            return Err(bad("`consent` is already a --meta-set constant".into()));
        }
        for part in split_unescaped(option, ',') {
            let (voc, path) = part
                .split_once('=')
                .ok_or_else(|| bad("expected VOCABULARY=PATH".into()))?;
            let voc = Vocabulary::parse(voc).ok_or_else(|| {
                bad(format!(
                    "unknown vocabulary {voc:?} (expected aipref, tdmrep or robots)"
                ))
            })?;
            if self
                .fields
                .iter()
                .any(|f| f.kind == FieldKind::Consent(voc))
            {
                return Err(bad(format!("{} given twice", voc.as_str())));
            }
            let path = FieldPath::parse(path).map_err(bad)?;
            self.fields.push(MetaField {
                key: "consent".into(),
                path,
                kind: FieldKind::Consent(voc),
                optional: false,
            });
        }
        Ok(())
    }

    /// Adds the fields of a named layout (`--meta-preset`). A key already given explicitly
    /// (`--meta-field`, `--meta-set`) keeps the explicit meaning: the preset only fills in the
    /// keys nobody named.
    pub fn add_preset(&mut self, name: &str) -> Result<(), HashError> {
        let (_, fields) = PRESETS.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
            HashError::Config(format!(
                "unknown --meta-preset {name:?} (expected one of {})",
                names.join(", ")
            ))
        })?;
        for (key, path) in *fields {
            if self.key_taken(key) {
                continue;
            }
            let path = FieldPath::parse(path).map_err(HashError::Config)?;
            self.fields.push(MetaField {
                key: (*key).to_string(),
                path,
                kind: FieldKind::Plain,
                optional: true,
            });
        }
        Ok(())
    }

    fn key_taken(&self, key: &str) -> bool {
        self.constants.contains_key(key) || self.fields.iter().any(|f| f.key == key)
    }

    pub fn enabled(&self) -> bool {
        self.mode == MetaMode::Full
    }

    /// The entry values of one record from the raw values found for [`MetaSpec::fields`]
    /// (`(index into fields, value)`; absent and null ones left out): consent signals are
    /// normalised and gathered into `consent` (a string for one signal, a sorted array of the
    /// distinct signals for several). The error is the reason a value is not understood.
    pub fn resolve(&self, found: Vec<(usize, Value)>) -> Result<Vec<(&str, Value)>, String> {
        let mut out = Vec::with_capacity(found.len());
        let mut consent: Vec<String> = Vec::new();
        for (i, v) in found {
            let Some(f) = self.fields.get(i) else {
                continue;
            };
            if v.is_null() {
                continue;
            }
            match f.kind {
                FieldKind::Plain => out.push((f.key.as_str(), v)),
                FieldKind::Consent(voc) => consent.extend(voc.normalise(&v)?),
                FieldKind::Labelled => consent.extend(normalise_labelled(&v)?),
            }
        }
        consent.sort();
        consent.dedup();
        if !consent.is_empty() {
            out.push(("consent", consent_value(consent)));
        }
        Ok(out)
    }

    /// The `source` an item's entry will hold, if it is a string: the mapped value in `values`
    /// (from [`MetaSpec::resolve`]) or else the `--meta-set` constant. This is what the source
    /// tree reads (docs/formats.md, "Source trees").
    pub fn source_of<'a>(&'a self, values: &'a [(&str, Value)]) -> Option<&'a str> {
        values
            .iter()
            .find(|(k, _)| *k == "source")
            .map(|(_, v)| v)
            .or_else(|| self.constants.get("source"))
            .and_then(Value::as_str)
    }

    /// The `meta_fields` of a manifest header: key -> path, consent signals as
    /// `consent.<vocabulary>` -> path.
    pub fn header_fields(&self) -> BTreeMap<String, String> {
        self.fields
            .iter()
            .map(|f| {
                let k = match f.kind {
                    FieldKind::Plain | FieldKind::Labelled => f.key.clone(),
                    FieldKind::Consent(v) => format!("consent.{}", v.as_str()),
                };
                (k, f.path.as_str().to_string())
            })
            .collect()
    }

    /// The canonical bytes of one item's source entry. `record` holds the values found for
    /// [`MetaSpec::fields`] (absent or null ones are left out).
    pub fn entry(
        &self,
        path: &str,
        position: Option<crate::error::Record>,
        record: impl IntoIterator<Item = (String, Value)>,
    ) -> Result<Vec<u8>, HashError> {
        let record: Vec<(String, Value)> = record.into_iter().collect();
        self.entry_of(path, position, &record)
    }

    /// [`MetaSpec::entry`] over borrowed values (those of [`MetaSpec::resolve`]): nothing is
    /// copied but the output.
    pub(crate) fn entry_of<K: AsRef<str>>(
        &self,
        path: &str,
        position: Option<crate::error::Record>,
        record: &[(K, Value)],
    ) -> Result<Vec<u8>, HashError> {
        let present = || record.iter().filter(|(_, v)| !v.is_null());
        // The direct writer (crate::jcs) for the usual entry; the general one otherwise.
        let mut fields: Vec<(&str, jcs::Field<'_>)> =
            Vec::with_capacity(2 + self.constants.len() + record.len());
        fields.push(("path", jcs::Field::Str(path)));
        match position {
            Some(crate::error::Record::Line(n)) => fields.push(("line", jcs::Field::U64(n))),
            Some(crate::error::Record::Row(n)) => fields.push(("row", jcs::Field::U64(n))),
            None => {}
        }
        for (k, v) in &self.constants {
            if !present().any(|(r, _)| r.as_ref() == k) {
                fields.push((k, jcs::Field::Json(v)));
            }
        }
        for (k, v) in present() {
            fields.push((k.as_ref(), jcs::Field::Json(v)));
        }
        let mut out = Vec::with_capacity(256);
        if jcs::write_object(&mut out, &mut fields) {
            return Ok(out);
        }
        drop(fields);
        let mut m = Map::new();
        m.insert("path".into(), Value::String(path.to_string()));
        match position {
            Some(crate::error::Record::Line(n)) => {
                m.insert("line".into(), Value::from(n));
            }
            Some(crate::error::Record::Row(n)) => {
                m.insert("row".into(), Value::from(n));
            }
            None => {}
        }
        for (k, v) in &self.constants {
            m.insert(k.clone(), v.clone());
        }
        for (k, v) in present() {
            m.insert(k.as_ref().to_string(), v.clone());
        }
        canonical(&Value::Object(m))
    }
}

/// The `consent` value of sorted, distinct signals: a string for one, an array for several.
fn consent_value(mut signals: Vec<String>) -> Value {
    if signals.len() == 1 {
        Value::String(signals.remove(0))
    } else {
        Value::Array(signals.into_iter().map(Value::String).collect())
    }
}

/// Signals already written `<vocabulary>:<value>` (a string, or an array of strings): `aipref`,
/// `tdmrep` and `robots` ones normalised by their vocabulary, `c2pa:` ones (C2PA/CAWG
/// `training-mining` assertions, no normal form defined here) kept as they are; anything else is
/// refused, so `consent` never holds an unlabelled value.
pub fn normalise_labelled(v: &Value) -> Result<Vec<String>, String> {
    let one = |s: &str| -> Result<Vec<String>, String> {
        let (voc, rest) = s.split_once(':').unwrap_or(("", ""));
        match Vocabulary::parse(voc) {
            Some(v) => v.normalise(&Value::String(s.to_string())),
            None if voc == "c2pa" && !rest.trim().is_empty() => Ok(vec![s.to_string()]),
            None => Err(format!(
                "consent value {s:?} is not `<vocabulary>:<value>` (aipref, tdmrep, robots, c2pa); \
                 --meta-consent reads raw signals"
            )),
        }
    };
    match v {
        Value::String(s) => one(s),
        Value::Array(a) => {
            let mut out = Vec::new();
            for x in a {
                out.extend(one(x
                    .as_str()
                    .ok_or("a consent array holds only strings")?)?);
            }
            Ok(out)
        }
        other => Err(format!("consent value {other} is not a string")),
    }
}

/// Splits at `sep` where it is not escaped by a backslash (escapes are kept for the path
/// parser).
fn split_unescaped(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts
}

/// RFC 8785 canonical JSON of `v`: the owner's rule (`verifier::set::meta::canonical`), by the
/// direct writer (crate::jcs) where it applies, which the tests hold equal to the owner.
pub fn canonical(v: &Value) -> Result<Vec<u8>, HashError> {
    let mut out = Vec::with_capacity(256);
    if jcs::write_value(&mut out, v) {
        return Ok(out);
    }
    verifier::set::meta::canonical(v).map_err(|e| HashError::Config(e.to_string()))
}

/// The canonical JSON of a leaf's metadata, `{"sources":[...]}`, from its items' canonical
/// entries already sorted by their bytes. Joining canonical values with commas inside a
/// one-key object is itself canonical, so no re-serialisation is needed.
pub fn leaf_meta_json<'a>(sorted_entries: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    leaf_meta_json_into(&mut out, sorted_entries);
    out
}

/// [`leaf_meta_json`] into `out` (cleared first), reusing its allocation from leaf to leaf.
pub fn leaf_meta_json_into<'a>(
    out: &mut Vec<u8>,
    sorted_entries: impl IntoIterator<Item = &'a [u8]>,
) {
    out.clear();
    out.extend_from_slice(br#"{"sources":["#);
    for (i, e) in sorted_entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(e);
    }
    out.extend_from_slice(b"]}");
}

/// The `meta` digest of a leaf (the owner's rule, re-exported).
pub use verifier::set::meta::meta_digest;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Record;

    #[test]
    fn entry_is_canonical_and_leaves_out_nulls() {
        let spec = MetaSpec::parse(
            MetaMode::Full,
            &["source=url".into()],
            &["license=CC-BY-4.0".into()],
        )
        .unwrap();
        let e = spec
            .entry(
                "a/b.jsonl",
                Some(Record::Line(3)),
                [
                    ("source".to_string(), Value::from("https://x.example/é")),
                    ("gone".to_string(), Value::Null),
                ],
            )
            .unwrap();
        assert_eq!(
            String::from_utf8(e).unwrap(),
            r#"{"license":"CC-BY-4.0","line":3,"path":"a/b.jsonl","source":"https://x.example/é"}"#
        );
    }

    #[test]
    fn leaf_meta_joined_equals_canonicalised_object() {
        let spec = MetaSpec::default();
        let a = spec.entry("x", Some(Record::Row(0)), []).unwrap();
        let b = spec.entry("y\"\n", None, []).unwrap();
        let joined = leaf_meta_json([a.as_slice(), b.as_slice()]);
        let parsed: Value = serde_json::from_slice(&joined).unwrap();
        assert_eq!(verifier::set::meta::canonical(&parsed).unwrap(), joined);
    }

    #[test]
    fn reserved_repeated_and_malformed_keys_are_refused() {
        for (f, s) in [
            (vec!["path=url".to_string()], vec![]),
            (vec!["a=b".to_string()], vec!["a=c".to_string()]),
            (vec!["novalue".to_string()], vec![]),
            (vec!["a=".to_string()], vec![]),
            (vec![], vec!["=x".to_string()]),
        ] {
            let r = MetaSpec::parse(MetaMode::Full, &f, &s);
            assert!(matches!(r, Err(HashError::Config(_))), "{f:?} {s:?}");
        }
    }

    #[test]
    fn field_paths_split_on_dots_and_backslash_escapes() {
        let segs = |s: &str| FieldPath::parse(s).map(|p| p.segments().to_vec());
        assert_eq!(segs("url").unwrap(), ["url"]);
        assert_eq!(segs("metadata.url").unwrap(), ["metadata", "url"]);
        assert_eq!(segs(r"a\.b.c").unwrap(), ["a.b", "c"]);
        assert_eq!(segs(r"a\\b").unwrap(), [r"a\b"]);
        assert_eq!(FieldPath::parse(r"a\.b").unwrap().to_string(), r"a\.b");
        for bad in ["", ".", "a..b", "a.", r"a\"] {
            assert!(segs(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            split_unescaped(r"aipref=a\,b,robots=r", ','),
            [r"aipref=a\,b", "robots=r"]
        );
    }

    #[test]
    fn consent_vocabularies_normalise_what_collectors_record() {
        use serde_json::json;
        let n = |v: Vocabulary, x: Value| v.normalise(&x);
        assert_eq!(
            n(Vocabulary::Aipref, json!("train-ai=n")).unwrap(),
            ["aipref:train-ai=n"]
        );
        assert_eq!(
            n(Vocabulary::Aipref, json!(" search=y ,train-ai=n")).unwrap(),
            ["aipref:search=y", "aipref:train-ai=n"]
        );
        assert_eq!(
            n(Vocabulary::Aipref, json!("aipref:train-ai=n")).unwrap(),
            ["aipref:train-ai=n"]
        );
        for bad in [
            json!("train-ai"),
            json!("Train-AI=n"),
            json!("train-ai=no"),
            json!(""),
            json!(1),
        ] {
            assert!(n(Vocabulary::Aipref, bad.clone()).is_err(), "{bad}");
        }
        for (v, want) in [
            (json!(1), "tdmrep:1"),
            (json!("1"), "tdmrep:1"),
            (json!(0), "tdmrep:0"),
            (json!(false), "tdmrep:0"),
            (json!("tdmrep:1"), "tdmrep:1"),
        ] {
            assert_eq!(n(Vocabulary::Tdmrep, v).unwrap(), [want]);
        }
        for bad in [json!(2), json!("yes"), json!([1])] {
            assert!(n(Vocabulary::Tdmrep, bad.clone()).is_err(), "{bad}");
        }
        for (v, want) in [
            (json!("allow"), "robots:allow"),
            (json!("Allowed"), "robots:allow"),
            (json!("DISALLOW"), "robots:disallow"),
            (json!("robots:disallow"), "robots:disallow"),
        ] {
            assert_eq!(n(Vocabulary::Robots, v).unwrap(), [want]);
        }
        for bad in [json!(true), json!("noindex"), json!("")] {
            assert!(n(Vocabulary::Robots, bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn presets_fill_only_keys_nobody_named() {
        let mut s = MetaSpec::parse(MetaMode::Full, &["source=canonical".into()], &[]).unwrap();
        s.add_preset("c4").unwrap();
        let got: Vec<(&str, &str, bool)> = s
            .fields
            .iter()
            .map(|f| (f.key.as_str(), f.path.as_str(), f.optional))
            .collect();
        assert_eq!(
            got,
            [
                ("source", "canonical", false),
                ("collected", "timestamp", true)
            ]
        );
        let mut s = MetaSpec::parse(MetaMode::Full, &[], &["collected=2024-01-01".into()]).unwrap();
        s.add_preset("dolma").unwrap();
        assert_eq!(s.fields.len(), 1);
        assert_eq!(s.fields[0].path.segments(), ["metadata", "url"]);
    }

    #[test]
    fn meta_none_digest_is_zero() {
        assert_eq!(meta_digest(None), ledger::Digest([0; 32]));
        assert_eq!(meta_digest(Some(b"{}")).0, *blake3::hash(b"{}").as_bytes());
    }
}
