//! `prov proof ...`: fetches proofs and compliance bundles from a server into files, for
//! `prov verify` (here or anywhere else) to check offline.
//!
//! - `inclusion INDEX --out P.tlog-proof [--entry-out E]`: an entry's tlog-proof and its bytes;
//! - `consistency --old N [--new M] --out P [--old-checkpoint F] [--new-checkpoint F]`;
//! - `set --dataset P/D@V (FILE | --id CID) --out F`: a set proof against a dataset version;
//! - `compliance (INDEX | --model P/M [--checkpoint C]) --out F`: a compliance bundle (its
//!   entries verified against its checkpoint; the verdict is `prov verify compliance`'s).
//!
//! With `--vkey` (or, without it, the key the server announces, with a warning) what is fetched
//! is verified before it is written; a proof that does not verify is not written (exit 2).

use std::path::{Path, PathBuf};

use serde_json::json;
use verifier::compliance::{verify_bundle_report, ComplianceBundle};
use verifier::entry::{Entry, EntryBody};
use verifier::{ContentId, LeafIndex, TlogProof, TreeSize, VerifierKey};

use crate::client::{
    CheckpointPage, Client, ConsistencyProofView, EntryView, Health, InclusionProofView,
};
use crate::cmd::attest::parse_dataset_label;
use crate::cmd::publisher::Remote;
use crate::cmd::verify::load_vkey;
use crate::exit::{say, say_json, warn, Exit, Failure, OrExit, Outcome};
use crate::mirror::Routes;
use crate::witnessed::{witnessed_checkpoint, WitnessArgs};

#[derive(Debug, clap::Subcommand)]
pub enum ProofCmd {
    /// An entry's inclusion proof (C2SP tlog-proof) and the entry's bytes.
    Inclusion(InclusionArgs),
    /// A consistency proof between two tree sizes, with both signed checkpoints.
    Consistency(ConsistencyArgs),
    /// A content id's inclusion or exclusion proof in a dataset version.
    Set(SetArgs),
    /// The compliance bundle of a model checkpoint.
    Compliance(ComplianceArgs),
}

/// The log key to verify against, for commands that fetch.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyArg {
    /// The log's verifier key (C2SP vkey), or a file holding it. Without it the key the server
    /// announces is used, which proves nothing against that server: pin the key you trust.
    #[arg(long, value_name = "VKEY", env = "PROV_VKEY")]
    pub vkey: Option<String>,
}

impl KeyArg {
    pub fn key(&self, client: &Client) -> Result<VerifierKey, Failure> {
        match &self.vkey {
            Some(v) => load_vkey(v),
            None => {
                let h: Health = client.get_json("/healthz")?;
                warn(format!(
                    "no --vkey: trusting the key {} announces ({}); pin it with --vkey",
                    client.base(),
                    h.verifier_key
                ));
                VerifierKey::parse(&h.verifier_key)
                    .or_exit(Exit::Server, "the server's verifier key")
            }
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct InclusionArgs {
    /// The entry's log index.
    pub index: u64,
    /// Prove against this tree size (a size at which a checkpoint was signed); default latest.
    #[arg(long, value_name = "N")]
    pub tree_size: Option<u64>,
    /// Where to write the tlog-proof.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Where to write the entry's exact bytes.
    #[arg(long, value_name = "FILE")]
    pub entry_out: Option<PathBuf>,
    #[command(flatten)]
    pub key: KeyArg,
    /// With --min-witnesses K: prove against the server's latest checkpoint that K of these
    /// witnesses cosigned (`/checkpoint.cosigned`), and write that cosigned checkpoint into the
    /// tlog-proof, so `prov verify inclusion --min-witnesses K` checks it offline.
    #[command(flatten)]
    pub witnesses: WitnessArgs,
    /// Compute the proof from a static mirror of the log (its checkpoint, entry bundles and
    /// hash tiles; needs --vkey) instead of asking --server.
    #[command(flatten)]
    pub tiles: crate::source::TilesArg,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Debug, clap::Args)]
pub struct ConsistencyArgs {
    /// The older tree size.
    #[arg(long, value_name = "N")]
    pub old: u64,
    /// The newer tree size [default: the latest checkpoint's].
    #[arg(long, value_name = "M")]
    pub new: Option<u64>,
    /// Where to write the proof (base64 hashes, one per line).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Where to write the checkpoint signed at the old size.
    #[arg(long, value_name = "FILE")]
    pub old_checkpoint: Option<PathBuf>,
    /// Where to write the checkpoint signed at the new size.
    #[arg(long, value_name = "FILE")]
    pub new_checkpoint: Option<PathBuf>,
    #[command(flatten)]
    pub key: KeyArg,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Debug, clap::Args)]
pub struct SetArgs {
    /// The dataset version: PUBLISHER/DATASET@VERSION.
    #[arg(long, value_name = "PUBLISHER/DATASET@VERSION")]
    pub dataset: String,
    /// The document (its bytes are the item, as in file mode).
    #[arg(
        value_name = "FILE",
        required_unless_present = "id",
        conflicts_with = "id"
    )]
    pub file: Option<PathBuf>,
    /// The content id instead of a file.
    #[arg(long, value_name = "CID")]
    pub id: Option<String>,
    /// Where to write the proof JSON.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub key: KeyArg,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Debug, clap::Args)]
