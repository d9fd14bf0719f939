//! in-toto Statement v1 (<https://in-toto.io/Statement/v1>) with a SLSA provenance v1 predicate
//! (<https://slsa.dev/provenance/v1>) for a model checkpoint, wrapped in a DSSE envelope
//! (<https://github.com/secure-systems-lab/dsse>, protocol v1) signed with the publisher's
//! Ed25519 key. The one owner of this format: a serde struct per JSON object, no JSON built by
//! hand. docs/formats.md, "in-toto / SLSA provenance export", documents every field.

use std::collections::BTreeMap;

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::note::VerifierKey;

/// The statement's `_type`.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The statement's `predicateType`.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// The envelope's `payloadType`.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// `buildDefinition.buildType`: a model checkpoint trained on dataset versions of a ledger.
pub const BUILD_TYPE: &str = "urn:prov-ledger:build-type:model-checkpoint:v1";
/// The digest key of a subject: BLAKE3 of the weight file's bytes (its content id).
pub const SUBJECT_DIGEST: &str = "blake3";
/// The digest key of a resolved dependency: the dataset version's manifest root (the root of
/// its BLAKE3 sorted set, docs/format-manifest.md), not a hash of one file.
pub const DEPENDENCY_DIGEST: &str = "prov-manifest-root";

/// Why an envelope or a statement is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntotoError {
    #[error("payloadType is {0:?}, want {PAYLOAD_TYPE:?}")]
    PayloadType(String),
    #[error("{0} is not base64")]
    Base64(&'static str, #[source] base64::DecodeError),
    #[error("the envelope has no signature")]
    NoSignature,
    #[error("no signature verifies with key {keyid}")]
    BadSignature { keyid: String },
    #[error("the payload is not an in-toto statement")]
    Json(#[source] serde_json::Error),
    #[error("the statement is malformed: {0}")]
    Shape(#[from] ShapeError),
    #[error("the statement is about the log {statement:?}, the key is {key:?}'s")]
    OtherLog { statement: String, key: String },
    #[error("{0}: not under prov://<the log>/")]
    NotOfTheLog(Place),
    #[error("{0}: the log checkpoint does not verify with the log's key")]
    LogCheckpoint(Place, #[source] CheckpointError),
    #[error("{0}: entry {1} is not in the log checkpoint of size {2}")]
    EntryBeyondCheckpoint(Place, u64, u64),
}

/// Where in a statement a log reference is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    ModelCheckpoint,
    Builder,
    Dependency(usize),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::ModelCheckpoint => f.write_str("internalParameters.modelCheckpoint"),
            Place::Builder => f.write_str("runDetails.builder.id"),
            Place::Dependency(i) => write!(f, "resolvedDependencies[{i}]"),
        }
    }
}

/// What is wrong with a statement's shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShapeError {
    #[error("_type is not {STATEMENT_TYPE}")]
    StatementType,
    #[error("predicateType is not {PREDICATE_TYPE}")]
    PredicateType,
    #[error("buildType is not {BUILD_TYPE}")]
    BuildType,
    #[error("no subject")]
    NoSubject,
    #[error("subject {0}: a name and one blake3 digest of 64 lowercase hex digits are required")]
    Subject(usize),
    #[error("no resolved dependency")]
    NoDependency,
    #[error("resolved dependency {0}: a prov:// uri, a prov-manifest-root digest of 64 lowercase hex digits and annotations are required")]
    Dependency(usize),
    #[error("runDetails.builder.id is empty")]
    Builder,
}

/// An in-toto Statement v1 whose predicate is SLSA provenance v1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<ResourceDescriptor>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: Provenance,
}

/// An in-toto ResourceDescriptor: a subject (weight file) or a resolved dependency (dataset
/// version).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDescriptor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<DependencyAnnotations>,
}

/// Where a dataset version is committed: its entry and the signed checkpoint its inclusion
/// proof leads to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DependencyAnnotations {
    /// The `dataset_version` entry's log index.
    pub entry_index: u64,
    /// The log's signed checkpoint (signed-note text) the entry was verified against.
    pub log_checkpoint: String,
}

/// The SLSA provenance v1 predicate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    pub build_definition: BuildDefinition,
    pub run_details: RunDetails,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    pub build_type: String,
    pub external_parameters: ExternalParameters,
    pub internal_parameters: InternalParameters,
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// What the publisher chose: the checkpoint, its dataset versions and its opt-out horizon, as
/// the `model_checkpoint` entry commits them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalParameters {
    /// `publisher/model@checkpoint`.
    pub model: String,
    /// `publisher/dataset@version`, in the entry's order.
    pub datasets: Vec<String>,
    /// Every `train-ai` opt-out logged below this index is claimed honoured.
    pub optout_horizon: u64,
}

