use super::*;

fn statement() -> Statement {
    let h = |b: u8| hex::encode([b; 32]);
    Statement {
        type_: STATEMENT_TYPE.into(),
        subject: vec![ResourceDescriptor {
            name: Some("model.safetensors".into()),
            digest: BTreeMap::from([(SUBJECT_DIGEST.into(), h(1))]),
            ..Default::default()
        }],
        predicate_type: PREDICATE_TYPE.into(),
        predicate: Provenance {
            build_definition: BuildDefinition {
                build_type: BUILD_TYPE.into(),
                external_parameters: ExternalParameters {
                    model: "acme/m@c1".into(),
                    datasets: vec!["acme/web@v1".into()],
                    optout_horizon: 3,
                },
                internal_parameters: InternalParameters {
                    log: "example.com/log".into(),
                    model_checkpoint: ModelCheckpointRef {
                        entry_index: 4,
                        weights_root: h(2),
                        weights_count: 1,
                        log_checkpoint: "example.com/log\n5\nroot\n".into(),
                    },
                    compliance: ComplianceVerdict {
                        conclusion: "compliant".into(),
                        exit: 0,
                        horizon: 3,
                        checkpoint_size: 5,
                        optouts_checked: 0,
                        violations: 0,
                        complete: Some(true),
                    },
                },
                resolved_dependencies: vec![ResourceDescriptor {
                    uri: Some(dataset_uri("example.com/log", "acme", "web", "v1")),
                    digest: BTreeMap::from([(DEPENDENCY_DIGEST.into(), h(3))]),
                    annotations: Some(DependencyAnnotations {
                        entry_index: 1,
                        log_checkpoint: "example.com/log\n5\nroot\n".into(),
                    }),
                    ..Default::default()
                }],
            },
            run_details: RunDetails {
                builder: Builder {
                    id: builder_id("example.com/log", "acme"),
                },
            },
        },
    }
}

fn key(b: u8) -> SigningKey {
    SigningKey::from_bytes(&[b; 32])
}

#[test]
fn pae_is_the_dsse_specs_example() {
    // DSSE protocol.md, "Test case".
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
    );
    assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
}

#[test]
fn a_signed_statement_verifies_and_reads_back() {
    let s = statement();
    let env = Envelope::sign(&s, &key(7)).unwrap();
    assert_eq!(env.payload_type, PAYLOAD_TYPE);
    assert_eq!(env.signatures[0].keyid, keyid(&key(7).verifying_key()));
    assert_eq!(env.verify(&key(7).verifying_key()).unwrap(), s);
    let json: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(&env.payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["_type"], STATEMENT_TYPE);
    assert_eq!(json["predicateType"], PREDICATE_TYPE);
    assert_eq!(
        json["predicate"]["buildDefinition"]["resolvedDependencies"][0]["annotations"]
            ["entryIndex"],
        1
    );
}

#[test]
fn a_flipped_payload_byte_is_refused() {
    let env = Envelope::sign(&statement(), &key(7)).unwrap();
    let b64 = &base64::engine::general_purpose::STANDARD;
    let mut payload = b64.decode(&env.payload).unwrap();
    for i in [0, payload.len() / 2, payload.len() - 1] {
        payload[i] ^= 1;
        let forged = Envelope {
            payload: b64.encode(&payload),
            ..env.clone()
        };
        assert!(matches!(
            forged.verify(&key(7).verifying_key()),
            Err(IntotoError::BadSignature { .. })
        ));
        payload[i] ^= 1;
    }
}

#[test]
fn a_flipped_signature_byte_is_refused() {
    let env = Envelope::sign(&statement(), &key(7)).unwrap();
    let b64 = &base64::engine::general_purpose::STANDARD;
    let mut sig = b64.decode(&env.signatures[0].sig).unwrap();
    sig[10] ^= 0x80;
    let mut forged = env.clone();
    forged.signatures[0].sig = b64.encode(&sig);
    assert!(matches!(
        forged.verify(&key(7).verifying_key()),
        Err(IntotoError::BadSignature { .. })
    ));
}

#[test]
fn a_wrong_key_is_refused() {
    let env = Envelope::sign(&statement(), &key(7)).unwrap();
    assert!(matches!(
        env.verify(&key(8).verifying_key()),
        Err(IntotoError::BadSignature { .. })
    ));
}

