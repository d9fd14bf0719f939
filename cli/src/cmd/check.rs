//! `prov check (FILE | --id CID) [--model PUBLISHER/MODEL[@CHECKPOINT]]`: is this document in
//! this model's training data? Fetches the model checkpoint's entry, the entries of the dataset
//! versions it was trained on, and the document's set proof in each; verifies all of them
//! against the log's key; answers yes with the inclusion proof, or no with the exclusion proofs.
//!
//! Without `--model`: in which dataset versions of the log is the document (inclusion proofs),
//! and which checkpoints trained on them. A "no" there is the server's word: absence from every
//! dataset in a log is not something one proof can show.
//!
//! With `--site SITE` instead of a document: the count of the site's items in each dataset
//! version, from verified range proofs (`check_site.rs`).
//!
//! With `--passages` (or `--dataset`, or `--dir DIR` for many works): the work is checked by its
//! passages, found re-wrapped inside other records, with multi-range proofs (`check_work.rs`).
//!
//! With `--witness VKEY... --min-witnesses K`, every form proves against the latest checkpoint K
//! of the witnesses cosigned (`crate::witnessed`).
//!
//! Exit 0: yes; 1: no (verified); 2: a proof does not verify (or the witness policy is not met); 9 (`--site`): nothing found where
//! it can be decided, but a dataset version has no source tree; 10 (`--passages`): the same for
//! a version without a passage tree.

use std::path::PathBuf;

use base64::Engine as _;
use serde_json::{json, Value};
use verifier::entry::EntryBody;
use verifier::set::meta::LeafMeta;
use verifier::set::{parse_membership_proof_json, SetMembershipProof};
use verifier::ContentId;

use crate::client::{Client, ContentView};
use crate::cmd::attest::parse_dataset_label;
use crate::cmd::proof::{checkpoint_index, content_id, dataset_proof, verified_entry, KeyArg};
use crate::cmd::publisher::Remote;
use crate::exit::{say, say_json, Exit, Failure, OrExit, Outcome};
use crate::mirror::Routes;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The document (its bytes are the item, as in file mode); with --passages, the work.
    #[arg(
        value_name = "FILE",
        required_unless_present_any = ["id", "site", "dir"],
        conflicts_with_all = ["id", "site", "dir"]
    )]
    pub file: Option<PathBuf>,
    /// The content id instead of a file (blake3:<64 hex>).
    #[arg(long, value_name = "CID", conflicts_with = "site")]
    pub id: Option<String>,
    /// A site instead of a document: a domain (with its subdomains) or a URL prefix. Answers
    /// with the count of its items in each dataset version, from verified range proofs.
    #[arg(long, value_name = "SITE")]
    pub site: Option<String>,
    /// With --site: reveal at most this many items per dataset version (the count is proven
    /// either way).
    #[arg(long, value_name = "N", default_value_t = 100, requires = "site")]
    pub reveal: u64,
    /// The model: PUBLISHER/MODEL (its latest checkpoint) or PUBLISHER/MODEL@CHECKPOINT.
    #[arg(long, value_name = "PUBLISHER/MODEL[@CHECKPOINT]")]
    pub model: Option<String>,
    /// Write the verified evidence (entries, tlog-proofs, set proofs) to this JSON file.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    #[command(flatten)]
    pub work: crate::cmd::check_work::WorkArgs,
    #[command(flatten)]
    pub key: KeyArg,
    /// With --min-witnesses K: every entry is proven against the log's latest checkpoint that K
    /// of these witnesses cosigned (`/checkpoint.cosigned`); exit 2 when it falls short.
    #[command(flatten)]
    pub witnesses: crate::witnessed::WitnessArgs,
    /// Read a static mirror of the log (needs --vkey): every entry from the entry bundles
    /// (hashed to the signed root), each tree from `sets/`, `sources/` or `passages/` (its root
    /// recomputed and matched against the entry) and every proof computed from them and
    /// verified as the service's are. A missing object: exit 2 (a directory) or 3, never "no".
    #[command(flatten)]
    pub tiles: crate::source::TilesArg,
    #[command(flatten)]
    pub remote: Remote,
}

