//! `prov verify ...`: offline verification with nothing but the log's public key.
//!
//! - `inclusion --vkey V --entry ENTRY_FILE PROOF.tlog-proof`: a C2SP tlog-proof, for any C2SP
//!   log with an Ed25519 key (the entry file holds the entry's exact bytes);
//! - `consistency --vkey V OLD_CHECKPOINT NEW_CHECKPOINT PROOF`: the new tree extends the old;
//! - `set-inclusion|set-exclusion --set-root HEX --id CID PROOF`: a set proof;
//! - `compliance --vkey V [--complete] BUNDLE`: a checkpoint's compliance bundle. With
//!   `--complete`, also reads the entry tiles below the horizon from `--server` and fails a bundle
//!   that leaves out any `optout` entry.
//!
//! Exit 0 when the proof holds, 2 when it does not verify or an input is malformed or missing;
//! `compliance` exits 1 on a verified violation (printing the opt-out, the id and the dataset
//! version), and 3 when `--complete` cannot read the server or the server's tiles do not match.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ledger::compliance::{bundle_optout_indices, verify_bundle, ComplianceBundle, Verdict};
use ledger::entry::{Entry, EntryBody};
use ledger::set::{Membership, SetExclusionProof, SetInclusionProof, SetMembershipProof};
use ledger::tile::{decode_entry_bundle, tile_for_stored_hash, EntryBundleId, TileHashReader};
use ledger::tree::TreeError;
use ledger::{
    leaf_hash, verify_consistency, verify_inclusion, Checkpoint, ContentId, Digest, LeafIndex,
    Sha256Log, TlogProof, TreeSize, VerifierKey,
};
use serde_json::{json, Value};

use crate::client::{Client, DEFAULT_SERVER};
use crate::exit::{say, say_json, Exit, Failure, OrExit, Outcome};

#[derive(Debug, clap::Subcommand)]
pub enum VerifyCmd {
    /// An entry's inclusion in a log: a C2SP tlog-proof, for any Ed25519 C2SP log.
    Inclusion(InclusionArgs),
    /// Two signed checkpoints of one log, and the proof that the newer extends the older.
    Consistency(ConsistencyArgs),
    /// A content id is in a set (a dataset version's manifest, an opt-out set, weights).
    SetInclusion(SetArgs),
    /// A content id is not in a set.
    SetExclusion(SetArgs),
    /// A model checkpoint's compliance bundle: exit 0 compliant, 1 violated, 2 not verified.
    Compliance(ComplianceArgs),
}

