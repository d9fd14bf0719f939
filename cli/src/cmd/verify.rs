//! `prov verify ...`: offline verification with nothing but the log's public key.
//!
//! - `inclusion --vkey V --entry ENTRY_FILE PROOF.tlog-proof`: a C2SP tlog-proof, for any C2SP
//!   log with an Ed25519 key (the entry file holds the entry's exact bytes);
//! - `consistency --vkey V OLD_CHECKPOINT NEW_CHECKPOINT PROOF`: the new tree extends the old;
//! - `checkpoint --vkey V CHECKPOINT`: the log signed the checkpoint;
//! - `inclusion`, `consistency` and `checkpoint` take `--witness VKEY` (repeatable) and
//!   `--min-witnesses K`: the checkpoint (the new one for `consistency`) must carry valid C2SP
//!   tlog-cosignature v1 cosignatures from at least K distinct listed witnesses, else exit 2;
//! - `set-inclusion|set-exclusion --set-root HEX --id CID PROOF`: a set proof;
//! - `compliance --vkey V (--server URL | --tiles DIR | --offline) BUNDLE`: a checkpoint's
//!   compliance bundle. Unless `--offline`, it also reads every entry below the horizon from the
//!   log's tiles (a server, or a local copy laid out as C2SP tlog-tiles) and fails a bundle that
//!   leaves out any `optout` entry. Every verdict states its horizon lag.
//!
//! Exit 0 when the proof holds, 2 when it does not verify or an input is malformed or missing;
//! `compliance` exits 1 on a verified violation (printing the opt-out, the id and the dataset
//! version), 3 when the server cannot be read or its tiles do not match, 6 for "compliant, but
//! completeness not checked" (`--offline`), and 7 for a policy failure (a vacuous horizon of 0
//! without `--allow-vacuous`, or a horizon lag over `--max-lag`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{json, Value};
use verifier::compliance::{
    verify_bundle_report, BundleReport, ComplianceBundle, Conclusion, Control, Policy, SiteControl,
    SiteViolation, Verdict,
};
use verifier::consistency_proof;
use verifier::entry::{Entry, EntryBody};
use verifier::set::{parse_membership_proof_json, Membership, SetMembershipProof};
use verifier::tile::{decode_entry_bundle, tile_for_stored_hash, EntryBundleId, TileHashReader};
use verifier::tree::TreeError;
use verifier::{
    leaf_hash, verify_consistency, verify_inclusion, Checkpoint, ContentId, Digest, LeafIndex,
    Sha256Log, TlogProof, TreeSize, VerifierKey,
};

use crate::client::Client;
use crate::cmd::sitekeys;
use crate::exit::{say, say_json, Exit, Failure, OrExit, Outcome};
use crate::source::LogSource;
use crate::witnessed::WitnessArgs;
use crate::witnessed::{cosignatures_json, witnessed};

#[derive(Debug, clap::Subcommand)]
pub enum VerifyCmd {
    /// An entry's inclusion in a log: a C2SP tlog-proof, for any Ed25519 C2SP log.
    Inclusion(InclusionArgs),
    /// Two signed checkpoints of one log, and the proof that the newer extends the older.
    Consistency(ConsistencyArgs),
    /// A signed checkpoint: the log's signature and, with --witness and --min-witnesses, the
    /// cosignatures of enough distinct listed witnesses (C2SP tlog-cosignature).
    Checkpoint(CheckpointArgs),
    /// A content id is in a set (a dataset version's manifest, an opt-out set, weights).
    SetInclusion(SetArgs),
    /// A content id is not in a set.
    SetExclusion(SetArgs),
    /// A model checkpoint's compliance bundle: exit 0 compliant (and complete), 1 violated,
    /// 2 not verified or incomplete, 6 compliant but not checked for completeness (--offline),
    /// 7 a policy failure (vacuous horizon, --max-lag).
    Compliance(ComplianceArgs),
    /// A training summary written by `prov report training-summary`: every figure recomputed
    /// from the ledger's read API. Exit 0 equal, 1 a figure differs, 2 not a summary.
    TrainingSummary(crate::cmd::report::verify::SummaryArgs),
    /// An in-toto / SLSA provenance envelope written by `prov export provenance`: its DSSE
    /// signature and shape, and with --server every claim recomputed. Exit 0 verified, 1 a
    /// claim differs, 2 a signature or proof does not verify.
    Provenance(crate::cmd::export::provenance::VerifyArgs),
}

