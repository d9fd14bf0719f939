//! A C2SP tlog-witness v1 witness (<https://c2sp.org/tlog-witness>) for other logs: `POST
//! /add-checkpoint` (and the monitors' `GET /<origin hash>/checkpoint`), served by
//! `prov witness serve`.
//!
//! The witness keeps, per log it is configured for, the latest checkpoint it cosigned, and
//! cosigns a new one only if the log signed it and a consistency proof shows it extends the
//! stored one: it never cosigns two views of a log that do not extend each other (a fork), and
//! never goes back to a smaller tree. The check against the stored checkpoint and the write of
//! the new one happen under one lock, and the write is durable before the cosignature is sent
//! (the race the spec describes, where a slow request rolls the state back, cannot happen).
//!
//! This is a different service from the ledger's: its own router, its own state, no RocksDB.
//! It lives here because this crate is the one that knows HTTP; the cosignature format is
//! `verifier::cosignature`, the protocol checks are [`Witness::add_checkpoint`] (plain bytes
//! in, plain answer out, tested without HTTP).
//!
//! Deliberately not here: the log side (a `prov serve` that submits its checkpoints to
//! witnesses), ML-DSA-44 cosignatures and `sign-subtree`.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use ledger::checkpoint::Checkpoint;
use ledger::cosignature::WitnessSigner;
use ledger::hash::{Sha256Log, TreeHasher};
use ledger::note::{split_note, VerifierKey};
use ledger::{verify_consistency, Digest};
use sha2::Digest as _;

use crate::problem::ApiError;

/// The media type of a 409 answer: the witness's size for the log, in decimal, and a newline.
pub const TLOG_SIZE: &str = "text/x.tlog.size";

/// The most consistency-proof lines a request may carry (the spec's limit).
pub const MAX_PROOF_LINES: usize = 63;

/// Why a checkpoint was not cosigned, each with the status the spec gives it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddCheckpointError {
    /// 400: a body that does not follow the request format, or an old size over the new one.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// 404: no log with this origin is configured.
    #[error("unknown log {0:?}")]
    UnknownLog(String),
    /// 403: no valid signature by a configured key of the log, or a bad one.
    #[error("checkpoint not signed by the log: {0}")]
    NotSigned(String),
    /// 409: `old` is not the size of the checkpoint the witness last cosigned for the log.
    #[error("old size {old} is not the witness's size {have}")]
    Conflict { old: u64, have: u64 },
    /// 422: the proof does not show that the checkpoint extends the stored one: a fork, or a
    /// malformed proof. Never cosigned.
    #[error("inconsistent checkpoint: {0}")]
    Inconsistent(String),
    /// 500: the state could not be read or made durable. Nothing was cosigned.
    #[error("witness state: {0}")]
    State(#[from] std::io::Error),
    /// 500: a state file that does not hold a checkpoint (corrupted by hand?).
    #[error("witness state file {0} is corrupt")]
    CorruptState(PathBuf),
    #[error("cosigning failed: {0}")]
    Cosign(#[from] ledger::cosignature::CosignatureError),
}

/// A witness: its key, the logs it witnesses, and where it keeps their latest checkpoints.
pub struct Witness {
    signer: WitnessSigner,
    /// Log keys by origin (a vkey's name is the log's origin).
    logs: HashMap<String, Vec<VerifierKey>>,
    state_dir: PathBuf,
    /// Held from reading the stored checkpoint to the end of the durable write of the new one.
    lock: Mutex<()>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("signer", &self.signer)
            .field("logs", &self.logs.keys().collect::<Vec<_>>())
            .field("state_dir", &self.state_dir)
            .finish()
    }
}