#[derive(Debug, clap::Args)]
pub struct InclusionArgs {
    /// The log's verifier key (C2SP vkey `name+id+base64`), or a file holding it.
    #[arg(long, value_name = "VKEY")]
    pub vkey: String,
    /// A file holding the entry's exact bytes.
    #[arg(long, value_name = "ENTRY_FILE")]
    pub entry: PathBuf,
    /// The c2sp.org/tlog-proof@v1 file.
    #[arg(value_name = "PROOF")]
    pub proof: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ConsistencyArgs {
    /// The log's verifier key (C2SP vkey), or a file holding it.
    #[arg(long, value_name = "VKEY")]
    pub vkey: String,
    /// The older signed checkpoint (a note file).
    #[arg(value_name = "OLD_CHECKPOINT")]
    pub old: PathBuf,
    /// The newer signed checkpoint.
    #[arg(value_name = "NEW_CHECKPOINT")]
    pub new: PathBuf,
    /// The proof: base64 hashes one per line, or the JSON of /v1/proofs/consistency.
    #[arg(value_name = "PROOF")]
    pub proof: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SetArgs {
    /// The set's root, 64 hex (a dataset version's manifest_root).
    #[arg(long, value_name = "HEX")]
    pub set_root: String,
    /// The set's size (a dataset version's item_count). Without it, the size the proof states is
    /// used, with a warning: pin it when you know it.
    #[arg(long, value_name = "N")]
    pub set_size: Option<u64>,
    /// The content id (blake3:<64 hex>).
    #[arg(long, value_name = "CID")]
    pub id: String,
    /// The proof JSON (inclusion, exclusion, `{"included"|"excluded": ..}`, or an API answer
    /// holding one under `proof`).
    #[arg(value_name = "PROOF")]
    pub proof: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ComplianceArgs {
    /// The log's verifier key (C2SP vkey), or a file holding it.
    #[arg(long, value_name = "VKEY")]
    pub vkey: String,
    /// Also read the entry tiles below the horizon from --server and fail if the bundle leaves
    /// out any opt-out.
    #[arg(long)]
    pub complete: bool,
    /// The ledger to read tiles from (with --complete).
    #[arg(long, value_name = "URL", default_value = DEFAULT_SERVER, env = "PROV_SERVER")]
    pub server: String,
    /// The bundle (JSON, from `prov proof compliance`).
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: &VerifyCmd) -> Outcome {
    match cmd {
        VerifyCmd::Inclusion(a) => report(a.json, inclusion(a)),
        VerifyCmd::Consistency(a) => report(a.json, consistency(a)),
        VerifyCmd::SetInclusion(a) => report(a.json, set_proof(a, Membership::Included)),
        VerifyCmd::SetExclusion(a) => report(a.json, set_proof(a, Membership::Excluded)),
        VerifyCmd::Compliance(a) => compliance(a),
    }
}

/// A verification's outcome on stdout: the facts it established, or (with `--json`) the error
/// too; the error itself goes to stderr through [`crate::exit::finish`].
fn report(json: bool, r: Result<(String, Value), Failure>) -> Outcome {
    match r {
        Ok((text, value)) => {
            if json {
                say_json(&value)?;
            } else {
                say(text)?;
            }
            Ok(Exit::Ok)
        }
        Err(f) => {
            if json && f.exit == Exit::Invalid {
                say_json(&json!({"verified": false, "error": format!("{:#}", f.error)}))?;
            }
            Err(f)
        }
    }
}

/// A C2SP vkey given inline, or the path of a file holding one.
pub fn load_vkey(arg: &str) -> Result<VerifierKey, Failure> {
    let p = Path::new(arg);
    let text = if p.is_file() {
        std::fs::read_to_string(p).or_exit(Exit::Invalid, format!("reading --vkey {arg}"))?
    } else {
        arg.to_string()
    };
    VerifierKey::parse(text.trim()).or_exit(Exit::Invalid, "--vkey is not a C2SP vkey")
}

/// Reads an input file; a missing or unreadable input is a malformed input (exit 2).
fn read_input(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).or_exit(Exit::Invalid, format!("reading {}", path.display()))
}

fn read_text(path: &Path) -> Result<String, Failure> {
    String::from_utf8(read_input(path)?)
        .or_exit(Exit::Invalid, format!("{} is not UTF-8", path.display()))
}

fn inclusion(a: &InclusionArgs) -> Result<(String, Value), Failure> {
    let key = load_vkey(&a.vkey)?;
    let entry = read_input(&a.entry)?;
    let proof = TlogProof::parse(&read_text(&a.proof)?).or_exit(
        Exit::Invalid,
        format!("{} is not a tlog-proof", a.proof.display()),
    )?;
    let cp = proof
        .verify(&key, &entry)
        .or_exit(Exit::Invalid, "not verified")?;
    let leaf = leaf_hash(&entry);
    Ok((
        format!(
            "verified: entry {} (leaf hash {leaf}) is at index {} of {} in the tree of size {} (root {})",
            a.entry.display(),
            proof.index,
            cp.origin,
            cp.size,
            cp.root.to_base64()
        ),
        json!({
            "verified": true,
            "origin": cp.origin,
            "index": proof.index.0,
            "tree_size": cp.size.0,
            "root": cp.root.to_base64(),
            "leaf_hash": leaf.to_hex(),
        }),
    ))
}

fn consistency(a: &ConsistencyArgs) -> Result<(String, Value), Failure> {
    let key = load_vkey(&a.vkey)?;
    let old = Checkpoint::verify(&read_text(&a.old)?, &key)
        .or_exit(Exit::Invalid, format!("old checkpoint {}", a.old.display()))?;
    let new = Checkpoint::verify(&read_text(&a.new)?, &key)
        .or_exit(Exit::Invalid, format!("new checkpoint {}", a.new.display()))?;
    let hashes = parse_consistency_proof(&read_text(&a.proof)?).or_exit(
        Exit::Invalid,
        format!("{} is not a consistency proof", a.proof.display()),
    )?;
    verify_consistency::<Sha256Log>(old.size, new.size, &old.root, &new.root, &hashes)
        .or_exit(Exit::Invalid, "the consistency proof does not verify")?;
    Ok((
        format!(
            "verified: {} at size {} extends size {}",
            new.origin, new.size, old.size
        ),
        json!({
            "verified": true,
            "origin": new.origin,
            "old_size": old.size.0,
            "old_root": old.root.to_base64(),
            "new_size": new.size.0,
            "new_root": new.root.to_base64(),
        }),
    ))
}

/// Base64 hashes one per line (the API's text form), or JSON with `hashes` in hex.
pub fn parse_consistency_proof(text: &str) -> anyhow::Result<Vec<Digest>> {
    let t = text.trim();
    if t.starts_with('{') {
        #[derive(serde::Deserialize)]
        struct P {
            hashes: Vec<String>,
        }
        let p: P = serde_json::from_str(t)?;
        return p
            .hashes
            .iter()
            .map(|h| Digest::from_hex(h).map_err(Into::into))
            .collect();
    }
    t.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Digest::from_base64(l.trim()).map_err(Into::into))
        .collect()
}

fn set_proof(a: &SetArgs, want: Membership) -> Result<(String, Value), Failure> {
    let root = Digest::from_hex(&a.set_root).or_exit(Exit::Invalid, "--set-root")?;
    let id: ContentId = a.id.parse().or_exit(Exit::Invalid, "--id")?;
    let value: Value = serde_json::from_slice(&read_input(&a.proof)?)
        .or_exit(Exit::Invalid, format!("{} is not JSON", a.proof.display()))?;
    let proof = parse_set_proof(value).or_exit(
        Exit::Invalid,
        format!("{} is not a set proof", a.proof.display()),
    )?;
    let stated = match &proof {
        SetMembershipProof::Included(p) => p.size,
        SetMembershipProof::Excluded(p) => p.size,
    };
    let size = match a.set_size {
        Some(n) => TreeSize(n),
        None => {
            crate::exit::warn(format!(
                "the set size ({stated}) is taken from the proof: pass --set-size to pin it"
            ));
            stated
        }
    };
    let got = proof
        .verify(&id, &root, size)
        .or_exit(Exit::Invalid, "the set proof does not verify")?;
    let word = |m: Membership| match m {
        Membership::Included => "in",
        Membership::Excluded => "not in",
    };
    if got != want {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "the proof verifies, but it shows that {id} is {} the set, not {}",
                word(got),
                word(want)
            ),
        ));
    }
    Ok((
        format!(
            "verified: {id} is {} the set {root} of {size} leaves",
            word(got)
        ),
        json!({
            "verified": true,
            "id": id.to_string(),
            "set_root": root.to_hex(),
            "set_size": size.0,
            "included": got == Membership::Included,
        }),
    ))
}

