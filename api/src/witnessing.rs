//! The log side of C2SP tlog-witness v1: `prov serve` submits each new checkpoint to the
//! witnesses its configuration lists (`[[witness]]`), collects their cosignatures, and publishes
//! the latest checkpoint that `witness_policy_min` (k) of them cosigned, with all their lines, at
//! `GET /checkpoint.cosigned`. `GET /checkpoint` is untouched: it serves the log-signed
//! checkpoint as before, whether or not any witness answered.
//!
//! One task per witness, so a witness that is down or slow delays nobody: not the sequencer
//! (which never waits for a witness), not the other witnesses. Each task remembers the size it
//! believes its witness has (0 at start), sends `old <size>` with a consistency proof from it,
//! and on 409 reads the witness's size (`text/x.tlog.size`) and retries once with a proof from
//! that size. A failure (refused, unreachable, over `witness_timeout_secs`, or an answer that
//! does not verify with the configured key) backs off exponentially, up to a minute.
//!
//! Every cosignature line is verified with the configured witness key before it is kept: a
//! witness cannot get a bogus line published, and a line from another key is dropped.
//!
//! The published cosigned checkpoint is durable: it is written to `checkpoint.cosigned` in the
//! data directory (temp file, fsync, rename, fsync of the directory) BEFORE `GET
//! /checkpoint.cosigned` serves it, and reloaded at start ([`Witnessing::load`]), so what the
//! route serves never goes backwards across a restart or a crash. At load the file is checked
//! again: the log's note must be the one the ledger signed at that size, and each cosignature
//! line must verify with a witness key configured NOW (a line of a witness removed from the
//! configuration is dropped; if fewer than k are left, nothing is served until the witnesses
//! cosign again).
//!
//! Deliberately not here: the witness itself (`crate::witness`), and the cosignatures of
//! checkpoints not yet published (pending ones are in memory only: after a restart the
//! witnesses are asked again, and cosign the same size again).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::Response;
use base64::Engine as _;
use ledger::cosignature::{cosignatures, WitnessKey};
use ledger::ledger::Ledger;
use ledger::TreeSize;

use crate::config::Config;
use crate::problem::ApiError;
use crate::state::AppState;

/// How often a witness task looks for a new checkpoint.
const POLL: Duration = Duration::from_millis(200);
/// The first wait after a failure; doubled for each further one, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Checkpoints kept while waiting for k cosignatures.
const MAX_PENDING: usize = 64;
/// The file in the data directory that holds the published cosigned checkpoint.
pub const COSIGNED_FILE: &str = "checkpoint.cosigned";
/// Where the next [`COSIGNED_FILE`] is written before it is renamed over the old one.
const COSIGNED_TMP: &str = "checkpoint.cosigned.tmp";

/// The witnesses of this log, the policy, and what they cosigned so far.
#[derive(Debug)]
pub struct Witnessing {
    witnesses: Vec<Target>,
    min: usize,
    timeout: Duration,
    collected: Mutex<Collected>,
    /// The checkpoint every witness is asked to cosign now, and since when.
    round: Mutex<Option<(Arc<ledger::store::log::SignedCheckpoint>, Instant)>>,
    /// What `GET /checkpoint.cosigned` serves: `collected.published` once it is durable.
    served: Mutex<Option<(u64, Arc<String>)>>,
    /// Held while [`COSIGNED_FILE`] is written, so that writes never overtake each other.
    writing: Mutex<()>,
    /// The data directory, once [`Witnessing::load`] set it; none: nothing is persisted (a
    /// ledger served by `Server::with_ledger`, unit tests).
    dir: OnceLock<PathBuf>,
}

#[derive(Debug)]
struct Target {
    url: String,
    key: WitnessKey,
}

#[derive(Debug, Default)]
struct Collected {
    /// Checkpoints above the published one, by size: the log's note and each witness's lines.
    pending: BTreeMap<u64, Pending>,
    /// The latest checkpoint with k cosignatures: its size and the note with all their lines.
    published: Option<(u64, Arc<String>)>,
}

#[derive(Debug)]
struct Pending {
    note: String,
    lines: BTreeMap<usize, String>,
}