pub struct ComplianceArgs {
    /// The model_checkpoint entry's log index.
    #[arg(required_unless_present = "model", conflicts_with = "model")]
    pub index: Option<u64>,
    /// The model, PUBLISHER/MODEL (its latest checkpoint, or --checkpoint).
    #[arg(long, value_name = "PUBLISHER/MODEL")]
    pub model: Option<String>,
    /// The checkpoint's name (with --model).
    #[arg(long, value_name = "ID", requires = "model")]
    pub checkpoint: Option<String>,
    /// Where to write the bundle.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub key: KeyArg,
    #[command(flatten)]
    pub remote: Remote,
}

pub fn run(cmd: &ProofCmd) -> Outcome {
    match cmd {
        ProofCmd::Inclusion(a) => inclusion(a),
        ProofCmd::Consistency(a) => consistency(a),
        ProofCmd::Set(a) => set(a),
        ProofCmd::Compliance(a) => compliance(a),
    }
}

/// An entry fetched from the server and verified: its bytes, its tlog-proof and the checkpoint.
pub struct VerifiedEntry {
    pub index: u64,
    pub entry: Entry,
    pub bytes: Vec<u8>,
    pub proof: TlogProof,
}

/// Fetches entry `index` and its tlog-proof (against the latest checkpoint) and verifies both.
pub fn verified_entry(
    client: &impl Routes,
    key: &VerifierKey,
    index: u64,
) -> Result<VerifiedEntry, Failure> {
    verified_entry_witnessed(client, key, index, None)
}

/// [`verified_entry`], and with `w` asking for cosignatures (`--min-witnesses` > 0), or the
/// invocation anchored to a cosigned checkpoint ([`crate::witnessed::anchor`]), proven against
/// the latest checkpoint enough of its witnesses cosigned rather than the log's latest:
/// the returned proof carries that cosigned checkpoint. An entry the cosigned checkpoint does
/// not cover yet is refused (exit 2).
pub fn verified_entry_witnessed(
    client: &impl Routes,
    key: &VerifierKey,
    index: u64,
    w: Option<&WitnessArgs>,
) -> Result<VerifiedEntry, Failure> {
    let cosigned = match w {
        Some(w) if w.min_witnesses > 0 => {
            let c = witnessed_checkpoint(client, key, w)?;
            Some((c.note, c.checkpoint))
        }
        // The checkpoint this invocation proves against (`--min-witnesses` on the command).
        _ => crate::witnessed::anchor().map(|c| (c.note.clone(), c.checkpoint.clone())),
    };
    let view: EntryView = client.get_json(&format!("/v1/entries/{index}"))?;
    let bytes = view.canonical.into_bytes();
    let query = match &cosigned {
        Some((_, cp)) if index >= cp.size.0 => {
            return Err(Failure::msg(
                Exit::Invalid,
                format!(
                    "entry {index} is not covered by the latest cosigned checkpoint (size {})",
                    cp.size
                ),
            ))
        }
        Some((_, cp)) => format!("?tree_size={}", cp.size),
        None => String::new(),
    };
    let text = client.get_text(&format!("/v1/entries/{index}/inclusion.tlog-proof{query}"))?;
    let mut proof =
        TlogProof::parse(&text).or_exit(Exit::Invalid, format!("tlog-proof of {index}"))?;
    if let Some((note, cp)) = cosigned {
        let served = proof.verify(key, &bytes).or_exit(
            Exit::Invalid,
            format!("entry {index}'s inclusion proof does not verify"),
        )?;
        if served != cp {
            return Err(Failure::msg(
                Exit::Invalid,
                format!("the server's proof of {index} is not for its cosigned checkpoint"),
            ));
        }
        proof.checkpoint = note;
    }
    if proof.index != LeafIndex(index) || view.index != index {
        return Err(Failure::msg(
            Exit::Invalid,
            format!("the server answered for another index than {index}"),
        ));
    }
    proof.verify(key, &bytes).or_exit(
        Exit::Invalid,
        format!("entry {index}'s inclusion proof does not verify"),
    )?;
    let entry = Entry::from_bytes(&bytes).or_exit(Exit::Invalid, format!("entry {index}"))?;
    Ok(VerifiedEntry {
        index,
        entry,
        bytes,
        proof,
    })
}

