//! A ledger with two witnesses configured, one of them an implementation not in this
//! repository: a real `prov serve` (in-process, RocksDB, loopback) submits its checkpoints to
//! our `prov witness serve` witness and to a witness whose checks are Cloudflare's published
//! crates (`signed_note` verifies the log's signature and adds the cosignature, `tlog_tiles`
//! parses the checkpoint and checks the consistency proof; the cosignature signer is written from
//! the C2SP spec with nothing but Ed25519). Both cosign; `/checkpoint.cosigned` verifies under a
//! 2-of-2 policy, and not with a wrong witness key.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use signed_note::{Note, StandardVerifier, VerifierList};
use tests::fixtures;
use tests::server::TestServer;
use tlog_tiles::tlog::{self, Hash};
use verifier::cosignature::{verify_cosigned, CosignatureError, WitnessKey, WitnessPolicy};
use verifier::VerifierKey;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A cosignature/v1 signer for `signed_note`, written from the spec.
struct SpecCosignatureSigner {
    name: String,
    key: SigningKey,
    timestamp: u64,
}

impl SpecCosignatureSigner {
    fn raw(&self) -> Vec<u8> {
        [&[4u8][..], self.key.verifying_key().as_bytes()].concat()
    }
    fn vkey(&self) -> String {
        format!(
            "{}+{:08x}+{}",
            self.name,
            signed_note::key_id(&self.name, &self.raw()),
            B64.encode(self.raw())
        )
    }
}

impl signed_note::Signer for SpecCosignatureSigner {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        signed_note::key_id(&self.name, &self.raw())
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        let mut m = format!("cosignature/v1\ntime {}\n", self.timestamp).into_bytes();
        m.extend_from_slice(msg);
        let sig = self.key.sign(&m);
        Ok([&self.timestamp.to_be_bytes()[..], &sig.to_bytes()].concat())
    }
}

/// Their witness: the latest (size, root) it cosigned, the log's vkey, its own key.
struct TheirWitness {
    state: Mutex<Option<(u64, Hash)>>,
    log_vkey: Mutex<Option<String>>,
    key: SigningKey,
    name: String,
}