#[derive(Debug, clap::Args)]
pub struct InclusionArgs {
    /// The log's verifier key (C2SP vkey `name+id+base64`), or a file holding it.
    #[arg(long, value_name = "VKEY")]
    pub vkey: String,
    /// A file holding the entry's exact bytes.
    #[arg(long, value_name = "ENTRY_FILE")]
    pub entry: PathBuf,
    /// The c2sp.org/tlog-proof@v1 file. Without it, --tiles: the proof is computed from the
    /// mirror's tiles against its checkpoint.
    #[arg(value_name = "PROOF", required_unless_present = "tiles")]
    pub proof: Option<PathBuf>,
    /// With --tiles: the entry's index (default: found by reading the entry bundles).
    #[arg(long, value_name = "N", requires = "tiles")]
    pub index: Option<u64>,
    #[command(flatten)]
    pub tiles: crate::source::TilesArg,
    #[command(flatten)]
    pub witnesses: WitnessArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct CheckpointArgs {
    /// The log's verifier key (C2SP vkey), or a file holding it.
    #[arg(long, value_name = "VKEY")]
    pub vkey: String,
    /// The signed checkpoint (a note file, cosignatures included). Without it, --tiles: the
    /// mirror's `checkpoint` (`checkpoint.cosigned` with --witness).
    #[arg(value_name = "CHECKPOINT", required_unless_present = "tiles")]
    pub checkpoint: Option<PathBuf>,
    /// Also recompute the whole tree from this mirror of the log (every entry bundle and hash
    /// tile against the checkpoint's root; exit 3 where they differ).
    #[command(flatten)]
    pub tiles: crate::source::TilesArg,
    #[command(flatten)]
    pub witnesses: WitnessArgs,
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
    /// The newer signed checkpoint (without it, --tiles: the mirror's checkpoint).
    #[arg(value_name = "NEW_CHECKPOINT", required_unless_present = "tiles")]
    pub new: Option<PathBuf>,
    /// The proof: base64 hashes one per line, or the JSON of /v1/proofs/consistency (without
    /// it, --tiles: computed from the mirror's tiles).
    #[arg(value_name = "PROOF", required_unless_present = "tiles")]
    pub proof: Option<PathBuf>,
    #[command(flatten)]
    pub tiles: crate::source::TilesArg,
    /// Witnesses that must have cosigned the NEW checkpoint (the old one is covered by the
    /// proof).
    #[command(flatten)]
    pub witnesses: WitnessArgs,
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
    /// Accepted for compatibility and ignored: completeness is checked unless --offline.
    #[arg(long)]
    pub complete: bool,
    /// Check completeness against this ledger's tiles.
    #[arg(long, value_name = "URL", env = "PROV_SERVER")]
    pub server: Option<String>,
    /// Check completeness against a copy of the log's tiles (C2SP tlog-tiles layout:
    /// `checkpoint`, `tile/...`, `tile/entries/...`): a directory, an http(s):// static base,
    /// or an object store URL (s3://BUCKET/PREFIX, gs://, az://, file://), as `prov serve
    /// --publish` writes it.
    #[arg(long, value_name = "LOCATION", env = crate::source::TILES_ENV)]
    pub tiles: Option<String>,
    /// Do not check completeness: the verdict then covers only the opt-outs the bundle carries
    /// (exit 6 instead of 0).
    #[arg(long)]
    pub offline: bool,
    /// Fail (exit 7) when the horizon lags the checkpoint entry by more than this (`30d`, `12h`,
    /// `15m`, `3600s`), or when that lag is unknown.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_lag: Option<u64>,
    /// Accept a horizon of 0 (no opt-out can be below it) instead of failing it (exit 7).
    #[arg(long)]
    pub allow_vacuous: bool,
    /// Fail (exit 10) instead of concluding compliant (0 or 6) when a passage opt-out could not
    /// be checked: a trained-on dataset version has no passage tree. Without it that is a
    /// warning (the tree is publisher-declared: docs/threat-model.md).
    #[arg(long)]
    pub require_passages: bool,
    #[command(flatten)]
    pub checks: SiteCheckArgs,
    /// With --min-witnesses K: the bundle's checkpoint must be covered by, and consistent with,
    /// the log's latest checkpoint that K of these witnesses cosigned (`/checkpoint.cosigned`
    /// of --server, or `checkpoint.cosigned` in --tiles); exit 2 otherwise. Not with --offline.
    #[command(flatten)]
    pub witnesses: WitnessArgs,
    /// The bundle (JSON, from `prov proof compliance`).
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `30d`, `12h`, `15m`, `3600s` (or a bare number of seconds) as seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 30d, 12h, 15m or 3600s"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("{s:?}: the unit must be one of s, m, h, d, w")),
    };
    n.checked_mul(unit)
        .ok_or_else(|| format!("{s:?} is too long"))
}

