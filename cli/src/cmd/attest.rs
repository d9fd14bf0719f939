//! `prov attest --key KEY --model NAME --checkpoint ID --weights DIR --dataset NAME@VERSION...
//! [--horizon N|latest]`: logs a `model_checkpoint` entry. The weights directory is hashed into a
//! set (file mode) and uploaded; each dataset version is looked up for its log index and
//! manifest root; the horizon (default `latest`, the current log size) is the claim "every
//! opt-out logged below this index was honoured".

use std::path::PathBuf;

use ledger::entry::{DatasetRef, EntryBody, ModelCheckpoint};
use ledger::{Digest, LeafIndex};
use serde_json::json;

use crate::client::{Client, DatasetVersionView, Health};
use crate::cmd::export::model_signing::IGNORED_PATHS;
use crate::cmd::keygen::read_key;
use crate::cmd::publish::upload_manifest;
use crate::cmd::publisher::{name_arg, origin, publisher_name, sign, submit, Remote};
use crate::exit::{say, say_json, Exit, Failure, OrExit, Outcome};

#[derive(Debug, clap::Args)]
pub struct AttestArgs {
    /// The model publisher's private key file.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// The model: NAME, or PUBLISHER/NAME.
    #[arg(long, value_name = "[PUBLISHER/]NAME")]
    pub model: String,
    /// The checkpoint's name.
    #[arg(long, value_name = "ID")]
    pub checkpoint: String,
    /// The directory of the checkpoint's weight files (each file is one item of the weights set).
    #[arg(long, value_name = "DIR")]
    pub weights: PathBuf,
    /// A dataset version trained on: [PUBLISHER/]DATASET@VERSION (repeatable). Without a
    /// publisher, the model's publisher.
    #[arg(
        long = "dataset",
        value_name = "[PUBLISHER/]NAME@VERSION",
        required = true
    )]
    pub datasets: Vec<String>,
    /// Opt-outs logged below this index were honoured: a number, or `latest` (the log's size now).
    #[arg(long, default_value = "latest", value_name = "N|latest")]
    pub horizon: String,
    /// The publisher name [default: the one in --model, else the name the ledger binds to the
    /// key].
    #[arg(long)]
    pub publisher: Option<String>,
    /// Hashing backend for the weights: auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    pub backend: String,
    #[command(flatten)]
    pub remote: Remote,
}

pub fn run(args: &AttestArgs) -> Outcome {
    let kf = read_key(&args.key)?;
    let (named, model) = match args.model.split_once('/') {
        Some((p, m)) => (Some(p), m),
        None => (None, args.model.as_str()),
    };
    if let (Some(p), Some(q)) = (&args.publisher, named) {
        if p != q {
            return Err(Failure::msg(
                Exit::Invalid,
                format!("--publisher {p} and --model {} disagree", args.model),
            ));
        }
    }
    let model = name_arg("--model", model)?;
    let checkpoint = name_arg("--checkpoint", &args.checkpoint)?;
    let client = args.remote.client()?;
    let publisher = publisher_name(&client, &kf, &args.key, named.or(args.publisher.as_deref()))?;

    let mut datasets = Vec::with_capacity(args.datasets.len());
    for d in &args.datasets {
        datasets.push(dataset_ref(&client, d, publisher.as_str())?);
    }
    let optout_horizon = match args.horizon.as_str() {
        "latest" => client.get_json::<Health>("/healthz")?.tree_size,
        n => n.parse().or_exit(
            Exit::Invalid,
            format!("--horizon {n:?}: expected a log size or `latest`"),
        )?,
    };

    let tmp = tempfile::tempdir().or_exit(Exit::Local, "creating a temporary directory")?;
    let manifest = tmp.path().join("weights.jsonl");
    let header = hash_weights(&args.weights, &args.backend, &manifest)?;
    upload_manifest(
        &client,
        Some(&kf.key),
        &manifest,
        &header.root,
        header.leaves,
    )?;

    let labels: Vec<String> = datasets.iter().map(|d| d.key().to_string()).collect();
    let body = EntryBody::ModelCheckpoint(ModelCheckpoint {
        publisher: publisher.clone(),
        model: model.clone(),
        checkpoint: checkpoint.clone(),
        weights_root: header.root,
        weights_count: header.leaves,
        datasets,
        optout_horizon,
    });
    let entry = sign(&origin(&client)?, body, &kf)?;
    let receipt = submit(&client, &entry)?;
    if args.remote.json {
        say_json(&json!({
            "model": format!("{publisher}/{model}"),
            "checkpoint": checkpoint.as_str(),
            "index": receipt.index,
            "weights_root": header.root.to_hex(),
            "weights_count": header.leaves,
            "datasets": labels,
            "optout_horizon": optout_horizon,
            "receipt": receipt,
        }))?;
    } else {
        say(format!(
            "attested {publisher}/{model}@{checkpoint} at index {}",
            receipt.index
        ))?;
        say(format!(
            "weights root: {} ({} files)",
            header.root, header.leaves
        ))?;
        say(format!("datasets: {}", labels.join(", ")))?;
        say(format!("opt-out horizon: {optout_horizon}"))?;
    }
    Ok(Exit::Ok)
}

