//! `prov verify training-summary FILE --server URL`: recomputes every figure of a summary
//! written by `prov report training-summary` (JSON, or Markdown with its JSON embedded) from the
//! ledger's read API (entries verified against the log's key, leaves and metadata streamed, the
//! manifest and source roots recomputed), and compares. For Markdown the text itself is
//! re-rendered from the recomputed figures and compared too, so a table edited by hand fails.
//!
//! Exit 0: every figure recomputes; 1: a figure differs (each printed, with both values);
//! 2: the file is not a summary, or a proof does not verify; 3, 4: the server.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::cmd::proof::KeyArg;
use crate::cmd::report::{build, markdown, Summary};
use crate::cmd::verify::SiteCheckArgs;
use crate::exit::{say, say_json, Exit, Failure, OrExit, Outcome};

#[derive(Debug, clap::Args)]
pub struct SummaryArgs {
    /// The summary (`--format json` or `md`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The ledger to recompute from.
    #[arg(long, value_name = "URL", env = "PROV_SERVER")]
    pub server: String,
    #[command(flatten)]
    pub checks: SiteCheckArgs,
    #[command(flatten)]
    pub key: KeyArg,
    /// With --min-witnesses K: recompute against the log's latest checkpoint that K of these
    /// witnesses cosigned (as `prov report training-summary`).
    #[command(flatten)]
    pub witnesses: crate::witnessed::WitnessArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &SummaryArgs) -> Outcome {
    let text = std::fs::read_to_string(&a.file)
        .or_exit(Exit::Invalid, format!("reading {}", a.file.display()))?;
    let is_json = text.trim_start().starts_with('{');
    let json_text = if is_json {
        text.as_str()
    } else {
        markdown::embedded_json(&text).ok_or_else(|| {
            Failure::msg(
                Exit::Invalid,
                format!(
                    "{} is neither a summary's JSON nor Markdown with its figures embedded",
                    a.file.display()
                ),
            )
        })?
    };
    let claimed: Summary = serde_json::from_str(json_text).or_exit(
        Exit::Invalid,
        format!("{} does not hold a training summary", a.file.display()),
    )?;
    let client = crate::client::Client::new(&a.server)?;
    let key = a.key.key(&client)?;
    crate::witnessed::anchor_to_cosigned(
        || client.get_text("/checkpoint.cosigned"),
        &key,
        &a.witnesses,
    )?;
    let got = build(
        &client,
        &key,
        &claimed.model.label,
        claimed.scraped.sme,
        &|i| crate::cmd::verify::compliance_figures(&client, &key, i, &a.checks),
    )?;
    let (want_v, got_v) = (
        serde_json::to_value(&claimed).or_exit(Exit::Local, "json")?,
        serde_json::to_value(&got).or_exit(Exit::Local, "json")?,
    );
    let mut diffs = Vec::new();
    diff("", &want_v, &got_v, &mut diffs);
    if diffs.is_empty() && !is_json {
        let rendered = markdown::render(&got)?;
        if let Some((n, file_line, line)) = first_difference(&text, &rendered) {
            diffs.push((
                format!("markdown line {n}"),
                Value::String(file_line),
                Value::String(line),
            ));
        }
    }
    let ok = diffs.is_empty();
    if a.json {
        say_json(&json!({
            "verified": ok,
            "model_checkpoint": got.model.label,
            "entry_index": got.model.entry_index,
            "datasets": got.datasets.len(),
            "differences": diffs.iter().map(|(p, w, g)| json!({"figure": p, "file": w, "recomputed": g})).collect::<Vec<_>>(),
        }))?;
    } else if ok {
        say(format!(
            "verified: every figure of {} recomputes from the ledger ({}, entry {}; {} dataset \
             version(s), {} domain names listed)",
            a.file.display(),
            got.model.label,
            got.model.entry_index,
            got.datasets.len(),
            got.scraped.top_domains.len()
        ))?;
    } else {
        say(format!(
            "DIFFERS: {} figure(s) of {} do not recompute from the ledger",
            diffs.len(),
            a.file.display()
        ))?;
        for (path, w, g) in &diffs {
            say(format!("  {path}: the file says {w}, the ledger gives {g}"))?;
        }
    }
    Ok(if ok { Exit::Ok } else { Exit::Negative })
}

/// Every leaf where `want` and `got` differ, as (JSON path, want, got).
fn diff(path: &str, want: &Value, got: &Value, out: &mut Vec<(String, Value, Value)>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            let keys: std::collections::BTreeSet<&String> = w.keys().chain(g.keys()).collect();
            for k in keys {
                let p = format!("{path}.{k}");
                diff(
                    &p,
                    w.get(k).unwrap_or(&Value::Null),
                    g.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (a, b)) in w.iter().zip(g).enumerate() {
                diff(&format!("{path}[{i}]"), a, b, out);
            }
        }
        _ if want != got => out.push((path.to_string(), want.clone(), got.clone())),
        _ => {}
    }
}

/// The first line (1-based) where `file` and `rendered` differ (trailing whitespace at the end
/// of the file ignored).
fn first_difference(file: &str, rendered: &str) -> Option<(usize, String, String)> {
    let (f, r): (Vec<&str>, Vec<&str>) = (
        file.trim_end().lines().collect(),
        rendered.trim_end().lines().collect(),
    );
    for i in 0..f.len().max(r.len()) {
        let (a, b) = (
            f.get(i).copied().unwrap_or(""),
            r.get(i).copied().unwrap_or(""),
        );
        if a != b {
            return Some((i + 1, a.to_string(), b.to_string()));
        }
    }
    None
}
