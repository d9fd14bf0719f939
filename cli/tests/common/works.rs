//! Test corpora for "was my work used?" (issue 14): a work's paragraphs embedded, re-wrapped,
//! inside records of other text, in a JSON Lines .zst file and a Parquet file; an absent work.
//! Real prose (the SPDX licence texts) when `PROV_SPDX_DIR` names them, else built-in prose.

use std::path::{Path, PathBuf};

/// The work, other prose, and an absent work, each as paragraphs.
pub struct Prose {
    /// Where the prose comes from (for messages).
    pub from: String,
    pub work: Vec<String>,
    pub other: Vec<String>,
    pub absent: Vec<String>,
}

/// Built-in prose: always there.
pub fn builtin_prose() -> Prose {
    let work = [
        "The lighthouse keeper counted the ships that passed in the night, one by one. He wrote \
         each name in a ledger that nobody else would ever read.",
        "When the storm came, the lamp was the only thing that \"mattered\" to him at all. He \
         climbed the stairs every hour, even when the wind tore at the windows.",
        "In the morning the sea was flat and grey, and the gulls came back to the rocks. He slept \
         until noon and dreamt of harbours he had never seen.",
        "Years later a letter arrived from a captain who had seen the light that night. It said \
         only that the keeper's lamp had brought forty sailors home.",
    ];
    let other = [
        "Recipes for a rainy afternoon are collected below, with notes from our readers. Soup \
         comes first, because nothing else warms a kitchen quite as well.",
        "A completely unrelated record about gardening, soil and the patience that tomatoes \
         demand of anyone who grows them. Water them in the evening.",
        "Another record, this one about trains, timetables and the quiet joy of a connection \
         made with a minute to spare. The platform was nearly empty.",
    ];
    let absent = [
        "The orchard behind the school had not been pruned in a decade, and nobody remembered \
         who had planted it. Children climbed the oldest tree every spring.",
        "On the last day of term the headmistress gave a speech about apples that nobody \
         understood at the time. Some of them understood it much later.",
    ];
    Prose {
        from: "built-in prose".into(),
        work: work.iter().map(|s| s.to_string()).collect(),
        other: other.iter().map(|s| s.to_string()).collect(),
        absent: absent.iter().map(|s| s.to_string()).collect(),
    }
}

/// SPDX licence texts: the work is Apache-2.0, the other text MIT, BSD-3-Clause and ISC, the
/// absent work MPL-2.0. `None` when `PROV_SPDX_DIR` is not set.
pub fn spdx_prose() -> Option<Prose> {
    let dir = PathBuf::from(std::env::var_os("PROV_SPDX_DIR")?);
    let text = |id: &str| -> Vec<String> {
        let raw = std::fs::read_to_string(dir.join(format!("{id}.json")))
            .unwrap_or_else(|e| panic!("{id}.json in PROV_SPDX_DIR: {e}"));
        let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
        paragraphs(v["licenseText"].as_str().unwrap())
    };
    Some(Prose {
        from: format!("SPDX licence texts in {}", dir.display()),
        work: text("Apache-2.0"),
        other: ["MIT", "BSD-3-Clause", "ISC"]
            .iter()
            .flat_map(|id| text(id))
            .collect(),
        absent: text("MPL-2.0"),
    })
}

/// The paragraphs of a text (split at blank lines), trimmed, without empty ones.
pub fn paragraphs(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n")
        .split("\n\n")
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// `par` as another copy would hold it: wrapped at other places (a line break every few words),
/// a non-breaking space between some words, a soft hyphen inside some long words, curly quotes
/// and apostrophes. `seed` varies the places.
pub fn rewrap(par: &str, seed: usize) -> String {
    let words: Vec<&str> = par.split_whitespace().collect();
    let width = 5 + seed % 7;
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            let letters = words[i - 1].ends_with(|c: char| c.is_ascii_alphabetic())
                && w.starts_with(|c: char| c.is_ascii_alphabetic());
            out.push_str(if i.is_multiple_of(width) {
                "\n"
            } else if letters && (i + seed).is_multiple_of(11) {
                "\u{a0}"
            } else {
                " "
            });
        }
        if w.len() >= 8
            && w.chars().all(|c| c.is_ascii_alphabetic())
            && (i + seed).is_multiple_of(5)
        {
            let (a, b) = w.split_at(w.len() / 2);
            out.push_str(a);
            out.push('\u{ad}');
            out.push_str(b);
        } else {
            out.push_str(w);
        }
    }
    let mut open = true;
    out.chars()
        .map(|c| match c {
            '"' => {
                open = !open;
                if open {
                    '\u{201d}'
                } else {
                    '\u{201c}'
                }
            }
            '\'' => '\u{2019}',
            c => c,
        })
        .collect()
}

/// The passage ids of `text`.
pub fn pids(text: &str) -> std::collections::BTreeSet<ledger::ContentId> {
    verifier::passage::passages(text).map(|p| p.id).collect()
}

/// The work's paragraphs that have a passage: the ones a corpus can be shown to hold.
pub fn with_passages(pars: &[String]) -> Vec<usize> {
    (0..pars.len())
        .filter(|&i| !pids(&pars[i]).is_empty())
        .collect()
}

/// A corpus file and the records it holds.
pub struct Corpus {
    pub path: PathBuf,
    pub records: Vec<String>,
    /// (index of the work's paragraph, index of the record holding it re-wrapped).
    pub embedded: Vec<(usize, usize)>,
}

/// The records of a corpus that embeds the work's paragraphs `which`, one per record, each
/// re-wrapped and between paragraphs of other text (blank lines around it, as a page keeps
/// them), plus records of other text only.
fn records(prose: &Prose, which: &[usize], seed: usize) -> (Vec<String>, Vec<(usize, usize)>) {
    let mut out = Vec::new();
    let mut embedded = Vec::new();
    let other = |k: usize| prose.other[k % prose.other.len()].clone();
    for (n, &i) in which.iter().enumerate() {
        let k = seed + n;
        embedded.push((i, out.len()));
        out.push(format!(
            "{}\n\n{}\n\n{}",
            other(k),
            rewrap(&prose.work[i], k),
            other(k + 1)
        ));
        out.push(other(k + 2) + "\n\n" + &other(k + 3));
    }
    (out, embedded)
}

/// A JSON Lines file compressed with zstd (`text` field), embedding the work's paragraphs
/// `which`.
pub fn jsonl_zst(dir: &Path, prose: &Prose, which: &[usize]) -> Corpus {
    use std::io::Write;
    let (records, embedded) = records(prose, which, 0);
    let path = dir.join("web.jsonl.zst");
    let mut enc = zstd::Encoder::new(std::fs::File::create(&path).unwrap(), 3).unwrap();
    for r in &records {
        writeln!(
            enc,
            "{}",
            serde_json::json!({ "text": r, "url": "https://example.com/" })
        )
        .unwrap();
    }
    enc.finish().unwrap();
    Corpus {
        path,
        records,
        embedded,
    }
}

/// A Parquet file (`text` column), embedding the work's paragraphs `which`.
pub fn parquet(dir: &Path, prose: &Prose, which: &[usize]) -> Corpus {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    let (records, embedded) = records(prose, which, 3);
    let text: ArrayRef = std::sync::Arc::new(StringArray::from(records.clone()));
    let batch = RecordBatch::try_from_iter([("text", text)]).unwrap();
    let path = dir.join("web.parquet");
    let f = std::fs::File::create(&path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    Corpus {
        path,
        records,
        embedded,
    }
}
