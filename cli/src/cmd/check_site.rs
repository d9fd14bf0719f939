//! `prov check --site SITE [--model PUBLISHER/MODEL[@CHECKPOINT]]`: how many items of each
//! dataset version come from a site (a domain and its subdomains, or a URL prefix), with a range
//! proof over the version's source tree verified against the `sources` root its entry commits
//! (the entry itself verified in the log). A count of 0 is a verified exclusion.
//!
//! With `--model`: the dataset versions the checkpoint names. Without: every dataset version the
//! server lists for the site (`GET /v1/sites/{site}`); what it leaves out is the server's word.
//!
//! Exit 0: items from the site are present; 1: none (verified); 9: none where it can be decided,
//! but some version has no source tree; 2: a proof does not verify.

use serde_json::{json, Value};
use verifier::range::{verify_range, Range, RangeProof};
use verifier::source::Site;
use verifier::{TreeSize, VerifierKey};

use crate::cmd::attest::parse_dataset_label;
use crate::cmd::proof::{verified_checkpoint, verified_dataset_version};
use crate::exit::{Exit, Failure, OrExit};
use crate::mirror::Routes;

/// One dataset version's answer.
pub struct SiteCount {
    pub dataset: String,
    pub entry_index: u64,
    /// `None`: the version has no source tree (cannot be decided).
    pub count: Option<u64>,
    pub evidence: Value,
}

/// The answer: present (exit 0), absent (1) or undecided (9), the evidence and the lines.
pub fn check_site(
    client: &impl Routes,
    key: &VerifierKey,
    site: &str,
    model: Option<&str>,
    reveal: u64,
) -> Result<(Exit, Value, Vec<String>), Failure> {
    let site = Site::parse(site).or_exit(Exit::Invalid, format!("--site {site:?}"))?;
    let mut counts = Vec::new();
    let mut model_label = None;
    match model {
        Some(m) => {
            let (ve, cp) = verified_checkpoint(client, key, m)?;
            let index = ve.index;
            model_label = Some((
                format!("{}/{}@{}", cp.publisher, cp.model, cp.checkpoint),
                index,
            ));
            for d in &cp.datasets {
                let label = d.key().to_string();
                let (p, ds, v) = parse_dataset_label(&label, "")?;
                let path = format!(
                    "/v1/datasets/{p}/{ds}/{v}/sites/{}?reveal={reveal}",
                    encode(site.as_str())
                );
                let answer: Option<Value> = client.get_json_opt(&path)?;
                counts.push(site_count(
                    client,
                    key,
                    &site,
                    d.index.0,
                    Some(&d.manifest_root),
                    answer.as_ref().and_then(|a| a.get("proof")),
                )?);
            }
        }
        None => {
            let mut offset = 0u64;
            loop {
                let path = format!("/v1/sites/{}?offset={offset}", encode(site.as_str()));
                let page: Value = client.get_json(&path)?;
                let items = page
                    .get("items")
                    .or(Some(&page))
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for it in &items {
                    let index = it
                        .get("entry_index")
                        .and_then(Value::as_u64)
                        .ok_or_else(|| {
                            Failure::msg(
                                Exit::Server,
                                format!("GET {path}: an answer names no entry"),
                            )
                        })?;
                    counts.push(site_count(
                        client,
                        key,
                        &site,
                        index,
                        None,
                        it.get("proof"),
                    )?);
                }
                match page.get("next").and_then(Value::as_u64) {
                    Some(n) if n > offset && !items.is_empty() => offset = n,
                    _ => break,
                }
            }
        }
    }
    let present: Vec<&SiteCount> = counts.iter().filter(|c| c.count.unwrap_or(0) > 0).collect();
    let undecided: Vec<&SiteCount> = counts.iter().filter(|c| c.count.is_none()).collect();
    let exit = if !present.is_empty() {
        Exit::Ok
    } else if !undecided.is_empty() {
        Exit::SitesUnproven
    } else {
        Exit::Negative
    };
    let what = match &model_label {
        Some((l, i)) => format!("the training data of {l} (entry {i})"),
        None => "the dataset versions the server lists".to_string(),
    };
    let mut lines = vec![match exit {
        Exit::Ok => format!(
            "yes: {} item(s) from {site} in {what} (range proofs verified)",
            present.iter().map(|c| c.count.unwrap_or(0)).sum::<u64>()
        ),
        Exit::Negative => format!(
            "no: nothing from {site} in {what} ({} dataset version(s), range exclusions verified)",
            counts.len()
        ),
        _ => format!(
            "undecided: nothing from {site} where it can be decided; {} dataset version(s) have no source tree",
            undecided.len()
        ),
    }];
    for c in &counts {
        lines.push(match c.count {
            Some(n) => format!("  {}: {n} (entry {})", c.dataset, c.entry_index),
            None => format!(
                "  {}: no source tree (entry {}): cannot be decided",
                c.dataset, c.entry_index
            ),
        });
        if let Some(items) = c.evidence.get("items").and_then(Value::as_array) {
            for it in items.iter().take(20) {
                lines.push(format!(
                    "    {} {}",
                    it["cid"].as_str().unwrap_or_default(),
                    it["source_key"].as_str().unwrap_or_default()
                ));
            }
        }
    }
    let evidence = json!({
        "site": site.to_string(),
        "model_checkpoint": model_label.as_ref().map(|(l, _)| l.clone()),
        "index": model_label.as_ref().map(|(_, i)| *i),
        "present": exit == Exit::Ok,
        "decided": undecided.is_empty() || exit == Exit::Ok,
        "datasets": counts.iter().map(|c| c.evidence.clone()).collect::<Vec<_>>(),
    });
    Ok((exit, evidence, lines))
}

