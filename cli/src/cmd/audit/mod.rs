//! `prov audit --vkey V [--server URL] [--state FILE] [--json]`: a monitor anyone can run
//! against a ledger with nothing but its verifier key. It re-checks what the log accepted and
//! reports each breach with its evidence:
//!
//! 1. the latest checkpoint verifies with the key, and is consistent with the one the previous
//!    run saw (a consistency proof from the hash tiles, verified against both signed
//!    checkpoints); otherwise: **history rewritten**, with both checkpoints;
//! 2. every entry not yet audited is read from the entry bundles (`tile/entries/...`), and the
//!    tree root recomputed from them must be the checkpoint's (the tiles are what readers rely
//!    on); otherwise: **tree mismatch**;
//! 3. each entry decodes and verifies (signature, canonical form), names only sets the server
//!    holds, whose stored leaves are strictly increasing, hash to the root and are as many as
//!    the entry says, and passes the sequencer's cross-entry rules, replayed with the ledger's
//!    own rule code (`replay.rs`).
//!
//! Resumable: the state file (`state.rs`) keeps the last checkpoint audited, the right edge of
//! its tree, the replayed index and the sets already read, so a later run reads only the new
//! entries and the sets no earlier entry named. Progress goes to stderr, the report to stdout.
//!
//! With `--corpus PATH --dataset P/D@V` it audits one dataset version against the corpus it
//! claims to be instead (`corpus.rs`): the corpus is hashed again and the manifest root, source
//! tree and passage tree the entry commits are recomputed; each difference is a breach.
//!
//! Exit codes: 0 no breach; 1 breaches found (a verified negative answer); 2 bad input (the
//! vkey, a checkpoint that does not verify with it, a state file of another log); 3 the server
//! unreachable or failing; 5 the state file cannot be written.

mod corpus;
mod replay;
mod sets;
mod state;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;

use base64::Engine as _;
use ledger::store::index::Rejection;
use ledger::store::Record;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use verifier::entry::{Entry, EntryBody};
use verifier::tile::TILE_WIDTH;
use verifier::{leaf_hash, verify_consistency, Digest, LeafIndex, Sha256Log, TlogProof};

use crate::client::DEFAULT_SERVER;
use crate::cmd::verify::load_vkey;
use crate::exit::{say, say_json, Exit, Failure, Outcome};
use crate::logread::{self, VerifiedCheckpoint};
use crate::source::LogSource;

use replay::Replay;
use sets::{NamedSet, SetOutcome, VerifiedSets};
use state::State;

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The log's verifier key (C2SP vkey), or a file holding it.
    #[arg(long, value_name = "VKEY")]
    pub vkey: String,
    /// The ledger to audit.
    #[arg(long, value_name = "URL", default_value = DEFAULT_SERVER, env = "PROV_SERVER")]
    pub server: String,
    /// Where the audit keeps what it has verified, to resume from it next time (created if
    /// missing).
    #[arg(long, value_name = "FILE", default_value = "prov-audit.json")]
    pub state: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// With --witness keys: audit the latest checkpoint the log's witnesses cosigned
    /// (`/checkpoint.cosigned`) instead of `/checkpoint`, and report its valid cosignatures;
    /// with --min-witnesses K, fewer than K of them is bad input (exit 2).
    #[command(flatten)]
    pub witnesses: crate::witnessed::WitnessArgs,
    #[command(flatten)]
    pub corpus: corpus::CorpusAuditArgs,
    /// Audit a static mirror of the log (`prov serve --publish`) instead of --server.
    #[command(flatten)]
    pub tiles: crate::source::TilesArg,
}

/// What kind of breach: how the log failed what it promises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreachKind {
    /// The latest checkpoint is not consistent with one the log signed before.
    HistoryRewritten,
    /// The entries the log serves do not hash to its signed root.
    TreeMismatch,
    /// A logged entry does not decode or its signature does not verify.
    InvalidEntry,
    /// A logged entry breaks a cross-entry acceptance rule (replay, publisher key, ...).
    RuleViolated,
    /// A logged entry names a set the server does not have.
    SetNotAvailable,
    /// A named set's stored leaves are not strictly increasing.
    SetNotSorted,
    /// A named set's stored leaves do not hash to its root.
    SetRootMismatch,
    /// A named set has another size than the entry says.
    SetSizeMismatch,
    /// `--corpus`: the corpus hashes to another manifest root (or item count) than the dataset
    /// version commits.
    CorpusManifestMismatch,
    /// `--corpus`: the corpus's metadata gives another source tree than the version commits.
    CorpusSourcesMismatch,
    /// `--corpus`: the corpus gives another passage tree than the version commits (the
    /// publisher-declared tree hides passages the corpus holds, or claims others).
    CorpusPassagesMismatch,
}

