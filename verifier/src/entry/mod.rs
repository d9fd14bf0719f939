//! Log entries (DESIGN.md "Log entries"): four typed values, their canonical JSON (RFC 8785),
//! and their domain-separated Ed25519 signature.
//!
//! ## Encoding
//! An entry is one JSON object, canonicalised by RFC 8785 (JCS), at most 65,535 bytes. Common
//! fields: `type` (`publisher`, `dataset_version`, `optout`, `model_checkpoint`), `time` (unix
//! seconds), optional `nonce` (an integer, so two otherwise identical entries can both be
//! legitimate), `log` (the origin of the log the entry is for, the first line of its
//! checkpoints; absent only in v1 entries), `signer` (the submitter's Ed25519 public key,
//! standard base64 with padding; absent only for an anonymous `optout`) and `sig` (the
//! signature, base64; present exactly when `signer` is). Hashes are 64 lowercase hex, content ids `blake3:<hex>`, integers at most
//! 2^53 - 1 (JCS writes numbers as doubles). The type fields are listed in [`EntryBody`]'s types.
//!
//! ## Signature
//! The **body** is the entry object without its `sig` field (so it includes `type`, `time`,
//! `log`, `signer`, and `nonce` if present), canonicalised by RFC 8785. An entry with `log` is a
//! **v2** entry: the signed message is `"prov-ledger/v2\n" || type || "\n" || body`, and since
//! the body holds `log`, the signature covers the log's origin: it cannot be replayed into
//! another log. An entry without `log` is a **v1** entry, signed over
//! `"prov-ledger/v1\n" || type || "\n" || body`; v1 entries already logged stay valid and
//! verify everywhere, but a sequencer accepts only v2 entries for its own origin
//! (`ledger::store::rules`). Signatures are Ed25519 (RFC 8032, verified strictly). The type is in
//! the message twice, on purpose: a signature can never be read as one over another type,
//! whatever a future body looks like; the version prefix keeps the two domains apart.
//!
//! ## Replays
//! Identical bytes are the same entry: the store refuses a resubmission of an entry it already
//! has as a replay. `time` and `nonce` are what make two legitimate, otherwise equal entries
//! differ; the sequencer may also refuse times far from its clock.

use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde_json::{json, Map, Value};

mod batch;
mod body;
mod fields;

pub use batch::{verify_batch, UnverifiedEntry};

pub use body::{
    CorpusMode, DatasetKey, DatasetRef, DatasetVersion, EntryBody, ModelCheckpoint, OptOut,
    OptOutIds, Publisher, Scope, SetRef,
};

use crate::types::{Digest, LeafIndex};
use fields::Fields;

/// The tlog-tiles limit on an entry's size.
pub const MAX_ENTRY_LEN: usize = 65_535;
/// The most content ids an `optout` entry may carry inline; more go in an opt-out set.
pub const MAX_INLINE_IDS: usize = 64;
/// The most sites an `optout` entry may name.
pub const MAX_SITES: usize = 64;
/// The most leaves an `optout` entry's passage tree may have by default (the service's
/// `max_optout_passages`). A work with more passages is opted out by its
/// `MAX_OPTOUT_PASSAGES` smallest passage ids ([`crate::passage::optout_sample`]): a bottom-k
/// sample, so a dataset holding a fraction f of the work holds about f * 4096 of them.
pub const MAX_OPTOUT_PASSAGES: u64 = 4096;
/// The largest integer an entry may carry: 2^53 - 1, exact as an IEEE double.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
/// The domain separation prefix of a v1 entry's signature (an entry without `log`).
pub const SIGNATURE_CONTEXT: &str = "prov-ledger/v1\n";
/// The domain separation prefix of a v2 entry's signature (an entry bound to a log by `log`).
pub const SIGNATURE_CONTEXT_V2: &str = "prov-ledger/v2\n";
/// The longest `log` (origin) an entry may carry, in bytes.
pub const MAX_LOG_LEN: usize = 255;