pub fn run(cmd: &VerifyCmd) -> Outcome {
    match cmd {
        VerifyCmd::Inclusion(a) => report(a.json, inclusion(a)),
        VerifyCmd::Consistency(a) => report(a.json, consistency(a)),
        VerifyCmd::Checkpoint(a) => report(a.json, checkpoint(a)),
        VerifyCmd::SetInclusion(a) => report(a.json, set_proof(a, Membership::Included)),
        VerifyCmd::SetExclusion(a) => report(a.json, set_proof(a, Membership::Excluded)),
        VerifyCmd::Compliance(a) => compliance(a),
        VerifyCmd::TrainingSummary(a) => crate::cmd::report::verify::run(a),
        VerifyCmd::Provenance(a) => crate::cmd::export::provenance::verify(a),
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

fn checkpoint(a: &CheckpointArgs) -> Result<(String, Value), Failure> {
    let key = load_vkey(&a.vkey)?;
    let mirror = a
        .tiles
        .tiles
        .as_deref()
        .map(LogSource::mirror)
        .transpose()?;
    let (note, from) = match (&a.checkpoint, &mirror) {
        (Some(file), _) => (read_text(file)?, file.display().to_string()),
        (None, Some(m)) => (m.get_text(checkpoint_object(&a.witnesses))?, m.describe()),
        (None, None) => return Err(Failure::msg(Exit::Invalid, "no CHECKPOINT given")),
    };
    let cp =
        Checkpoint::verify(&note, &key).or_exit(Exit::Invalid, format!("checkpoint {from}"))?;
    let cos = witnessed(&note, &key, &a.witnesses)?;
    if let Some(m) = &mirror {
        let vc = crate::logread::VerifiedCheckpoint {
            checkpoint: cp.clone(),
            note: note.clone(),
        };
        crate::logread::check_tree(m, &vc)?;
    }
    let names: Vec<&str> = cos.iter().map(|c| c.witness.as_str()).collect();
    Ok((
        format!(
            "verified: {} at size {} (root {}){}",
            cp.origin,
            cp.size,
            cp.root.to_base64(),
            if a.witnesses.witnesses.is_empty() {
                String::new()
            } else {
                format!(
                    ", cosigned by {} of the listed witnesses ({})",
                    cos.len(),
                    names.join(", ")
                )
            }
        ),
        json!({
            "verified": true,
            "origin": cp.origin,
            "tree_size": cp.size.0,
            "root": cp.root.to_base64(),
            "cosignatures": cosignatures_json(&cos),
        }),
    ))
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

/// The mirror's checkpoint object: the cosigned one when witnesses are asked for.
fn checkpoint_object(w: &WitnessArgs) -> &'static str {
    if w.witnesses.is_empty() && w.min_witnesses == 0 {
        "checkpoint"
    } else {
        "checkpoint.cosigned"
    }
}

/// A tlog-proof of `entry` computed from a mirror: its checkpoint verified with `key`, the
/// entry's index given or found in the entry bundles, the audit path from the hash tiles.
fn proof_from_mirror(
    m: &LogSource,
    key: &VerifierKey,
    entry: &[u8],
    index: Option<u64>,
    w: &WitnessArgs,
) -> Result<TlogProof, Failure> {
    let note = m.get_text(checkpoint_object(w))?;
    let vc = crate::logread::verify_checkpoint(&note, key)?;
    let index = match index {
        Some(i) => LeafIndex(i),
        None => crate::logread::find_entry(m, vc.size(), entry)?.ok_or_else(|| {
            Failure::msg(
                Exit::Invalid,
                format!(
                    "no entry of {} (size {}) has these bytes",
                    m.describe(),
                    vc.size()
                ),
            )
        })?,
    };
    if index.0 >= vc.size().0 {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "--index {index} is beyond the checkpoint's size {}",
                vc.size()
            ),
        ));
    }
    let proof = crate::logread::Tiles::new(m, vc.size()).inclusion_proof(index)?;
    Ok(TlogProof {
        extra: None,
        index,
        proof,
        checkpoint: note,
    })
}

fn inclusion(a: &InclusionArgs) -> Result<(String, Value), Failure> {
    let key = load_vkey(&a.vkey)?;
    let entry = read_input(&a.entry)?;
    let proof = match (&a.proof, &a.tiles.tiles) {
        (Some(file), _) => TlogProof::parse(&read_text(file)?).or_exit(
            Exit::Invalid,
            format!("{} is not a tlog-proof", file.display()),
        )?,
        (None, Some(loc)) => proof_from_mirror(
            &LogSource::mirror(loc)?,
            &key,
            &entry,
            a.index,
            &a.witnesses,
        )?,
        (None, None) => return Err(Failure::msg(Exit::Invalid, "no PROOF given")),
    };
    let cp = proof
        .verify(&key, &entry)
        .or_exit(Exit::Invalid, "not verified")?;
    let cos = witnessed(&proof.checkpoint, &key, &a.witnesses)?;
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
            "cosignatures": cosignatures_json(&cos),
        }),
    ))
}

fn consistency(a: &ConsistencyArgs) -> Result<(String, Value), Failure> {
    let key = load_vkey(&a.vkey)?;
    let old = Checkpoint::verify(&read_text(&a.old)?, &key)
        .or_exit(Exit::Invalid, format!("old checkpoint {}", a.old.display()))?;
    let mirror = a
        .tiles
        .tiles
        .as_deref()
        .map(LogSource::mirror)
        .transpose()?;
    let (new_note, from) = match (&a.new, &mirror) {
        (Some(file), _) => (read_text(file)?, file.display().to_string()),
        (None, Some(m)) => (m.get_text(checkpoint_object(&a.witnesses))?, m.describe()),
        (None, None) => return Err(Failure::msg(Exit::Invalid, "no NEW_CHECKPOINT given")),
    };
    let new = Checkpoint::verify(&new_note, &key)
        .or_exit(Exit::Invalid, format!("new checkpoint {from}"))?;
    let cos = witnessed(&new_note, &key, &a.witnesses)?;
    let hashes = match (&a.proof, &mirror) {
        (Some(file), _) => consistency_proof::parse(&read_input(file)?).or_exit(
            Exit::Invalid,
            format!("{} is not a consistency proof", file.display()),
        )?,
        (None, Some(m)) if old.size.0 <= new.size.0 => {
            crate::logread::Tiles::new(m, new.size).consistency_proof(old.size)?
        }
        (None, Some(_)) => {
            return Err(Failure::msg(
                Exit::Invalid,
                format!(
                    "the old checkpoint (size {}) is larger than the mirror's ({})",
                    old.size, new.size
                ),
            ))
        }
        (None, None) => return Err(Failure::msg(Exit::Invalid, "no PROOF given")),
    };
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
            "cosignatures": cosignatures_json(&cos),
        }),
    ))
}

