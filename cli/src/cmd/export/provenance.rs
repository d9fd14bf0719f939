//! `prov export provenance --model P/M@C --key KEY [--out FILE]`: an in-toto Statement v1 with a
//! SLSA provenance v1 predicate for a model checkpoint, in a DSSE envelope signed with the
//! publisher's Ed25519 key (the key that signed the checkpoint's entry). The format is
//! `verifier::export::intoto`'s; docs/formats.md, "in-toto / SLSA provenance export".
//!
//! Everything in the statement is read from committed data and verified first: the checkpoint's
//! entry and each dataset version's entry against the log's key, the weights set's leaves and
//! metadata against the root the entry commits, and the compliance bundle as `prov verify
//! compliance` verifies it.
//!
//! `prov verify provenance FILE --key PUB [--vkey V] [--server URL]`: the envelope's signature
//! and the statement's shape (offline), with `--vkey` the log checkpoints it carries; with
//! `--server`, the statement recomputed from the ledger must
//! equal the one signed (each dependency the committed entry, the subjects the committed weight
//! files, the verdict the one the bundle gives now).
//!
//! Exit 0: written / verified; 1: `verify --server`: a claim differs from the ledger; 2: the
//! envelope, the statement or a proof does not verify, or the key is not the checkpoint's
//! signer; 3, 4: the server; 5: a file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use serde_json::json;
use verifier::compliance::{ComplianceBundle, Policy, Verdict};
use verifier::entry::EntryBody;
use verifier::export::intoto::{
    builder_id, dataset_uri, keyid, BuildDefinition, Builder, ComplianceVerdict,
    DependencyAnnotations, Envelope, ExternalParameters, InternalParameters, ModelCheckpointRef,
    Provenance, ResourceDescriptor, RunDetails, Statement, BUILD_TYPE, DEPENDENCY_DIGEST,
    PREDICATE_TYPE, STATEMENT_TYPE, SUBJECT_DIGEST,
};
use verifier::set::meta::LeafMeta;
use verifier::set::SetRootBuilder;
use verifier::{Digest, VerifierKey};

use crate::client::Client;
use crate::cmd::keygen::read_key;
use crate::cmd::proof::{checkpoint_index, verified_entry, KeyArg};
use crate::cmd::publisher::Remote;
use crate::cmd::verify::{evaluate, load_vkey, SiteCheck, SiteCheckArgs, Tiles};
use crate::exit::{say, say_json, Exit, Failure, OrExit, Outcome};
use crate::logread;

#[derive(Debug, clap::Args)]
pub struct ProvenanceArgs {
    /// The model checkpoint: PUBLISHER/MODEL (its latest checkpoint) or PUBLISHER/MODEL@CHECKPOINT.
    #[arg(long, value_name = "PUBLISHER/MODEL[@CHECKPOINT]")]
    pub model: String,
    /// The publisher's private key file: it signs the DSSE envelope, and must be the key that
    /// signed the checkpoint's entry.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Write the envelope to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub checks: SiteCheckArgs,
    #[command(flatten)]
    pub vkey: KeyArg,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The DSSE envelope written by `prov export provenance`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The publisher's public key: standard base64 of its 32 bytes (as `prov keygen` prints
    /// it), or a file holding it.
    #[arg(long, value_name = "PUB")]
    pub key: String,
    /// Also recompute the statement from this ledger and compare (without it: the signature
    /// and the statement's shape only).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    #[command(flatten)]
    pub checks: SiteCheckArgs,
    #[command(flatten)]
    pub vkey: KeyArg,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &ProvenanceArgs) -> Outcome {
    let kf = read_key(&a.key)?;
    let client = a.remote.client()?;
    let vkey = a.vkey.key(&client)?;
    let index = model_index(&client, &a.model)?;
    let (statement, signer) = statement(&client, &vkey, index, &a.checks)?;
    if signer != kf.key.verifying_key() {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "{}: the checkpoint's entry {index} is signed by another key than {}",
                a.model,
                a.key.display()
            ),
        ));
    }
    let envelope = Envelope::sign(&statement, &kf.key).or_exit(Exit::Local, "signing")?;
    let text = serde_json::to_string_pretty(&envelope).or_exit(Exit::Local, "json")?;
    let Some(out) = &a.out else {
        say(text)?;
        return Ok(Exit::Ok);
    };
    std::fs::write(out, format!("{text}\n"))
        .or_exit(Exit::Local, format!("writing {}", out.display()))?;
    let bd = &statement.predicate.build_definition;
    if a.remote.json {
        say_json(&json!({
            "out": out.display().to_string(),
            "model": bd.external_parameters.model,
            "entry_index": index,
            "keyid": envelope.signatures[0].keyid,
            "subjects": statement.subject.len(),
            "datasets": bd.external_parameters.datasets,
            "conclusion": bd.internal_parameters.compliance.conclusion,
        }))?;
    } else {
        say(format!(
            "wrote {}: {} ({} weight files, {} dataset versions, compliance {}), signed by key {}",
            out.display(),
            bd.external_parameters.model,
            statement.subject.len(),
            bd.external_parameters.datasets.len(),
            bd.internal_parameters.compliance.conclusion,
            keyid(&kf.key.verifying_key())
        ))?;
    }
    Ok(Exit::Ok)
}