impl Witness {
    /// A witness for `logs`, keeping its state in `state_dir` (created if missing).
    pub fn new(
        signer: WitnessSigner,
        logs: Vec<VerifierKey>,
        state_dir: PathBuf,
    ) -> std::io::Result<Self> {
        std::fs::create_dir_all(&state_dir)?;
        let mut by_origin: HashMap<String, Vec<VerifierKey>> = HashMap::new();
        for k in logs {
            by_origin.entry(k.name().to_string()).or_default().push(k);
        }
        Ok(Witness {
            signer,
            logs: by_origin,
            state_dir,
            lock: Mutex::new(()),
        })
    }

    pub fn signer(&self) -> &WitnessSigner {
        &self.signer
    }

    /// The `add-checkpoint` call: checks `body` (`old N\n`, proof lines, a blank line, the
    /// signed checkpoint) and answers with the cosignature line, after the checkpoint is stored
    /// durably as the log's latest.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<String, AddCheckpointError> {
        let req = parse_request(body)?;
        let (text, _) = split_note(req.note).map_err(|_| bad("malformed checkpoint note"))?;
        let cp = Checkpoint::parse_body(text).map_err(|_| bad("malformed checkpoint body"))?;
        let keys = self
            .logs
            .get(&cp.origin)
            .ok_or_else(|| AddCheckpointError::UnknownLog(cp.origin.clone()))?;
        let mut signed = Err(AddCheckpointError::NotSigned(
            "no signature by the log".into(),
        ));
        for k in keys {
            match Checkpoint::verify(req.note, k) {
                Ok(_) => {
                    signed = Ok(());
                    break;
                }
                // A bad signature by a trusted key makes the note malformed: refuse at once.
                Err(
                    e @ ledger::CheckpointError::Note(ledger::note::NoteError::BadSignature {
                        ..
                    }),
                ) => return Err(AddCheckpointError::NotSigned(e.to_string())),
                Err(e) => signed = Err(AddCheckpointError::NotSigned(e.to_string())),
            }
        }
        signed?;
        if req.old > cp.size.0 {
            return Err(bad("old size is larger than the checkpoint's"));
        }
        if cp.size.0 == 0 && cp.root != Sha256Log::empty_root() {
            return Err(AddCheckpointError::Inconsistent(
                "a checkpoint of size 0 must have the empty tree's root".into(),
            ));
        }

        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let path = self.state_path(&cp.origin);
        let stored = read_state(&path)?;
        let have = stored.as_ref().map_or(0, |c| c.size.0);
        if req.old != have {
            return Err(AddCheckpointError::Conflict { old: req.old, have });
        }
        // From size 0 (nothing stored, or an empty tree cosigned) the proof is empty: there is
        // no consistency proof from the empty tree to check.
        match stored.as_ref().filter(|c| c.size.0 > 0) {
            None if !req.proof.is_empty() => {
                return Err(AddCheckpointError::Inconsistent(
                    "a proof from size 0 must be empty".into(),
                ))
            }
            None => {}
            Some(old) => {
                verify_consistency::<Sha256Log>(old.size, cp.size, &old.root, &cp.root, &req.proof)
                    .map_err(|e| AddCheckpointError::Inconsistent(e.to_string()))?
            }
        }
        let line = self.signer.cosign(text, now)?;
        // What is stored: the note as the log signed it, with this witness's cosignature, which
        // is what monitors read back (`GET /<origin hash>/checkpoint`).
        let mut stored_note = req.note.to_string();
        stored_note.push_str(&line);
        write_durably(&self.state_dir, &path, stored_note.as_bytes())?;
        Ok(line)
    }

    /// The stored checkpoint (with the cosignature) of the log whose origin hashes to `hash`.
    pub fn stored_checkpoint(&self, origin_hash: &str) -> Result<Option<String>, std::io::Error> {
        if origin_hash.len() != 64 || !origin_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        match std::fs::read_to_string(self.state_dir.join(origin_hash.to_ascii_lowercase())) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn state_path(&self, origin: &str) -> PathBuf {
        self.state_dir.join(origin_hash(origin))
    }
}