fn set_proof(a: &SetArgs, want: Membership) -> Result<(String, Value), Failure> {
    let root = Digest::from_hex(&a.set_root).or_exit(Exit::Invalid, "--set-root")?;
    let id: ContentId = a.id.parse().or_exit(Exit::Invalid, "--id")?;
    let value: Value = serde_json::from_slice(&read_input(&a.proof)?)
        .or_exit(Exit::Invalid, format!("{} is not JSON", a.proof.display()))?;
    let proof = parse_membership_proof_json(value).or_exit(
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
    if got == Membership::Excluded {
        // Inclusion holds for any tree; exclusion only for one whose leaves are sorted, which no
        // proof can show (docs/threat-model.md): the root must come from somewhere that checked.
        crate::exit::warn(
            "an exclusion proof holds only if the set's leaves are sorted: take --set-root from \
             an entry proven in the log (the log stores and checks every set an entry names; \
             `prov audit` re-checks them)",
        );
    }
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

/// Where the completeness check reads the log's tiles from.
pub enum Tiles {
    Server(Client, String),
    Dir(PathBuf),
    /// A static mirror (an http(s) base, an object store URL; crate::source).
    Mirror(LogSource),
}

impl Tiles {
    fn describe(&self) -> String {
        match self {
            Tiles::Server(_, url) => format!("the tiles of {url}"),
            Tiles::Dir(d) => format!("the tiles in {}", d.display()),
            Tiles::Mirror(m) => m.describe(),
        }
    }

    /// The tile at `path`. A local copy made at a larger tree may hold a tile in full (or wider)
    /// where the bundle's tree has it partial: that copy is returned, and the caller keeps the
    /// first entries or hashes (each is checked against the bundle's checkpoint anyway).
    fn get(&self, path: &str) -> Result<Vec<u8>, Failure> {
        match self {
            Tiles::Server(c, _) => c.get_bytes(path),
            Tiles::Mirror(m) => m.get_tile(path),
            Tiles::Dir(dir) => {
                let read = |p: &Path| std::fs::read(p);
                match read(&dir.join(path)) {
                    Ok(b) => return Ok(b),
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(Failure::new(Exit::Local, e)
                            .with_context(&format!("reading {}", dir.join(path).display())))
                    }
                    Err(_) => {}
                }
                if let Some((full, _)) = path.split_once(".p/") {
                    if let Ok(b) = read(&dir.join(full)) {
                        return Ok(b);
                    }
                    // Any wider partial tile of the same index.
                    let want: u16 = path
                        .rsplit('/')
                        .next()
                        .and_then(|w| w.parse().ok())
                        .unwrap_or(u16::MAX);
                    if let Ok(rd) = std::fs::read_dir(dir.join(format!("{full}.p"))) {
                        let mut widths: Vec<u16> = rd
                            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                            .filter(|w| *w >= want)
                            .collect();
                        widths.sort_unstable();
                        if let Some(w) = widths.first() {
                            return std::fs::read(dir.join(format!("{full}.p/{w}")))
                                .or_exit(Exit::Local, format!("reading {full}.p/{w}"));
                        }
                    }
                }
                Err(Failure::msg(
                    Exit::Invalid,
                    format!(
                        "{} has no {path}: the copy does not cover the bundle's checkpoint",
                        dir.display()
                    ),
                ))
            }
        }
    }
}

/// What the completeness check found.
struct Completeness {
    missing: Vec<u64>,
    /// The `time` of the entry at `horizon - 1`, read from the tiles.
    horizon_time: Option<u64>,
}

/// Flags of the site-control check (docs/sites.md).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SiteCheckArgs {
    /// Read each site's keys from URL/<host>/.well-known/prov-ledger-keys instead of
    /// https://<host>/.well-known/prov-ledger-keys (tests, mirrors).
    #[arg(long, value_name = "URL")]
    pub site_keys_base: Option<String>,
}

/// What `prov verify compliance` concludes from a bundle.
pub struct Evaluation {
    pub report: BundleReport,
    pub model: ModelSummary,
    pub conclusion: Conclusion,
    pub exit: Exit,
    /// The conclusion in one line.
    pub line: String,
    /// Opt-outs below the horizon the bundle leaves out (`None`: not checked).
    pub missing: Option<Vec<u64>>,
    pub lag_seconds: Option<u64>,
    pub lag_entries: u64,
    /// Where completeness was read from.
    pub completeness_source: Option<String>,
    /// What the verifier learnt of each site opt-out's control.
    pub site_rows: Vec<SiteControlRow>,
    /// Site violations whose control is verified: they count.
    pub binding_sites: u64,
    /// Site violations whose control is not verified (offline, unreachable).
    pub unverified_sites: u64,
}

impl Evaluation {
    pub fn complete(&self) -> Option<bool> {
        self.missing.as_ref().map(Vec::is_empty)
    }
}