impl BreachKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BreachKind::HistoryRewritten => "history_rewritten",
            BreachKind::TreeMismatch => "tree_mismatch",
            BreachKind::InvalidEntry => "invalid_entry",
            BreachKind::RuleViolated => "rule_violated",
            BreachKind::SetNotAvailable => "set_not_available",
            BreachKind::SetNotSorted => "set_not_sorted",
            BreachKind::SetRootMismatch => "set_root_mismatch",
            BreachKind::SetSizeMismatch => "set_size_mismatch",
            BreachKind::CorpusManifestMismatch => "corpus_manifest_mismatch",
            BreachKind::CorpusSourcesMismatch => "corpus_sources_mismatch",
            BreachKind::CorpusPassagesMismatch => "corpus_passages_mismatch",
        }
    }
}

/// One breach and its evidence: for an entry, its bytes and a tlog-proof that the log signed it
/// (`prov verify inclusion` checks it with the vkey alone).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Breach {
    pub kind: BreachKind,
    /// The entry's index, for a breach about one entry.
    pub index: Option<u64>,
    pub detail: String,
    pub evidence: Value,
}

pub fn run(a: &AuditArgs) -> Outcome {
    // A read the server refuses (a 4xx on a tile it must have) is the server failing, not a
    // request of ours it may refuse: exit 3 like any other unusable answer.
    if a.corpus.selected() {
        return corpus::run(a);
    }
    audit(a).map_err(|f| match f.exit {
        Exit::Refused => Failure {
            exit: Exit::Server,
            error: f.error,
        },
        _ => f,
    })
}