/// The checkpoint entry `model` names (`PUBLISHER/MODEL[@CHECKPOINT]`, the latest without
/// `@`), fetched and verified: the entry and its body.
pub fn verified_checkpoint(
    client: &impl Routes,
    key: &VerifierKey,
    model: &str,
) -> Result<(VerifiedEntry, verifier::entry::ModelCheckpoint), Failure> {
    verified_checkpoint_witnessed(client, key, model, None)
}

/// [`verified_checkpoint`], proven against the latest cosigned checkpoint when `w` asks for
/// cosignatures (see [`verified_entry_witnessed`]).
pub fn verified_checkpoint_witnessed(
    client: &impl Routes,
    key: &VerifierKey,
    model: &str,
    w: Option<&WitnessArgs>,
) -> Result<(VerifiedEntry, verifier::entry::ModelCheckpoint), Failure> {
    let (m, c) = match model.split_once('@') {
        Some((m, c)) => (m, Some(c)),
        None => (model, None),
    };
    let index = checkpoint_index(client, m, c)?;
    let ve = verified_entry_witnessed(client, key, index, w)?;
    match ve.entry.body() {
        EntryBody::ModelCheckpoint(cp) => {
            let cp = cp.clone();
            Ok((ve, cp))
        }
        _ => Err(Failure::msg(
            Exit::Invalid,
            format!("entry {index} is not a model_checkpoint"),
        )),
    }
}

/// Entry `index`, fetched and verified, which must be a dataset version: its body.
pub fn verified_dataset_version(
    client: &impl Routes,
    key: &VerifierKey,
    index: u64,
) -> Result<verifier::entry::DatasetVersion, Failure> {
    match verified_entry(client, key, index)?.entry.body() {
        EntryBody::DatasetVersion(dv) => Ok(dv.clone()),
        _ => Err(Failure::msg(
            Exit::Invalid,
            format!("entry {index} is not a dataset_version"),
        )),
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, bytes).or_exit(Exit::Local, format!("writing {}", path.display()))
}