/// Why one submission to a witness failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    #[error("witness unreachable or timed out: {0}")]
    Transport(String),
    #[error("witness answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("witness has size {have}, above the log's {ours}: no proof exists")]
    Ahead { have: u64, ours: u64 },
    #[error("witness answered 409 twice")]
    ConflictAgain,
    #[error("409 without a size")]
    BadSize,
    #[error("no cosignature line verifies with the configured key")]
    NoValidCosignature,
    #[error("consistency proof: {0}")]
    Proof(String),
}

/// Why the published cosigned checkpoint could not be written or read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not UTF-8")]
    NotUtf8 { path: PathBuf },
    #[error("reading the ledger's checkpoint")]
    Store(#[source] ledger::store::StoreError),
}

impl Witnessing {
    /// The witnesses and policy of `config` (already validated; an invalid list gives none).
    pub fn new(config: &Config) -> Self {
        let (keys, min) = config.witness_policy().unwrap_or_default();
        Witnessing {
            witnesses: config
                .witnesses
                .iter()
                .zip(keys)
                .map(|(w, key)| Target {
                    url: w.url.trim_end_matches('/').to_string(),
                    key,
                })
                .collect(),
            min,
            timeout: Duration::from_secs(config.witness_timeout_secs),
            collected: Mutex::new(Collected::default()),
            round: Mutex::new(None),
            served: Mutex::new(None),
            writing: Mutex::new(()),
            dir: OnceLock::new(),
        }
    }

    /// Keeps the published cosigned checkpoint in `dir` (the data directory of `ledger`) from
    /// now on, and reloads the one kept there, if any, checked again (see the module doc): the
    /// log's note must be byte for byte the one `ledger` signed at its size, and only the lines
    /// that verify with the witness keys configured now are kept; with fewer than k of them
    /// nothing is reloaded. Returns the size reloaded. Without witnesses it does nothing (a file
    /// left by an earlier configuration is left alone).
    pub fn load(&self, dir: &Path, ledger: &Ledger) -> Result<Option<u64>, PersistError> {
        if self.witnesses.is_empty() {
            return Ok(None);
        }
        let _ = self.dir.set(dir.to_path_buf());
        let path = dir.join(COSIGNED_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(PersistError::Io { path, source }),
        };
        let text = String::from_utf8(bytes).map_err(|_| PersistError::NotUtf8 { path })?;
        let Some((size, note)) = self.recheck(&text, ledger)? else {
            return Ok(None);
        };
        let note = Arc::new(note);
        self.lock().published = Some((size, note.clone()));
        *self.served_lock() = Some((size, note));
        metrics::gauge!("prov_witness_published_size").set(size as f64);
        Ok(Some(size))
    }

    /// `text` (a kept cosigned checkpoint) reduced to what still holds: the note `ledger`
    /// signed at its size followed by the lines that verify with a configured witness key, if
    /// k of them are left.
    fn recheck(&self, text: &str, ledger: &Ledger) -> Result<Option<(u64, String)>, PersistError> {
        let Ok(cp) = ledger::Checkpoint::verify(text, ledger.verifier_key()) else {
            tracing::warn!("{COSIGNED_FILE}: not a checkpoint signed by this log's key; ignored");
            return Ok(None);
        };
        let size = cp.size.0;
        let signed = ledger
            .checkpoint_at(TreeSize(size))
            .map_err(PersistError::Store)?;
        let Some(rest) = signed.as_deref().and_then(|n| text.strip_prefix(n)) else {
            tracing::warn!(
                size,
                "{COSIGNED_FILE}: not the checkpoint this ledger signed at its size; ignored"
            );
            return Ok(None);
        };
        let note = &text[..text.len() - rest.len()];
        let mut kept = note.to_string();
        let mut by = std::collections::BTreeSet::new();
        for line in rest.lines() {
            let one = format!("{note}{line}\n");
            let valid = self.witnesses.iter().position(|w| {
                matches!(cosignatures(&one, std::slice::from_ref(&w.key)), Ok(v) if v.len() == 1)
            });
            match valid {
                Some(i) => {
                    by.insert(i);
                    kept.push_str(line);
                    kept.push('\n');
                }
                None => tracing::warn!(
                    size,
                    line,
                    "{COSIGNED_FILE}: a line no configured witness key verifies; dropped"
                ),
            }
        }
        if by.len() < self.min {
            tracing::warn!(
                size,
                kept = by.len(),
                need = self.min,
                "{COSIGNED_FILE}: fewer cosignatures than witness_policy_min verify now; not served until the witnesses cosign again"
            );
            return Ok(None);
        }
        Ok(Some((size, kept)))
    }