fn compliance(a: &ComplianceArgs) -> Outcome {
    let key = load_vkey(&a.vkey)?;
    if a.offline && (a.tiles.is_some() || a.complete) {
        return Err(Failure::msg(
            Exit::Invalid,
            "--offline skips the completeness check that --tiles and --complete ask for",
        ));
    }
    let tiles = if a.offline {
        None
    } else if let Some(loc) = &a.tiles {
        Some(match LogSource::mirror(loc)? {
            LogSource::Dir(dir) => Tiles::Dir(dir),
            mirror => Tiles::Mirror(mirror),
        })
    } else if let Some(url) = &a.server {
        Some(Tiles::Server(Client::new(url)?, url.clone()))
    } else {
        return Err(Failure::msg(
            Exit::Invalid,
            "completeness is checked against the log's tiles: pass --server URL or --tiles DIR, \
             or --offline to skip the check (the verdict then says so, exit 6)",
        ));
    };
    if a.witnesses.min_witnesses > 0 {
        let read =
            || match &tiles {
                Some(t) => String::from_utf8(t.get("checkpoint.cosigned").map_err(|f| {
                    f.with_context("--min-witnesses: the log's checkpoint.cosigned")
                })?)
                .or_exit(Exit::Invalid, "checkpoint.cosigned is not UTF-8"),
                None => Err(Failure::msg(
                    Exit::Invalid,
                    "--min-witnesses needs the log (--server or --tiles), not --offline",
                )),
            };
        crate::witnessed::anchor_to_cosigned(read, &key, &a.witnesses)?;
    }
    let bundle: ComplianceBundle = serde_json::from_slice(&read_input(&a.bundle)?).or_exit(
        Exit::Invalid,
        format!("{} is not a compliance bundle", a.bundle.display()),
    )?;
    let policy = Policy {
        max_lag_seconds: a.max_lag,
        allow_vacuous: a.allow_vacuous,
    };
    let sites = if a.offline {
        SiteCheck::Offline
    } else {
        SiteCheck::Online(a.checks.site_keys_base.clone())
    };
    let ev = match evaluate(&bundle, &key, tiles.as_ref(), &policy, &sites) {
        Ok(ev) => ev,
        Err(f) => {
            if a.json && f.exit == Exit::Invalid {
                say_json(&json!({"verified": false, "error": format!("{:#}", f.error)}))?;
            }
            return Err(f);
        }
    };
    let model = &ev.model;
    let report = &ev.report;
    let unchecked = report.passages_unchecked.len();
    let (exit, line) = match ev.exit {
        Exit::Ok | Exit::NotChecked if a.require_passages && unchecked > 0 => (
            Exit::PassagesUnchecked,
            format!(
                "passages unchecked: {unchecked} (passage opt-out, dataset version) pair(s) \
                 cannot be checked, the version has no passage tree (--require-passages)"
            ),
        ),
        e => (e, ev.line.clone()),
    };
    let (missing, lag_seconds, lag_entries) = (ev.missing.clone(), ev.lag_seconds, ev.lag_entries);
    let complete = ev.complete();

    if a.json {
        say_json(&json!({
            "verified": exit == Exit::Ok,
            "conclusion": ev.conclusion,
            "exit": exit as u8,
            "model_checkpoint": model.label,
            "index": model.index,
            "optout_horizon": model.horizon,
            "horizon": model.horizon,
            "optouts_checked": bundle.optouts.len(),
            "verdict": report.verdict,
            "site_control": ev.site_rows,
            "sites_unproven": report.sites_unproven,
            "passage_violations": report.passage_violations,
            "passages_unchecked": report.passages_unchecked,
            "complete": complete,
            "completeness_source": ev.completeness_source,
            "missing_optouts": missing,
            "vacuous": report.vacuous(),
            "lag_entries": lag_entries,
            "lag_seconds": lag_seconds,
            "max_lag_seconds": a.max_lag,
        }))?;
    } else {
        say(format!(
            "model checkpoint {} (index {}), opt-out horizon {}: {} opt-out entries checked",
            model.label,
            model.index,
            model.horizon,
            bundle.optouts.len()
        ))?;
        say(format!(
            "horizon lag: {lag_entries} entries and {} between the horizon and the checkpoint \
             entry (opt-outs logged there are not covered)",
            match lag_seconds {
                Some(s) => human(s),
                None if report.vacuous() => "no time (nothing is below the horizon)".into(),
                None =>
                    "an unknown time (the bundle does not carry the entry below the horizon)".into(),
            }
        ))?;
        match (&missing, &ev.completeness_source) {
            (Some(m), Some(src)) if m.is_empty() => say(format!(
                "complete: every opt-out below {} is in the bundle (read from {src})",
                model.horizon,
            ))?,
            (None, _) => say("completeness: not checked (--offline): an opt-out the bundle leaves out would not be seen")?,
            _ => {}
        }
        say(&line)?;
        if let Verdict::Violated {
            violations,
            site_violations,
        } = &report.verdict
        {
            for v in violations {
                say(format!(
                    "  opt-out at index {} names {}, which is in {}",
                    v.optout_index, v.cid, v.dataset
                ))?;
            }
            for v in site_violations {
                let control = ev
                    .site_rows
                    .iter()
                    .find(|r| r.optout_index == v.optout_index.0 && r.site == v.site.as_str())
                    .map(|r| r.control.describe())
                    .unwrap_or_else(|| "unverified".to_string());
                say(format!(
                    "  site opt-out at index {} names {}: {} item(s) in {} ({control})",
                    v.optout_index, v.site, v.count, v.dataset
                ))?;
                for c in &v.cids {
                    say(format!("    {c}"))?;
                }
                if (v.cids.len() as u64) < v.count {
                    say(format!(
                        "    (the proof reveals {} content id(s); the count of {} is proven)",
                        v.cids.len(),
                        v.count
                    ))?;
                }
            }
        }
        for v in &report.passage_violations {
            say(format!(
                "  passage opt-out at index {} (work {}): passage {} is in {}, {} item(s)",
                v.optout_index, v.work, v.passage, v.dataset, v.count
            ))?;
            for c in &v.items {
                say(format!("    {c}"))?;
            }
            if (v.items.len() as u64) < v.count {
                say(format!(
                    "    (the proof reveals {} item(s); the count of {} is proven)",
                    v.items.len(),
                    v.count
                ))?;
            }
        }
        for u in &report.sites_unproven {
            say(format!(
                "  undecided: the opt-out at index {} names {}, and {} has no source tree",
                u.optout_index, u.site, u.dataset
            ))?;
        }
        for u in &report.passages_unchecked {
            say(format!(
                "  unchecked: the opt-out at index {} names passages, and {} has no passage tree",
                u.optout_index, u.dataset
            ))?;
        }
    }
    if unchecked > 0 && exit != Exit::PassagesUnchecked {
        crate::exit::warn(format!(
            "{unchecked} (passage opt-out, dataset version) pair(s) not checked: the version has \
             no passage tree, so only exact copies of the opted-out works are covered there \
             (--require-passages makes this exit 10)"
        ));
    }
    for r in &ev.site_rows {
        if let sitekeys::Control::NotAuthorised { .. } = r.control {
            crate::exit::warn(format!(
                "ignored: the opt-out at index {} names {}, which is not authorised: {}",
                r.optout_index,
                r.site,
                r.control.describe()
            ));
        }
    }
    match exit {
        Exit::Negative => {
            if let Some(m) = missing.as_ref().filter(|m| !m.is_empty()) {
                crate::exit::warn(format!(
                    "the bundle also leaves out opt-outs at indexes {m:?}"
                ));
            }
            Ok(exit)
        }
        Exit::Invalid => Err(Failure::msg(
            Exit::Invalid,
            format!(
                "the bundle is incomplete: it leaves out the opt-out entries at indexes {:?}, below the horizon {}",
                missing.unwrap_or_default(),
                model.horizon
            ),
        )),
        Exit::Policy => Err(Failure::msg(Exit::Policy, line)),
        other => Ok(other),
    }
}

