//! Metadata from real corpus layouts: nested JSON paths, Parquet struct columns and timestamps,
//! the named presets (C4, FineWeb, Dolma, with records shaped like the published ones) and the
//! consent signals observed at collection.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::Arc;

use common::*;
use hasher::{HashConfig, HashError, ManifestReader, MetaMode, MetaSpec, Mode};
use serde_json::{json, Value};

fn cfg(mode: Mode, spec: MetaSpec) -> HashConfig {
    HashConfig {
        mode,
        meta: spec,
        ..HashConfig::default()
    }
}

fn spec(fields: &[&str], preset: Option<&str>, consent: &[&str]) -> MetaSpec {
    let fields: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
    let mut s = MetaSpec::parse(MetaMode::Full, &fields, &[]).unwrap();
    for c in consent {
        s.add_consent(c).unwrap();
    }
    if let Some(p) = preset {
        s.add_preset(p).unwrap();
    }
    s
}

/// Every source entry of the manifest, sorted by (path, line/row).
fn entries(manifest: &[u8]) -> Vec<Value> {
    let mut out: Vec<Value> = ManifestReader::new(Cursor::new(manifest))
        .unwrap()
        .flat_map(|e| {
            e.unwrap().meta.unwrap()["sources"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect();
    let pos = |v: &Value| v.get("line").or(v.get("row")).and_then(Value::as_u64);
    out.sort_by(|a, b| (a["path"].as_str(), pos(a)).cmp(&(b["path"].as_str(), pos(b))));
    out
}

fn hash_jsonl(body: &str, spec: MetaSpec) -> Vec<Value> {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("part.jsonl");
    write(&p, body.as_bytes());
    let (_, m) = run(&[p], &cfg(Mode::Jsonl, spec), 2);
    entries(&m)
}

#[test]
fn c4_records_map_url_and_timestamp() {
    // The layout of allenai/c4 (`text`, `timestamp`, `url`), as its JSON Lines shards hold it.
    let body = concat!(
        r#"{"text":"Beginners BBQ Class Taking Place in Missoula!","timestamp":"2019-04-25T12:57:54Z","url":"https://klyq.com/beginners-bbq-class-taking-place-in-missoula/"}"#,
        "\n",
        r#"{"text":"Discussion in 'Mac OS X Lion (10.7)'","timestamp":"2019-04-21T10:07:13Z","url":"https://forums.macrumors.com/threads/restore-from-larger-disk.1311399/"}"#,
        "\n"
    );
    let got = hash_jsonl(body, spec(&[], Some("c4"), &[]));
    assert_eq!(
        got[0],
        json!({"collected": "2019-04-25T12:57:54Z", "line": 1, "path": "part.jsonl",
               "source": "https://klyq.com/beginners-bbq-class-taking-place-in-missoula/"})
    );
    assert_eq!(got[1]["collected"], "2019-04-21T10:07:13Z");
}

#[test]
fn fineweb_records_map_url_and_date_and_explicit_fields_win() {
    // HuggingFaceFW/fineweb columns: text, id, dump, url, date, file_path, language,
    // language_score, token_count.
    let body = concat!(
        r#"{"text":"How AP reported in all formats from tornado-stricken regions","id":"<urn:uuid:d66bc6fe-8477-4adf-b430-f6a558ccc8ff>","dump":"CC-MAIN-2013-20","url":"http://%20jwashington@ap.org/Content/Press-Release/2012/How-AP-reported-in-all-formats-from-tornado-stricken-regions","date":"2013-05-18T05:48:54Z","file_path":"s3://commoncrawl/crawl-data/CC-MAIN-2013-20/segments/1368696381249/warc/CC-MAIN-20130516092621-00000-ip-10-60-113-184.ec2.internal.warc.gz","language":"en","language_score":0.9721424579620361,"token_count":717}"#,
        "\n"
    );
    let got = hash_jsonl(body, spec(&[], Some("fineweb"), &[]));
    assert_eq!(got[0]["collected"], "2013-05-18T05:48:54Z");
    assert_eq!(
        got[0]["source"],
        "http://%20jwashington@ap.org/Content/Press-Release/2012/How-AP-reported-in-all-formats-from-tornado-stricken-regions"
    );
    // An explicit mapping of a key the preset also maps keeps its meaning.
    let got = hash_jsonl(
        body,
        spec(&["collected=dump", "lang=language"], Some("fineweb"), &[]),
    );
    assert_eq!(got[0]["collected"], "CC-MAIN-2013-20");
    assert_eq!(got[0]["lang"], "en");
    assert!(got[0]["source"]
        .as_str()
        .unwrap()
        .starts_with("http://%20jwashington@ap.org/Content/"));
}

#[test]
fn dolma_records_map_the_nested_url_not_the_corpus_name() {
    // Dolma's document format: id, text, source (a corpus name such as "common-crawl"), added,
    // created, and source-specific `metadata` (the page's url for web sources).
    let body = concat!(
        r#"{"id":"2f0c5e4e-1f4f-4b7e-9a55-b3f1c36c0d4b","text":"A page about tide pools.","source":"common-crawl","added":"2023-05-31T18:31:10.187Z","created":"2019-02-15T21:35:10Z","metadata":{"url":"https://www.example.org/tide-pools","length":24}}"#,
        "\n",
        r#"{"id":"doc-2","text":"No metadata here.","source":"common-crawl","added":"2023-05-31T18:31:11Z","metadata":null}"#,
        "\n",
        r#"{"id":"doc-3","text":"Odd metadata.","source":"c4","added":"2023-05-31T18:31:12Z","metadata":{"url":null,"a.b":"dotted key","a":{"b":"nested"}}}"#,
        "\n"
    );
    let got = hash_jsonl(
        body,
        spec(
            &[r"dotted=metadata.a\.b", "nested=metadata.a.b"],
            Some("dolma"),
            &[],
        ),
    );
    assert_eq!(got[0]["source"], "https://www.example.org/tide-pools");
    assert_eq!(got[0]["collected"], "2023-05-31T18:31:10.187Z");
    assert!(got[0].get("created").is_none());
    // `metadata: null` and `url: null` leave `source` out; the corpus name never becomes it.
    assert!(got[1].get("source").is_none(), "{}", got[1]);
    assert!(got[2].get("source").is_none(), "{}", got[2]);
    assert_eq!(got[2]["dotted"], "dotted key");
    assert_eq!(got[2]["nested"], "nested");
}

#[test]
fn consent_signals_are_normalised() {
    let body = concat!(
        r#"{"text":"a","url":"https://news.example.com/a","http":{"headers":{"content-usage":"train-ai=n, search=y"}},"tdm":1,"robots":"disallowed"}"#,
        "\n",
        r#"{"text":"b","url":"https://blog.example.net/b","http":{"headers":{"content-usage":"train-ai=y"}},"tdm":"0","robots":"allow"}"#,
        "\n",
        r#"{"text":"c","url":"https://c.example/","http":{"headers":{}},"tdm":null}"#,
        "\n",
        r#"{"text":"d","url":"https://d.example/","http":{"headers":{"content-usage":"train-ai=n,train-ai=y"}},"tdm":true,"robots":"Disallow"}"#,
        "\n"
    );
    let s = spec(
        &["source=url"],
        None,
        &[
            "aipref=http.headers.content-usage,tdmrep=tdm",
            "robots=robots",
        ],
    );
    let got = hash_jsonl(body, s);
    assert_eq!(
        got[0]["consent"],
        json!([
            "aipref:search=y",
            "aipref:train-ai=n",
            "robots:disallow",
            "tdmrep:1"
        ])
    );
    assert_eq!(
        got[1]["consent"],
        json!(["aipref:train-ai=y", "robots:allow", "tdmrep:0"])
    );
    assert!(got[2].get("consent").is_none(), "{}", got[2]);
    // A repeated structured-field key: the last value wins.
    assert_eq!(
        got[3]["consent"],
        json!(["aipref:train-ai=y", "robots:disallow", "tdmrep:1"])
    );
    // One signal is a plain string.
    let one = hash_jsonl(r#"{"text":"x","tdm":1}"#, spec(&[], None, &["tdmrep=tdm"]));
    assert_eq!(one[0]["consent"], "tdmrep:1");
}

#[test]
fn a_mapped_consent_field_must_hold_labelled_signals() {
    // A collector that already wrote `<vocabulary>:<value>`; combined with a raw aipref header.
    let body = concat!(
        r#"{"text":"a","signals":["tdmrep:1","robots:Disallow","c2pa:notAllowed"],"cu":"train-ai=n"}"#,
        "\n",
        r#"{"text":"b","signals":"aipref:search=y, train-ai=n"}"#,
        "\n",
        r#"{"text":"c","signals":"train-ai=n"}"#,
        "\n",
    );
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("s.jsonl");
    write(&p, body.as_bytes());
    let c = HashConfig {
        skip_invalid: true,
        ..cfg(
            Mode::Jsonl,
            spec(&["consent=signals"], None, &["aipref=cu"]),
        )
    };
    let (s, m) = run(std::slice::from_ref(&p), &c, 1);
    // The unlabelled `train-ai=n` is refused, not copied into `consent`.
    assert_eq!((s.header.items, s.header.skipped), (2, 1));
    let got = entries(&m);
    assert_eq!(
        got[0]["consent"],
        json!([
            "aipref:train-ai=n",
            "c2pa:notAllowed",
            "robots:disallow",
            "tdmrep:1"
        ])
    );
    assert_eq!(
        got[1]["consent"],
        json!(["aipref:search=y", "aipref:train-ai=n"])
    );
    assert_eq!(s.header.meta_fields["consent"], "signals");
    assert_eq!(s.header.meta_fields["consent.aipref"], "cu");
}

#[test]
fn consent_values_that_mean_nothing_are_invalid_records() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("c.jsonl");
    let body = concat!(
        r#"{"text":"ok","cu":"train-ai=n"}"#,
        "\n",
        r#"{"text":"bad","cu":"train-ai=maybe"}"#,
        "\n",
        r#"{"text":"bad2","cu":"no ai please"}"#,
        "\n"
    );
    write(&p, body.as_bytes());
    let backend = hasher::CpuHasher::new(Some(1)).unwrap();
    let c = cfg(Mode::Jsonl, spec(&[], None, &["aipref=cu"]));
    let err = hasher::hash_corpus::<Cursor<Vec<u8>>>(
        std::slice::from_ref(&p),
        &c,
        &backend,
        None,
        &mut hasher::Quiet,
    )
    .unwrap_err();
    assert!(matches!(err, HashError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("c.jsonl:2"), "{err}");
    let c = HashConfig {
        skip_invalid: true,
        ..c
    };
    let (s, _) =
        hasher::hash_corpus::<Cursor<Vec<u8>>>(&[p], &c, &backend, None, &mut hasher::Quiet)
            .unwrap();
    assert_eq!((s.header.items, s.header.skipped), (1, 2));
}

#[test]
fn conflicting_metadata_options_are_refused() {
    // A mapped `consent` (labelled values) combines with raw signals.
    let mut s = MetaSpec::parse(MetaMode::Full, &["consent=c".into()], &[]).unwrap();
    s.add_consent("aipref=x").unwrap();
    // A constant `consent` must be labelled, is normalised, and excludes raw signals.
    for bad in ["consent=yes", "consent=train-ai=n", "consent=c2pa:"] {
        let r = MetaSpec::parse(MetaMode::Full, &[], &[bad.to_string()]);
        assert!(matches!(r, Err(HashError::Config(_))), "{bad}");
    }
    let s = MetaSpec::parse(MetaMode::Full, &[], &["consent=robots:Disallow".into()]).unwrap();
    assert_eq!(s.constants["consent"], "robots:disallow");
    let mut s = MetaSpec::parse(MetaMode::Full, &[], &["consent=tdmrep:1".into()]).unwrap();
    assert!(matches!(
        s.add_consent("tdmrep=x"),
        Err(HashError::Config(_))
    ));
    let mut s = MetaSpec::default();
    assert!(matches!(
        s.add_consent("aipref=x,aipref=y"),
        Err(HashError::Config(_))
    ));
    assert!(matches!(s.add_consent("c2pa=x"), Err(HashError::Config(_))));
    assert!(matches!(s.add_consent("robots"), Err(HashError::Config(_))));
    assert!(matches!(s.add_preset("pile"), Err(HashError::Config(_))));
    for bad in ["k=a..b", "k=.a", "k=a.", "k=a\\"] {
        let r = MetaSpec::parse(MetaMode::Full, &[bad.to_string()], &[]);
        assert!(matches!(r, Err(HashError::Config(_))), "{bad}");
    }
}

/// A Parquet file shaped like the published layouts: a string text column, a `url`, a C4-style
/// `timestamp[us]`, a Dolma-style `metadata` struct with a nested `url`, an int, a date and a
/// dictionary-encoded string.
fn write_web_parquet(path: &std::path::Path) {
    use arrow_array::builder::StringDictionaryBuilder;
    use arrow_array::types::Int32Type;
    use arrow_array::{
        ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, StructArray,
        TimestampMicrosecondArray,
    };
    use arrow_schema::{DataType, Field};
    let text: ArrayRef = Arc::new(StringArray::from(vec![
        "first page",
        "second page",
        "third",
    ]));
    let url: ArrayRef = Arc::new(StringArray::from(vec![
        Some("https://www.example.com/a?x=1"),
        None,
        Some("http://example.org/"),
    ]));
    let ts: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
        Some(1_556_197_074_000_000),
        Some(1_556_197_074_500_000),
        None,
    ]));
    let tz: ArrayRef = Arc::new(
        TimestampMicrosecondArray::from(vec![0, 1_000_000, 2_000_000]).with_timezone("+02:00"),
    );
    let inner_url: ArrayRef = Arc::new(StringArray::from(vec![
        Some("https://nested.example/1"),
        None,
        Some("https://nested.example/3"),
    ]));
    let length: ArrayRef = Arc::new(Int64Array::from(vec![10, 11, 12]));
    let meta = StructArray::try_new(
        vec![
            Field::new("url", DataType::Utf8, true),
            Field::new("length", DataType::Int64, false),
        ]
        .into(),
        vec![inner_url, length],
        Some(vec![true, true, false].into()),
    )
    .unwrap();
    let meta: ArrayRef = Arc::new(meta);
    let day: ArrayRef = Arc::new(Date32Array::from(vec![19_000, 0, -1]));
    let mut dict = StringDictionaryBuilder::<Int32Type>::new();
    dict.append_value("en");
    dict.append_value("fr");
    dict.append_value("en");
    let lang: ArrayRef = Arc::new(dict.finish());
    let batch = RecordBatch::try_from_iter([
        ("text", text),
        ("url", url),
        ("timestamp", ts),
        ("tz", tz),
        ("metadata", meta),
        ("day", day),
        ("language", lang),
    ])
    .unwrap();
    let f = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn parquet_struct_paths_timestamps_dates_and_dictionaries() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("web.parquet");
    write_web_parquet(&p);
    let s = spec(
        &[
            "nested=metadata.url",
            "len=metadata.length",
            "tz=tz",
            "day=day",
            "lang=language",
        ],
        Some("c4"),
        &[],
    );
    let (_, m) = run(std::slice::from_ref(&p), &cfg(Mode::Parquet, s), 2);
    let got = entries(&m);
    assert_eq!(
        got[0],
        json!({"collected": "2019-04-25T12:57:54Z", "day": "2022-01-08", "lang": "en",
               "len": 10, "nested": "https://nested.example/1", "path": "web.parquet",
               "row": 0, "source": "https://www.example.com/a?x=1",
               "tz": "1970-01-01T00:00:00Z"})
    );
    assert_eq!(
        got[1],
        json!({"collected": "2019-04-25T12:57:54.5Z", "day": "1970-01-01", "lang": "fr",
               "len": 11, "path": "web.parquet", "row": 1, "tz": "1970-01-01T00:00:01Z"})
    );
    // A null struct leaves every path through it out.
    assert_eq!(
        got[2],
        json!({"day": "1969-12-31", "lang": "en", "path": "web.parquet", "row": 2,
               "source": "http://example.org/", "tz": "1970-01-01T00:00:02Z"})
    );

    // The fineweb preset on a file without `date` (FineWeb-Edu has none): left out, no error.
    let (_, m) = run(
        std::slice::from_ref(&p),
        &cfg(Mode::Parquet, spec(&[], Some("fineweb"), &[])),
        1,
    );
    assert!(entries(&m).iter().all(|e| e.get("collected").is_none()));
    // The dolma preset reads the nested url.
    let (_, m) = run(
        std::slice::from_ref(&p),
        &cfg(Mode::Parquet, spec(&[], Some("dolma"), &[])),
        1,
    );
    assert_eq!(entries(&m)[0]["source"], "https://nested.example/1");

    // An explicit path that does not exist is an error about the file.
    let backend = hasher::CpuHasher::new(Some(1)).unwrap();
    for bad in ["x=metadata.nope", "x=nope", "x=url.deeper"] {
        let c = cfg(Mode::Parquet, spec(&[bad], None, &[]));
        let r = hasher::hash_corpus::<Cursor<Vec<u8>>>(
            &[PathBuf::from(&p)],
            &c,
            &backend,
            None,
            &mut hasher::Quiet,
        );
        assert!(matches!(r, Err(HashError::Invalid { .. })), "{bad}");
    }
}