/// `prov verify provenance`.
pub fn verify(a: &VerifyArgs) -> Outcome {
    let key = public_key(&a.key)?;
    let text =
        std::fs::read(&a.file).or_exit(Exit::Local, format!("reading {}", a.file.display()))?;
    let envelope: Envelope = serde_json::from_slice(&text).or_exit(
        Exit::Invalid,
        format!("{} is not a DSSE envelope", a.file.display()),
    )?;
    let claimed = envelope
        .verify(&key)
        .or_exit(Exit::Invalid, format!("{}", a.file.display()))?;
    let internal = &claimed.predicate.build_definition.internal_parameters;
    let external = &claimed.predicate.build_definition.external_parameters;
    let mut differences = Vec::new();
    // Offline with --vkey: the log's checkpoints the statement carries, with the log's key.
    let log_checked = match (&a.server, &a.vkey.vkey) {
        (None, Some(v)) => {
            let vkey = load_vkey(v)?;
            claimed
                .verify_log(&vkey)
                .or_exit(Exit::Invalid, format!("{}", a.file.display()))?;
            true
        }
        _ => false,
    };
    if let Some(server) = &a.server {
        let client = Client::new(server)?;
        let vkey = a.vkey.key(&client)?;
        claimed
            .verify_log(&vkey)
            .or_exit(Exit::Invalid, format!("{}", a.file.display()))?;
        let index = internal.model_checkpoint.entry_index;
        let (got, signer) = statement(&client, &vkey, index, &a.checks)?;
        if signer != key {
            return Err(Failure::msg(
                Exit::Invalid,
                format!("the checkpoint's entry {index} is signed by another key than --key"),
            ));
        }
        differences = compare(&claimed, &got);
    }
    let checked = if a.server.is_some() {
        "signature, shape, the log's checkpoints and every claim recomputed from the ledger"
    } else if log_checked {
        "signature, shape and the log's checkpoints (offline: claims not recomputed)"
    } else {
        "signature and shape (offline, without --vkey: the log's checkpoints and the claims not checked)"
    };
    if a.json {
        say_json(&json!({
            "verified": differences.is_empty(),
            "checked": checked,
            "keyid": keyid(&key),
            "model": external.model,
            "entry_index": internal.model_checkpoint.entry_index,
            "subjects": claimed.subject.len(),
            "datasets": external.datasets,
            "conclusion": internal.compliance.conclusion,
            "differences": differences,
        }))?;
    } else {
        for d in &differences {
            say(format!("differs: {d}"))?;
        }
        say(format!(
            "{}: {} ({} weight files, {} dataset versions, compliance {}): {checked}",
            if differences.is_empty() {
                "verified"
            } else {
                "NOT verified"
            },
            external.model,
            claimed.subject.len(),
            external.datasets.len(),
            internal.compliance.conclusion
        ))?;
    }
    Ok(if differences.is_empty() {
        Exit::Ok
    } else {
        Exit::Negative
    })
}

/// The index of `p/m[@c]`'s checkpoint entry.
fn model_index(client: &Client, model: &str) -> Result<u64, Failure> {
    let (m, c) = match model.split_once('@') {
        Some((m, c)) => (m, Some(c)),
        None => (model, None),
    };
    checkpoint_index(client, m, c)
}

