//! `prov export croissant --dataset P/D@V [--out FILE]`: MLCommons Croissant 1.1 JSON-LD for a
//! logged dataset version (docs/formats.md, "Croissant export"), valid under `mlcroissant`.
//!
//! What it says, and where from (everything verified first: the entry against the log's key
//! with its inclusion proof, the manifest's leaves against the entry's root, each leaf's
//! metadata against its digest):
//! - the dataset: `name` (`P/D`), `description`, `license` (the entry's licence), `url` (the
//!   version on the server), `version` (when the version's name is `MAJOR.MINOR.PATCH`, as
//!   Croissant wants), `datePublished` (the entry's time);
//! - `distribution`: one `cr:FileSet` for the corpus, `includes` the files the manifest's
//!   metadata names. The ledger knows no SHA-256 or MD5 of any file (its content ids are
//!   BLAKE3, and in the record modes an item is a record, not a file), so no `cr:FileObject`
//!   (which must carry one of them) is written;
//! - `recordSet`: `records` (line, JSON Lines and Parquet corpora: how the items are read from
//!   the files) and `items`, inline `data`: one row per item and source entry, its content id
//!   (`blake3:<hex>`), size, path, source and licence from the metadata;
//! - provenance, in the `ledger:` namespace (`urn:provenance-ledger:`): the manifest root and
//!   size, the entry index, its canonical bytes, its tlog-proof (with the signed checkpoint).

use std::path::PathBuf;

use serde_json::{json, Map, Value};
use verifier::entry::{CorpusMode, DatasetVersion, EntryBody};

use crate::client::{Client, DatasetVersionView};
use crate::cmd::attest::parse_dataset_label;
use crate::cmd::export::leaves::{verified_leaves, VerifiedLeaf};
use crate::cmd::proof::{verified_entry, KeyArg};
use crate::cmd::publisher::Remote;
use crate::exit::{say, say_json, Exit, Failure, OrExit, Outcome};

/// The Croissant version this export conforms to.
pub const CONFORMS_TO: &str = "http://mlcommons.org/croissant/1.1";
/// The namespace of the ledger's own properties.
pub const LEDGER_NS: &str = "urn:provenance-ledger:";

#[derive(Debug, clap::Args)]
pub struct CroissantArgs {
    /// The dataset version: PUBLISHER/DATASET@VERSION.
    #[arg(long, value_name = "PUBLISHER/DATASET@VERSION")]
    pub dataset: String,
    /// Write the JSON-LD to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub vkey: KeyArg,
    #[command(flatten)]
    pub remote: Remote,
}

/// Everything a Croissant document is made of, verified by the caller.
pub struct Input<'a> {
    pub dv: &'a DatasetVersion,
    /// The entry's log index, canonical JSON, time (Unix seconds) and tlog-proof text.
    pub index: u64,
    pub entry_json: &'a str,
    pub time: u64,
    pub tlog_proof: &'a str,
    /// The signed checkpoint the proof verifies against.
    pub checkpoint: &'a str,
    /// The version's URL on the server.
    pub url: String,
    pub leaves: &'a [VerifiedLeaf],
}