pub fn run(a: &CheckArgs) -> Outcome {
    if let Some(location) = &a.tiles.tiles {
        if a.model.is_none() && a.site.is_none() && !a.work.selected() {
            return check_mirror(a, location);
        }
        // --model, --site, --passages: the service's routes answered from the mirror's static
        // objects (`crate::mirror`), checked by the same code as the service's answers.
        let Some(vkey) = &a.key.vkey else {
            return Err(Failure::msg(
                Exit::Invalid,
                "--tiles needs --vkey: a mirror does not announce a key, and none is trusted",
            ));
        };
        let key = crate::cmd::verify::load_vkey(vkey)?;
        let source = crate::source::LogSource::mirror(location)?;
        crate::witnessed::anchor_to_cosigned(|| source.cosigned_note(), &key, &a.witnesses)?;
        let m = crate::mirror::Mirror::open(&source, &key)?;
        return answer(a, &m, &key);
    }
    let client = a.remote.client()?;
    let key = a.key.key(&client)?;
    crate::witnessed::anchor_to_cosigned(
        || client.get_text("/checkpoint.cosigned"),
        &key,
        &a.witnesses,
    )?;
    answer(a, &client, &key)
}

/// Answers from `client` (the service, or a mirror through [`Routes`]) and says it.
fn answer<R: Routes + AnyLog>(a: &CheckArgs, client: &R, key: &ledger::VerifierKey) -> Outcome {
    let (exit, evidence, lines) = match &a.site {
        Some(site) => {
            crate::cmd::check_site::check_site(client, key, site, a.model.as_deref(), a.reveal)?
        }
        None if a.work.selected() => crate::cmd::check_work::check_work(client, key, a)?,
        None => {
            let cid = content_id(a.file.as_deref(), a.id.as_deref())?;
            let (yes, evidence, lines) = match &a.model {
                Some(m) => check_model(client, key, &cid, m)?,
                None => client.anywhere(key, &cid)?,
            };
            (if yes { Exit::Ok } else { Exit::Negative }, evidence, lines)
        }
    };
    if let Some(path) = &a.save {
        let text = serde_json::to_string_pretty(&evidence)
            .or_exit(Exit::Local, "encoding the evidence")?;
        std::fs::write(path, text).or_exit(Exit::Local, format!("writing {}", path.display()))?;
    }
    if a.remote.json {
        say_json(&evidence)?;
    } else {
        for l in lines {
            say(l)?;
        }
    }
    Ok(exit)
}

type Answer = (bool, Value, Vec<String>);

/// "In which dataset versions is it" without `--model`: the service's content index; never
/// asked of a mirror (`check_mirror` walks the log instead).
trait AnyLog {
    fn anywhere(&self, key: &ledger::VerifierKey, cid: &ContentId) -> Result<Answer, Failure>;
}

impl AnyLog for Client {
    fn anywhere(&self, key: &ledger::VerifierKey, cid: &ContentId) -> Result<Answer, Failure> {
        check_anywhere(self, key, cid)
    }
}

impl AnyLog for crate::mirror::Mirror<'_> {
    fn anywhere(&self, _: &ledger::VerifierKey, _: &ContentId) -> Result<Answer, Failure> {
        Err(Failure::msg(
            Exit::Invalid,
            "a static mirror has no content index: without --model, `check --tiles` walks the log",
        ))
    }
}