/// Any JSON form of a set proof: inclusion, exclusion, `{"included"|"excluded": ..}`, or an
/// object holding one of those under `proof` (the API's answers).
pub fn parse_set_proof(value: Value) -> anyhow::Result<SetMembershipProof> {
    if let Value::Object(m) = &value {
        if m.contains_key("included") || m.contains_key("excluded") {
            return Ok(serde_json::from_value(value)?);
        }
        if let Some(inner) = m.get("proof") {
            return parse_set_proof(inner.clone());
        }
        if m.contains_key("id") {
            let p: SetExclusionProof = serde_json::from_value(value)?;
            return Ok(SetMembershipProof::Excluded(p));
        }
    }
    let p: SetInclusionProof = serde_json::from_value(value)?;
    Ok(SetMembershipProof::Included(p))
}

fn compliance(a: &ComplianceArgs) -> Outcome {
    let key = load_vkey(&a.vkey)?;
    let bundle: ComplianceBundle = serde_json::from_slice(&read_input(&a.bundle)?).or_exit(
        Exit::Invalid,
        format!("{} is not a compliance bundle", a.bundle.display()),
    )?;
    let verdict = match verify_bundle(&bundle, &key) {
        Ok(v) => v,
        Err(e) => {
            if a.json {
                say_json(&json!({"verified": false, "error": e.to_string()}))?;
            }
            return Err(Failure::new(Exit::Invalid, e).with_context("the bundle does not verify"));
        }
    };
    let model = model_summary(&bundle)?;
    let missing = if a.complete {
        let client = Client::new(&a.server)?;
        Some(missing_optouts(&bundle, &key, &client)?)
    } else {
        None
    };
    let complete_ok = missing.as_ref().is_none_or(Vec::is_empty);
    if a.json {
        say_json(&json!({
            "verified": complete_ok,
            "model_checkpoint": model.label,
            "index": model.index,
            "optout_horizon": model.horizon,
            "optouts_checked": bundle.optouts.len(),
            "verdict": verdict,
            "complete": missing.as_ref().map(|m| m.is_empty()),
            "missing_optouts": missing,
        }))?;
    } else {
        say(format!(
            "model checkpoint {} (index {}), opt-out horizon {}: {} opt-out entries checked",
            model.label,
            model.index,
            model.horizon,
            bundle.optouts.len()
        ))?;
        match &verdict {
            Verdict::Compliant if complete_ok => say("verified: compliant")?,
            Verdict::Compliant => say("the bundle's proofs verify, but it is incomplete")?,
            Verdict::Violated { violations } => {
                say(format!(
                    "VIOLATION: {} opted-out id(s) trained on",
                    violations.len()
                ))?;
                for v in violations {
                    say(format!(
                        "  opt-out at index {} names {}, which is in {}",
                        v.optout_index, v.cid, v.dataset
                    ))?;
                }
            }
        }
        match &missing {
            Some(m) if m.is_empty() => say(format!(
                "complete: every opt-out below {} is in the bundle",
                model.horizon
            ))?,
            _ => {}
        }
    }
    if let Verdict::Violated { .. } = verdict {
        if let Some(m) = missing.as_ref().filter(|m| !m.is_empty()) {
            crate::exit::warn(format!(
                "the bundle also leaves out opt-outs at indexes {m:?}"
            ));
        }
        return Ok(Exit::Negative);
    }
    if let Some(m) = missing.filter(|m| !m.is_empty()) {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "the bundle is incomplete: it leaves out the opt-out entries at indexes {m:?}, below the horizon {}",
                model.horizon
            ),
        ));
    }
    Ok(Exit::Ok)
}

