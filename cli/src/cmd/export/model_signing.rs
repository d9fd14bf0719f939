//! `prov export model-signing --model P/M[@C] [--out FILE] [--name NAME]`: the unsigned in-toto
//! Statement that OpenSSF `model_signing` (PyPI `model-signing` 1.1) signs for a model directory
//! hashed with BLAKE3 file serialization, built from a logged checkpoint's weights set: the same
//! resource descriptors (one per file: its path, `blake3`, the hex of BLAKE3 of its bytes), so a
//! model signed with that tool and attested here match file by file (docs/formats.md,
//! "model_signing export").
//!
//! `prov attest` hashes weights as model_signing does ([`crate::cmd::attest::hash_weights`]): an
//! item per regular file, named by its path relative to the weights directory, with the
//! top-level git paths of [`IGNORED_PATHS`] left out. The file paths come from the weights
//! set's leaf metadata (`path`), each verified against its leaf and the leaves against the
//! checkpoint's `weights_root`.

use std::path::PathBuf;

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::cmd::export::leaves::{verified_leaves, VerifiedLeaf};
use crate::cmd::proof::{verified_checkpoint_witnessed, KeyArg};
use crate::cmd::publisher::Remote;
use crate::exit::{say, say_json, Exit, Failure, OrExit, Outcome};

/// The paths, relative to a model directory, that `model_signing` ignores by default
/// (`hashing.Config`'s `ignore_git_paths`): only at the top level, with everything under them.
pub const IGNORED_PATHS: [&str; 4] = [".git", ".gitattributes", ".github", ".gitignore"];

/// The in-toto Statement type, the predicate type of model_signing v1.0 signatures.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";

#[derive(Debug, clap::Args)]
pub struct ModelSigningArgs {
    /// The model checkpoint: PUBLISHER/MODEL (its latest checkpoint) or PUBLISHER/MODEL@CHECKPOINT.
    #[arg(long, value_name = "PUBLISHER/MODEL[@CHECKPOINT]")]
    pub model: String,
    /// The statement's subject name, which model_signing takes from the model directory's name
    /// (informative only: it never changes a match) [default: the model's name].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Write the statement to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub vkey: KeyArg,
    /// With --min-witnesses K: the checkpoint entry must be in the latest checkpoint K of these
    /// witnesses cosigned (`/checkpoint.cosigned`).
    #[command(flatten)]
    pub witnesses: crate::witnessed::WitnessArgs,
    #[command(flatten)]
    pub remote: Remote,
}

/// One file of the model: its path relative to the model directory (`/`-separated) and the
/// BLAKE3 digest of its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub name: String,
    pub digest: [u8; 32],
}

/// The statement model_signing builds (`_signing.signing.Payload`) for `resources`: sorted as
/// it sorts them (by path components), the subject `name` with the SHA-256 of the resources'
/// digests concatenated in that order, and the file serialization's parameters.
pub fn statement(name: &str, mut resources: Vec<Resource>) -> Value {
    resources.sort_by(|a, b| a.name.split('/').cmp(b.name.split('/')));
    let mut root = Sha256::new();
    let mut list = Vec::with_capacity(resources.len());
    for r in &resources {
        root.update(r.digest);
        list.push(json!({
            "name": r.name,
            "algorithm": "blake3",
            "digest": hex::encode(r.digest),
        }));
    }
    json!({
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": hex::encode(root.finalize())}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "serialization": {
                "method": "files",
                "hash_type": "blake3",
                "allow_symlinks": false,
                "ignore_paths": IGNORED_PATHS,
            },
            "resources": list,
        },
    })
}

/// The resources of a weights set: one per source entry (a file) of each leaf, named by the
/// entry's `path`. A leaf without metadata, or an entry without a path, cannot be named: an
/// error, since the export would silently drop that file.
pub fn resources(leaves: &[VerifiedLeaf], label: &str) -> Result<Vec<Resource>, Failure> {
    let mut out = Vec::new();
    for l in leaves {
        let unnamed = || {
            Failure::msg(
                Exit::Invalid,
                format!(
                    "{label}: weight {} has no file path in its metadata (attested without \
                     metadata?): it cannot be exported as a model_signing resource",
                    l.leaf.cid
                ),
            )
        };
        let sources = l.sources();
        if sources.is_empty() {
            return Err(unnamed());
        }
        for s in sources {
            let path = s.get("path").and_then(Value::as_str).ok_or_else(unnamed)?;
            out.push(Resource {
                name: path.to_string(),
                digest: l.leaf.cid.0,
            });
        }
    }
    Ok(out)
}

pub fn run(a: &ModelSigningArgs) -> Outcome {
    let client = a.remote.client()?;
    let key = a.vkey.key(&client)?;
    let (ve, cp) = verified_checkpoint_witnessed(&client, &key, &a.model, Some(&a.witnesses))?;
    let label = format!("{}/{}@{}", cp.publisher, cp.model, cp.checkpoint);
    let leaves = verified_leaves(&client, &cp.weights_root, cp.weights_count, &label)?;
    let name = a.name.clone().unwrap_or_else(|| cp.model.to_string());
    let st = statement(&name, resources(&leaves, &label)?);
    let text = serde_json::to_string_pretty(&st).or_exit(Exit::Local, "encoding json")?;
    match &a.out {
        Some(path) => {
            std::fs::write(path, format!("{text}\n"))
                .or_exit(Exit::Local, format!("writing {}", path.display()))?;
            let files = st["predicate"]["resources"].as_array().map_or(0, Vec::len);
            if a.remote.json {
                say_json(&json!({"model": label, "index": ve.index, "files": files,
                    "out": path.display().to_string()}))?;
            } else {
                say(format!(
                    "wrote {} ({label}, entry {}: {files} files)",
                    path.display(),
                    ve.index
                ))?;
            }
        }
        None => say(text)?,
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, byte: u8) -> Resource {
        Resource {
            name: name.into(),
            digest: [byte; 32],
        }
    }

    /// model_signing sorts `PurePosixPath`s, which compare by component: `a/b` before `a-c`
    /// (`"a" < "a-c"`), though the strings sort the other way (`'/' > '-'`).
    #[test]
    fn resources_sort_by_path_components_not_by_string() {
        let st = statement("m", vec![r("a-c", 1), r("a/b", 2), r("A", 3)]);
        let names: Vec<&str> = st["predicate"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["A", "a/b", "a-c"]);
        let mut h = Sha256::new();
        for b in [3u8, 2, 1] {
            h.update([b; 32]);
        }
        assert_eq!(
            st["subject"][0]["digest"]["sha256"],
            hex::encode(h.finalize())
        );
    }

    /// docs/formats.md, "model_signing export", worked example: the statement for three files.
    #[test]
    fn the_worked_example_is_what_the_export_writes() {
        let files: [(&str, &[u8]); 3] = [
            ("tokenizer/vocab.txt", b"a\nb\n"),
            ("model.safetensors", b"weights"),
            ("config.json", b"{}"),
        ];
        let resources = files
            .iter()
            .map(|(name, bytes)| Resource {
                name: name.to_string(),
                digest: *blake3::hash(bytes).as_bytes(),
            })
            .collect();
        let got = statement("lm", resources);
        let want = crate::cmd::export::doc_example::json_after("### Worked example: model_signing");
        assert_eq!(
            want,
            got,
            "docs/formats.md should show:\n{}",
            serde_json::to_string_pretty(&got).unwrap()
        );
    }
}