/// `prov proof inclusion --tiles LOCATION`: what the service's inclusion route answers,
/// computed from a static mirror and verified against its checkpoint.
fn inclusion_from_mirror(a: &InclusionArgs, location: &str) -> Outcome {
    let Some(vkey) = &a.key.vkey else {
        return Err(Failure::msg(
            Exit::Invalid,
            "--tiles needs --vkey: a mirror does not announce a key, and none is trusted",
        ));
    };
    if a.tree_size.is_some() {
        return Err(Failure::msg(
            Exit::Invalid,
            "--tree-size and --tiles: a mirror's checkpoint decides the size",
        ));
    }
    let key = load_vkey(vkey)?;
    let m = crate::source::LogSource::mirror(location)?;
    let cosigned = a.witnesses.min_witnesses > 0 || !a.witnesses.witnesses.is_empty();
    let name = if cosigned {
        "checkpoint.cosigned"
    } else {
        "checkpoint"
    };
    let vc = crate::logread::verify_checkpoint(&m.get_text(name)?, &key)?;
    if cosigned {
        crate::witnessed::witnessed(&vc.note, &key, &a.witnesses)?;
    }
    if a.index >= vc.size().0 {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "entry {} is beyond the mirror's checkpoint (size {})",
                a.index,
                vc.size()
            ),
        ));
    }
    let width = u64::from(ledger::tile::TILE_WIDTH);
    let bundle = crate::logread::entry_bundle(&m, vc.size(), a.index / width)?;
    let Some(entry) = bundle.get((a.index % width) as usize) else {
        return Err(Failure::msg(Exit::Server, "the entry bundle is short"));
    };
    let proof = TlogProof {
        extra: None,
        index: LeafIndex(a.index),
        proof: crate::logread::Tiles::new(&m, vc.size()).inclusion_proof(LeafIndex(a.index))?,
        checkpoint: vc.note.clone(),
    };
    let cp = proof.verify(&key, entry).or_exit(
        Exit::Server,
        format!("the proof computed from {} does not verify", m.describe()),
    )?;
    wrote_inclusion(a, &proof.to_text(), entry, cp.size)
}

fn inclusion(a: &InclusionArgs) -> Outcome {
    if let Some(location) = &a.tiles.tiles {
        return inclusion_from_mirror(a, location);
    }
    let client = a.remote.client()?;
    let key = a.key.key(&client)?;
    if a.witnesses.min_witnesses > 0 {
        if a.tree_size.is_some() {
            return Err(Failure::msg(
                Exit::Invalid,
                "--tree-size and --min-witnesses: the cosigned checkpoint decides the size",
            ));
        }
        let ve = verified_entry_witnessed(&client, &key, a.index, Some(&a.witnesses))?;
        let text = ve.proof.to_text();
        let cp = ve.proof.verify(&key, &ve.bytes).or_exit(
            Exit::Invalid,
            "the inclusion proof does not verify with the cosigned checkpoint",
        )?;
        return wrote_inclusion(a, &text, &ve.bytes, cp.size);
    }
    let query = a
        .tree_size
        .map(|n| format!("?tree_size={n}"))
        .unwrap_or_default();
    let text = client.get_text(&format!(
        "/v1/entries/{}/inclusion.tlog-proof{query}",
        a.index
    ))?;
    let view: EntryView = client.get_json(&format!("/v1/entries/{}", a.index))?;
    let proof = TlogProof::parse(&text).or_exit(Exit::Invalid, "the server's tlog-proof")?;
    let cp = proof.verify(&key, view.canonical.as_bytes()).or_exit(
        Exit::Invalid,
        "the server's inclusion proof does not verify",
    )?;
    wrote_inclusion(a, &text, view.canonical.as_bytes(), cp.size)
}

/// Writes the verified proof (and the entry's bytes) and says so.
fn wrote_inclusion(a: &InclusionArgs, text: &str, entry: &[u8], size: TreeSize) -> Outcome {
    write(&a.out, text.as_bytes())?;
    if let Some(e) = &a.entry_out {
        write(e, entry)?;
    }
    if a.remote.json {
        say_json(&json!({
            "index": a.index,
            "tree_size": size.0,
            "proof_file": a.out.display().to_string(),
            "entry_file": a.entry_out.as_ref().map(|p| p.display().to_string()),
        }))?;
    } else {
        say(format!(
            "wrote {} (entry {} in the tree of size {}, verified)",
            a.out.display(),
            a.index,
            size
        ))?;
    }
    Ok(Exit::Ok)
}