fn audit(a: &AuditArgs) -> Outcome {
    let key = load_vkey(&a.vkey)?;
    let vkey_text = key.to_string();
    let client = LogSource::mirror_or_service(a.tiles.tiles.as_deref(), &a.server)?;
    let mut state = match State::load(&a.state)? {
        Some(s) if s.vkey != vkey_text => {
            return Err(Failure::msg(
                Exit::Invalid,
                format!(
                    "--state {} belongs to the log of {}, not to --vkey {vkey_text}",
                    a.state.display(),
                    s.vkey
                ),
            ))
        }
        Some(s) => s,
        None => State::new(&vkey_text),
    };
    let w = &a.witnesses;
    let (latest, cosigned) = if w.witnesses.is_empty() && w.min_witnesses == 0 {
        (logread::latest_checkpoint(&client, &key)?, None)
    } else {
        let note = client.get_text("/checkpoint.cosigned")?;
        let latest = logread::verify_checkpoint(&note, &key)?;
        let cos = crate::witnessed::witnessed(&note, &key, w)?;
        (latest, Some(cos))
    };
    let previous = match &state.checkpoint {
        None => None,
        Some(note) => Some(logread::verify_checkpoint(note, &key).map_err(|f| {
            Failure::new(
                Exit::Invalid,
                f.error
                    .context(format!("--state {}: its checkpoint", a.state.display())),
            )
        })?),
    };
    let audited_before = previous.as_ref().map_or(0, |p| p.size().0);
    if state.audited != audited_before {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "--state {} is damaged: {} entries audited but its checkpoint has {audited_before}",
                a.state.display(),
                state.audited
            ),
        ));
    }

    if let Some(prev) = &previous {
        if let Some(b) = history_breach(&client, prev, &latest)? {
            // The saved state stays as it is: the breach is reported again until someone looks.
            let report = Report {
                latest: &latest,
                cosigned: cosigned.as_deref(),
                from: state.audited,
                audited: 0,
                sets_read: 0,
                earlier: &state.breaches,
                new: std::slice::from_ref(&b),
            };
            return report.print(a.json);
        }
    }

    let run = audit_entries(&client, &mut state, &latest)?;
    let mut new = run.breaches;
    if run.root != latest.checkpoint.root {
        // The entries are not the ones the checkpoint commits to: nothing read from them is
        // evidence of anything, so their findings are dropped and the state is not advanced.
        let b = Breach {
            kind: BreachKind::TreeMismatch,
            index: None,
            detail: format!(
                "the entries served for {} to {} hash to root {}, not to the signed checkpoint's {}",
                state.audited,
                latest.size(),
                run.root.to_base64(),
                latest.checkpoint.root.to_base64()
            ),
            evidence: json!({
                "checkpoint": latest.note,
                "computed_root": run.root.to_base64(),
                "from": state.audited,
            }),
        };
        let report = Report {
            latest: &latest,
            cosigned: cosigned.as_deref(),
            from: state.audited,
            audited: 0,
            sets_read: run.sets_read,
            earlier: &state.breaches,
            new: std::slice::from_ref(&b),
        };
        return report.print(a.json);
    }

    // Evidence: a tlog-proof of each breaching entry in the checkpoint just verified.
    let mut tiles = logread::Tiles::new(&client, latest.size());
    for b in &mut new {
        if let (Some(i), Value::Object(ev)) = (b.index, &mut b.evidence) {
            let proof = TlogProof {
                extra: None,
                index: LeafIndex(i),
                proof: tiles.inclusion_proof(LeafIndex(i))?,
                checkpoint: latest.note.clone(),
            };
            ev.insert("tlog_proof".into(), Value::String(proof.to_text()));
        }
    }

    let from = state.audited;
    let earlier = std::mem::take(&mut state.breaches);
    state.checkpoint = Some(latest.note.clone());
    state.audited = latest.size().0;
    state.edge = run
        .edge_hashes
        .iter()
        .map(ledger::Digest::to_base64)
        .collect();
    state.set_index_records(&run.index_records);
    state.breaches = earlier.iter().chain(&new).cloned().collect();
    state.save(&a.state)?;
    let report = Report {
        latest: &latest,
        cosigned: cosigned.as_deref(),
        from,
        audited: latest.size().0 - from,
        sets_read: run.sets_read,
        earlier: &earlier,
        new: &new,
    };
    report.print(a.json)
}

/// A breach if `latest` does not extend `prev` (both verified with the log's key).
fn history_breach(
    client: &LogSource,
    prev: &VerifiedCheckpoint,
    latest: &VerifiedCheckpoint,
) -> Result<Option<Breach>, Failure> {
    let (old, new) = (prev.size(), latest.size());
    let evidence = |extra: Value| {
        let mut ev = json!({"old_checkpoint": prev.note, "new_checkpoint": latest.note});
        if let (Value::Object(m), Value::Object(x)) = (&mut ev, extra) {
            m.extend(x);
        }
        ev
    };
    let breach = |detail: String, ev: Value| {
        Some(Breach {
            kind: BreachKind::HistoryRewritten,
            index: None,
            detail,
            evidence: ev,
        })
    };
    if new < old {
        return Ok(breach(
            format!("the log's checkpoint went back from size {old} to {new}"),
            evidence(json!({})),
        ));
    }
    if new == old {
        if prev.checkpoint.root == latest.checkpoint.root {
            return Ok(None);
        }
        return Ok(breach(
            format!("two signed checkpoints of size {old} with different roots"),
            evidence(json!({})),
        ));
    }
    if old.0 == 0 {
        return Ok(None);
    }
    let proof = logread::Tiles::new(client, new).consistency_proof(old)?;
    match verify_consistency::<Sha256Log>(
        old,
        new,
        &prev.checkpoint.root,
        &latest.checkpoint.root,
        &proof,
    ) {
        Ok(()) => Ok(None),
        Err(e) => Ok(breach(
            format!("the checkpoint of size {new} does not extend the one of size {old} seen before: {e}"),
            evidence(json!({
                "consistency_proof": proof.iter().map(ledger::Digest::to_base64).collect::<Vec<_>>(),
            })),
        )),
    }
}