/// The Croissant JSON-LD document of a dataset version.
pub fn document(i: &Input<'_>) -> Value {
    let dv = i.dv;
    let label = format!("{}/{}@{}", dv.publisher, dv.dataset, dv.version);
    let mut doc = Map::new();
    doc.insert("@context".into(), context());
    doc.insert("@type".into(), json!("sc:Dataset"));
    doc.insert("conformsTo".into(), json!(CONFORMS_TO));
    doc.insert(
        "name".into(),
        json!(format!("{}/{}", dv.publisher, dv.dataset)),
    );
    doc.insert(
        "description".into(),
        json!(format!(
            "{label}: {} items ({} bytes), manifest root {}, logged at entry {} of the \
             Provenance Ledger.",
            dv.item_count,
            dv.total_bytes,
            dv.manifest_root.to_hex(),
            i.index
        )),
    );
    if !dv.licence.is_empty() {
        doc.insert("license".into(), json!(dv.licence));
    }
    doc.insert("url".into(), json!(i.url));
    if is_semver(dv.version.as_str()) {
        doc.insert("version".into(), json!(dv.version.as_str()));
    }
    doc.insert("datePublished".into(), json!(date(i.time)));
    doc.insert(
        "citeAs".into(),
        json!(format!(
            "{label}, Provenance Ledger entry {}, {}",
            i.index, i.url
        )),
    );

    let mut paths: Vec<&str> = i
        .leaves
        .iter()
        .flat_map(|l| l.sources().iter())
        .filter_map(|s| s.get("path").and_then(Value::as_str))
        .collect();
    paths.sort_unstable();
    paths.dedup();
    let includes: Vec<&str> = if paths.is_empty() { vec!["**"] } else { paths };
    doc.insert(
        "distribution".into(),
        json!([{
            "@type": "cr:FileSet",
            "@id": "corpus",
            "name": "corpus",
            "description": "The corpus files. Items are named by BLAKE3 content ids (record \
                            set `items`); the ledger holds no SHA-256 or MD5 of a file.",
            "encodingFormat": encoding_format(&dv.corpus_mode),
            "includes": includes,
        }]),
    );

    let mut record_sets = Vec::new();
    if let Some(extract) = record_extract(&dv.corpus_mode) {
        record_sets.push(json!({
            "@type": "cr:RecordSet",
            "@id": "records",
            "name": "records",
            "description": "The corpus's items as its mode reads them: each one's text.",
            "field": [{
                "@type": "cr:Field",
                "@id": "records/text",
                "name": "text",
                "dataType": "sc:Text",
                "source": {"fileSet": {"@id": "corpus"}, "extract": extract},
            }],
        }));
    }
    record_sets.push(items_record_set(i.leaves));
    doc.insert("recordSet".into(), Value::Array(record_sets));

    let ns = |k: &str| format!("ledger:{k}");
    doc.insert(ns("manifestRoot"), json!(dv.manifest_root.to_hex()));
    doc.insert(ns("itemCount"), json!(dv.item_count));
    doc.insert(ns("totalBytes"), json!(dv.total_bytes));
    doc.insert(ns("corpusMode"), json!(dv.corpus_mode.to_string()));
    doc.insert(ns("contentIds"), json!("blake3"));
    if let Some(s) = &dv.sources {
        doc.insert(
            ns("sourceTree"),
            json!({"root": s.root.to_hex(), "size": s.size}),
        );
    }
    if let Some(p) = &dv.passages {
        doc.insert(
            ns("passageTree"),
            json!({"root": p.root.to_hex(), "size": p.size}),
        );
    }
    doc.insert(ns("entryIndex"), json!(i.index));
    doc.insert(ns("entry"), json!(i.entry_json));
    doc.insert(ns("checkpoint"), json!(i.checkpoint));
    doc.insert(ns("tlogProof"), json!(i.tlog_proof));
    Value::Object(doc)
}

/// The standard Croissant 1.1 `@context` (as `mlcroissant` writes it) and the `ledger:` prefix.
fn context() -> Value {
    json!({
        "@language": "en",
        "@vocab": "https://schema.org/",
        "arrayShape": "cr:arrayShape",
        "citeAs": "cr:citeAs",
        "column": "cr:column",
        "conformsTo": "dct:conformsTo",
        "containedIn": "cr:containedIn",
        "cr": "http://mlcommons.org/croissant/",
        "rai": "http://mlcommons.org/croissant/RAI/",
        "data": {"@id": "cr:data", "@type": "@json"},
        "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
        "dct": "http://purl.org/dc/terms/",
        "equivalentProperty": "cr:equivalentProperty",
        "examples": {"@id": "cr:examples", "@type": "@json"},
        "extract": "cr:extract",
        "field": "cr:field",
        "fileProperty": "cr:fileProperty",
        "fileObject": "cr:fileObject",
        "fileSet": "cr:fileSet",
        "format": "cr:format",
        "includes": "cr:includes",
        "isArray": "cr:isArray",
        "isLiveDataset": "cr:isLiveDataset",
        "jsonPath": "cr:jsonPath",
        "key": "cr:key",
        "md5": "cr:md5",
        "parentField": "cr:parentField",
        "path": "cr:path",
        "recordSet": "cr:recordSet",
        "references": "cr:references",
        "regex": "cr:regex",
        "repeated": "cr:repeated",
        "replace": "cr:replace",
        "samplingRate": "cr:samplingRate",
        "sc": "https://schema.org/",
        "separator": "cr:separator",
        "source": "cr:source",
        "subField": "cr:subField",
        "transform": "cr:transform",
        "ledger": LEDGER_NS,
    })
}