/// The lowercase hex SHA-256 of a log's origin: its state file's name and its monitoring path.
pub fn origin_hash(origin: &str) -> String {
    hex::encode(sha2::Sha256::digest(origin.as_bytes()))
}

/// The witness's routes: `POST /add-checkpoint` and `GET /{origin hash}/checkpoint`.
pub fn witness_router(w: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{origin_hash}/checkpoint", get(checkpoint))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(w)
}

/// Serves `w` on `listener` until `shutdown` completes (in-flight requests finish first).
pub async fn serve_witness(
    listener: tokio::net::TcpListener,
    w: Arc<Witness>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, witness_router(w))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A checkpoint note (at most 1,000,000 bytes), 63 proof lines and the old size line.
const MAX_BODY: usize = ledger::note::MAX_NOTE_BYTES + 64 * 46;

async fn add_checkpoint(State(w): State<Arc<Witness>>, body: Bytes) -> Response {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let answer = tokio::task::spawn_blocking(move || w.add_checkpoint(&body, now)).await;
    match answer {
        Ok(Ok(line)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            line,
        )
            .into_response(),
        // The spec fixes this answer's body: the size, for the client to retry with.
        Ok(Err(AddCheckpointError::Conflict { have, .. })) => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, TLOG_SIZE)],
            format!("{have}\n"),
        )
            .into_response(),
        Ok(Err(e)) => api_error(e).into_response(),
        Err(e) => ApiError::internal(format!("add-checkpoint task: {e}")).into_response(),
    }
}

async fn checkpoint(
    State(w): State<Arc<Witness>>,
    UrlPath(origin_hash): UrlPath<String>,
) -> Response {
    match w.stored_checkpoint(&origin_hash) {
        Ok(Some(note)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            note,
        )
            .into_response(),
        Ok(None) => ApiError::not_found("no checkpoint cosigned for this log").into_response(),
        Err(e) => ApiError::internal(format!("reading witness state: {e}")).into_response(),
    }
}

/// The one mapping of the witness's refusals to problem bodies (409 is answered above).
fn api_error(e: AddCheckpointError) -> ApiError {
    match e {
        AddCheckpointError::BadRequest(_) => ApiError::bad_request(e.to_string()),
        AddCheckpointError::UnknownLog(_) => ApiError::not_found(e.to_string()),
        AddCheckpointError::NotSigned(_) => ApiError::Forbidden(e.to_string()),
        AddCheckpointError::Conflict { .. } => ApiError::Conflict {
            slug: "witness-size-mismatch",
            detail: e.to_string(),
        },
        AddCheckpointError::Inconsistent(_) => ApiError::Rejected {
            slug: "inconsistent-checkpoint",
            detail: e.to_string(),
        },
        AddCheckpointError::State(_)
        | AddCheckpointError::CorruptState(_)
        | AddCheckpointError::Cosign(_) => ApiError::internal(e),
    }
}

struct Request<'a> {
    old: u64,
    proof: Vec<Digest>,
    note: &'a str,
}

fn bad(what: &'static str) -> AddCheckpointError {
    AddCheckpointError::BadRequest(what)
}

fn parse_request(body: &[u8]) -> Result<Request<'_>, AddCheckpointError> {
    let body = std::str::from_utf8(body).map_err(|_| bad("body is not UTF-8"))?;
    let (head, note) = body
        .split_once("\n\n")
        .ok_or(bad("no blank line before the checkpoint"))?;
    let mut lines = head.split('\n');
    let old = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .and_then(parse_decimal)
        .ok_or(bad("the first line must be `old <size>`"))?;
    let mut proof = Vec::new();
    for l in lines {
        if proof.len() == MAX_PROOF_LINES {
            return Err(bad("more than 63 consistency proof lines"));
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(l)
            .map_err(|_| bad("a proof line is not base64"))?;
        let hash: [u8; 32] = raw
            .try_into()
            .map_err(|_| bad("a proof line is not a 32-byte hash"))?;
        proof.push(Digest(hash));
    }
    Ok(Request { old, proof, note })
}