struct ModelSummary {
    label: String,
    index: u64,
    horizon: u64,
}

/// The model checkpoint a (verified) bundle is about.
fn model_summary(bundle: &ComplianceBundle) -> Result<ModelSummary, Failure> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&bundle.model_checkpoint.entry)
        .or_exit(Exit::Invalid, "model checkpoint entry")?;
    let entry = Entry::from_bytes(&bytes).or_exit(Exit::Invalid, "model checkpoint entry")?;
    let index = TlogProof::parse(&bundle.model_checkpoint.proof)
        .or_exit(Exit::Invalid, "model checkpoint proof")?
        .index
        .0;
    match entry.body() {
        EntryBody::ModelCheckpoint(c) => Ok(ModelSummary {
            label: format!("{}/{}@{}", c.publisher, c.model, c.checkpoint),
            index,
            horizon: c.optout_horizon,
        }),
        _ => Err(Failure::msg(Exit::Invalid, "not a model_checkpoint entry")),
    }
}

/// The indexes of the `optout` entries below the bundle's horizon that the bundle leaves out,
/// read from the server's entry tiles. Every entry read is checked against the bundle's own
/// (verified) checkpoint through an inclusion proof computed from the server's hash tiles, so
/// a server cannot hide an opt-out from this check.
pub fn missing_optouts(
    bundle: &ComplianceBundle,
    key: &VerifierKey,
    client: &Client,
) -> Result<Vec<u64>, Failure> {
    let cp = Checkpoint::verify(&bundle.checkpoint, key)
        .or_exit(Exit::Invalid, "the bundle's checkpoint")?;
    let horizon = model_summary(bundle)?.horizon;
    let have: BTreeSet<LeafIndex> =
        bundle_optout_indices(bundle).or_exit(Exit::Invalid, "the bundle's opt-outs")?;
    let size = cp.size;
    if horizon > size.0 {
        return Err(Failure::msg(
            Exit::Invalid,
            format!("horizon {horizon} is beyond the checkpoint's size {size}"),
        ));
    }
    let mut tiles = TileHashReader::new();
    let mut missing = Vec::new();
    let width = u64::from(ledger::tile::TILE_WIDTH);
    for n in 0..horizon.div_ceil(width) {
        let w = (size.0 - n * width).min(width) as u16;
        let id = EntryBundleId::new(n, w).or_exit(Exit::Invalid, "entry bundle")?;
        let data = client.get_bytes(&id.path())?;
        let entries = decode_entry_bundle(&data)
            .or_exit(Exit::Server, format!("the server's {}", id.path()))?;
        if entries.len() != usize::from(w) {
            return Err(Failure::msg(
                Exit::Server,
                format!(
                    "the server's {} has {} entries, want {w}",
                    id.path(),
                    entries.len()
                ),
            ));
        }
        for (j, e) in entries.iter().enumerate() {
            let i = n * width + j as u64;
            if i >= horizon {
                break;
            }
            let proof = proof_from_tiles(&mut tiles, client, size, LeafIndex(i))?;
            verify_inclusion::<Sha256Log>(&leaf_hash(e), LeafIndex(i), size, &proof, &cp.root)
                .or_exit(
                    Exit::Server,
                    format!("the server's entry {i} is not the one the checkpoint commits to"),
                )?;
            if is_optout(e) && !have.contains(&LeafIndex(i)) {
                missing.push(i);
            }
        }
    }
    Ok(missing)
}