/// Where the site-control check reads sites' keys (docs/sites.md).
pub enum SiteCheck {
    /// Nothing is fetched: every site opt-out is unverified.
    Offline,
    /// `https://<host>/.well-known/prov-ledger-keys`, or `BASE/<host>/...` with a base.
    Online(Option<String>),
}

/// What the site-control check found for one (site opt-out, site).
#[derive(Clone, Debug, serde::Serialize)]
pub struct SiteControlRow {
    pub optout_index: u64,
    pub site: String,
    /// The opt-out's signer, standard base64.
    pub signer: String,
    #[serde(flatten)]
    pub control: sitekeys::Control,
}

/// Asks each site whether it lists each site opt-out's signer.
fn site_control(report: &BundleReport, check: &SiteCheck) -> (SiteControl, Vec<SiteControlRow>) {
    let mut ctl = SiteControl::offline();
    let mut rows = Vec::new();
    let mut keys = match check {
        SiteCheck::Offline => None,
        SiteCheck::Online(base) => Some(sitekeys::SiteKeys::new(base.as_deref())),
    };
    for o in &report.site_optouts {
        for site in &o.sites {
            let found = match keys.as_mut() {
                None => sitekeys::Control::Unchecked {
                    reason: "offline".to_string(),
                },
                Some(k) => k.check(site.as_str(), &o.signer.to_bytes()),
            };
            let c = match &found {
                sitekeys::Control::Verified { .. } => Control::Verified,
                sitekeys::Control::NotAuthorised { .. } => Control::NotAuthorised,
                _ => Control::Unknown,
            };
            ctl.set(site, &o.signer, c);
            rows.push(SiteControlRow {
                optout_index: o.optout_index.0,
                site: site.to_string(),
                signer: base64::engine::general_purpose::STANDARD.encode(o.signer.as_bytes()),
                control: found,
            });
        }
    }
    (ctl, rows)
}