/// ASCII decimal, no leading zeroes (except `0`), fitting in a u64.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// The stored checkpoint of a log, or None if the witness never cosigned one.
fn read_state(path: &Path) -> Result<Option<Checkpoint>, AddCheckpointError> {
    let note = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let corrupt = || AddCheckpointError::CorruptState(path.to_path_buf());
    let (text, _) = split_note(&note).map_err(|_| corrupt())?;
    Checkpoint::parse_body(text)
        .map(Some)
        .map_err(|_| corrupt())
}

/// Replaces `path` with `bytes` so that a crash at any point leaves either the old file or the
/// new one, whole. As Sunlight does for its lock backends: write a temporary file in the same
/// directory and fsync it (a crash here leaves a stray temporary file and the old state: the
/// cosignature was not sent, so nothing is lost); rename it over the old file (atomic on POSIX;
/// a crash here leaves the old or the new name, each a whole checkpoint); fsync the directory so
/// the rename itself survives a power cut. Only then is the cosignature sent: the witness never
/// answers for a checkpoint it could forget, and so never cosigns below a size it cosigned.
fn write_durably(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let (tmp, mut f) = tempfile_in(dir)?;
    let written = f
        .write_all(bytes)
        .and_then(|()| f.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        // Nothing replaced the state; the stray file would only be clutter.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = format!(".tmp-{}", hex::encode(rand::random::<[u8; 8]>()));
    let path = dir.join(name);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use ledger::note::NoteSigner;
    use ledger::TreeSize;

    fn log() -> NoteSigner {
        NoteSigner::new("example.com/log", SigningKey::from_bytes(&[1; 32])).unwrap()
    }

    fn witness(dir: &Path) -> Witness {
        let s = WitnessSigner::new("w.example", SigningKey::from_bytes(&[2; 32])).unwrap();
        Witness::new(s, vec![log().verifier_key()], dir.to_path_buf()).unwrap()
    }

    fn note(size: u64, root: [u8; 32]) -> String {
        Checkpoint {
            origin: "example.com/log".into(),
            size: TreeSize(size),
            root: Digest(root),
        }
        .sign(&log())
        .unwrap()
    }

    #[test]
    fn first_checkpoint_then_conflict_then_fork() {
        let dir = tempfile::tempdir().unwrap();
        let w = witness(dir.path());
        let line = w
            .add_checkpoint(format!("old 0\n\n{}", note(3, [5; 32])).as_bytes(), 10)
            .unwrap();
        assert!(line.starts_with("— w.example "));
        assert!(matches!(
            w.add_checkpoint(format!("old 0\n\n{}", note(4, [6; 32])).as_bytes(), 11),
            Err(AddCheckpointError::Conflict { old: 0, have: 3 })
        ));
        // Same size, another root: a fork.
        assert!(matches!(
            w.add_checkpoint(format!("old 3\n\n{}", note(3, [6; 32])).as_bytes(), 11),
            Err(AddCheckpointError::Inconsistent(_))
        ));
        // A bogus proof to a bigger tree: a fork (or a lie), never cosigned.
        let h = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
        assert!(matches!(
            w.add_checkpoint(
                format!("old 3\n{h}\n{h}\n\n{}", note(4, [6; 32])).as_bytes(),
                11
            ),
            Err(AddCheckpointError::Inconsistent(_))
        ));
        // And a restarted witness still holds size 3.
        let w = witness(dir.path());
        assert!(matches!(
            w.add_checkpoint(format!("old 0\n\n{}", note(4, [6; 32])).as_bytes(), 11),
            Err(AddCheckpointError::Conflict { have: 3, .. })
        ));
    }

    /// Regression: a witness that had cosigned the empty tree (size 0) refused every later
    /// checkpoint, asking for a consistency proof from the empty tree, which does not exist.
    #[test]
    fn witness_that_cosigned_the_empty_tree_cosigns_the_grown_log() {
        let dir = tempfile::tempdir().unwrap();
        let w = witness(dir.path());
        let empty = Sha256Log::empty_root().0;
        w.add_checkpoint(format!("old 0\n\n{}", note(0, empty)).as_bytes(), 10)
            .unwrap();
        w.add_checkpoint(format!("old 0\n\n{}", note(3, [5; 32])).as_bytes(), 11)
            .unwrap();
        // And a restarted witness still holds size 3.
        let w = witness(dir.path());
        assert!(matches!(
            w.add_checkpoint(format!("old 0\n\n{}", note(4, [6; 32])).as_bytes(), 11),
            Err(AddCheckpointError::Conflict { have: 3, .. })
        ));
    }

    /// The race of the spec: two requests from the same old size, checked before either is
    /// stored, would let the smaller one roll the witness back after the bigger was cosigned.
    /// Under the lock, exactly one of them is cosigned and the others get 409.
    #[test]
    fn concurrent_submissions_from_one_old_size_never_roll_back() {
        let dir = tempfile::tempdir().unwrap();
        let w = witness(dir.path());
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (1..=8u8)
                .map(|i| {
                    let w = &w;
                    s.spawn(move || {
                        w.add_checkpoint(
                            format!("old 0\n\n{}", note(u64::from(i), [i; 32])).as_bytes(),
                            1,
                        )
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "{results:?}");
        let winner = results.iter().position(|r| r.is_ok()).unwrap() as u64 + 1;
        for r in &results {
            if let Err(e) = r {
                assert!(
                    matches!(e, AddCheckpointError::Conflict { old: 0, have } if *have == winner),
                    "{e:?}"
                );
            }
        }
        let stored = read_state(&w.state_path("example.com/log"))
            .unwrap()
            .unwrap();
        assert_eq!(stored.size.0, winner);
    }

    #[test]
    fn unknown_logs_unsigned_notes_and_bad_bodies() {
        let dir = tempfile::tempdir().unwrap();
        let w = witness(dir.path());
        let other = NoteSigner::new("example.com/other", SigningKey::from_bytes(&[3; 32])).unwrap();
        let foreign = Checkpoint {
            origin: "example.com/other".into(),
            size: TreeSize(1),
            root: Digest([1; 32]),
        }
        .sign(&other)
        .unwrap();
        assert!(matches!(
            w.add_checkpoint(format!("old 0\n\n{foreign}").as_bytes(), 1),
            Err(AddCheckpointError::UnknownLog(_))
        ));
        let impostor =
            NoteSigner::new("example.com/log", SigningKey::from_bytes(&[4; 32])).unwrap();
        let forged = Checkpoint {
            origin: "example.com/log".into(),
            size: TreeSize(1),
            root: Digest([1; 32]),
        }
        .sign(&impostor)
        .unwrap();
        assert!(matches!(
            w.add_checkpoint(format!("old 0\n\n{forged}").as_bytes(), 1),
            Err(AddCheckpointError::NotSigned(_))
        ));
        assert!(matches!(
            w.add_checkpoint(format!("old 5\n\n{}", note(3, [5; 32])).as_bytes(), 1),
            Err(AddCheckpointError::BadRequest(_))
        ));
        assert!(matches!(
            w.add_checkpoint(format!("old 01\n\n{}", note(3, [5; 32])).as_bytes(), 1),
            Err(AddCheckpointError::BadRequest(_))
        ));
        assert!(matches!(
            w.add_checkpoint(format!("old 0\n\n{}", note(0, [5; 32])).as_bytes(), 1),
            Err(AddCheckpointError::Inconsistent(_))
        ));
        let h = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
        assert!(matches!(
            w.add_checkpoint(format!("old 0\n{h}\n\n{}", note(3, [5; 32])).as_bytes(), 1),
            Err(AddCheckpointError::Inconsistent(_))
        ));
        // Nothing above was stored.
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }
}
