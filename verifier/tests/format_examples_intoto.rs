//! The worked example of docs/formats.md, "in-toto / SLSA provenance export", recomputed: the
//! statement, the DSSE pre-authentication encoding, the key id and the signed envelope. The
//! page and the code cannot drift apart.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;
use verifier::export::intoto::*;
use verifier::note::NoteSigner;
use verifier::{Checkpoint, Digest, TreeSize};

/// The example: publisher key 32 bytes of 0x07; log `example.org/log` with key 32 bytes of
/// 0x01, its checkpoint at size 4 over the root 32 bytes of 0x5a; `acme/lm@c1` at entry 3,
/// trained on `acme/web@v1` (entry 1, manifest root 32 bytes of 0x11), two weight files.
fn example() -> (Statement, SigningKey) {
    let log = "example.org/log";
    let signer = NoteSigner::new(log, SigningKey::from_bytes(&[1; 32])).unwrap();
    let checkpoint = Checkpoint {
        origin: log.into(),
        size: TreeSize(4),
        root: Digest([0x5a; 32]),
    }
    .sign(&signer)
    .unwrap();
    let file = |name: &str, bytes: &[u8]| ResourceDescriptor {
        name: Some(name.into()),
        digest: BTreeMap::from([(
            SUBJECT_DIGEST.into(),
            blake3::hash(bytes).to_hex().to_string(),
        )]),
        ..Default::default()
    };
    let st = Statement {
        type_: STATEMENT_TYPE.into(),
        subject: vec![
            file("config.json", b"{}"),
            file("model.safetensors", b"weights"),
        ],
        predicate_type: PREDICATE_TYPE.into(),
        predicate: Provenance {
            build_definition: BuildDefinition {
                build_type: BUILD_TYPE.into(),
                external_parameters: ExternalParameters {
                    model: "acme/lm@c1".into(),
                    datasets: vec!["acme/web@v1".into()],
                    optout_horizon: 3,
                },
                internal_parameters: InternalParameters {
                    log: log.into(),
                    model_checkpoint: ModelCheckpointRef {
                        entry_index: 3,
                        weights_root: hex::encode([0x22; 32]),
                        weights_count: 2,
                        log_checkpoint: checkpoint.clone(),
                    },
                    compliance: ComplianceVerdict {
                        conclusion: "compliant".into(),
                        exit: 0,
                        horizon: 3,
                        checkpoint_size: 4,
                        optouts_checked: 1,
                        violations: 0,
                        complete: Some(true),
                    },
                },
                resolved_dependencies: vec![ResourceDescriptor {
                    uri: Some(dataset_uri(log, "acme", "web", "v1")),
                    digest: BTreeMap::from([(DEPENDENCY_DIGEST.into(), hex::encode([0x11; 32]))]),
                    annotations: Some(DependencyAnnotations {
                        entry_index: 1,
                        log_checkpoint: checkpoint,
                    }),
                    ..Default::default()
                }],
            },
            run_details: RunDetails {
                builder: Builder {
                    id: builder_id(log, "acme"),
                },
            },
        },
    };
    (st, SigningKey::from_bytes(&[7; 32]))
}

/// The fenced blocks of the section, in order: (info string, text).
fn blocks() -> Vec<(String, String)> {
    let page = include_str!("../../docs/formats.md");
    let start = page
        .find("\n## in-toto / SLSA provenance export\n")
        .expect("the section");
    let section = &page[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let mut out = Vec::new();
    let mut lines = section.lines();
    while let Some(l) = lines.next() {
        if let Some(info) = l.strip_prefix("```") {
            let mut text = String::new();
            for l in lines.by_ref() {
                if l == "```" {
                    break;
                }
                text.push_str(l);
                text.push('\n');
            }
            out.push((info.to_string(), text));
        }
    }
    out
}

#[test]
fn the_worked_example_is_true() {
    let (st, key) = example();
    let env = Envelope::sign(&st, &key).unwrap();
    let payload = serde_json::to_vec(&st).unwrap();
    let pae_prefix = format!(
        "DSSEv1 {} {PAYLOAD_TYPE} {} ",
        PAYLOAD_TYPE.len(),
        payload.len()
    );
    let want = [
        ("json", serde_json::to_string_pretty(&st).unwrap() + "\n"),
        ("text", format!("{pae_prefix}\n")),
        (
            "text",
            format!(
                "public key (base64): {}\nkeyid: {}\n",
                base64_of(key.verifying_key().as_bytes()),
                keyid(&key.verifying_key())
            ),
        ),
        ("json", serde_json::to_string_pretty(&env).unwrap() + "\n"),
    ];
    let got = blocks();
    let want: Vec<(String, String)> = want.into_iter().map(|(a, b)| (a.into(), b)).collect();
    for (i, w) in want.iter().enumerate() {
        assert_eq!(
            got.get(i),
            Some(w),
            "block {i} of the section; want:\n{}",
            w.1
        );
    }
    // And the envelope on the page verifies and reads back as the statement.
    let env: Envelope = serde_json::from_str(&got[3].1).unwrap();
    assert_eq!(env.verify(&key.verifying_key()).unwrap(), st);
    assert_eq!(
        &pae(PAYLOAD_TYPE, &payload)[..pae_prefix.len()],
        pae_prefix.as_bytes()
    );
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