/// What reading the new entries gave.
struct EntriesRun {
    root: ledger::Digest,
    edge_hashes: Vec<ledger::Digest>,
    index_records: Vec<Record>,
    breaches: Vec<Breach>,
    sets_read: u64,
}

/// Reads and checks entries `[state.audited, latest.size)`, in bundles. `state.sets` learns the
/// sets read; everything else of the state is left for the caller to update.
fn audit_entries(
    client: &LogSource,
    state: &mut State,
    latest: &VerifiedCheckpoint,
) -> Result<EntriesRun, Failure> {
    let (from, to) = (state.audited, latest.size().0);
    let origin = latest.checkpoint.origin.clone();
    let mut edge = state.edge()?;
    if edge.size().0 != from {
        return Err(Failure::msg(
            Exit::Invalid,
            "--state: the edge is not of the audited size",
        ));
    }
    let mut replay = Replay::restore(state.index_records()?)?;
    let bar = progress_bar(to - from);
    let width = u64::from(TILE_WIDTH);
    let mut breaches = Vec::new();
    let mut sets_read = 0u64;
    // Source trees derived this run, by manifest root (not kept in the state file: an entry is
    // replayed once, so each is derived once).
    let mut sources: BTreeMap<String, Option<(Digest, u64)>> = BTreeMap::new();
    // Passage trees read and checked this run, by root (issue 14), likewise.
    let mut passages: BTreeMap<String, Option<u64>> = BTreeMap::new();
    for n in from / width..to.div_ceil(width) {
        let entries = logread::entry_bundle(client, latest.size(), n)?;
        for (j, bytes) in entries.iter().enumerate() {
            let i = n * width + j as u64;
            if i < from {
                continue;
            }
            edge.append(leaf_hash(bytes));
            let mut checker = EntryCheck {
                client,
                sets: &mut state.sets,
                sources: &mut sources,
                passages: &mut passages,
                replay: &mut replay,
                origin: &origin,
                sets_read: &mut sets_read,
                bar: &bar,
            };
            if let Some(b) = checker.check(i, bytes)? {
                // As it is found (stderr, best effort); the report on stdout comes at the end.
                bar.suspend(|| {
                    let _ = writeln!(
                        std::io::stderr(),
                        "prov: audit: breach {} at entry {i}",
                        b.kind.as_str()
                    );
                });
                breaches.push(b);
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let _ = writeln!(
        std::io::stderr(),
        "prov: audit: {} entries read ({from}..{to}), {sets_read} sets read, {} breaches",
        to - from,
        breaches.len()
    );
    Ok(EntriesRun {
        root: edge.root(),
        edge_hashes: edge
            .hashes()
            .map_err(|e| Failure::new(Exit::Local, anyhow::Error::new(e)))?,
        index_records: replay.records()?,
        breaches,
        sets_read,
    })
}

fn progress_bar(len: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("audit {bar:30} {pos}/{len} entries {msg}")
    {
        bar.set_style(style);
    }
    bar
}

/// The checks of one entry.
struct EntryCheck<'a> {
    client: &'a LogSource,
    sets: &'a mut BTreeMap<String, SetOutcome>,
    sources: &'a mut BTreeMap<String, Option<(Digest, u64)>>,
    passages: &'a mut BTreeMap<String, Option<u64>>,
    replay: &'a mut Replay,
    origin: &'a str,
    sets_read: &'a mut u64,
    bar: &'a indicatif::ProgressBar,
}

impl EntryCheck<'_> {
    /// At most one breach per entry: the first problem found (the entry itself, then the set it
    /// names, then the rules), with a rule refusal that comes on top of a set's problem added to
    /// that breach's evidence.
    fn check(&mut self, i: u64, bytes: &[u8]) -> Result<Option<Breach>, Failure> {
        let base = json!({
            "entry": base64::engine::general_purpose::STANDARD.encode(bytes),
            "leaf_hash": leaf_hash(bytes).to_base64(),
        });
        let entry = match Entry::from_bytes(bytes) {
            Ok(e) => e,
            Err(e) => {
                return Ok(Some(Breach {
                    kind: BreachKind::InvalidEntry,
                    index: Some(i),
                    detail: format!("entry {i} does not decode or verify: {e}"),
                    evidence: with(base, json!({"error": e.to_string()})),
                }))
            }
        };
        let label = describe(&entry);
        let set_breach = match sets::named_set(&entry) {
            None => None,
            Some(named) => {
                let outcome = self.set_outcome(&named)?;
                set_breach(i, &label, &named, &outcome, &base)
            }
        };
        // The sources rule: recompute the claimed source tree from the served metadata.
        if let EntryBody::DatasetVersion(d) = entry.body() {
            let key = d.manifest_root.to_hex();
            if d.sources.is_some() && !self.sources.contains_key(&key) {
                self.bar
                    .set_message(format!("deriving the source tree of {}", &key[..12]));
                let derived = sets::derive_sources(self.client, &d.manifest_root)?;
                self.bar.set_message("");
                self.sources.insert(key, derived);
            }
        }
        // The passages rule (issue 14): read the named passage tree and check it as the ledger
        // checked its upload (strictly increasing, hashing to the root).
        let named_passages = match entry.body() {
            EntryBody::DatasetVersion(d) => d.passages,
            EntryBody::OptOut(o) => o.passages,
            _ => None,
        };
        if let Some(p) = named_passages {
            let key = p.root.to_hex();
            if !self.passages.contains_key(&key) {
                self.bar
                    .set_message(format!("reading passage tree {}", &key[..12]));
                let size = sets::check_passages(self.client, &p.root)?;
                self.bar.set_message("");
                self.passages.insert(key, size);
            }
        }
        let verdict = self.replay.check(
            entry,
            LeafIndex(i),
            &VerifiedSets(self.sets, self.sources, self.passages),
            self.origin,
        )?;
        Ok(match (set_breach, verdict) {
            (Some(mut b), Err(r)) => {
                if let Value::Object(m) = &mut b.evidence {
                    m.insert("rejection".into(), Value::String(r.to_string()));
                }
                Some(b)
            }
            (Some(b), Ok(())) => Some(b),
            (None, Err(r)) => Some(rule_breach(i, &label, &r, base)),
            (None, Ok(())) => None,
        })
    }

    fn set_outcome(&mut self, named: &NamedSet) -> Result<SetOutcome, Failure> {
        let key = named.root.to_hex();
        if let Some(o) = self.sets.get(&key) {
            return Ok(o.clone());
        }
        let bar = self.bar;
        bar.set_message(format!("reading set {}", &key[..12]));
        let outcome = sets::check(self.client, &named.root, |n| {
            bar.set_message(format!("reading set {}: {n} leaves", &key[..12]));
        })?;
        bar.set_message("");
        *self.sets_read += 1;
        self.sets.insert(key, outcome.clone());
        Ok(outcome)
    }
}

/// A breach if the named set is not what the entry says (or not there).
fn set_breach(
    i: u64,
    label: &str,
    named: &NamedSet,
    outcome: &SetOutcome,
    base: &Value,
) -> Option<Breach> {
    let root = named.root.to_hex();
    let (role, claimed) = (named.role, named.claimed);
    let (kind, detail) = match outcome {
        SetOutcome::Verified { size } if *size == claimed => return None,
        SetOutcome::Verified { size } => (
            BreachKind::SetSizeMismatch,
            format!("entry {i} ({label}) says its {role} {root} has {claimed} items; the stored set has {size}"),
        ),
        SetOutcome::NotAvailable => (
            BreachKind::SetNotAvailable,
            format!("entry {i} ({label}) names {role} {root}, which the server does not have (404)"),
        ),
        SetOutcome::NotSorted {
            position,
            duplicate,
        } => (
            BreachKind::SetNotSorted,
            format!(
                "entry {i} ({label}) names {role} {root}, whose stored leaf {position} is {} the one before it",
                if *duplicate { "equal to" } else { "smaller than" }
            ),
        ),
        SetOutcome::RootMismatch { computed, .. } => (
            BreachKind::SetRootMismatch,
            format!("entry {i} ({label}) names {role} {root}, whose stored leaves hash to {computed}"),
        ),
    };
    let mut set = json!({"role": role, "root": root, "claimed_size": claimed});
    if let (Value::Object(m), Ok(Value::Object(o))) = (&mut set, serde_json::to_value(outcome)) {
        m.extend(o);
    }
    Some(Breach {
        kind,
        index: Some(i),
        detail,
        evidence: with(base.clone(), json!({ "set": set })),
    })
}

fn rule_breach(i: u64, label: &str, r: &Rejection, base: Value) -> Breach {
    Breach {
        kind: BreachKind::RuleViolated,
        index: Some(i),
        detail: format!("entry {i} ({label}) breaks the log's acceptance rules: {r}"),
        evidence: with(base, json!({"rejection": r.to_string()})),
    }
}

/// `a` with the fields of `b` added.
fn with(mut a: Value, b: Value) -> Value {
    if let (Value::Object(m), Value::Object(x)) = (&mut a, b) {
        m.extend(x);
    }
    a
}

/// `dataset_version alice/web@v1` and the like.
fn describe(entry: &Entry) -> String {
    let what = match entry.body() {
        EntryBody::Publisher(p) => p.name.to_string(),
        EntryBody::DatasetVersion(d) => d.key().to_string(),
        EntryBody::OptOut(_) => match entry.signer() {
            Some(_) => "signed".to_string(),
            None => "anonymous".to_string(),
        },
        EntryBody::ModelCheckpoint(c) => format!("{}/{}@{}", c.publisher, c.model, c.checkpoint),
    };
    format!("{} {what}", entry.kind().as_str())
}

/// The report of one run: every breach known for this log, the new ones marked.
struct Report<'a> {
    latest: &'a VerifiedCheckpoint,
    /// The valid cosignatures of the listed witnesses, when audited with --witness.
    cosigned: Option<&'a [verifier::cosignature::Cosignature]>,
    from: u64,
    audited: u64,
    sets_read: u64,
    earlier: &'a [Breach],
    new: &'a [Breach],
}

