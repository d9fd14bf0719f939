//! The Markdown form of a training summary: the template's headings, a table per figure, each
//! row naming its entry, and the figures' JSON embedded at the end so that
//! `prov verify training-summary` can recompute the file, Markdown included.

use std::fmt::Write as _;

use crate::cmd::report::Summary;
use crate::exit::{Exit, Failure, OrExit};

/// The line that opens the embedded JSON (inside a fenced block).
pub const JSON_MARK: &str = "<!-- prov-training-summary: the figures as JSON, recomputed by `prov verify training-summary` -->";

/// Renders `s` (deterministically: verification re-renders and compares).
pub fn render(s: &Summary) -> Result<String, Failure> {
    let mut o = String::new();
    write_md(&mut o, s).or_exit(Exit::Local, "rendering the summary")?;
    let json = serde_json::to_string_pretty(s).or_exit(Exit::Local, "encoding json")?;
    o.push_str(JSON_MARK);
    o.push_str("\n\n```json\n");
    o.push_str(&json);
    o.push_str("\n```");
    Ok(o)
}

/// The JSON embedded in a rendered summary.
pub fn embedded_json(text: &str) -> Option<&str> {
    let rest = &text[text.find(JSON_MARK)? + JSON_MARK.len()..];
    let start = rest.find("```json\n")? + "```json\n".len();
    let body = &rest[start..];
    let end = body.rfind("\n```")?;
    Some(&body[..end])
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.0 %".into();
    }
    let permille = (u128::from(part) * 1000 + u128::from(whole) / 2) / u128::from(whole);
    format!("{}.{} %", permille / 10, permille % 10)
}