/// Verifies a bundle and reaches its conclusion: its proofs, the site-control check, completeness
/// against `tiles` (`None`: offline), the horizon lag and `policy`.
pub fn evaluate(
    bundle: &ComplianceBundle,
    key: &VerifierKey,
    tiles: Option<&Tiles>,
    policy: &Policy,
    sites: &SiteCheck,
) -> Result<Evaluation, Failure> {
    let report = verify_bundle_report(bundle, key)
        .map_err(|e| Failure::new(Exit::Invalid, e).with_context("the bundle does not verify"))?;
    let model = model_summary(bundle)?;
    let (control, site_rows) = site_control(&report, sites);
    let (ids, site_violations): (&[_], &[SiteViolation]) = match &report.verdict {
        Verdict::Violated {
            violations,
            site_violations,
        } => (violations, site_violations),
        Verdict::Compliant => (&[], &[]),
    };
    let binding: Vec<&SiteViolation> = site_violations
        .iter()
        .filter(|v| control.get(&v.site, &v.signer) == Control::Verified)
        .collect();
    let violated = !ids.is_empty() || !binding.is_empty() || !report.passage_violations.is_empty();
    if let (Some(t), Some(_)) = (tiles, crate::witnessed::anchor()) {
        // The bundle's checkpoint must be one the witnesses vouch for: a split view otherwise.
        let cp = Checkpoint::verify(&bundle.checkpoint, key)
            .or_exit(Exit::Invalid, "the bundle's checkpoint")?;
        crate::witnessed::linked_to_anchor(&cp, &|p| t.get(p))?;
    }
    let found = match tiles {
        Some(t) => match completeness(bundle, &report, key, t) {
            Ok(f) => Some(f),
            // A verified violation stands on the bundle alone: a log that cannot be read does
            // not hide it.
            Err(f) if violated => {
                crate::exit::warn(format!("completeness not checked: {:#}", f.error));
                None
            }
            Err(f) => return Err(f),
        },
        None => None,
    };
    let missing = found.as_ref().map(|f| f.missing.clone());
    let horizon_time = found
        .as_ref()
        .and_then(|f| f.horizon_time)
        .or(report.horizon_time);
    let lag_seconds = report.lag_seconds(horizon_time);
    let lag_entries = report.lag_entries();
    let complete = missing.as_ref().map(Vec::is_empty);

    // The conclusion, most serious first (one function for the CLI and the explorer).
    let conclusion = report.conclude(complete, lag_seconds, policy, &control);
    let vacuous = if report.vacuous() {
        " (vacuous: the horizon is 0, no opt-out was checked)"
    } else {
        ""
    };
    let unverified = site_violations
        .iter()
        .filter(|v| control.get(&v.site, &v.signer) == Control::Unknown)
        .count();
    let (exit, line) = match conclusion {
        Conclusion::Violated => (
            Exit::Negative,
            format!(
                "VIOLATION: {} opted-out id(s), {} opted-out site(s) and {} opted-out passage(s) \
                 trained on",
                ids.len(),
                binding.len(),
                report.passage_violations.len()
            ),
        ),
        Conclusion::Incomplete => (
            Exit::Invalid,
            "the bundle's proofs verify, but it is incomplete".to_string(),
        ),
        Conclusion::SiteUnverified => (
            Exit::SiteUnverified,
            format!(
                "site unverified: {unverified} site opt-out(s) with items in the training data, \
                 whose requester's control of the site is not verified (not a violation until \
                 it is: docs/sites.md)"
            ),
        ),
        Conclusion::SitesUnproven => (
            Exit::SitesUnproven,
            "sites unproven: opted-out sites cannot be decided in dataset versions without a \
             source tree"
                .to_string(),
        ),
        Conclusion::Vacuous => (
            Exit::Policy,
            "vacuous: the horizon is 0, no opt-out was checked".to_string(),
        ),
        Conclusion::LagExceeded => {
            let what = match lag_seconds {
                Some(lag) => format!("the horizon lags the checkpoint by {}", human(lag)),
                None => "the horizon lag in time is unknown".to_string(),
            };
            (
                Exit::Policy,
                format!(
                    "policy failure: {what}, more than --max-lag {}",
                    human(policy.max_lag_seconds.unwrap_or_default())
                ),
            )
        }
        Conclusion::NotChecked => (
            Exit::NotChecked,
            format!("verified: compliant (not checked for completeness){vacuous}"),
        ),
        Conclusion::Compliant => (Exit::Ok, format!("verified: compliant{vacuous}")),
    };
    let binding_sites = binding.len() as u64;
    let unverified_sites = unverified as u64;
    Ok(Evaluation {
        report,
        model,
        conclusion,
        exit,
        line,
        missing,
        lag_seconds,
        lag_entries,
        completeness_source: tiles.map(Tiles::describe),
        site_rows,
        binding_sites,
        unverified_sites,
    })
}

/// The compliance figures of a training summary: the bundle of model checkpoint entry `index`
/// fetched from `client`, verified, checked for completeness against the same server's tiles,
/// sites checked online.
pub fn compliance_figures(
    client: &Client,
    key: &VerifierKey,
    index: u64,
    checks: &SiteCheckArgs,
) -> Result<crate::cmd::report::ComplianceFigures, Failure> {
    let path = format!("/v1/compliance/{index}");
    let bundle: ComplianceBundle = serde_json::from_slice(&client.get_bytes(&path)?)
        .or_exit(Exit::Server, format!("GET {path}: not a compliance bundle"))?;
    let tiles = Tiles::Server(Client::new(client.base())?, client.base().to_string());
    compliance_figures_of(&bundle, key, index, checks, &tiles, &format!("GET {path}"))
}