impl Report<'_> {
    fn print(&self, json_out: bool) -> Outcome {
        let total = self.earlier.len() + self.new.len();
        if json_out {
            let breaches: Vec<Value> = self
                .earlier
                .iter()
                .map(|b| (b, false))
                .chain(self.new.iter().map(|b| (b, true)))
                .map(|(b, new)| {
                    with(
                        serde_json::to_value(b).unwrap_or(Value::Null),
                        json!({ "new": new }),
                    )
                })
                .collect();
            say_json(&json!({
                "origin": self.latest.checkpoint.origin,
                "checkpoint": self.latest.note,
                "tree_size": self.latest.size().0,
                "from": self.from,
                "audited": self.audited,
                "sets_read": self.sets_read,
                "cosignatures": self.cosigned.map(|c| c
                    .iter()
                    .map(|c| json!({"witness": c.witness, "key_id": format!("{:08x}", c.key_id), "timestamp": c.timestamp}))
                    .collect::<Vec<_>>()),
                "breaches": breaches,
            }))?;
        } else {
            for (b, new) in self
                .earlier
                .iter()
                .map(|b| (b, false))
                .chain(self.new.iter().map(|b| (b, true)))
            {
                let at = b
                    .index
                    .map(|i| format!(" at entry {i}"))
                    .unwrap_or_default();
                let when = if new {
                    ""
                } else {
                    " (found by an earlier run)"
                };
                say(format!(
                    "breach {}{at}{when}: {}",
                    b.kind.as_str(),
                    b.detail
                ))?;
            }
            let verdict = match total {
                0 => "no breach".to_string(),
                1 => "1 breach".to_string(),
                n => format!("{n} breaches"),
            };
            say(format!(
                "audited entries {}..{} of {} (checkpoint size {}), {} sets read: {verdict}",
                self.from,
                self.from + self.audited,
                self.latest.checkpoint.origin,
                self.latest.size(),
                self.sets_read
            ))?;
            if let Some(c) = self.cosigned {
                let names: Vec<&str> = c.iter().map(|c| c.witness.as_str()).collect();
                say(format!(
                    "checkpoint size {} cosigned by {} listed witness(es): {}",
                    self.latest.size(),
                    c.len(),
                    names.join(", ")
                ))?;
            }
        }
        Ok(if total == 0 { Exit::Ok } else { Exit::Negative })
    }
}