fn consistency(a: &ConsistencyArgs) -> Outcome {
    let client = a.remote.client()?;
    let key = a.key.key(&client)?;
    let new = match a.new {
        Some(n) => n,
        None => {
            let note = client.get_text("/checkpoint")?;
            ledger::Checkpoint::verify(&note, &key)
                .or_exit(Exit::Invalid, "the server's checkpoint")?
                .size
                .0
        }
    };
    let signed = |n: u64| -> Result<String, Failure> {
        let v: InclusionProofView =
            client.get_json(&format!("/v1/entries/0/inclusion?tree_size={n}"))?;
        v.checkpoint.ok_or_else(|| {
            Failure::msg(
                Exit::Refused,
                format!("no checkpoint was signed at size {n}"),
            )
        })
    };
    let (old_note, new_note) = (signed(a.old)?, signed(new)?);
    let p: ConsistencyProofView =
        client.get_json(&format!("/v1/proofs/consistency?old={}&new={new}", a.old))?;
    let hashes = p
        .hashes
        .iter()
        .map(|h| ledger::Digest::from_hex(h))
        .collect::<Result<Vec<_>, _>>()
        .or_exit(Exit::Server, "the server's consistency proof")?;
    let old_cp =
        ledger::Checkpoint::verify(&old_note, &key).or_exit(Exit::Invalid, "old checkpoint")?;
    let new_cp =
        ledger::Checkpoint::verify(&new_note, &key).or_exit(Exit::Invalid, "new checkpoint")?;
    ledger::verify_consistency::<ledger::Sha256Log>(
        old_cp.size,
        new_cp.size,
        &old_cp.root,
        &new_cp.root,
        &hashes,
    )
    .or_exit(
        Exit::Invalid,
        "the server's consistency proof does not verify",
    )?;
    write(
        &a.out,
        verifier::consistency_proof::print_text(&hashes).as_bytes(),
    )?;
    if let Some(p) = &a.old_checkpoint {
        write(p, old_note.as_bytes())?;
    }
    if let Some(p) = &a.new_checkpoint {
        write(p, new_note.as_bytes())?;
    }
    if a.remote.json {
        say_json(
            &json!({"old_size": a.old, "new_size": new, "proof_file": a.out.display().to_string()}),
        )?;
    } else {
        say(format!(
            "wrote {} (size {} to {new}, verified)",
            a.out.display(),
            a.old
        ))?;
    }
    Ok(Exit::Ok)
}

/// The content id of `--id`, or of a file's bytes.
pub fn content_id(file: Option<&Path>, id: Option<&str>) -> Result<ContentId, Failure> {
    match (file, id) {
        (_, Some(s)) => s.parse().or_exit(Exit::Invalid, format!("--id {s:?}")),
        (Some(f), None) => {
            let bytes =
                std::fs::read(f).or_exit(Exit::Local, format!("reading {}", f.display()))?;
            Ok(ContentId::of(&bytes))
        }
        (None, None) => Err(Failure::msg(Exit::Invalid, "give a FILE or --id CID")),
    }
}

/// A dataset version's membership proof for `cid`, verified against the version's entry (itself
/// verified in the log): returns the proof, whether `cid` is included, and the entry.
pub fn dataset_proof(
    client: &impl Routes,
    key: &VerifierKey,
    label: &str,
    index: Option<u64>,
    cid: &ContentId,
) -> Result<(serde_json::Value, bool, VerifiedEntry), Failure> {
    let (p, d, v) = parse_dataset_label(label, "")?;
    let answer: serde_json::Value =
        client.get_json(&format!("/v1/datasets/{p}/{d}/{v}/proof/{cid}"))?;
    let at = match index {
        Some(i) => i,
        None => answer
            .pointer("/dataset/index")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| Failure::msg(Exit::Server, "the server's proof names no entry"))?,
    };
    let ve = verified_entry(client, key, at)?;
    let EntryBody::DatasetVersion(dv) = ve.entry.body() else {
        return Err(Failure::msg(
            Exit::Invalid,
            format!("entry {at} is not a dataset_version"),
        ));
    };
    if dv.key().to_string() != format!("{p}/{d}@{v}") {
        return Err(Failure::msg(
            Exit::Invalid,
            format!("entry {at} is {}, not {p}/{d}@{v}", dv.key()),
        ));
    }
    let proof_json = answer
        .get("proof")
        .cloned()
        .ok_or_else(|| Failure::msg(Exit::Server, "the server's answer has no proof"))?;
    let proof = verifier::set::parse_membership_proof_json(proof_json.clone())
        .or_exit(Exit::Invalid, "the server's set proof")?;
    let m = proof
        .verify(cid, &dv.manifest_root, TreeSize(dv.item_count))
        .or_exit(
            Exit::Invalid,
            format!("the set proof of {cid} in {label} does not verify"),
        )?;
    Ok((proof_json, m == ledger::set::Membership::Included, ve))
}