fn check_model(
    client: &impl Routes,
    key: &ledger::VerifierKey,
    cid: &ContentId,
    model: &str,
) -> Result<Answer, Failure> {
    let (m, c) = match model.split_once('@') {
        Some((m, c)) => (m, Some(c)),
        None => (model, None),
    };
    let index = checkpoint_index(client, m, c)?;
    let ve = verified_entry(client, key, index)?;
    let EntryBody::ModelCheckpoint(cp) = ve.entry.body() else {
        return Err(Failure::msg(
            Exit::Invalid,
            format!("entry {index} is not a model_checkpoint"),
        ));
    };
    let label = format!("{}/{}@{}", cp.publisher, cp.model, cp.checkpoint);
    let mut found = Vec::new();
    let mut found_meta = Vec::new();
    let mut datasets = Vec::new();
    for d in &cp.datasets {
        let dlabel = d.key().to_string();
        let (proof, included, dve) = dataset_proof(client, key, &dlabel, Some(d.index.0), cid)?;
        let EntryBody::DatasetVersion(dv) = dve.entry.body() else {
            return Err(Failure::msg(Exit::Invalid, "not a dataset_version"));
        };
        if dv.manifest_root != d.manifest_root {
            return Err(Failure::msg(
                Exit::Invalid,
                format!("{dlabel}'s manifest root is not the one {label} names"),
            ));
        }
        let mut evidence = json!({
            "dataset": dlabel,
            "included": included,
            "entry": evidence_entry(&dve),
            "manifest_root": dv.manifest_root.to_hex(),
            "item_count": dv.item_count,
            "proof": proof,
        });
        if included {
            found.push(dlabel.clone());
            if let Some((meta, read)) = item_metadata(client, &dlabel, cid, &proof)? {
                found_meta.push(describe(&dlabel, &read));
                evidence["metadata"] = meta;
            }
        }
        datasets.push(evidence);
    }
    let yes = !found.is_empty();
    let lines = if yes {
        let mut lines = vec![
            format!("yes: {cid} is in the training data of {label} (entry {index})"),
            format!("  in: {} (inclusion proof verified)", found.join(", ")),
        ];
        lines.extend(found_meta);
        lines
    } else {
        vec![format!(
            "no: {cid} is in none of the {} dataset version(s) {label} (entry {index}) was trained on (exclusion proofs verified)",
            cp.datasets.len()
        )]
    };
    let evidence = json!({
        "cid": cid.to_string(),
        "model_checkpoint": label,
        "index": index,
        "included": yes,
        "entry": evidence_entry(&ve),
        "datasets": datasets,
    });
    Ok((yes, evidence, lines))
}

fn check_anywhere(
    client: &Client,
    key: &ledger::VerifierKey,
    cid: &ContentId,
) -> Result<Answer, Failure> {
    let mut offset = 0u64;
    let mut datasets = Vec::new();
    let mut checkpoints: Vec<Value> = Vec::new();
    let mut lines = Vec::new();
    loop {
        let page: ContentView = client.get_json(&format!("/v1/content/{cid}?offset={offset}"))?;
        for app in &page.dataset_versions {
            let (proof, included, dve) = dataset_proof(
                client,
                key,
                &app.dataset.label,
                Some(app.dataset.index),
                cid,
            )?;
            if !included {
                return Err(Failure::msg(
                    Exit::Invalid,
                    format!(
                        "the server says {cid} is in {}, but its proof shows it is not",
                        app.dataset.label
                    ),
                ));
            }
            lines.push(format!(
                "  in {} (entry {}, inclusion proof verified)",
                app.dataset.label, app.dataset.index
            ));
            let mut evidence = json!({
                "dataset": app.dataset.label,
                "included": true,
                "entry": evidence_entry(&dve),
                "proof": proof,
            });
            if let Some((meta, read)) = item_metadata(client, &app.dataset.label, cid, &proof)? {
                lines.push(describe(&app.dataset.label, &read));
                evidence["metadata"] = meta;
            }
            datasets.push(evidence);
        }
        for c in &page.checkpoints {
            let v = json!({"model_checkpoint": format!("{}/{}@{}", c.publisher, c.model, c.checkpoint), "index": c.index});
            if !checkpoints.contains(&v) {
                lines.push(format!(
                    "  trained on by {}/{}@{} (entry {})",
                    c.publisher, c.model, c.checkpoint, c.index
                ));
                checkpoints.push(v);
            }
        }
        match page.next {
            Some(n) if n > offset => offset = n,
            _ => break,
        }
    }
    let yes = !datasets.is_empty();
    if yes {
        lines.insert(
            0,
            format!("yes: {cid} is in {} dataset version(s)", datasets.len()),
        );
    } else {
        lines.push(format!(
            "no: the server knows no dataset version holding {cid} (pass --model for a proof)"
        ));
    }
    let evidence = json!({
        "cid": cid.to_string(),
        "included": yes,
        "datasets": datasets,
        "checkpoints": checkpoints,
    });
    Ok((yes, evidence, lines))
}