fn write_md(o: &mut String, s: &Summary) -> std::fmt::Result {
    let m = &s.model;
    writeln!(o, "# Public summary of training content: {}", m.label)?;
    writeln!(o)?;
    writeln!(
        o,
        "Following the {}. Computed by `prov report training-summary` from entries committed to \
         the log `{}`; every figure names the entry (log index) it derives from and the root it is \
         computed over, and `prov verify training-summary` recomputes them all from the log's \
         read API.",
        s.template, s.log
    )?;
    writeln!(o)?;
    writeln!(o, "## 1. General information")?;
    writeln!(o)?;
    writeln!(
        o,
        "- Model: `{}`, model checkpoint entry {} (weights set `{}`, {} files).",
        m.label, m.entry_index, m.weights_root, m.weights_count
    )?;
    writeln!(
        o,
        "- Training data on the ledger: {} dataset version(s), {} items, {} bytes.",
        s.datasets.len(),
        s.total.items,
        s.total.bytes
    )?;
    writeln!(o)?;
    writeln!(o, "## 2. List of data sources")?;
    writeln!(o)?;
    writeln!(o, "### 2.1 Datasets (publicly available, or licensed: 2.2)")?;
    writeln!(o)?;
    writeln!(
        o,
        "| dataset version | entry | manifest root | items | bytes | source tree |"
    )?;
    writeln!(o, "|---|---|---|---|---|---|")?;
    for d in &s.datasets {
        writeln!(
            o,
            "| `{}` | {} | `{}` | {} | {} | {} |",
            d.dataset,
            d.entry_index,
            d.manifest_root,
            d.items,
            d.bytes,
            match &d.sources {
                Some(t) => format!("`{}` ({} leaves)", t.root, t.size),
                None => "none".into(),
            }
        )?;
    }
    writeln!(o)?;
    writeln!(
        o,
        "Licences (per dataset version; an item under two licences counts under both):"
    )?;
    writeln!(o)?;
    writeln!(
        o,
        "| dataset version | entry | licence | items | bytes | share of bytes |"
    )?;
    writeln!(o, "|---|---|---|---|---|---|")?;
    for d in &s.datasets {
        for l in &d.licences {
            writeln!(
                o,
                "| `{}` | {} | {} | {} | {} | {} |",
                d.dataset,
                d.entry_index,
                cell(&l.value),
                l.items,
                l.bytes,
                pct(l.bytes, d.bytes)
            )?;
        }
    }
    writeln!(o)?;
    writeln!(
        o,
        "Consent signals observed at collection (aipref `Content-Usage`, TDMRep, robots.txt):"
    )?;
    writeln!(o)?;
    writeln!(o, "| dataset version | entry | signal | items | bytes |")?;
    writeln!(o, "|---|---|---|---|---|")?;
    for d in &s.datasets {
        for c in &d.consent {
            writeln!(
                o,
                "| `{}` | {} | {} | {} | {} |",
                d.dataset,
                d.entry_index,
                cell(&c.value),
                c.items,
                c.bytes
            )?;
        }
    }
    writeln!(o)?;
    writeln!(
        o,
        "2.2 (private datasets obtained from third parties), 2.4 (user data), 2.5 (synthetic \
         data) and 2.6 (other sources): not derived from the ledger; the provider completes them."
    )?;
    writeln!(o)?;
    writeln!(o, "### 2.3 Data crawled and scraped from online sources")?;
    writeln!(o)?;
    let sc = &s.scraped;
    writeln!(
        o,
        "- Items with a source URL: {} ({} bytes) on {} domain names; without one: {} ({} bytes).",
        sc.with_source.items,
        sc.with_source.bytes,
        sc.domains,
        sc.without_source.items,
        sc.without_source.bytes
    )?;
    writeln!(
        o,
        "- Most relevant domain names: the {} ({} listed). Crawler names, purposes, behaviour and \
         the collection period are the provider's to state.",
        sc.rule,
        sc.top_domains.len()
    )?;
    writeln!(o)?;
    writeln!(
        o,
        "| # | domain name | items | bytes | share of bytes | from (entry: bytes) |"
    )?;
    writeln!(o, "|---|---|---|---|---|---|")?;
    for (i, d) in sc.top_domains.iter().enumerate() {
        let from: Vec<String> = d
            .from
            .iter()
            .map(|f| format!("{}: {}", f.entry_index, f.bytes))
            .collect();
        writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            i + 1,
            cell(&d.domain),
            d.items,
            d.bytes,
            pct(d.bytes, sc.with_source.bytes),
            from.join(", ")
        )?;
    }
    writeln!(o)?;
    writeln!(o, "## 3. Data processing aspects")?;
    writeln!(o)?;
    writeln!(
        o,
        "### 3.1 Respect of reservation of rights from the text and data mining exception"
    )?;
    writeln!(o)?;
    let p = &s.optouts;
    let c = &s.compliance;
    writeln!(
        o,
        "- Opt-out policy (entry {}): every `{}` opt-out logged on the ledger below index {} is \
         honoured, by content id and by site (domain or URL prefix, when the site's control of \
         the requesting key is verified).",
        p.entry_index, p.scope, p.horizon
    )?;
    writeln!(
        o,
        "- Verdict: **{}** (exit {}), {} opt-out entries checked; {} opted-out id(s) and {} site \
         opt-out(s) (requester verified) with items in the training data; {} site opt-out(s) \
         with items whose requester is not verified; {} (opt-out, site, dataset) undecidable \
         without a source tree.",
        c.conclusion,
        c.exit,
        c.optouts_checked,
        c.violations,
        c.site_violations,
        c.site_violations_unverified,
        c.sites_unproven
    )?;
    writeln!(
        o,
        "- Completeness: {}. Horizon lag: {} entries{}.",
        match c.complete {
            Some(true) => "checked against the log's tiles",
            Some(false) => "the bundle leaves out opt-outs",
            None => "not checked",
        },
        c.lag_entries,
        match c.lag_seconds {
            Some(s) => format!(", {s} seconds"),
            None => String::new(),
        }
    )?;
    writeln!(o)?;
    Ok(())
}

/// A table cell: pipes and newlines escaped.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}