/// The statement for the checkpoint entry at `index`, from verified data only, and the key that
/// signed the entry.
pub fn statement(
    client: &Client,
    vkey: &VerifierKey,
    index: u64,
    checks: &SiteCheckArgs,
) -> Result<(Statement, VerifyingKey), Failure> {
    let ve = verified_entry(client, vkey, index)?;
    let EntryBody::ModelCheckpoint(cp) = ve.entry.body() else {
        return Err(Failure::msg(
            Exit::Invalid,
            format!("entry {index} is not a model_checkpoint"),
        ));
    };
    let signer = *ve
        .entry
        .signer()
        .ok_or_else(|| Failure::msg(Exit::Invalid, format!("entry {index} is not signed")))?;
    let origin = ve
        .proof
        .checkpoint
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let label = format!("{}/{}@{}", cp.publisher, cp.model, cp.checkpoint);
    let subject = weight_files(client, &label, &cp.weights_root, cp.weights_count)?;
    let mut deps = Vec::with_capacity(cp.datasets.len());
    for d in &cp.datasets {
        let dve = verified_entry(client, vkey, d.index.0)?;
        let dv = match dve.entry.body() {
            EntryBody::DatasetVersion(dv) => dv,
            _ => {
                return Err(Failure::msg(
                    Exit::Invalid,
                    format!("entry {} is not a dataset_version", d.index.0),
                ))
            }
        };
        if dv.key() != d.key() || dv.manifest_root != d.manifest_root {
            return Err(Failure::msg(
                Exit::Invalid,
                format!(
                    "{label}: entry {} is not the dataset version {} the checkpoint names",
                    d.index.0,
                    d.key()
                ),
            ));
        }
        deps.push(ResourceDescriptor {
            uri: Some(dataset_uri(
                &origin,
                d.publisher.as_str(),
                d.dataset.as_str(),
                d.version.as_str(),
            )),
            digest: BTreeMap::from([(DEPENDENCY_DIGEST.to_string(), d.manifest_root.to_hex())]),
            annotations: Some(DependencyAnnotations {
                entry_index: d.index.0,
                log_checkpoint: dve.proof.checkpoint.clone(),
            }),
            ..ResourceDescriptor::default()
        });
    }
    let compliance = verdict(client, vkey, index, checks)?;
    let statement = Statement {
        type_: STATEMENT_TYPE.to_string(),
        subject,
        predicate_type: PREDICATE_TYPE.to_string(),
        predicate: Provenance {
            build_definition: BuildDefinition {
                build_type: BUILD_TYPE.to_string(),
                external_parameters: ExternalParameters {
                    model: label,
                    datasets: cp.datasets.iter().map(|d| d.key().to_string()).collect(),
                    optout_horizon: cp.optout_horizon,
                },
                internal_parameters: InternalParameters {
                    log: origin.clone(),
                    model_checkpoint: ModelCheckpointRef {
                        entry_index: index,
                        weights_root: cp.weights_root.to_hex(),
                        weights_count: cp.weights_count,
                        log_checkpoint: ve.proof.checkpoint.clone(),
                    },
                    compliance,
                },
                resolved_dependencies: deps,
            },
            run_details: RunDetails {
                builder: Builder {
                    id: builder_id(&origin, cp.publisher.as_str()),
                },
            },
        },
    };
    statement.check().or_exit(
        Exit::Invalid,
        format!(
            "{}: the statement",
            statement
                .predicate
                .build_definition
                .external_parameters
                .model
        ),
    )?;
    Ok((statement, signer))
}

/// One subject per weight file (a file whose bytes are also another's is a subject under each
/// of its paths), sorted by name: read from the weights set's leaves and metadata, which must
/// hash to the root and size the entry commits.
fn weight_files(
    client: &Client,
    label: &str,
    root: &Digest,
    count: u64,
) -> Result<Vec<ResourceDescriptor>, Failure> {
    let mut builder = SetRootBuilder::new();
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let found = logread::set_leaves_with_meta(client, root, |item| {
        let (leaf, n) = (&item.leaf, builder.size().0);
        builder.push(leaf).or_exit(
            Exit::Invalid,
            format!("{label}: the weights served are not the committed set"),
        )?;
        let meta = item.metadata().ok_or_else(|| {
            Failure::msg(
                Exit::Server,
                format!(
                    "{label}: weights leaf {n} ({}): the server serves no file name",
                    leaf.cid
                ),
            )
        })?;
        LeafMeta::verified(meta, &leaf.meta).or_exit(
            Exit::Invalid,
            format!("{label}: weights leaf {n} ({})", leaf.cid),
        )?;
        let mut named = false;
        for path in meta["sources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["path"].as_str())
        {
            named = true;
            if files.insert(path.to_string(), leaf.cid.to_hex()).is_some() {
                return Err(Failure::msg(
                    Exit::Invalid,
                    format!("{label}: the weights set names the file {path:?} twice"),
                ));
            }
        }
        if !named {
            return Err(Failure::msg(
                Exit::Invalid,
                format!("{label}: weights leaf {n} ({}) names no file", leaf.cid),
            ));
        }
        Ok(true)
    })?;
    if !found {
        return Err(Failure::msg(
            Exit::Server,
            format!("{label}: the server does not have its weights set {root}"),
        ));
    }
    if builder.root() != *root || builder.size().0 != count {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "{label}: the weights served hash to {}, not the committed {root}",
                builder.root()
            ),
        ));
    }
    Ok(files
        .into_iter()
        .map(|(name, cid)| ResourceDescriptor {
            name: Some(name),
            digest: BTreeMap::from([(SUBJECT_DIGEST.to_string(), cid)]),
            ..ResourceDescriptor::default()
        })
        .collect())
}