    /// Whether a published checkpoint is not yet durable and served (its write failed).
    fn unpersisted(&self) -> bool {
        let decided = self.lock().published.as_ref().map(|(s, _)| *s);
        let served = self.served_lock().as_ref().map(|(s, _)| *s);
        decided > served
    }

    fn served_lock(&self) -> std::sync::MutexGuard<'_, Option<(u64, Arc<String>)>> {
        self.served.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the latest published checkpoint durable (when a data directory is set) and then
    /// the one `GET /checkpoint.cosigned` serves. Blocking (file writes, fsync): call it on a
    /// blocking thread. On an error nothing new is served; the next publication tries again.
    pub fn persist(&self) -> Result<(), PersistError> {
        let _writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        // Taken under `writing`: a write never replaces a newer one with an older one.
        let Some((size, note)) = self.lock().published.clone() else {
            return Ok(());
        };
        if self.served_lock().as_ref().is_some_and(|(s, _)| *s >= size) {
            return Ok(());
        }
        if let Some(dir) = self.dir.get() {
            write_durably(dir, note.as_bytes())?;
        }
        *self.served_lock() = Some((size, note));
        metrics::gauge!("prov_witness_published_size").set(size as f64);
        Ok(())
    }

    /// The checkpoint the witnesses are to cosign now. All of them are asked for the same one,
    /// so that k cosignatures meet on one checkpoint even while the log grows faster than a
    /// witness answers. The round moves to `latest` once its checkpoint is published, or after
    /// two request timeouts without (a witness down must not hold the others back).
    fn target(
        &self,
        latest: Arc<ledger::store::log::SignedCheckpoint>,
    ) -> Arc<ledger::store::log::SignedCheckpoint> {
        let published = self.lock().published.as_ref().map(|(s, _)| *s);
        let mut round = self.round.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cp, since)) = &*round {
            let done = published.is_some_and(|p| p >= cp.size().0)
                || since.elapsed() > self.timeout.saturating_mul(2);
            if !(done && latest.size() > cp.size()) {
                return cp.clone();
            }
        }
        *round = Some((latest.clone(), Instant::now()));
        latest
    }

    /// The latest checkpoint with k cosignatures, with all the lines collected for it, once it
    /// is durable (see [`Witnessing::persist`]).
    pub fn published(&self) -> Option<Arc<String>> {
        self.served_lock().as_ref().map(|(_, n)| n.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Collected> {
        self.collected.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records witness `i`'s verified `lines` for `note` (of `size`), and publishes the note
    /// once k witnesses cosigned it (if it is larger than the one published). Returns whether
    /// it did: then [`Witnessing::persist`] makes it durable and served.
    fn record(&self, i: usize, size: u64, note: &str, lines: String) -> bool {
        let mut c = self.lock();
        if c.published.as_ref().is_some_and(|(s, _)| *s >= size) {
            return false;
        }
        let mut moved = false;
        let p = c.pending.entry(size).or_insert_with(|| Pending {
            note: note.to_string(),
            lines: BTreeMap::new(),
        });
        if p.note != note {
            // The same size signed again (a restart): the newer note's lines only.
            p.note = note.to_string();
            p.lines.clear();
        }
        p.lines.insert(i, lines);
        if p.lines.len() >= self.min {
            let mut cosigned = p.note.clone();
            for l in p.lines.values() {
                cosigned.push_str(l);
            }
            c.published = Some((size, Arc::new(cosigned)));
            c.pending = c.pending.split_off(&(size + 1));
            moved = true;
        }
        while c.pending.len() > MAX_PENDING {
            c.pending.pop_first();
        }
        moved
    }
}

/// Replaces `dir/checkpoint.cosigned` with `bytes` so that a crash at any point leaves either
/// the old file or the new one, never a mix, and returns only once the new one survives a power
/// loss.
fn write_durably(dir: &Path, bytes: &[u8]) -> Result<(), PersistError> {
    let tmp = dir.join(COSIGNED_TMP);
    let path = dir.join(COSIGNED_FILE);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PersistError::Io { path, source }
    };
    // 1. The new content in a temp file. A crash here leaves a partial temp file beside the
    //    intact old file: the temp file is never read, and is truncated by the next write.
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    // 2. fsync the temp file. A crash before this returns may leave it empty or partial after a
    //    power loss; still only the temp file, the old file is intact.
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    // 3. Rename over the old file: atomic, a reader (or the next start) sees the old bytes or
    //    the new ones. A crash right after may, on a power loss, undo the rename (the old file
    //    is back): nothing has served the new one yet, so nothing went backwards.
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    // 4. fsync the directory, making the rename durable. Only after this does the route serve
    //    the new checkpoint: from now on every restart reloads it (or a later one).
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(())
}

/// Starts one task per configured witness; they stop when `stop` turns true. Returns their
/// handles (none without witnesses).
pub fn spawn(
    state: AppState,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..state.witnessing().witnesses.len())
        .map(|i| tokio::spawn(run_witness(state.clone(), i, stop.clone())))
        .collect()
}