/// The record set `items`: one row per (item, source entry), inline.
fn items_record_set(leaves: &[VerifiedLeaf]) -> Value {
    const FIELDS: [(&str, &str); 5] = [
        ("cid", "sc:Text"),
        ("size", "sc:Integer"),
        ("path", "sc:Text"),
        ("source", "sc:URL"),
        ("license", "sc:Text"),
    ];
    let fields: Vec<Value> = FIELDS
        .iter()
        .map(|(name, ty)| {
            json!({
                "@type": "cr:Field",
                "@id": format!("items/{name}"),
                "name": name,
                "dataType": ty,
            })
        })
        .collect();
    let none = [Value::Null];
    let mut rows = Vec::new();
    for l in leaves {
        let sources = l.sources();
        let entries: &[Value] = if sources.is_empty() { &none } else { sources };
        for s in entries {
            let text = |k: &str| match s.get(k) {
                None | Some(Value::Null) => Value::Null,
                Some(Value::String(t)) => json!(t),
                Some(other) => json!(other.to_string()),
            };
            rows.push(json!({
                "items/cid": l.leaf.cid.to_string(),
                "items/size": l.leaf.size,
                "items/path": text("path"),
                "items/source": text("source"),
                "items/license": text("license"),
            }));
        }
    }
    let mut set = json!({
        "@type": "cr:RecordSet",
        "@id": "items",
        "name": "items",
        "description": "The manifest's items: content id (BLAKE3 of the item's bytes, \
                        `blake3:<hex>`), size in bytes, and each source entry's path, source \
                        and licence.",
        "field": fields,
    });
    // Croissant refuses an empty `data`; an empty set has no rows to give.
    if !rows.is_empty() {
        set["data"] = Value::Array(rows);
    }
    set
}

fn encoding_format(mode: &CorpusMode) -> &'static str {
    match mode {
        CorpusMode::File => "application/octet-stream",
        CorpusMode::Line => "text/plain",
        CorpusMode::JsonLines { .. } => "application/jsonlines",
        CorpusMode::Parquet { .. } => "application/x-parquet",
    }
}

/// How a record mode's items come out of its files; `None` in file mode (a file is an item).
fn record_extract(mode: &CorpusMode) -> Option<Value> {
    match mode {
        CorpusMode::File => None,
        CorpusMode::Line => Some(json!({"fileProperty": "lines"})),
        CorpusMode::JsonLines { field } => Some(json!({"jsonPath": format!("$.{field}")})),
        CorpusMode::Parquet { column } => Some(json!({"column": column})),
    }
}