/// The checkpoint's compliance bundle (`GET /v1/compliance/{index}`), verified as `prov verify
/// compliance --server` verifies it (completeness against the log's tiles, sites online).
fn verdict(
    client: &Client,
    vkey: &VerifierKey,
    index: u64,
    checks: &SiteCheckArgs,
) -> Result<ComplianceVerdict, Failure> {
    let path = format!("/v1/compliance/{index}");
    let bundle: ComplianceBundle = serde_json::from_slice(&client.get_bytes(&path)?)
        .or_exit(Exit::Server, format!("GET {path}: not a compliance bundle"))?;
    let tiles = Tiles::Server(Client::new(client.base())?, client.base().to_string());
    let sites = SiteCheck::Online(checks.site_keys_base.clone());
    let ev = evaluate(&bundle, vkey, Some(&tiles), &Policy::default(), &sites)?;
    if ev.model.index != index {
        return Err(Failure::msg(
            Exit::Invalid,
            format!(
                "GET {path} answered with the bundle of entry {}",
                ev.model.index
            ),
        ));
    }
    let violations = match &ev.report.verdict {
        Verdict::Violated { violations, .. } => violations.len() as u64,
        Verdict::Compliant => 0,
    };
    Ok(ComplianceVerdict {
        conclusion: serde_json::to_value(ev.conclusion)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        exit: ev.exit as u8,
        horizon: ev.report.horizon,
        checkpoint_size: ev.report.checkpoint_size.0,
        optouts_checked: bundle.optouts.len() as u64,
        violations,
        complete: ev.complete(),
    })
}

/// What differs between the signed statement and the one recomputed now. The log's signed
/// checkpoints move on as the log grows, and so does the checkpoint a compliance bundle is
/// built at: those are not compared (each was verified when recomputed).
fn compare(claimed: &Statement, got: &Statement) -> Vec<String> {
    let mut out = Vec::new();
    let (c, g) = (&claimed.predicate, &got.predicate);
    if claimed.subject != got.subject {
        out.push("subject: the weight files or their digests are not the committed ones".into());
    }
    if c.build_definition.external_parameters != g.build_definition.external_parameters {
        out.push("externalParameters: not what the checkpoint's entry commits".into());
    }
    let strip = |d: &[ResourceDescriptor]| -> Vec<ResourceDescriptor> {
        d.iter()
            .cloned()
            .map(|mut r| {
                if let Some(a) = &mut r.annotations {
                    a.log_checkpoint.clear();
                }
                r
            })
            .collect()
    };
    let (cd, gd) = (
        strip(&c.build_definition.resolved_dependencies),
        strip(&g.build_definition.resolved_dependencies),
    );
    if cd != gd {
        out.push("resolvedDependencies: not the committed dataset version entries".into());
    }
    let (ci, gi) = (
        &c.build_definition.internal_parameters,
        &g.build_definition.internal_parameters,
    );
    if ci.log != gi.log {
        out.push(format!(
            "internalParameters.log: {} (the ledger: {})",
            ci.log, gi.log
        ));
    }
    let (cm, gm) = (&ci.model_checkpoint, &gi.model_checkpoint);
    if (cm.entry_index, &cm.weights_root, cm.weights_count)
        != (gm.entry_index, &gm.weights_root, gm.weights_count)
    {
        out.push("internalParameters.modelCheckpoint: not the committed entry".into());
    }
    let (cv, gv) = (&ci.compliance, &gi.compliance);
    let verdict = |v: &ComplianceVerdict| (v.conclusion.clone(), v.exit, v.horizon, v.violations);
    if verdict(cv) != verdict(gv) {
        out.push(format!(
            "internalParameters.compliance: {} (exit {}, {} violations) signed, {} (exit {}, {} violations) recomputed",
            cv.conclusion, cv.exit, cv.violations, gv.conclusion, gv.exit, gv.violations
        ));
    }
    if c.run_details != g.run_details {
        out.push("runDetails.builder: not the checkpoint's publisher".into());
    }
    out
}

/// `--key PUB`: base64 of 32 bytes, or a file holding it.
fn public_key(arg: &str) -> Result<VerifyingKey, Failure> {
    let p = Path::new(arg);
    let text = if p.is_file() {
        std::fs::read_to_string(p).or_exit(Exit::Local, format!("reading --key {arg}"))?
    } else {
        arg.to_string()
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .or_exit(Exit::Invalid, "--key: not base64 of an Ed25519 public key")?;
    let raw: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| Failure::msg(Exit::Invalid, "--key: an Ed25519 public key is 32 bytes"))?;
    VerifyingKey::from_bytes(&raw).or_exit(Exit::Invalid, "--key: not an Ed25519 public key")
}