/// What the ledger knows: the log, the checkpoint's entry and the verified compliance verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InternalParameters {
    /// The log's origin (first line of its checkpoints).
    pub log: String,
    pub model_checkpoint: ModelCheckpointRef,
    pub compliance: ComplianceVerdict,
}

/// The `model_checkpoint` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelCheckpointRef {
    pub entry_index: u64,
    /// The root of the weights set (hex) and its number of distinct files.
    pub weights_root: String,
    pub weights_count: u64,
    /// The signed checkpoint (signed-note text) the entry was verified against.
    pub log_checkpoint: String,
}

/// The checkpoint's compliance bundle, verified as `prov verify compliance` does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceVerdict {
    /// `prov verify compliance`'s conclusion (`compliant`, `violated`, ...).
    pub conclusion: String,
    /// Its exit code.
    pub exit: u8,
    /// The horizon checked: opt-outs at indexes below it.
    pub horizon: u64,
    /// The size of the signed checkpoint every proof of the bundle leads to.
    pub checkpoint_size: u64,
    /// Opt-outs the bundle carries.
    pub optouts_checked: u64,
    /// Opted-out ids and passages trained on.
    pub violations: u64,
    /// Whether completeness was checked against the log's tiles (`null`: not checked).
    pub complete: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetails {
    pub builder: Builder,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Builder {
    /// `prov://<log origin>/publishers/<publisher>`: the publisher who logged the checkpoint.
    pub id: String,
}

/// A DSSE envelope (JSON form).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Standard base64 of the serialized statement.
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// [`keyid`] of the signing key.
    pub keyid: String,
    /// Standard base64 of the Ed25519 signature over [`pae`] of the payload.
    pub sig: String,
}

/// DSSE's pre-authentication encoding:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// The key's id, as securesystemslib computes it for an Ed25519 key: lowercase hex of SHA-256
/// of the canonical JSON `{"keytype":"ed25519","keyval":{"public":"<hex>"},"scheme":"ed25519"}`.
pub fn keyid(key: &VerifyingKey) -> String {
    let k = KeyIdInput {
        keytype: "ed25519",
        keyval: KeyVal {
            public: hex::encode(key.as_bytes()),
        },
        scheme: "ed25519",
    };
    // Fields are declared in sorted order and the values are ASCII: serde_json's compact output
    // is the canonical form (OLPC canonical JSON and RFC 8785 agree on it).
    let json = serde_json::to_vec(&k).unwrap_or_default();
    hex::encode(Sha256::digest(json))
}

#[derive(Serialize)]
struct KeyIdInput {
    keytype: &'static str,
    keyval: KeyVal,
    scheme: &'static str,
}

#[derive(Serialize)]
struct KeyVal {
    public: String,
}

impl Envelope {
    /// Serializes `statement` and signs it.
    pub fn sign(statement: &Statement, key: &SigningKey) -> Result<Envelope, IntotoError> {
        let payload = serde_json::to_vec(statement).map_err(IntotoError::Json)?;
        let sig = key.sign(&pae(PAYLOAD_TYPE, &payload));
        let b64 = &base64::engine::general_purpose::STANDARD;
        Ok(Envelope {
            payload: b64.encode(&payload),
            payload_type: PAYLOAD_TYPE.to_string(),
            signatures: vec![EnvelopeSignature {
                keyid: keyid(&key.verifying_key()),
                sig: b64.encode(sig.to_bytes()),
            }],
        })
    }

    /// Checks the payload type and that a signature verifies with `key` (the key ids are hints,
    /// not trusted: every signature is tried), then reads the statement and checks its shape.
    pub fn verify(&self, key: &VerifyingKey) -> Result<Statement, IntotoError> {
        if self.payload_type != PAYLOAD_TYPE {
            return Err(IntotoError::PayloadType(self.payload_type.clone()));
        }
        let b64 = &base64::engine::general_purpose::STANDARD;
        let payload = b64
            .decode(&self.payload)
            .map_err(|e| IntotoError::Base64("payload", e))?;
        if self.signatures.is_empty() {
            return Err(IntotoError::NoSignature);
        }
        let msg = pae(&self.payload_type, &payload);
        let ok = self.signatures.iter().any(|s| {
            b64.decode(&s.sig)
                .ok()
                .and_then(|b| Signature::from_slice(&b).ok())
                .is_some_and(|sig| key.verify(&msg, &sig).is_ok())
        });
        if !ok {
            return Err(IntotoError::BadSignature { keyid: keyid(key) });
        }
        let statement: Statement = serde_json::from_slice(&payload).map_err(IntotoError::Json)?;
        statement.check()?;
        Ok(statement)
    }
}

