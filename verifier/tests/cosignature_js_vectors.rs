//! The explorer checks cosigned checkpoints in JavaScript (api/explorer/src/lib/cosignature.js).
//! This writes the vectors its node test (api/explorer/test/cosignature.test.js) replays: cosigned
//! checkpoints made here (valid, tampered, by an impostor key, over another body, a witness listed
//! twice, a broken log signature), each with a witness list, a threshold k, and what
//! `verify_cosigned` decided (met, the valid cosignatures with their times), plus what the
//! explorer shows per witness (verified / wrong-key / absent). The committed file must be
//! current: `PROV_UPDATE_VECTORS=1 cargo test -p verifier --test cosignature_js_vectors`
//! rewrites it.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::Path;

use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use verifier::cosignature::{verify_cosigned, WitnessKey, WitnessPolicy, WitnessSigner};
use verifier::note::split_note;
use verifier::{Checkpoint, Digest, NoteSigner, TreeSize};

const FILE: &str = "verifier/tests/data/cosignatures.json";

fn log() -> NoteSigner {
    NoteSigner::new(
        "example.com/witnessed-log",
        SigningKey::from_bytes(&[21; 32]),
    )
    .unwrap()
}

fn witness(name: &str, seed: u8) -> WitnessSigner {
    WitnessSigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
}

fn note(size: u64, root: u8) -> String {
    Checkpoint {
        origin: "example.com/witnessed-log".into(),
        size: TreeSize(size),
        root: Digest([root; 32]),
    }
    .sign(&log())
    .unwrap()
}

fn body(note: &str) -> &str {
    split_note(note).unwrap().0
}

/// One case: what `verify_cosigned` decides, and the explorer's row per listed witness.
fn case(name: &str, note: &str, witnesses: &[WitnessKey], k: usize) -> Value {
    let policy = WitnessPolicy {
        witnesses: witnesses.to_vec(),
        min: k,
    };
    let expect = match verify_cosigned(note, &log().verifier_key(), &policy) {
        Ok(c) => json!({
            "met": true,
            "cosignatures": c.iter().map(|c| json!({
                "witness": c.witness,
                "key_id": format!("{:08x}", c.key_id),
                "timestamp": c.timestamp,
            })).collect::<Vec<_>>(),
        }),
        Err(e) => {
            json!({"met": false, "error": format!("{e:?}").split(['(', ' ', '{']).next().unwrap()})
        }
    };
    json!({
        "name": name,
        "note": note,
        "witnesses": witnesses.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "k": k,
        "expect": expect,
    })
}

fn vectors() -> Value {
    let (w1, w2, w3) = (
        witness("witness.example/w1", 31),
        witness("witness.example/w2", 32),
        witness("witness.example/w3", 33),
    );
    let impostor = witness("witness.example/w2", 34);
    let (k1, k2, k3) = (w1.witness_key(), w2.witness_key(), w3.witness_key());
    let n = note(5, 7);
    let b = body(&n);
    let (t1, t2) = (1_760_000_001, 1_760_000_002);
    let c1 = w1.cosign(b, t1).unwrap();
    let c2 = w2.cosign(b, t2).unwrap();
    let both = format!("{n}{c1}{c2}");
    // A changed byte in w2's Ed25519 signature (a base64 character near the end of the line).
    let tampered = {
        let l = c2.trim_end();
        let i = l.len() - 10;
        let c = if &l[i..=i] == "A" { "B" } else { "A" };
        format!("{n}{c1}{}{c}{}\n", &l[..i], &l[i + 1..])
    };
    // w1's valid cosignature of ANOTHER checkpoint, moved onto this one.
    let other = note(6, 8);
    let moved = format!("{n}{}", w1.cosign(body(&other), t1).unwrap());
    // A line under w2's name by another key (another key id): unlisted, ignored.
    let by_impostor = format!("{n}{c1}{}", impostor.cosign(b, t2).unwrap());
    // The log's signature broken (a signature byte changed): nothing else matters.
    let bad_log = {
        let mut s = both.clone();
        let at = s.find("\n\n— example.com/witnessed-log ").unwrap() + 2;
        let i = at + "— example.com/witnessed-log ".len() + 10;
        let c = if &s[i..=i] == "A" { "B" } else { "A" };
        s.replace_range(i..=i, c);
        s
    };
    let cases = vec![
        case("two of two", &both, &[k1.clone(), k2.clone()], 2),
        case(
            "one of two is enough for k = 1",
            &both,
            &[k1.clone(), k2.clone()],
            1,
        ),
        case(
            "a listed witness absent",
            &both,
            &[k1.clone(), k3.clone()],
            2,
        ),
        case(
            "a listed witness absent, k = 1",
            &both,
            &[k1.clone(), k3.clone()],
            1,
        ),
        case(
            "a tampered line of a listed key",
            &tampered,
            &[k1.clone(), k2.clone()],
            1,
        ),
        case(
            "a tampered line of an unlisted key is ignored",
            &tampered,
            std::slice::from_ref(&k1),
            1,
        ),
        case(
            "a cosignature of another checkpoint",
            &moved,
            std::slice::from_ref(&k1),
            1,
        ),
        case(
            "an impostor under a listed name is ignored",
            &by_impostor,
            &[k1.clone(), k2.clone()],
            2,
        ),
        case(
            "an impostor under a listed name, k = 1",
            &by_impostor,
            &[k1.clone(), k2.clone()],
            1,
        ),
        case(
            "a witness listed twice counts once",
            &both,
            &[k1.clone(), k1.clone()],
            2,
        ),
        case("the log's note alone", &n, &[k1.clone(), k2.clone()], 1),
        case("no policy", &n, &[], 0),
        case(
            "the log's signature broken",
            &bad_log,
            &[k1.clone(), k2.clone()],
            1,
        ),
    ];
    json!({
        "comment": "Written by verifier/tests/cosignature_js_vectors.rs (PROV_UPDATE_VECTORS=1); replayed by api/explorer/test/cosignature.test.js. Do not edit.",
        "log_vkey": log().verifier_key().to_string(),
        "cases": cases,
    })
}

#[test]
fn cosignature_vectors_for_the_explorer_are_current() {
    let text = serde_json::to_string_pretty(&vectors()).unwrap() + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(FILE);
    if std::env::var_os("PROV_UPDATE_VECTORS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{FILE} is stale: run `PROV_UPDATE_VECTORS=1 cargo test -p verifier --test cosignature_js_vectors`"
    );
    // The vectors decide both ways: some met, some not, for each kind of refusal.
    let v: Value = serde_json::from_str(&committed).unwrap();
    let met = |c: &Value| c["expect"]["met"].as_bool().unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.iter().filter(|c| met(c)).count() >= 4);
    for e in ["BadCosignature", "TooFewCosignatures", "Checkpoint"] {
        assert!(
            cases.iter().any(|c| c["expect"]["error"] == e),
            "no case refused with {e}"
        );
    }
}