/// The item's metadata in the dataset version `label` (`p/d@v`) when the service stores it,
/// checked against the leaf that `proof` (an inclusion proof already verified against the
/// version's entry) shows: its canonical JSON must hash to the leaf's `meta` digest (the
/// verifier's rule, `LeafMeta::verified`). `None` when the version's metadata is not stored.
fn item_metadata(
    client: &impl Routes,
    label: &str,
    cid: &ContentId,
    proof: &Value,
) -> Result<Option<(Value, LeafMeta)>, Failure> {
    let Ok(SetMembershipProof::Included(p)) = parse_membership_proof_json(proof.clone()) else {
        return Ok(None);
    };
    let (pb, d, v) = parse_dataset_label(label, "")?;
    let Some(answer) =
        client.get_json_opt::<Value>(&format!("/v1/datasets/{pb}/{d}/{v}/items/{cid}"))?
    else {
        return Ok(None);
    };
    let Some(meta) = answer.get("meta").filter(|m| !m.is_null()) else {
        return Ok(None);
    };
    let read = LeafMeta::verified(meta, &p.leaf.meta).map_err(|e| {
        Failure::msg(
            Exit::Invalid,
            format!("the metadata the server sent for {cid} in {label} is not what its leaf commits: {e}"),
        )
    })?;
    Ok(Some((meta.clone(), read)))
}

/// One line: where the item came from, its licence and consent, as its verified metadata says.
fn describe(label: &str, m: &LeafMeta) -> String {
    let list = |f: &dyn Fn(&verifier::set::meta::SourceEntry) -> Option<&String>| {
        let v: std::collections::BTreeSet<&str> =
            m.sources.iter().filter_map(f).map(String::as_str).collect();
        if v.is_empty() {
            "-".to_string()
        } else {
            v.into_iter().collect::<Vec<_>>().join(", ")
        }
    };
    format!(
        "  {label}: source {}; licence {}; consent {} (metadata digest verified)",
        list(&|e| e.source.as_ref()),
        list(&|e| e.license.as_ref()),
        list(&|e| e.consent.as_ref()),
    )
}

/// An entry as evidence: its bytes (base64) and its tlog-proof, as compliance bundles carry them.
pub(crate) fn evidence_entry(ve: &crate::cmd::proof::VerifiedEntry) -> Value {
    json!({
        "index": ve.index,
        "entry": base64::engine::general_purpose::STANDARD.encode(&ve.bytes),
        "proof": ve.proof.to_text(),
    })
}