/// [`compliance_figures`] of a bundle at hand (`from`: where it came from, in words), its
/// completeness checked against `tiles` (the service's, or a static mirror's).
pub fn compliance_figures_of(
    bundle: &ComplianceBundle,
    key: &VerifierKey,
    index: u64,
    checks: &SiteCheckArgs,
    tiles: &Tiles,
    from: &str,
) -> Result<crate::cmd::report::ComplianceFigures, Failure> {
    let sites = SiteCheck::Online(checks.site_keys_base.clone());
    let ev = evaluate(bundle, key, Some(tiles), &Policy::default(), &sites)?;
    if ev.model.index != index {
        return Err(Failure::msg(
            Exit::Invalid,
            format!("{from} is the bundle of entry {}", ev.model.index),
        ));
    }
    let violations = match &ev.report.verdict {
        Verdict::Violated { violations, .. } => violations.len() as u64,
        Verdict::Compliant => 0,
    };
    Ok(crate::cmd::report::ComplianceFigures {
        conclusion: serde_json::to_value(ev.conclusion)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        exit: ev.exit as u8,
        entry_index: index,
        optouts_checked: bundle.optouts.len() as u64,
        violations,
        site_violations: ev.binding_sites,
        site_violations_unverified: ev.unverified_sites,
        sites_unproven: ev.report.sites_unproven.len() as u64,
        complete: ev.complete(),
        lag_entries: ev.lag_entries,
        lag_seconds: ev.lag_seconds,
    })
}

/// Seconds as a short human duration (`3d 4h`, `12m 5s`).
fn human(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    let text = match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    };
    format!("{text} ({secs} s)")
}

pub struct ModelSummary {
    pub label: String,
    pub index: u64,
    pub horizon: u64,
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
/// read from the log's entry tiles, and the time of the entry just below the horizon. Every
/// entry read is checked against the bundle's own (verified) checkpoint through an inclusion
/// proof computed from the hash tiles, so whoever serves the tiles cannot hide an opt-out.
fn completeness(
    bundle: &ComplianceBundle,
    report: &BundleReport,
    key: &VerifierKey,
    source: &Tiles,
) -> Result<Completeness, Failure> {
    let cp = Checkpoint::verify(&bundle.checkpoint, key)
        .or_exit(Exit::Invalid, "the bundle's checkpoint")?;
    let horizon = report.horizon;
    let have: &BTreeSet<LeafIndex> = &report.optout_indices;
    let size = cp.size;
    if horizon > size.0 {
        return Err(Failure::msg(
            Exit::Invalid,
            format!("horizon {horizon} is beyond the checkpoint's size {size}"),
        ));
    }
    let mut tiles = TileHashReader::new();
    let mut missing = Vec::new();
    let mut horizon_time = None;
    let width = u64::from(ledger::tile::TILE_WIDTH);
    for n in 0..horizon.div_ceil(width) {
        let w = (size.0 - n * width).min(width) as u16;
        let id = EntryBundleId::new(n, w).or_exit(Exit::Invalid, "entry bundle")?;
        let data = source.get(&id.path())?;
        let mut entries = decode_entry_bundle(&data).or_exit(
            Exit::Server,
            format!("{}: {}", source.describe(), id.path()),
        )?;
        if entries.len() < usize::from(w) {
            return Err(Failure::msg(
                Exit::Server,
                format!(
                    "{}: {} has {} entries, want {w}",
                    source.describe(),
                    id.path(),
                    entries.len()
                ),
            ));
        }
        entries.truncate(usize::from(w));
        for (j, e) in entries.iter().enumerate() {
            let i = n * width + j as u64;
            if i >= horizon {
                break;
            }
            let proof = proof_from_tiles(&mut tiles, source, size, LeafIndex(i))?;
            verify_inclusion::<Sha256Log>(&leaf_hash(e), LeafIndex(i), size, &proof, &cp.root)
                .or_exit(
                    Exit::Server,
                    format!(
                        "{}: entry {i} is not the one the checkpoint commits to",
                        source.describe()
                    ),
                )?;
            if is_optout(e) && !have.contains(&LeafIndex(i)) {
                missing.push(i);
            }
            if i + 1 == horizon {
                horizon_time = entry_time(e);
            }
        }
    }
    Ok(Completeness {
        missing,
        horizon_time,
    })
}

/// The audit path of `index` in the tree of `size`, fetching hash tiles as they are needed.
fn proof_from_tiles(
    tiles: &mut TileHashReader,
    source: &Tiles,
    size: TreeSize,
    index: LeafIndex,
) -> Result<Vec<Digest>, Failure> {
    // Each round fetches one missing tile; a proof needs at most a few per level.
    for _ in 0..256 {
        match ledger::tree::inclusion_proof(size, index, &*tiles) {
            Ok(p) => return Ok(p),
            Err(TreeError::MissingHash { index: h }) => {
                let t = tile_for_stored_hash(size, h).or_exit(Exit::Invalid, "tile")?;
                let mut data = source.get(&t.path())?;
                // A wider copy of a partial tile (see `Tiles::get`): its first hashes.
                data.truncate(usize::from(t.width) * 32);
                tiles
                    .insert(t, &data)
                    .or_exit(Exit::Server, format!("{}: {}", source.describe(), t.path()))?;
            }
            Err(e) => return Err(Failure::new(Exit::Invalid, e)),
        }
    }
    Err(Failure::msg(
        Exit::Server,
        format!("{} never gave a proof of entry {index}", source.describe()),
    ))
}

/// An entry's `time` (read without trusting anything else in it; the entry itself is checked
/// against the checkpoint).
fn entry_time(entry: &[u8]) -> Option<u64> {
    serde_json::from_slice::<Value>(entry)
        .ok()?
        .get("time")?
        .as_u64()
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