fn set(a: &SetArgs) -> Outcome {
    let client = a.remote.client()?;
    let key = a.key.key(&client)?;
    let cid = content_id(a.file.as_deref(), a.id.as_deref())?;
    let (proof, included, ve) = dataset_proof(&client, &key, &a.dataset, None, &cid)?;
    let text = serde_json::to_string_pretty(&proof).or_exit(Exit::Local, "encoding the proof")?;
    write(&a.out, text.as_bytes())?;
    let EntryBody::DatasetVersion(dv) = ve.entry.body() else {
        return Err(Failure::msg(Exit::Invalid, "not a dataset_version"));
    };
    if a.remote.json {
        say_json(&json!({
            "cid": cid.to_string(),
            "dataset": a.dataset,
            "included": included,
            "set_root": dv.manifest_root.to_hex(),
            "set_size": dv.item_count,
            "proof_file": a.out.display().to_string(),
        }))?;
    } else {
        say(format!(
            "wrote {}: {cid} is {} {} (verified); check it with\n  prov verify set-{} --set-root {} --set-size {} --id {cid} {}",
            a.out.display(),
            if included { "in" } else { "not in" },
            a.dataset,
            if included { "inclusion" } else { "exclusion" },
            dv.manifest_root,
            dv.item_count,
            a.out.display()
        ))?;
    }
    Ok(Exit::Ok)
}

/// The index of a model's checkpoint entry: the one named `checkpoint`, or the latest.
pub fn checkpoint_index(
    client: &impl Routes,
    model: &str,
    checkpoint: Option<&str>,
) -> Result<u64, Failure> {
    let (p, m) = model.split_once('/').ok_or_else(|| {
        Failure::msg(
            Exit::Invalid,
            format!("--model {model:?}: expected PUBLISHER/MODEL"),
        )
    })?;
    let mut after: Option<u64> = None;
    let mut found = None;
    loop {
        let q = after.map(|a| format!("?after={a}")).unwrap_or_default();
        let page: CheckpointPage =
            client.get_json(&format!("/v1/models/{p}/{m}/checkpoints{q}"))?;
        for c in &page.items {
            if checkpoint.is_none_or(|want| want == c.checkpoint) {
                found = Some(c.index);
            }
        }
        match page.next {
            Some(n) if after != Some(n) => after = Some(n),
            _ => break,
        }
    }
    found.ok_or_else(|| {
        Failure::msg(
            Exit::Refused,
            match checkpoint {
                Some(c) => format!("{model} has no checkpoint {c:?} in the log"),
                None => format!("{model} has no checkpoint in the log"),
            },
        )
    })
}

fn compliance(a: &ComplianceArgs) -> Outcome {
    let client = a.remote.client()?;
    let index = match (a.index, &a.model) {
        (Some(i), _) => i,
        (None, Some(m)) => checkpoint_index(&client, m, a.checkpoint.as_deref())?,
        (None, None) => return Err(Failure::msg(Exit::Invalid, "give INDEX or --model")),
    };
    let key = a.key.key(&client)?;
    let bytes = client.get_bytes(&format!("/v1/compliance/{index}"))?;
    // Verified before it is written, as every proof this command fetches: each entry against
    // the signed checkpoint, and the bundle is the one asked for. The verdict and completeness
    // are `prov verify compliance`'s.
    let bundle: ComplianceBundle = serde_json::from_slice(&bytes).or_exit(
        Exit::Server,
        format!("GET /v1/compliance/{index}: not a compliance bundle"),
    )?;
    let report = verify_bundle_report(&bundle, &key).or_exit(
        Exit::Invalid,
        format!("the compliance bundle of entry {index} does not verify; not written"),
    )?;
    if report.model_index != LeafIndex(index) {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "the server answered with the bundle of entry {} for entry {index}; not written",
                report.model_index
            ),
        ));
    }
    write(&a.out, &bytes)?;
    if a.remote.json {
        say_json(&json!({"index": index, "bundle_file": a.out.display().to_string()}))?;
    } else {
        say(format!(
            "wrote {} (compliance bundle of entry {index}); check it with\n  prov verify compliance --vkey VKEY --server URL {}",
            a.out.display(),
            a.out.display()
        ))?;
    }
    Ok(Exit::Ok)
}