/// Verifies one dataset version's range proof for `site` against the `sources` its entry
/// (at `index`, verified in the log) commits.
fn site_count(
    client: &impl Routes,
    key: &VerifierKey,
    site: &Site,
    index: u64,
    want_root: Option<&verifier::Digest>,
    proof: Option<&Value>,
) -> Result<SiteCount, Failure> {
    let dv = verified_dataset_version(client, key, index)?;
    let label = dv.key().to_string();
    if want_root.is_some_and(|r| r != &dv.manifest_root) {
        return Err(Failure::msg(
            Exit::Invalid,
            format!("{label}'s manifest root is not the one the checkpoint names"),
        ));
    }
    let Some(sources) = &dv.sources else {
        return Ok(SiteCount {
            dataset: label.clone(),
            entry_index: index,
            count: None,
            evidence: json!({"dataset": label, "entry_index": index, "sources": null, "count": null}),
        });
    };
    let proof_json = proof.cloned().ok_or_else(|| {
        Failure::msg(
            Exit::Server,
            format!("{label} has a source tree, but the server gave no range proof for {site}"),
        )
    })?;
    let proof: RangeProof = serde_json::from_value(proof_json.clone()).or_exit(
        Exit::Invalid,
        format!("the range proof of {site} in {label}"),
    )?;
    let members = verify_range(
        &sources.root,
        TreeSize(sources.size),
        &Range::site(site),
        &proof,
    )
    .or_exit(
        Exit::Invalid,
        format!("the range proof of {site} in {label} does not verify"),
    )?;
    let items: Vec<Value> = members
        .revealed
        .iter()
        .filter_map(|(_, leaf)| leaf.split_source())
        .map(|(k, cid)| json!({"source_key": k, "cid": cid.to_string()}))
        .collect();
    Ok(SiteCount {
        dataset: label.clone(),
        entry_index: index,
        count: Some(members.count),
        evidence: json!({
            "dataset": label,
            "entry_index": index,
            "sources": {"root": sources.root.to_hex(), "size": sources.size},
            "count": members.count,
            "items": items,
            "proof": proof_json,
        }),
    })
}

/// Percent-encodes a path segment (everything but RFC 3986 unreserved characters).
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