/// The audit path of `index` in the tree of `size`, fetching hash tiles as they are needed.
fn proof_from_tiles(
    tiles: &mut TileHashReader,
    client: &Client,
    size: TreeSize,
    index: LeafIndex,
) -> Result<Vec<Digest>, Failure> {
    // Each round fetches one missing tile; a proof needs at most a few per level.
    for _ in 0..256 {
        match ledger::tree::inclusion_proof(size, index, &*tiles) {
            Ok(p) => return Ok(p),
            Err(TreeError::MissingHash { index: h }) => {
                let t = tile_for_stored_hash(size, h).or_exit(Exit::Invalid, "tile")?;
                let data = client.get_bytes(&t.path())?;
                tiles
                    .insert(t, &data)
                    .or_exit(Exit::Server, format!("the server's {}", t.path()))?;
            }
            Err(e) => return Err(Failure::new(Exit::Invalid, e)),
        }
    }
    Err(Failure::msg(
        Exit::Server,
        format!("the server's tiles never gave a proof of entry {index}"),
    ))
}

/// Whether an entry's `type` is `optout` (read without trusting anything else in it).
fn is_optout(entry: &[u8]) -> bool {
    serde_json::from_slice::<Value>(entry)
        .ok()
        .and_then(|v| v.get("type").and_then(Value::as_str).map(|t| t == "optout"))
        .unwrap_or(false)
}

trait WithContext {
    fn with_context(self, what: &str) -> Self;
}

impl WithContext for Failure {
    fn with_context(self, what: &str) -> Self {
        Failure {
            exit: self.exit,
            error: self.error.context(what.to_string()),
        }
    }
}