fn is_semver(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `YYYY-MM-DD` (UTC) of Unix time `secs` (Howard Hinnant's days-to-civil).
fn date(secs: u64) -> String {
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn run(a: &CroissantArgs) -> Outcome {
    let client = a.remote.client()?;
    let key = a.vkey.key(&client)?;
    if !a.dataset.contains('/') {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "--dataset {:?}: expected PUBLISHER/DATASET@VERSION",
                a.dataset
            ),
        ));
    }
    let (p, d, v) = parse_dataset_label(&a.dataset, "")?;
    let path = format!("/v1/datasets/{p}/{d}/{v}");
    let view: DatasetVersionView = client.get_json(&path)?;
    let ve = verified_entry(&client, &key, view.index)?;
    let dv = match ve.entry.body() {
        EntryBody::DatasetVersion(dv)
            if (
                dv.publisher.as_str(),
                dv.dataset.as_str(),
                dv.version.as_str(),
            ) == (p.as_str(), d.as_str(), v.as_str()) =>
        {
            dv.clone()
        }
        _ => {
            return Err(Failure::msg(
                Exit::Invalid,
                format!(
                    "the server answered entry {} for {}, which is not that dataset version",
                    view.index, a.dataset
                ),
            ))
        }
    };
    let label = format!("{p}/{d}@{v}");
    let leaves = verified_leaves(&client, &dv.manifest_root, dv.item_count, &label)?;
    let entry_json = String::from_utf8(ve.bytes.clone()).or_exit(Exit::Invalid, "entry bytes")?;
    let doc = document(&Input {
        dv: &dv,
        index: ve.index,
        entry_json: &entry_json,
        time: ve.entry.time(),
        tlog_proof: &ve.proof.to_text(),
        checkpoint: &ve.proof.checkpoint,
        url: url(&client, &path),
        leaves: &leaves,
    });
    let text = serde_json::to_string_pretty(&doc).or_exit(Exit::Local, "encoding json")?;
    match &a.out {
        Some(out) => {
            std::fs::write(out, format!("{text}\n"))
                .or_exit(Exit::Local, format!("writing {}", out.display()))?;
            if a.remote.json {
                say_json(
                    &json!({"dataset": label, "index": ve.index, "items": dv.item_count,
                    "out": out.display().to_string()}),
                )?;
            } else {
                say(format!(
                    "wrote {} ({label}, entry {}: {} items)",
                    out.display(),
                    ve.index,
                    dv.item_count
                ))?;
            }
        }
        None => say(text)?,
    }
    Ok(Exit::Ok)
}

fn url(client: &Client, path: &str) -> String {
    format!("{}{path}", client.base().trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_798_761_599), "2026-12-31");
    }

    #[test]
    fn only_major_minor_patch_is_a_croissant_version() {
        assert!(is_semver("1.0.2"));
        assert!(!is_semver("v1"));
        assert!(!is_semver("1.0"));
        assert!(!is_semver("1..2"));
    }

    /// docs/formats.md, "Croissant export", worked example: a JSON Lines version of two items.
    #[test]
    fn the_worked_example_is_what_the_export_writes() {
        use verifier::entry::Name;
        use verifier::set::meta::{canonical, meta_digest};
        use verifier::set::SetLeaf;
        use verifier::{ContentId, Digest};

        let name = |s: &str| Name::new(s).unwrap();
        let dv = DatasetVersion {
            publisher: name("acme"),
            dataset: name("crawl"),
            version: name("1.0.0"),
            manifest_root: Digest([0x11; 32]),
            item_count: 2,
            total_bytes: 21,
            corpus_mode: CorpusMode::JsonLines {
                field: "text".into(),
            },
            licence: "CC-BY-4.0 OR MIT".into(),
            previous: None,
            sources: None,
            passages: None,
        };
        let leaf = |text: &str, meta: Value| {
            let digest = meta_digest(Some(&canonical(&meta).unwrap()));
            VerifiedLeaf {
                leaf: SetLeaf {
                    cid: ContentId::of(text.as_bytes()),
                    size: text.len() as u64,
                    meta: digest,
                },
                metadata: Some(meta),
            }
        };
        let mut leaves = vec![
            leaf(
                "first page",
                json!({"sources": [{"path": "part-0.jsonl", "line": 1,
                    "source": "https://a.example/1", "license": "CC-BY-4.0"}]}),
            ),
            leaf(
                "second page",
                json!({"sources": [{"path": "part-0.jsonl", "line": 2,
                    "source": "https://b.example/2", "license": "MIT"}]}),
            ),
        ];
        leaves.sort_by_key(|l| l.leaf.cid);
        let got = document(&Input {
            dv: &dv,
            index: 1,
            entry_json: "(the entry's canonical JSON)",
            time: 1_796_083_200,
            tlog_proof: "(the entry's tlog-proof)",
            checkpoint: "(the signed checkpoint)",
            url: "https://ledger.example/v1/datasets/acme/crawl/1.0.0".into(),
            leaves: &leaves,
        });
        let want = crate::cmd::export::doc_example::json_after("### Worked example: Croissant");
        assert_eq!(
            want,
            got,
            "docs/formats.md should show:\n{}",
            serde_json::to_string_pretty(&got).unwrap()
        );
    }
}