/// `prov check FILE --tiles LOCATION`: in which dataset versions of a static mirror is the
/// document. Every entry is read from the entry bundles (the log is the index); each dataset
/// version's leaves are read from `sets/<root>.leaves` and its root and size recomputed, so a
/// "no" is as good as the mirror is complete for the versions it lists; each version that holds
/// the document is proven in the log by an inclusion proof computed from the hash tiles against
/// the checkpoint verified with `--vkey`.
fn check_mirror(a: &CheckArgs, location: &str) -> Outcome {
    use crate::logread;
    use verifier::entry::Entry;
    use verifier::set::SetRootBuilder;
    use verifier::{LeafIndex, TlogProof};
    let Some(vkey) = &a.key.vkey else {
        return Err(Failure::msg(
            Exit::Invalid,
            "--tiles needs --vkey: a mirror does not announce a key, and none is trusted",
        ));
    };
    let key = crate::cmd::verify::load_vkey(vkey)?;
    let cid = content_id(a.file.as_deref(), a.id.as_deref())?;
    let m = crate::source::LogSource::mirror(location)?;
    // With witness flags, the mirror's `checkpoint.cosigned` (k cosignatures checked) is the
    // checkpoint everything is proven against, as for the service's readers.
    let vc = if a.witnesses.min_witnesses > 0 || !a.witnesses.witnesses.is_empty() {
        let note = m.cosigned_note()?;
        crate::witnessed::witnessed(&note, &key, &a.witnesses)?;
        logread::verify_checkpoint(&note, &key)?
    } else {
        logread::latest_checkpoint(&m, &key)?
    };
    let size = vc.size();
    let width = u64::from(ledger::tile::TILE_WIDTH);
    let mut tiles = logread::Tiles::new(&m, size);
    let (mut datasets, mut checkpoints, mut lines, mut unread) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut holding: Vec<ledger::Digest> = Vec::new();
    for n in 0..size.0.div_ceil(width) {
        for (i, bytes) in logread::entry_bundle(&m, size, n)?.iter().enumerate() {
            let index = n * width + i as u64;
            let Ok(entry) = Entry::from_bytes(bytes) else {
                continue;
            };
            match entry.body() {
                EntryBody::DatasetVersion(d) => {
                    let label = format!("{}/{}@{}", d.publisher, d.dataset, d.version);
                    let mut b = SetRootBuilder::new();
                    let mut hit = false;
                    let found = logread::set_leaves(&m, &d.manifest_root, |leaf| {
                        hit |= leaf.cid == cid;
                        b.push(leaf)
                            .or_exit(Exit::Server, format!("the leaves of {label}"))?;
                        Ok(true)
                    })?;
                    if !found {
                        unread.push(label);
                        continue;
                    }
                    if b.root() != d.manifest_root || b.size().0 != d.item_count {
                        return Err(Failure::msg(
                            Exit::Server,
                            format!(
                                "{}: the leaves of {label} do not hash to its manifest root",
                                m.describe()
                            ),
                        ));
                    }
                    if !hit {
                        continue;
                    }
                    let proof = TlogProof {
                        extra: None,
                        index: LeafIndex(index),
                        proof: tiles.inclusion_proof(LeafIndex(index))?,
                        checkpoint: vc.note.clone(),
                    };
                    proof
                        .verify(&key, bytes)
                        .or_exit(Exit::Server, format!("the entry of {label} in the log"))?;
                    lines.push(format!(
                        "  in {label} (entry {index}, its leaves recomputed, the entry proven in the log)"
                    ));
                    holding.push(d.manifest_root);
                    datasets.push(json!({
                        "dataset": label,
                        "index": index,
                        "included": true,
                        "tlog_proof": proof.to_text(),
                    }));
                }
                EntryBody::ModelCheckpoint(c)
                    if c.datasets
                        .iter()
                        .any(|d| holding.contains(&d.manifest_root)) =>
                {
                    lines.push(format!(
                        "  trained on by {}/{}@{} (entry {index})",
                        c.publisher, c.model, c.checkpoint
                    ));
                    checkpoints.push(json!({
                        "model_checkpoint": format!("{}/{}@{}", c.publisher, c.model, c.checkpoint),
                        "index": index,
                    }));
                }
                _ => {}
            }
        }
    }
    let yes = !datasets.is_empty();
    if yes {
        lines.insert(
            0,
            format!("yes: {cid} is in {} dataset version(s)", datasets.len()),
        );
    } else {
        lines.push(format!(
            "no: no dataset version in {} (size {}) holds {cid}",
            m.describe(),
            size
        ));
    }
    for u in &unread {
        lines.push(format!(
            "  not checked: {u} (its leaves are not in the mirror)"
        ));
    }
    let evidence = json!({
        "cid": cid.to_string(),
        "included": yes,
        "checkpoint": vc.note,
        "datasets": datasets,
        "checkpoints": checkpoints,
        "not_checked": unread,
    });
    if let Some(path) = &a.save {
        let text = serde_json::to_string_pretty(&evidence)
            .or_exit(Exit::Local, "encoding the evidence")?;
        std::fs::write(path, text).or_exit(Exit::Local, format!("writing {}", path.display()))?;
    }
    if a.remote.json {
        say_json(&evidence)?;
    } else {
        for l in lines {
            say(l)?;
        }
    }
    Ok(if yes { Exit::Ok } else { Exit::Negative })
}