/// tlog-witness `add-checkpoint`, every check by `signed_note` and `tlog_tiles`.
async fn their_add_checkpoint(State(w): State<Arc<TheirWitness>>, body: Bytes) -> Response {
    let Ok(body) = std::str::from_utf8(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Some((head, note)) = body.split_once("\n\n") else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut lines = head.split('\n');
    let Some(old) = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .and_then(|n| n.parse::<u64>().ok())
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let proof: Vec<Hash> = lines
        .map(|l| Hash(B64.decode(l).unwrap().try_into().unwrap()))
        .collect();
    let Some(log_vkey) = w.log_vkey.lock().unwrap().clone() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let mut parsed = Note::from_bytes(note.as_bytes()).unwrap();
    let known = VerifierList::new(vec![Box::new(StandardVerifier::new(&log_vkey).unwrap())]);
    match parsed.verify(&known) {
        Ok((verified, _)) if !verified.is_empty() => {}
        _ => return StatusCode::FORBIDDEN.into_response(),
    }
    let cp = tlog_tiles::Checkpoint::from_bytes(parsed.text()).unwrap();
    let mut state = w.state.lock().unwrap();
    let have = state.map_or(0, |(s, _)| s);
    if old != have {
        return (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{have}\n"),
        )
            .into_response();
    }
    if let Some((n, h)) = *state {
        if n > 0 && tlog::check_tree(&proof, cp.size(), *cp.hash(), n, h).is_err() {
            return StatusCode::UNPROCESSABLE_ENTITY.into_response();
        }
    }
    *state = Some((cp.size(), *cp.hash()));
    let before = parsed.to_bytes().len();
    let signer = SpecCosignatureSigner {
        name: w.name.clone(),
        key: w.key.clone(),
        timestamp: fixtures::now(),
    };
    parsed.add_sigs(&[&signer]).unwrap();
    let line = String::from_utf8(parsed.to_bytes()[before..].to_vec()).unwrap();
    (StatusCode::OK, line).into_response()
}

fn size_of(note: &str) -> u64 {
    note.lines().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_ledger_gets_cosigned_by_our_witness_and_by_one_built_on_cloudflares_crates() {
    // Listeners first: the ledger's configuration names their URLs, and they need its key.
    let ours_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let theirs_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ours_signer =
        verifier::WitnessSigner::new("witness.example/ours", SigningKey::from_bytes(&[41; 32]))
            .unwrap();
    let theirs = Arc::new(TheirWitness {
        state: Mutex::new(None),
        log_vkey: Mutex::new(None),
        key: SigningKey::from_bytes(&[42; 32]),
        name: "witness.example/cloudflare-crates".into(),
    });
    let theirs_vkey = SpecCosignatureSigner {
        name: theirs.name.clone(),
        key: theirs.key.clone(),
        timestamp: 0,
    }
    .vkey();
    let ours_vkey = ours_signer.witness_key().to_string();
    let urls = (
        format!("http://{}", ours_l.local_addr().unwrap()),
        format!("http://{}", theirs_l.local_addr().unwrap()),
    );
    let (ov, tv) = (ours_vkey.clone(), theirs_vkey.clone());
    let log = TestServer::start_with(move |c| {
        c.witnesses = vec![
            api::config::WitnessConfig {
                url: urls.0,
                vkey: ov,
            },
            api::config::WitnessConfig {
                url: urls.1,
                vkey: tv,
            },
        ];
    })
    .await;
    let (_, health) = log.get_json("/healthz").await;
    let log_vkey = health["verifier_key"].as_str().unwrap().to_string();
    *theirs.log_vkey.lock().unwrap() = Some(log_vkey.clone());
    let state = tempfile::tempdir().unwrap();
    let ours = Arc::new(
        api::Witness::new(
            ours_signer,
            vec![VerifierKey::parse(&log_vkey).unwrap()],
            state.path().to_path_buf(),
        )
        .unwrap(),
    );
    tokio::spawn(api::serve_witness(ours_l, ours, std::future::pending()));
    let app = axum::Router::new()
        .route("/add-checkpoint", axum::routing::post(their_add_checkpoint))
        .with_state(theirs.clone());
    tokio::spawn(async move { axum::serve(theirs_l, app).await });

    // The log grows; both witnesses cosign its checkpoints, consistency proofs and all.
    for round in 0..3u64 {
        for i in 0..3u64 {
            let id = ledger::ContentId::of(format!("interop {round} {i}").as_bytes());
            let (status, body) = log.submit(&fixtures::optout(&[id], round * 10 + i)).await;
            assert!(
                status == 201 || status == 202 || status == 200,
                "{status} {body}"
            );
        }
        let want = {
            let note = log.get("/checkpoint").await.text().await.unwrap();
            size_of(&note)
        };
        let start = Instant::now();
        let cosigned = loop {
            let r = log.get("/checkpoint.cosigned").await;
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            if status == 200 && size_of(&body) == want {
                break body;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no cosigned checkpoint of size {want}: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let log_key = VerifierKey::parse(&log_vkey).unwrap();
        let policy = |keys: &[&str]| WitnessPolicy {
            witnesses: keys.iter().map(|k| WitnessKey::parse(k).unwrap()).collect(),
            min: 2,
        };
        let got =
            verify_cosigned(&cosigned, &log_key, &policy(&[&ours_vkey, &theirs_vkey])).unwrap();
        assert_eq!(got.len(), 2, "{cosigned}");
        let wrong = SpecCosignatureSigner {
            name: "witness.example/other".into(),
            key: SigningKey::from_bytes(&[43; 32]),
            timestamp: 0,
        }
        .vkey();
        assert!(matches!(
            verify_cosigned(&cosigned, &log_key, &policy(&[&ours_vkey, &wrong])),
            Err(CosignatureError::TooFewCosignatures { got: 1, need: 2 })
        ));
    }
    // Their witness followed the log with tlog_tiles' own consistency checks.
    let held = theirs.state.lock().unwrap().map(|(s, _)| s);
    assert!(held.is_some_and(|s| s >= 9), "{held:?}");
}