async fn run_witness(state: AppState, i: usize, mut stop: tokio::sync::watch::Receiver<bool>) {
    let w = &state.witnessing().witnesses[i];
    let name = w.key.name().to_string();
    // The size the witness is believed to hold for this log; 0 until it says otherwise.
    let mut believed = 0u64;
    let mut done: Option<String> = None;
    let mut failures = 0u32;
    loop {
        // A publication whose write failed is retried here, by whichever task comes first.
        if state.witnessing().unpersisted() {
            persist_published(&state).await;
        }
        let cp = state.witnessing().target(state.ledger().checkpoint());
        let mut wait = POLL;
        // A witness already past this round (it cosigned a later one) waits for the next.
        if done.as_deref() != Some(cp.note.as_str()) && cp.size().0 >= believed {
            // Shutdown does not wait for a slow witness (the request's thread holds no ledger).
            let answer = tokio::select! {
                r = submit(&state, i, &cp.note, cp.size().0, &mut believed) => r,
                _ = stop.wait_for(|s| *s) => return,
            };
            match answer {
                Ok(lines) => {
                    failures = 0;
                    believed = cp.size().0;
                    metrics::gauge!("prov_witness_cosigned_size", "witness" => name.clone())
                        .set(cp.size().0 as f64);
                    if state.witnessing().record(i, cp.size().0, &cp.note, lines) {
                        persist_published(&state).await;
                    }
                    done = Some(cp.note.clone());
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    metrics::counter!("prov_witness_failures_total", "witness" => name.clone())
                        .increment(1);
                    tracing::warn!(witness = %name, error = %e, "witness did not cosign");
                    wait = FIRST_BACKOFF
                        .saturating_mul(1 << failures.min(8).saturating_sub(1))
                        .min(MAX_BACKOFF);
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// [`Witnessing::persist`] on a blocking thread; a failure is logged and counted (nothing new
/// is served, and the next round of any witness task tries again).
async fn persist_published(state: &AppState) {
    let st = state.clone();
    match tokio::task::spawn_blocking(move || st.witnessing().persist()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot keep the cosigned checkpoint; not served");
            metrics::counter!("prov_witness_persist_errors_total").increment(1);
        }
        Err(e) => tracing::error!(error = %e, "persisting the cosigned checkpoint"),
    }
}

/// One `add-checkpoint` exchange, with the one retry a 409 allows. Returns the verified
/// cosignature lines of the configured key.
async fn submit(
    state: &AppState,
    i: usize,
    note: &str,
    size: u64,
    believed: &mut u64,
) -> Result<String, SubmitError> {
    let w = &state.witnessing().witnesses[i];
    let mut retried = false;
    loop {
        if *believed > size {
            return Err(SubmitError::Ahead {
                have: *believed,
                ours: size,
            });
        }
        let proof = proof_lines(state, *believed, size).await?;
        let body = format!("old {believed}\n{proof}\n{note}");
        let url = format!("{}/add-checkpoint", w.url);
        let timeout = state.witnessing().timeout;
        let answer = tokio::task::spawn_blocking(move || post(&url, body, timeout))
            .await
            .map_err(|e| SubmitError::Transport(e.to_string()))??;
        match answer {
            (200, body) => {
                let lines: String = body
                    .lines()
                    .filter(|l| {
                        let one = format!("{note}{l}\n");
                        matches!(cosignatures(&one, std::slice::from_ref(&w.key)), Ok(v) if v.len() == 1)
                    })
                    .map(|l| format!("{l}\n"))
                    .collect();
                if lines.is_empty() {
                    return Err(SubmitError::NoValidCosignature);
                }
                return Ok(lines);
            }
            (409, body) if !retried => {
                retried = true;
                *believed = body
                    .strip_suffix('\n')
                    .unwrap_or(&body)
                    .parse()
                    .map_err(|_| SubmitError::BadSize)?;
            }
            (409, _) => return Err(SubmitError::ConflictAgain),
            (status, body) => {
                return Err(SubmitError::Refused {
                    status,
                    body: body.chars().take(200).collect(),
                })
            }
        }
    }
}

/// The consistency proof from `old` to `new`, as add-checkpoint's base64 lines (none from 0, or
/// between equal sizes).
async fn proof_lines(state: &AppState, old: u64, new: u64) -> Result<String, SubmitError> {
    if old == 0 || old == new {
        return Ok(String::new());
    }
    let proof = state
        .blocking(move |l| {
            l.consistency_proof(TreeSize(old), TreeSize(new))
                .map_err(ApiError::from)
        })
        .await
        .map_err(|e| SubmitError::Proof(format!("{e:?}")))?;
    Ok(proof
        .iter()
        .map(|h| {
            format!(
                "{}\n",
                base64::engine::general_purpose::STANDARD.encode(h.0)
            )
        })
        .collect())
}

/// A blocking POST: the status and body of any answer, or a transport error.
fn post(url: &str, body: String, timeout: Duration) -> Result<(u16, String), SubmitError> {
    let agent = ureq::AgentBuilder::new().timeout(timeout).build();
    let resp = match agent
        .post(url)
        .set("content-type", "text/plain; charset=utf-8")
        .send_string(&body)
    {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(SubmitError::Transport(e.to_string())),
    };
    let status = resp.status();
    let text = resp
        .into_string()
        .map_err(|e| SubmitError::Transport(e.to_string()))?;
    Ok((status, text))
}

/// `GET /checkpoint.cosigned`: the latest checkpoint that `witness_policy_min` of the configured
/// witnesses cosigned, the log's signature line first, then each witness's cosignature lines.
#[utoipa::path(get, path = "/checkpoint.cosigned", tag = "tiles", operation_id = "get_checkpoint_cosigned",
    responses(
        (status = 200, description = "The latest checkpoint cosigned by k of the configured witnesses: a C2SP signed note with the log's signature and the witnesses' cosignature/v1 lines", content_type = "text/plain; charset=utf-8", body = String),
        (status = 404, description = "No witness configured, or no checkpoint has k cosignatures yet", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn checkpoint_cosigned(State(state): State<AppState>) -> Result<Response, ApiError> {
    let w = state.witnessing();
    if w.witnesses.is_empty() {
        return Err(ApiError::not_found("this log has no witnesses configured"));
    }
    match w.published() {
        Some(note) => Ok(crate::tiles::text_response(
            note.as_str().to_owned(),
            crate::tiles::CHECKPOINT_CACHE,
        )),
        None => Err(ApiError::not_found(format!(
            "no checkpoint has {} witness cosignature(s) yet",
            w.min
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WitnessConfig;
    use ledger::cosignature::WitnessSigner;

    /// Records and persists at once, as `run_witness` does.
    struct Rec(Witnessing);
    impl Rec {
        fn record(&self, i: usize, size: u64, note: &str, lines: String) {
            if self.0.record(i, size, note, lines) {
                self.0.persist().unwrap();
            }
        }
        fn published(&self) -> Option<Arc<String>> {
            self.0.published()
        }
    }

    fn witnessing(k: usize) -> Witnessing {
        let witnesses = (1..=2u8)
            .map(|i| WitnessConfig {
                url: format!("http://127.0.0.1:{i}"),
                vkey: WitnessSigner::new(
                    &format!("w{i}.example"),
                    ed25519_dalek::SigningKey::from_bytes(&[i; 32]),
                )
                .unwrap()
                .witness_key()
                .to_string(),
            })
            .collect();
        Witnessing::new(&Config {
            witnesses,
            witness_policy_min: Some(k),
            ..Config::default()
        })
    }

    /// Cosignatures of different checkpoints never add up to k, and the published checkpoint
    /// never goes back to a smaller one.
    #[test]
    fn published_only_with_k_cosignatures_of_one_checkpoint_and_never_backwards() {
        let w = witnessing(2);
        let w = Rec(w);
        w.record(0, 5, "n5\n", "— a\n".into());
        assert_eq!(w.published(), None);
        w.record(1, 6, "n6\n", "— b6\n".into());
        assert_eq!(w.published(), None);
        w.record(1, 5, "n5\n", "— b5\n".into());
        assert_eq!(
            w.published().as_deref().map(String::as_str),
            Some("n5\n— a\n— b5\n")
        );
        w.record(0, 4, "n4\n", "— a4\n".into());
        w.record(1, 4, "n4\n", "— b4\n".into());
        assert_eq!(
            w.published().as_deref().map(String::as_str),
            Some("n5\n— a\n— b5\n")
        );
        w.record(0, 6, "n6\n", "— a6\n".into());
        assert_eq!(
            w.published().as_deref().map(String::as_str),
            Some("n6\n— a6\n— b6\n")
        );
    }

    fn signer(i: u8) -> WitnessSigner {
        WitnessSigner::new(
            &format!("w{i}.example"),
            ed25519_dalek::SigningKey::from_bytes(&[i; 32]),
        )
        .unwrap()
    }

    /// A witnessing of `n` of the two test witnesses (`only` picks one), policy k.
    fn witnessing_of(only: Option<u8>, k: usize) -> Witnessing {
        let witnesses = (1..=2u8)
            .filter(|i| only.is_none_or(|o| o == *i))
            .map(|i| WitnessConfig {
                url: format!("http://127.0.0.1:{i}"),
                vkey: signer(i).witness_key().to_string(),
            })
            .collect();
        Witnessing::new(&Config {
            witnesses,
            witness_policy_min: Some(k),
            ..Config::default()
        })
    }

    fn ledger(dir: &Path) -> Ledger {
        Ledger::create(
            &dir.join("ledger"),
            "example.com/witnessed",
            ledger::sequencer::SequencerConfig::default(),
        )
        .unwrap()
    }

    /// The ledger's latest note and the cosignature line of test witness `i` on it.
    fn cosign(l: &Ledger, i: u8) -> (String, String) {
        let note = l.checkpoint().note.clone();
        let (body, _) = ledger::note::split_note(&note).unwrap();
        let line = signer(i)
            .cosign(body, 1_700_000_000 + u64::from(i))
            .unwrap();
        (note, line)
    }

    #[test]
    fn the_published_cosigned_checkpoint_is_reloaded_after_a_restart() {
        let tmp = tempfile::tempdir().unwrap();
        let l = ledger(tmp.path());
        let dir = tmp.path().join("ledger");
        let w = witnessing_of(None, 2);
        assert_eq!(w.load(&dir, &l).unwrap(), None);
        let size = l.checkpoint().size().0;
        let (note, a) = cosign(&l, 1);
        let (_, b) = cosign(&l, 2);
        assert!(!w.record(0, size, &note, a.clone()));
        assert!(w.record(1, size, &note, b.clone()));
        // Decided, but not served before it is durable.
        assert_eq!(w.published(), None);
        w.persist().unwrap();
        let served = w.published().unwrap();
        assert_eq!(served.as_str(), format!("{note}{a}{b}"));
        assert_eq!(
            std::fs::read_to_string(dir.join(COSIGNED_FILE)).unwrap(),
            *served
        );
        assert!(!dir.join(COSIGNED_TMP).exists());

        // A restart: a new Witnessing of the same configuration serves it at once.
        let again = witnessing_of(None, 2);
        assert_eq!(again.load(&dir, &l).unwrap(), Some(size));
        assert_eq!(again.published(), Some(served.clone()));
        // And an older checkpoint cosigned later never replaces it.
        assert!(!again.record(0, size, &note, a.clone()));
    }

    #[test]
    fn a_line_of_a_witness_removed_from_the_configuration_is_dropped_at_reload() {
        let tmp = tempfile::tempdir().unwrap();
        let l = ledger(tmp.path());
        let dir = tmp.path().join("ledger");
        let w = witnessing_of(None, 2);
        w.load(&dir, &l).unwrap();
        let size = l.checkpoint().size().0;
        let (note, a) = cosign(&l, 1);
        let (_, b) = cosign(&l, 2);
        w.record(0, size, &note, a.clone());
        w.record(1, size, &note, b.clone());
        w.persist().unwrap();

        // Witness 2 removed, k = 1: witness 1's line only.
        let one = witnessing_of(Some(1), 1);
        assert_eq!(one.load(&dir, &l).unwrap(), Some(size));
        assert_eq!(one.published().unwrap().as_str(), format!("{note}{a}"));
        // Witness 1 only but k = 2 is not a valid configuration; with both listed and k = 2 but
        // witness 2's line tampered, one line is left: nothing is served.
        let tampered = format!("{note}{a}{}", b.replace('A', "B"));
        std::fs::write(dir.join(COSIGNED_FILE), tampered).unwrap();
        let two = witnessing_of(None, 2);
        assert_eq!(two.load(&dir, &l).unwrap(), None);
        assert_eq!(two.published(), None);
    }

    #[test]
    fn a_cosigned_checkpoint_this_ledger_did_not_sign_is_not_reloaded() {
        let tmp = tempfile::tempdir().unwrap();
        let l = ledger(tmp.path());
        let other = Ledger::create(
            &tmp.path().join("other"),
            "example.com/witnessed",
            ledger::sequencer::SequencerConfig::default(),
        )
        .unwrap();
        let dir = tmp.path().join("ledger");
        // Another log's checkpoint (same origin, other key), cosigned by both witnesses.
        let (note, a) = cosign(&other, 1);
        let (_, b) = cosign(&other, 2);
        std::fs::write(dir.join(COSIGNED_FILE), format!("{note}{a}{b}")).unwrap();
        let w = witnessing_of(None, 2);
        assert_eq!(w.load(&dir, &l).unwrap(), None);
        assert_eq!(w.published(), None);
    }

    /// A write that fails (here: the data directory is gone) serves nothing new; the retry once
    /// the directory is back serves it.
    #[test]
    fn a_failed_write_serves_nothing_and_is_retried() {
        let tmp = tempfile::tempdir().unwrap();
        let l = ledger(tmp.path());
        let dir = tmp.path().join("ledger");
        let w = witnessing_of(None, 1);
        let moved = tmp.path().join("elsewhere");
        w.load(&moved, &l).unwrap();
        let size = l.checkpoint().size().0;
        let (note, a) = cosign(&l, 1);
        assert!(w.record(0, size, &note, a.clone()));
        assert!(matches!(w.persist(), Err(PersistError::Io { .. })));
        assert_eq!(w.published(), None);
        assert!(w.unpersisted());
        std::fs::create_dir(&moved).unwrap();
        w.persist().unwrap();
        assert!(!w.unpersisted());
        assert_eq!(w.published().unwrap().as_str(), format!("{note}{a}"));
        assert!(moved.join(COSIGNED_FILE).is_file());
        assert!(!dir.join(COSIGNED_FILE).exists());
    }

    /// A crash between writing the temp file and the rename leaves a partial temp file: the
    /// next start reloads the old file, and the next write replaces the temp file.
    #[test]
    fn a_crash_before_the_rename_leaves_the_old_checkpoint() {
        let tmp = tempfile::tempdir().unwrap();
        let l = ledger(tmp.path());
        let dir = tmp.path().join("ledger");
        let w = witnessing_of(None, 1);
        w.load(&dir, &l).unwrap();
        let size = l.checkpoint().size().0;
        let (note, a) = cosign(&l, 1);
        assert!(w.record(0, size, &note, a.clone()));
        w.persist().unwrap();
        std::fs::write(dir.join(COSIGNED_TMP), b"partial garbage").unwrap();
        let again = witnessing_of(None, 1);
        assert_eq!(again.load(&dir, &l).unwrap(), Some(size));
        assert_eq!(again.published().unwrap().as_str(), format!("{note}{a}"));
        write_durably(&dir, again.published().unwrap().as_bytes()).unwrap();
        assert!(!dir.join(COSIGNED_TMP).exists());
    }
}
