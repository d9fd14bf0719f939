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
//! Deliberately not here: the witness itself (`crate::witness`), and persistence of collected
//! cosignatures (after a restart the witnesses are asked again; they cosign the same size again).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::Response;
use base64::Engine as _;
use ledger::cosignature::{cosignatures, WitnessKey};
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

/// The witnesses of this log, the policy, and what they cosigned so far.
#[derive(Debug)]
pub struct Witnessing {
    witnesses: Vec<Target>,
    min: usize,
    timeout: Duration,
    collected: Mutex<Collected>,
    /// The checkpoint every witness is asked to cosign now, and since when.
    round: Mutex<Option<(Arc<ledger::store::log::SignedCheckpoint>, Instant)>>,
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
        }
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

    /// The latest checkpoint with k cosignatures, with all the lines collected for it.
    pub fn published(&self) -> Option<Arc<String>> {
        self.lock().published.as_ref().map(|(_, n)| n.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Collected> {
        self.collected.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records witness `i`'s verified `lines` for `note` (of `size`), and publishes the note
    /// once k witnesses cosigned it (if it is larger than the one published).
    fn record(&self, i: usize, size: u64, note: &str, lines: String) {
        let mut c = self.lock();
        if c.published.as_ref().is_some_and(|(s, _)| *s >= size) {
            return;
        }
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
            metrics::gauge!("prov_witness_published_size").set(size as f64);
        }
        while c.pending.len() > MAX_PENDING {
            c.pending.pop_first();
        }
    }
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
                    state.witnessing().record(i, cp.size().0, &cp.note, lines);
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
}