impl Statement {
    /// The shape this export promises: the constant types, every subject a named file with a
    /// BLAKE3 digest, every dependency a `prov://` dataset version with its manifest root and
    /// where it is logged, a builder.
    pub fn check(&self) -> Result<(), ShapeError> {
        if self.type_ != STATEMENT_TYPE {
            return Err(ShapeError::StatementType);
        }
        if self.predicate_type != PREDICATE_TYPE {
            return Err(ShapeError::PredicateType);
        }
        let bd = &self.predicate.build_definition;
        if bd.build_type != BUILD_TYPE {
            return Err(ShapeError::BuildType);
        }
        if self.subject.is_empty() {
            return Err(ShapeError::NoSubject);
        }
        for (i, s) in self.subject.iter().enumerate() {
            let named = s.name.as_deref().is_some_and(|n| !n.is_empty());
            if !named || s.digest.len() != 1 || !is_hex64(s.digest.get(SUBJECT_DIGEST)) {
                return Err(ShapeError::Subject(i));
            }
        }
        if bd.resolved_dependencies.is_empty() {
            return Err(ShapeError::NoDependency);
        }
        for (i, d) in bd.resolved_dependencies.iter().enumerate() {
            let uri = d.uri.as_deref().is_some_and(|u| u.starts_with("prov://"));
            if !uri || !is_hex64(d.digest.get(DEPENDENCY_DIGEST)) || d.annotations.is_none() {
                return Err(ShapeError::Dependency(i));
            }
        }
        if self.predicate.run_details.builder.id.is_empty() {
            return Err(ShapeError::Builder);
        }
        Ok(())
    }
}

impl Statement {
    /// What can be checked with the log's key alone: the statement names this log (its origin,
    /// every URI under `prov://<origin>/`), and every log checkpoint it carries is signed by the
    /// log and holds the entry it is given for.
    pub fn verify_log(&self, key: &VerifierKey) -> Result<(), IntotoError> {
        let bd = &self.predicate.build_definition;
        let log = &bd.internal_parameters.log;
        if log != key.name() {
            return Err(IntotoError::OtherLog {
                statement: log.clone(),
                key: key.name().to_string(),
            });
        }
        let check = |place: Place, text: &str, index: u64| -> Result<(), IntotoError> {
            let cp =
                Checkpoint::verify(text, key).map_err(|e| IntotoError::LogCheckpoint(place, e))?;
            if index >= cp.size.0 {
                return Err(IntotoError::EntryBeyondCheckpoint(place, index, cp.size.0));
            }
            Ok(())
        };
        let m = &bd.internal_parameters.model_checkpoint;
        check(Place::ModelCheckpoint, &m.log_checkpoint, m.entry_index)?;
        let under = |uri: &str, what: &str| {
            uri.strip_prefix("prov://")
                .and_then(|u| u.strip_prefix(log.as_str()))
                .is_some_and(|u| u.starts_with(what))
        };
        if !under(&self.predicate.run_details.builder.id, "/publishers/") {
            return Err(IntotoError::NotOfTheLog(Place::Builder));
        }
        for (i, d) in bd.resolved_dependencies.iter().enumerate() {
            let place = Place::Dependency(i);
            if !d.uri.as_deref().is_some_and(|u| under(u, "/datasets/")) {
                return Err(IntotoError::NotOfTheLog(place));
            }
            if let Some(a) = &d.annotations {
                check(place, &a.log_checkpoint, a.entry_index)?;
            }
        }
        Ok(())
    }
}

/// `prov://<origin>/datasets/<publisher>/<dataset>@<version>`: a dataset version's URI.
pub fn dataset_uri(origin: &str, publisher: &str, dataset: &str, version: &str) -> String {
    format!("prov://{origin}/datasets/{publisher}/{dataset}@{version}")
}

/// `prov://<origin>/publishers/<publisher>`: the builder's id.
pub fn builder_id(origin: &str, publisher: &str) -> String {
    format!("prov://{origin}/publishers/{publisher}")
}

fn is_hex64(s: Option<&String>) -> bool {
    s.is_some_and(|s| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

#[cfg(test)]
mod tests;