#[test]
fn a_signature_over_another_payload_type_is_refused() {
    // The type is signed: relabelling the payload breaks the signature, and any other type is
    // refused before that.
    let mut env = Envelope::sign(&statement(), &key(7)).unwrap();
    env.payload_type = "application/json".into();
    assert!(matches!(
        env.verify(&key(7).verifying_key()),
        Err(IntotoError::PayloadType(_))
    ));
    let env = Envelope {
        signatures: vec![],
        ..Envelope::sign(&statement(), &key(7)).unwrap()
    };
    assert!(matches!(
        env.verify(&key(7).verifying_key()),
        Err(IntotoError::NoSignature)
    ));
}

#[test]
fn a_signed_statement_of_the_wrong_shape_is_refused() {
    let mut s = statement();
    s.subject[0].digest = BTreeMap::from([("sha256".into(), hex::encode([1u8; 32]))]);
    let env = Envelope::sign(&s, &key(7)).unwrap();
    assert!(matches!(
        env.verify(&key(7).verifying_key()),
        Err(IntotoError::Shape(ShapeError::Subject(0)))
    ));
    let mut s = statement();
    s.predicate.build_definition.resolved_dependencies[0].annotations = None;
    assert_eq!(s.check(), Err(ShapeError::Dependency(0)));
    let mut s = statement();
    s.predicate_type = "https://slsa.dev/provenance/v0.2".into();
    assert_eq!(s.check(), Err(ShapeError::PredicateType));
    let mut s = statement();
    s.subject.clear();
    assert_eq!(s.check(), Err(ShapeError::NoSubject));
}

#[test]
fn the_keyid_is_securesystemslibs() {
    // SHA-256 of {"keytype":"ed25519","keyval":{"public":"<hex>"},"scheme":"ed25519"}.
    let k = key(7).verifying_key();
    let json = format!(
        r#"{{"keytype":"ed25519","keyval":{{"public":"{}"}},"scheme":"ed25519"}}"#,
        hex::encode(k.as_bytes())
    );
    assert_eq!(keyid(&k), hex::encode(Sha256::digest(json.as_bytes())));
}

fn logged(log_key: &SigningKey) -> (Statement, crate::note::VerifierKey) {
    let signer = crate::note::NoteSigner::new("example.com/log", log_key.clone()).unwrap();
    let cp = Checkpoint {
        origin: "example.com/log".into(),
        size: crate::TreeSize(5),
        root: crate::Digest([9; 32]),
    }
    .sign(&signer)
    .unwrap();
    let mut s = statement();
    let bd = &mut s.predicate.build_definition;
    bd.internal_parameters.model_checkpoint.log_checkpoint = cp.clone();
    bd.resolved_dependencies[0]
        .annotations
        .as_mut()
        .unwrap()
        .log_checkpoint = cp;
    let vkey =
        crate::note::VerifierKey::ed25519("example.com/log", log_key.verifying_key()).unwrap();
    (s, vkey)
}

#[test]
fn the_log_checkpoints_verify_with_the_logs_key() {
    let (s, vkey) = logged(&key(1));
    s.verify_log(&vkey).unwrap();
}

#[test]
fn a_log_checkpoint_forged_by_the_publisher_is_refused() {
    // The publisher signs the statement, but cannot sign for the log.
    let (s, _) = logged(&key(7));
    let (_, vkey) = logged(&key(1));
    assert!(matches!(
        s.verify_log(&vkey),
        Err(IntotoError::LogCheckpoint(Place::ModelCheckpoint, _))
    ));
}

#[test]
fn an_entry_beyond_its_checkpoint_or_another_logs_uri_is_refused() {
    let (mut s, vkey) = logged(&key(1));
    s.predicate.build_definition.resolved_dependencies[0]
        .annotations
        .as_mut()
        .unwrap()
        .entry_index = 5;
    assert!(matches!(
        s.verify_log(&vkey),
        Err(IntotoError::EntryBeyondCheckpoint(
            Place::Dependency(0),
            5,
            5
        ))
    ));
    let (mut s, vkey) = logged(&key(1));
    s.predicate.build_definition.resolved_dependencies[0].uri =
        Some(dataset_uri("evil.example/log", "acme", "web", "v1"));
    assert!(matches!(
        s.verify_log(&vkey),
        Err(IntotoError::NotOfTheLog(Place::Dependency(0)))
    ));
    let (mut s, vkey) = logged(&key(1));
    s.predicate.build_definition.internal_parameters.log = "evil.example/log".into();
    assert!(matches!(
        s.verify_log(&vkey),
        Err(IntotoError::OtherLog { .. })
    ));
}