/// Why an entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    #[error("entry is {len} bytes, over the 65535-byte limit")]
    TooLarge { len: usize },
    #[error("entry is not a json object: {0}")]
    Malformed(String),
    #[error("entry is not in canonical json (rfc 8785)")]
    NotCanonical,
    #[error("unknown entry type {0:?}")]
    UnknownType(String),
    #[error("missing field {0}")]
    MissingField(&'static str),
    #[error("field {field} has the wrong type")]
    WrongType { field: &'static str },
    #[error("unknown field {0:?}")]
    UnknownField(String),
    #[error("malformed content id {0:?}")]
    MalformedCid(String),
    #[error("field {field} is not 64 lowercase hex")]
    MalformedHash { field: &'static str },
    #[error("field {field} is not a base64 ed25519 public key")]
    MalformedKey { field: &'static str },
    #[error("field {field} is not a valid name: {value:?}")]
    BadName { field: &'static str, value: String },
    #[error("field {field} is above 2^53 - 1")]
    NumberOutOfRange { field: &'static str },
    #[error("field {field} is too long")]
    TooLong { field: &'static str },
    #[error("field {field} is empty")]
    EmptyList { field: &'static str },
    #[error("field {field} is not sorted and unique")]
    NotSortedUnique { field: &'static str },
    #[error("{count} inline ids, more than 64; use an opt-out set")]
    TooManyIds { count: usize },
    #[error("an optout names ids or a set (not both), sites, or passages: at least one")]
    IdsOrSet,
    #[error("site {value:?}: {cause}")]
    BadSite {
        value: String,
        #[source]
        cause: crate::source::SourceError,
    },
    #[error("{count} sites, more than 64")]
    TooManySites { count: usize },
    #[error("unknown scope {0:?} (aipref labels: search, train-ai; ai-use withdrawn)")]
    UnknownScope(String),
    #[error("unknown corpus mode {0:?}")]
    BadCorpusMode(String),
    #[error("only an optout may be anonymous")]
    AnonymousNotAllowed,
    #[error("signature without a signer")]
    UnexpectedSignature,
    #[error("bad signature")]
    BadSignature,
    #[error("optout horizon {horizon} is beyond the entry's own index {index}")]
    HorizonBeyondIndex { horizon: u64, index: u64 },
    #[error("dataset version at index {dataset} is not before the entry's own index {index}")]
    DatasetNotEarlier { dataset: u64, index: u64 },
    #[error("field log is not a log origin (1 to 255 bytes, no control characters)")]
    BadLog,
    #[error("canonical json encoding failed: {0}")]
    Encode(String),
}

/// The four entry types, as written in the `type` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    Publisher,
    DatasetVersion,
    OptOut,
    ModelCheckpoint,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Publisher => "publisher",
            EntryKind::DatasetVersion => "dataset_version",
            EntryKind::OptOut => "optout",
            EntryKind::ModelCheckpoint => "model_checkpoint",
        }
    }

    pub fn from_type(s: &str) -> Option<Self> {
        [
            EntryKind::Publisher,
            EntryKind::DatasetVersion,
            EntryKind::OptOut,
            EntryKind::ModelCheckpoint,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A publisher, dataset, version, model or checkpoint name: 1 to 64 of `a-z 0-9 . _ -`,
/// starting with a letter or digit. Lowercase only, so that names cannot differ by case alone,
/// and free of `/` and `@`, which `publisher/dataset@version` uses.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    /// The name, or the refused string back.
    pub fn new(s: impl Into<String>) -> Result<Name, String> {
        let s = s.into();
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if ok {
            Ok(Name(s))
        } else {
            Err(s)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A signed (or anonymous) log entry, with its canonical bytes. Built only by [`Entry::sign`],
/// [`Entry::anonymous`] (and their v1 forms), [`Entry::from_bytes`] or the signature checks of an
/// [`UnverifiedEntry`], so an `Entry` always has a valid signature and canonical bytes within the
/// size limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    body: EntryBody,
    time: u64,
    nonce: Option<u64>,
    /// The origin of the log the entry is bound to (v2); `None` for a v1 entry.
    log: Option<String>,
    signer: Option<VerifyingKey>,
    signature: Option<Signature>,
    bytes: Vec<u8>,
}

impl Entry {
    /// Signs `body` with `key` for the log named `log` (its origin: a v2 entry), stamped with
    /// `time` (unix seconds) and an optional `nonce`.
    pub fn sign(
        log: &str,
        body: EntryBody,
        time: u64,
        nonce: Option<u64>,
        key: &SigningKey,
    ) -> Result<Entry, EntryError> {
        Entry::sign_with(Some(log.to_string()), body, time, nonce, key)
    }

    /// An unsigned opt-out for the log named `log` (a v2 entry); DESIGN.md allows anonymous
    /// opt-outs.
    pub fn anonymous(
        log: &str,
        optout: OptOut,
        time: u64,
        nonce: Option<u64>,
    ) -> Result<Entry, EntryError> {
        Entry::assemble(
            EntryBody::OptOut(optout),
            time,
            nonce,
            Some(log.to_string()),
            None,
            None,
        )
    }

    /// A v1 entry (no `log`, the `prov-ledger/v1` signing domain), as written before entries
    /// were bound to their log. Sequencers refuse new v1 entries; this exists so that tests can
    /// show that old ones still verify.
    pub fn sign_v1(
        body: EntryBody,
        time: u64,
        nonce: Option<u64>,
        key: &SigningKey,
    ) -> Result<Entry, EntryError> {
        Entry::sign_with(None, body, time, nonce, key)
    }

    /// A v1 anonymous opt-out (no `log`); see [`Entry::sign_v1`].
    pub fn anonymous_v1(
        optout: OptOut,
        time: u64,
        nonce: Option<u64>,
    ) -> Result<Entry, EntryError> {
        Entry::assemble(EntryBody::OptOut(optout), time, nonce, None, None, None)
    }

    fn sign_with(
        log: Option<String>,
        body: EntryBody,
        time: u64,
        nonce: Option<u64>,
        key: &SigningKey,
    ) -> Result<Entry, EntryError> {
        let signer = key.verifying_key();
        let message = signing_message(&body, time, nonce, log.as_deref(), Some(&signer))?;
        let signature = key.sign(&message);
        Entry::assemble(body, time, nonce, log, Some(signer), Some(signature))
    }

    /// Decodes and checks an entry: size, JSON, type, fields, canonical form, signature.
    pub fn from_bytes(bytes: &[u8]) -> Result<Entry, EntryError> {
        let unverified = Entry::decode(bytes)?;
        let entry = unverified.verify()?;
        if entry.bytes != bytes {
            return Err(EntryError::NotCanonical);
        }
        Ok(entry)
    }

    /// Decodes and checks an entry like [`Entry::from_bytes`] in every way but its signature,
    /// which the caller checks with [`verify_batch`] (many at once) or
    /// [`UnverifiedEntry::verify`]; only they turn it into an [`Entry`].
    pub fn from_bytes_unverified(bytes: &[u8]) -> Result<UnverifiedEntry, EntryError> {
        let unverified = Entry::decode(bytes)?;
        if unverified.as_bytes() != bytes {
            return Err(EntryError::NotCanonical);
        }
        Ok(unverified)
    }

    /// Everything [`Entry::from_bytes`] does but the signature and the canonical-form checks.
    fn decode(bytes: &[u8]) -> Result<UnverifiedEntry, EntryError> {
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(EntryError::TooLarge { len: bytes.len() });
        }
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| EntryError::Malformed(e.to_string()))?;
        if !value.is_object() {
            return Err(EntryError::Malformed("not an object".into()));
        }
        let mut f = Fields::new(value, "entry")?;
        let ty = f.string("type")?;
        let kind = EntryKind::from_type(&ty).ok_or(EntryError::UnknownType(ty))?;
        let time = f.u64("time")?;
        let nonce = f.opt_u64("nonce")?;
        let log = if f.has("log") {
            Some(f.string("log")?)
        } else {
            None
        };
        let signer = if f.has("signer") {
            Some(f.key("signer")?)
        } else {
            None
        };
        let signature = if f.has("sig") {
            let s = fields::b64(&f.string("sig")?).ok_or(EntryError::BadSignature)?;
            Some(Signature::from_slice(&s).map_err(|_| EntryError::BadSignature)?)
        } else {
            None
        };
        let body = EntryBody::read(kind, &mut f)?;
        f.finish()?;
        Entry::assemble_unverified(body, time, nonce, log, signer, signature)
    }

    /// The canonical bytes: what the log stores and hashes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The log leaf hash of this entry, `SHA-256(0x00 || bytes)`.
    pub fn leaf_hash(&self) -> Digest {
        crate::hash::leaf_hash(&self.bytes)
    }

    pub fn kind(&self) -> EntryKind {
        self.body.kind()
    }

    pub fn body(&self) -> &EntryBody {
        &self.body
    }

    pub fn time(&self) -> u64 {
        self.time
    }

    pub fn nonce(&self) -> Option<u64> {
        self.nonce
    }

    /// The origin of the log the entry is bound to; `None` for a v1 entry.
    pub fn log(&self) -> Option<&str> {
        self.log.as_deref()
    }

    /// The key that signed the entry; `None` for an anonymous opt-out.
    pub fn signer(&self) -> Option<&VerifyingKey> {
        self.signer.as_ref()
    }

    /// The publisher name the entry speaks for (all types but `optout`).
    pub fn publisher(&self) -> Option<&Name> {
        match &self.body {
            EntryBody::Publisher(p) => Some(&p.name),
            EntryBody::DatasetVersion(d) => Some(&d.publisher),
            EntryBody::ModelCheckpoint(c) => Some(&c.publisher),
            EntryBody::OptOut(_) => None,
        }
    }

    /// `publisher/dataset@version` of a `dataset_version` entry.
    pub fn dataset_key(&self) -> Option<DatasetKey> {
        match &self.body {
            EntryBody::DatasetVersion(d) => Some(d.key()),
            _ => None,
        }
    }

    /// The rules that depend on where the entry sits in the log: a `model_checkpoint` at `index`
    /// may only name a horizon `N <= index`, and only dataset versions before itself.
    pub fn validate_at(&self, index: LeafIndex) -> Result<(), EntryError> {
        if let EntryBody::ModelCheckpoint(c) = &self.body {
            if c.optout_horizon > index.0 {
                return Err(EntryError::HorizonBeyondIndex {
                    horizon: c.optout_horizon,
                    index: index.0,
                });
            }
            if let Some(d) = c.datasets.iter().find(|d| d.index >= index) {
                return Err(EntryError::DatasetNotEarlier {
                    dataset: d.index.0,
                    index: index.0,
                });
            }
        }
        Ok(())
    }

    fn assemble(
        body: EntryBody,
        time: u64,
        nonce: Option<u64>,
        log: Option<String>,
        signer: Option<VerifyingKey>,
        signature: Option<Signature>,
    ) -> Result<Entry, EntryError> {
        Entry::assemble_unverified(body, time, nonce, log, signer, signature)?.verify()
    }

    /// The entry with its canonical bytes and, if signed, its signing message; the signature is
    /// not checked yet.
    fn assemble_unverified(
        body: EntryBody,
        time: u64,
        nonce: Option<u64>,
        log: Option<String>,
        signer: Option<VerifyingKey>,
        signature: Option<Signature>,
    ) -> Result<UnverifiedEntry, EntryError> {
        body.check()?;
        if let Some(l) = &log {
            if !log_ok(l) {
                return Err(EntryError::BadLog);
            }
        }
        for (field, n) in [("time", Some(time)), ("nonce", nonce)] {
            if n.is_some_and(|n| n > MAX_SAFE_INTEGER) {
                return Err(EntryError::NumberOutOfRange { field });
            }
        }
        match (&signer, &signature) {
            (None, Some(_)) => return Err(EntryError::UnexpectedSignature),
            (None, None) if !matches!(body, EntryBody::OptOut(_)) => {
                return Err(EntryError::AnonymousNotAllowed)
            }
            (Some(_), None) => return Err(EntryError::MissingField("sig")),
            _ => {}
        }
        let message = match &signer {
            Some(key) => signing_message(&body, time, nonce, log.as_deref(), Some(key))?,
            None => Vec::new(),
        };
        let mut m = object(&body, time, nonce, log.as_deref(), signer.as_ref());
        if let Some(sig) = &signature {
            m.insert("sig".into(), json!(fields::to_b64(&sig.to_bytes())));
        }
        let bytes = canonical(&m)?;
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(EntryError::TooLarge { len: bytes.len() });
        }
        let entry = Entry {
            body,
            time,
            nonce,
            log,
            signer,
            signature,
            bytes,
        };
        Ok(UnverifiedEntry::new(entry, message))
    }
}

/// Whether `s` can be a log's origin in an entry: the first line of a checkpoint, so no control
/// characters (a newline least of all), and not empty.
fn log_ok(s: &str) -> bool {
    (1..=MAX_LOG_LEN).contains(&s.len()) && !s.chars().any(char::is_control)
}

/// `"prov-ledger/v2\n" || type || "\n" || JCS(entry without sig)` for an entry with `log`,
/// `"prov-ledger/v1\n" || ...` for one without.
fn signing_message(
    body: &EntryBody,
    time: u64,
    nonce: Option<u64>,
    log: Option<&str>,
    signer: Option<&VerifyingKey>,
) -> Result<Vec<u8>, EntryError> {
    let m = object(body, time, nonce, log, signer);
    let kind = body.kind().as_str();
    let context = match log {
        Some(_) => SIGNATURE_CONTEXT_V2,
        None => SIGNATURE_CONTEXT,
    };
    let mut msg = Vec::with_capacity(256);
    msg.extend_from_slice(context.as_bytes());
    msg.extend_from_slice(kind.as_bytes());
    msg.push(b'\n');
    msg.extend_from_slice(&canonical(&m)?);
    Ok(msg)
}

fn object(
    body: &EntryBody,
    time: u64,
    nonce: Option<u64>,
    log: Option<&str>,
    signer: Option<&VerifyingKey>,
) -> Map<String, Value> {
    let kind = body.kind();
    let mut m = Map::new();
    m.insert("type".into(), json!(kind.as_str()));
    m.insert("time".into(), json!(time));
    if let Some(l) = log {
        m.insert("log".into(), json!(l));
    }
    if let Some(n) = nonce {
        m.insert("nonce".into(), json!(n));
    }
    if let Some(k) = signer {
        m.insert("signer".into(), json!(fields::to_b64(k.as_bytes())));
    }
    body.write(&mut m);
    m
}

fn canonical(m: &Map<String, Value>) -> Result<Vec<u8>, EntryError> {
    serde_json_canonicalizer::to_vec(m).map_err(|e| EntryError::Encode(e.to_string()))
}

#[cfg(test)]
mod tests;