/// Hashes a weights directory the way OpenSSF `model_signing` does with BLAKE3 file
/// serialization (docs/formats.md, "model_signing export"): one item per regular file, its
/// content id BLAKE3 of its bytes, its metadata the path relative to `dir`; the top-level git
/// paths model_signing ignores ([`IGNORED_PATHS`]) are left out, nested ones kept, as it does.
pub fn hash_weights(
    dir: &std::path::Path,
    backend: &str,
    out: &std::path::Path,
) -> Result<hasher::ManifestHeader, Failure> {
    let backend: hasher::BackendChoice = backend.parse().or_exit(Exit::Invalid, "--backend")?;
    let backend =
        hasher::select(backend, None).or_exit(Exit::Local, "opening the hashing backend")?;
    let cfg = hasher::HashConfig {
        mode: hasher::Mode::File,
        exclude_root: IGNORED_PATHS.iter().map(|p| p.to_string()).collect(),
        ..hasher::HashConfig::default()
    };
    let summary = hasher::hash_to_file(
        &[dir.to_path_buf()],
        &cfg,
        backend.as_ref(),
        out,
        &mut hasher::Quiet,
    )
    .or_exit(Exit::Local, "hashing the weights")?;
    Ok(summary.header)
}

/// Parses `[publisher/]dataset@version` (default publisher `default_publisher`).
pub fn parse_dataset_label(
    s: &str,
    default_publisher: &str,
) -> Result<(String, String, String), Failure> {
    let bad = || {
        Failure::msg(
            Exit::Invalid,
            format!("--dataset {s:?}: expected [PUBLISHER/]DATASET@VERSION"),
        )
    };
    let (path, version) = s.rsplit_once('@').ok_or_else(bad)?;
    let (p, d) = match path.split_once('/') {
        Some((p, d)) => (p, d),
        None => (default_publisher, path),
    };
    let p = name_arg("--dataset", p)?;
    let d = name_arg("--dataset", d)?;
    let v = name_arg("--dataset", version)?;
    Ok((p.to_string(), d.to_string(), v.to_string()))
}

/// Looks a dataset version up on the server: its log index and manifest root.
fn dataset_ref(
    client: &Client,
    label: &str,
    default_publisher: &str,
) -> Result<DatasetRef, Failure> {
    let (p, d, v) = parse_dataset_label(label, default_publisher)?;
    let view: DatasetVersionView = client.get_json(&format!("/v1/datasets/{p}/{d}/{v}"))?;
    let manifest_root = Digest::from_hex(&view.manifest_root)
        .or_exit(Exit::Server, format!("{label}: manifest root"))?;
    Ok(DatasetRef {
        publisher: name_arg("--dataset", &p)?,
        dataset: name_arg("--dataset", &d)?,
        version: name_arg("--dataset", &v)?,
        index: LeafIndex(view.index),
        manifest_root,
    })
}
