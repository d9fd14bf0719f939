use super::*;
use crate::source::Site;
use crate::types::ContentId;
use proptest::prelude::*;

/// The origin the tests' entries are bound to.
const LOG: &str = "example.org/log";

pub(crate) fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

fn dataset_version() -> EntryBody {
    EntryBody::DatasetVersion(DatasetVersion {
        publisher: name("acme"),
        dataset: name("web-text"),
        version: name("1.0.0"),
        manifest_root: Digest([7; 32]),
        item_count: 3,
        total_bytes: 1234,
        corpus_mode: CorpusMode::JsonLines {
            field: "text".into(),
        },
        licence: "CC-BY-4.0".into(),
        previous: None,
        sources: None,
        passages: None,
    })
}

fn checkpoint(horizon: u64) -> EntryBody {
    EntryBody::ModelCheckpoint(ModelCheckpoint {
        publisher: name("acme"),
        model: name("m1"),
        checkpoint: name("step-1000"),
        weights_root: Digest([9; 32]),
        weights_count: 2,
        datasets: vec![DatasetRef {
            publisher: name("acme"),
            dataset: name("web-text"),
            version: name("1.0.0"),
            index: LeafIndex(1),
            manifest_root: Digest([7; 32]),
        }],
        optout_horizon: horizon,
    })
}

fn optout(n: usize) -> OptOut {
    let mut ids: Vec<ContentId> = (0..n as u64)
        .map(|i| ContentId::of(&i.to_be_bytes()))
        .collect();
    ids.sort();
    OptOut {
        ids: Some(OptOutIds::Inline(ids)),
        sites: vec![],
        scope: vec![Scope::TrainAi],
        passages: None,
    }
}

fn all_kinds() -> Vec<Entry> {
    let k = key(1);
    vec![
        Entry::sign(
            LOG,
            EntryBody::Publisher(Publisher {
                name: name("acme"),
                key: k.verifying_key(),
            }),
            1_700_000_000,
            None,
            &k,
        )
        .unwrap(),
        Entry::sign(LOG, dataset_version(), 1_700_000_001, Some(5), &k).unwrap(),
        Entry::sign(
            LOG,
            EntryBody::OptOut(optout(3)),
            1_700_000_002,
            None,
            &key(2),
        )
        .unwrap(),
        Entry::anonymous(LOG, optout(1), 1_700_000_003, None).unwrap(),
        Entry::sign(LOG, checkpoint(2), 1_700_000_004, None, &k).unwrap(),
    ]
}

/// Rewrites an entry's JSON object and re-encodes it canonically, without re-signing.
fn edit(e: &Entry, f: impl FnOnce(&mut Map<String, Value>)) -> Vec<u8> {
    let mut v: Map<String, Value> = serde_json::from_slice(e.as_bytes()).unwrap();
    f(&mut v);
    serde_json_canonicalizer::to_vec(&v).unwrap()
}

#[test]
fn every_kind_round_trips_byte_for_byte() {
    for e in all_kinds() {
        let back = Entry::from_bytes(e.as_bytes()).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.as_bytes(), e.as_bytes());
    }
}

#[test]
fn accessors_give_the_sequencer_what_it_checks() {
    let es = all_kinds();
    assert_eq!(es[0].kind(), EntryKind::Publisher);
    assert_eq!(es[1].publisher().map(Name::as_str), Some("acme"));
    assert_eq!(
        es[1].dataset_key().unwrap().to_string(),
        "acme/web-text@1.0.0"
    );
    assert_eq!(es[2].signer(), Some(&key(2).verifying_key()));
    assert_eq!(es[3].signer(), None);
    assert_eq!(es[1].nonce(), Some(5));
}

#[test]
fn a_changed_byte_breaks_the_signature() {
    let e = &all_kinds()[1];
    let forged = edit(e, |m| {
        m.insert("item_count".into(), json!(4));
    });
    assert_eq!(Entry::from_bytes(&forged), Err(EntryError::BadSignature));
    // A signature made by another key under this entry's signer.
    let other = Entry::sign(LOG, dataset_version(), 1_700_000_001, Some(5), &key(3)).unwrap();
    let swapped = edit(e, |m| {
        m.insert(
            "sig".into(),
            serde_json::from_slice::<Map<String, Value>>(other.as_bytes()).unwrap()["sig"].clone(),
        );
    });
    assert_eq!(Entry::from_bytes(&swapped), Err(EntryError::BadSignature));
}

#[test]
fn signature_is_over_the_domain_separated_message() {
    let k = key(1);
    let e = Entry::sign(LOG, dataset_version(), 1_700_000_001, None, &k).unwrap();
    let mut body: Map<String, Value> = serde_json::from_slice(e.as_bytes()).unwrap();
    let sig = body.remove("sig").unwrap();
    assert_eq!(body["log"], json!(LOG));
    let mut msg = b"prov-ledger/v2\ndataset_version\n".to_vec();
    msg.extend(serde_json_canonicalizer::to_vec(&body).unwrap());
    let sig = fields::b64(sig.as_str().unwrap()).unwrap();
    let sig = Signature::from_slice(&sig).unwrap();
    k.verifying_key().verify_strict(&msg, &sig).unwrap();
    // The same bytes under the v1 prefix do not verify: the two domains are apart.
    let mut v1 = b"prov-ledger/v1\ndataset_version\n".to_vec();
    v1.extend(serde_json_canonicalizer::to_vec(&body).unwrap());
    assert!(k.verifying_key().verify_strict(&v1, &sig).is_err());
}

#[test]
fn v1_entries_still_decode_and_verify() {
    let k = key(1);
    let e = Entry::sign_v1(dataset_version(), 1_700_000_001, None, &k).unwrap();
    assert_eq!(e.log(), None);
    let back = Entry::from_bytes(e.as_bytes()).unwrap();
    assert_eq!(back, e);
    let mut body: Map<String, Value> = serde_json::from_slice(e.as_bytes()).unwrap();
    assert!(!body.contains_key("log"));
    let sig = body.remove("sig").unwrap();
    let mut msg = b"prov-ledger/v1\ndataset_version\n".to_vec();
    msg.extend(serde_json_canonicalizer::to_vec(&body).unwrap());
    let sig = Signature::from_slice(&fields::b64(sig.as_str().unwrap()).unwrap()).unwrap();
    k.verifying_key().verify_strict(&msg, &sig).unwrap();
    let anon = Entry::anonymous_v1(optout(1), 1_700_000_003, None).unwrap();
    assert_eq!(Entry::from_bytes(anon.as_bytes()).unwrap().log(), None);
}

#[test]
fn the_log_is_covered_by_the_signature() {
    let e = Entry::sign(LOG, dataset_version(), 1_700_000_001, None, &key(1)).unwrap();
    assert_eq!(e.log(), Some(LOG));
    let moved = edit(&e, |m| {
        m.insert("log".into(), json!("other.example/log"));
    });
    assert_eq!(Entry::from_bytes(&moved), Err(EntryError::BadSignature));
    // Dropping `log` turns it into a v1 entry, whose message differs: the signature fails.
    let unbound = edit(&e, |m| {
        m.remove("log");
    });
    assert_eq!(Entry::from_bytes(&unbound), Err(EntryError::BadSignature));
}

#[test]
fn a_log_origin_must_be_one_printable_line() {
    for bad in ["", "a\nb", &"x".repeat(MAX_LOG_LEN + 1)] {
        assert_eq!(
            Entry::anonymous(bad, optout(1), 1, None),
            Err(EntryError::BadLog),
            "{bad:?}"
        );
    }
    assert!(Entry::anonymous(&"x".repeat(MAX_LOG_LEN), optout(1), 1, None).is_ok());
    let e = Entry::anonymous(LOG, optout(1), 1, None).unwrap();
    let wrong_type = edit(&e, |m| {
        m.insert("log".into(), json!(7));
    });
    assert_eq!(
        Entry::from_bytes(&wrong_type),
        Err(EntryError::WrongType { field: "log" })
    );
}

#[test]
fn precise_errors() {
    let e = &all_kinds()[1];
    let unknown = edit(e, |m| {
        m.insert("type".into(), json!("dataset"));
    });
    assert_eq!(
        Entry::from_bytes(&unknown),
        Err(EntryError::UnknownType("dataset".into()))
    );
    let missing = edit(e, |m| {
        m.remove("licence");
    });
    assert_eq!(
        Entry::from_bytes(&missing),
        Err(EntryError::MissingField("licence"))
    );
    let extra = edit(e, |m| {
        m.insert("zzz".into(), json!(1));
    });
    assert_eq!(
        Entry::from_bytes(&extra),
        Err(EntryError::UnknownField("zzz".into()))
    );
    let upper = edit(e, |m| {
        m.insert("manifest_root".into(), json!("AB".repeat(32)));
    });
    assert_eq!(
        Entry::from_bytes(&upper),
        Err(EntryError::MalformedHash {
            field: "manifest_root"
        })
    );
    let big = edit(e, |m| {
        m.insert("total_bytes".into(), json!(1u64 << 60));
    });
    assert_eq!(
        Entry::from_bytes(&big),
        Err(EntryError::NumberOutOfRange {
            field: "total_bytes"
        })
    );
    let float = edit(e, |m| {
        m.insert("item_count".into(), json!(1.5));
    });
    assert_eq!(
        Entry::from_bytes(&float),
        Err(EntryError::WrongType {
            field: "item_count"
        })
    );
    let o = &all_kinds()[2];
    let bad_cid = edit(o, |m| {
        m.insert("ids".into(), json!(["blake3:00"]));
    });
    assert_eq!(
        Entry::from_bytes(&bad_cid),
        Err(EntryError::MalformedCid("blake3:00".into()))
    );
    let bad_scope = edit(o, |m| {
        m.insert("scope".into(), json!(["train_ai"]));
    });
    assert_eq!(
        Entry::from_bytes(&bad_scope),
        Err(EntryError::UnknownScope("train_ai".into()))
    );
    assert!(matches!(
        Entry::from_bytes(b"[1,2]"),
        Err(EntryError::Malformed(_))
    ));
    assert!(matches!(
        Entry::from_bytes(b"{"),
        Err(EntryError::Malformed(_))
    ));
}

#[test]
fn non_canonical_encodings_are_refused() {
    let e = &all_kinds()[1];
    let s = std::str::from_utf8(e.as_bytes()).unwrap();
    let spaced = s.replacen(",", ", ", 1);
    assert_eq!(
        Entry::from_bytes(spaced.as_bytes()),
        Err(EntryError::NotCanonical)
    );
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(e.as_bytes()).unwrap()).unwrap();
    assert_eq!(Entry::from_bytes(&pretty), Err(EntryError::NotCanonical));
    let mut trailing = e.as_bytes().to_vec();
    trailing.push(b'\n');
    assert_eq!(Entry::from_bytes(&trailing), Err(EntryError::NotCanonical));
}

#[test]
fn size_and_list_limits() {
    assert_eq!(
        Entry::from_bytes(&vec![b' '; MAX_ENTRY_LEN + 1]),
        Err(EntryError::TooLarge {
            len: MAX_ENTRY_LEN + 1
        })
    );
    assert_eq!(
        Entry::anonymous(LOG, optout(65), 1, None),
        Err(EntryError::TooManyIds { count: 65 })
    );
    assert!(Entry::anonymous(LOG, optout(64), 1, None).is_ok());
    let mut unsorted = optout(3);
    if let Some(OptOutIds::Inline(ids)) = &mut unsorted.ids {
        ids.swap(0, 1);
    }
    assert_eq!(
        Entry::anonymous(LOG, unsorted, 1, None),
        Err(EntryError::NotSortedUnique { field: "ids" })
    );
    let licence = "x".repeat(300);
    let mut d = dataset_version();
    if let EntryBody::DatasetVersion(v) = &mut d {
        v.licence = licence;
    }
    assert_eq!(
        Entry::sign(LOG, d, 1, None, &key(1)),
        Err(EntryError::TooLong { field: "licence" })
    );
}

#[test]
fn only_optouts_may_be_anonymous() {
    let e = &all_kinds()[1];
    let anon = edit(e, |m| {
        m.remove("signer");
        m.remove("sig");
    });
    assert_eq!(
        Entry::from_bytes(&anon),
        Err(EntryError::AnonymousNotAllowed)
    );
    let o = &all_kinds()[2];
    let sig_only = edit(o, |m| {
        m.remove("signer");
    });
    assert_eq!(
        Entry::from_bytes(&sig_only),
        Err(EntryError::UnexpectedSignature)
    );
}

#[test]
fn horizon_beyond_own_index_is_refused() {
    let e = Entry::sign(LOG, checkpoint(10), 1, None, &key(1)).unwrap();
    assert!(e.validate_at(LeafIndex(10)).is_ok());
    assert!(e.validate_at(LeafIndex(11)).is_ok());
    assert_eq!(
        e.validate_at(LeafIndex(9)),
        Err(EntryError::HorizonBeyondIndex {
            horizon: 10,
            index: 9
        })
    );
    let e = Entry::sign(LOG, checkpoint(1), 1, None, &key(1)).unwrap();
    assert_eq!(
        e.validate_at(LeafIndex(1)),
        Err(EntryError::DatasetNotEarlier {
            dataset: 1,
            index: 1
        })
    );
}

/// Canonical sites, in no particular order (the strategy sorts them).
const SITES: [&str; 6] = [
    "example.com",
    "https://example.com/blog/",
    "xn--r8jz45g.jp",
    "a.b.example.org",
    "http://e.com:8080/a?b",
    "notexample.com",
];

fn arb_name() -> impl Strategy<Value = Name> {
    "[a-z0-9][a-z0-9._-]{0,20}".prop_map(|s| Name::new(s).unwrap())
}

fn arb_digest() -> impl Strategy<Value = Digest> {
    any::<[u8; 32]>().prop_map(Digest)
}

fn arb_body() -> impl Strategy<Value = EntryBody> {
    let safe = 0..=MAX_SAFE_INTEGER;
    prop_oneof![
        (arb_name(), any::<[u8; 32]>()).prop_map(|(n, seed)| EntryBody::Publisher(Publisher {
            name: n,
            key: SigningKey::from_bytes(&seed).verifying_key(),
        })),
        (
            (arb_name(), arb_name(), arb_name(), arb_digest()),
            (
                safe.clone(),
                safe.clone(),
                0..4u8,
                "[ -~]{0,40}",
                proptest::option::of(arb_name()),
                proptest::option::of((arb_digest(), safe.clone())),
                proptest::option::of((arb_digest(), safe.clone()))
            )
        )
            .prop_map(|((p, d, v, r), (c, b, m, l, prev, src, pas))| {
                EntryBody::DatasetVersion(DatasetVersion {
                    publisher: p,
                    dataset: d,
                    version: v,
                    manifest_root: r,
                    item_count: c,
                    total_bytes: b,
                    corpus_mode: match m {
                        0 => CorpusMode::File,
                        1 => CorpusMode::Line,
                        2 => CorpusMode::JsonLines {
                            field: l.clone() + "f",
                        },
                        _ => CorpusMode::Parquet {
                            column: "col".into(),
                        },
                    },
                    licence: l,
                    previous: prev,
                    sources: src.map(|(root, size)| SetRef { root, size }),
                    passages: pas.map(|(root, size)| SetRef { root, size }),
                })
            }),
        (
            proptest::collection::btree_set(any::<[u8; 32]>(), 1..64),
            proptest::collection::btree_set(0..3usize, 1..3),
            any::<bool>(),
            arb_digest(),
            1..=MAX_SAFE_INTEGER,
            (
                0..3u8,
                proptest::collection::btree_set(0..SITES.len(), 0..4)
            )
        )
            .prop_map(|(ids, scope, with_passages, root, size, (which, sites))| {
                let sites: Vec<Site> = sites
                    .into_iter()
                    .map(|i| Site::parse_canonical(SITES[i]).unwrap())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let ids = match which {
                    0 => Some(OptOutIds::Inline(ids.into_iter().map(ContentId).collect())),
                    1 => Some(OptOutIds::Set { root, size }),
                    _ => None,
                };
                let passages = with_passages.then_some(SetRef {
                    root: Digest(root.0.map(|b| !b)),
                    size,
                });
                let sites = if ids.is_none() && sites.is_empty() && passages.is_none() {
                    vec![Site::parse_canonical("example.com").unwrap()]
                } else {
                    sites
                };
                EntryBody::OptOut(OptOut {
                    ids,
                    sites,
                    scope: scope.into_iter().map(|i| Scope::ALL[i]).collect(),
                    passages,
                })
            }),
        (
            arb_name(),
            arb_name(),
            arb_digest(),
            safe.clone(),
            safe,
            proptest::collection::vec((arb_name(), 0..1000u64, arb_digest()), 1..4)
        )
            .prop_map(|(m, c, w, n, h, ds)| {
                let mut seen = std::collections::HashSet::new();
                EntryBody::ModelCheckpoint(ModelCheckpoint {
                    publisher: name("p"),
                    model: m,
                    checkpoint: c,
                    weights_root: w,
                    weights_count: n,
                    datasets: ds
                        .into_iter()
                        .filter(|(d, _, _)| seen.insert(d.clone()))
                        .map(|(d, i, r)| DatasetRef {
                            publisher: name("p"),
                            dataset: d,
                            version: name("1"),
                            index: LeafIndex(i),
                            manifest_root: r,
                        })
                        .collect(),
                    optout_horizon: h,
                })
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn decode_of_encode_is_identity_and_stable(
        body in arb_body(),
        time in 0..=MAX_SAFE_INTEGER,
        nonce in proptest::option::of(0..=MAX_SAFE_INTEGER),
        seed in any::<[u8; 32]>(),
    ) {
        let e = Entry::sign(LOG, body.clone(), time, nonce, &SigningKey::from_bytes(&seed)).unwrap();
        let back = Entry::from_bytes(e.as_bytes()).unwrap();
        prop_assert_eq!(back.as_bytes(), e.as_bytes());
        prop_assert_eq!(back.body(), &body);
        prop_assert_eq!(&back, &e);
        // Signing the same thing again gives the same bytes (Ed25519 is deterministic).
        let again = Entry::sign(LOG, body, time, nonce, &SigningKey::from_bytes(&seed)).unwrap();
        prop_assert_eq!(again.as_bytes(), e.as_bytes());
    }
}

/// Decodes `bytes` without checking the signature; the test's entries are canonical.
fn unverified(bytes: &[u8]) -> UnverifiedEntry {
    Entry::from_bytes_unverified(bytes).unwrap()
}

#[test]
fn batch_verification_rejects_exactly_the_bad_signature() {
    let good = all_kinds();
    let forged = edit(&good[1], |m| {
        m.insert("item_count".into(), json!(4));
    });
    let mut batch: Vec<UnverifiedEntry> = good.iter().map(|e| unverified(e.as_bytes())).collect();
    batch.insert(2, unverified(&forged));
    let got = verify_batch(batch);
    assert_eq!(got.len(), good.len() + 1);
    assert_eq!(got[2], Err(EntryError::BadSignature));
    let accepted: Vec<Entry> = got
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, r)| r.unwrap())
        .collect();
    assert_eq!(accepted, good);
    // The anonymous opt-out has nothing to verify.
    assert!(unverified(good[3].as_bytes()).signature_parts().is_none());
}

#[test]
fn batch_verification_of_good_entries_matches_from_bytes() {
    let good = all_kinds();
    let batch = good.iter().map(|e| unverified(e.as_bytes())).collect();
    let got: Vec<Entry> = verify_batch(batch)
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(got, good);
    let u = unverified(good[1].as_bytes());
    let (signer, message, _) = u.signature_parts().unwrap();
    assert_eq!(signer, &key(1).verifying_key());
    assert!(message.starts_with(b"prov-ledger/v2\ndataset_version\n{"));
}

/// `ed25519_dalek::verify_batch` accepts a signature by the small-order (identity) key with R the
/// identity and s = 0, which `verify_strict` (and so `Entry::from_bytes`) refuses: a batch must
/// never let such an entry into the log.
#[test]
fn batch_verification_refuses_what_verify_strict_refuses() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let anon = Entry::anonymous(LOG, optout(2), 1_700_000_009, None).unwrap();
    let weak = edit(&anon, |m| {
        m.insert("signer".into(), json!(fields::to_b64(&identity)));
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&identity);
        m.insert("sig".into(), json!(fields::to_b64(&sig)));
    });
    let u = unverified(&weak);
    let (k, message, sig) = u.signature_parts().unwrap();
    assert!(ed25519_dalek::verify_batch(&[message], &[*sig], &[*k]).is_ok());
    assert_eq!(Entry::from_bytes(&weak), Err(EntryError::BadSignature));

    let good = all_kinds();
    let mut batch: Vec<UnverifiedEntry> = good.iter().map(|e| unverified(e.as_bytes())).collect();
    batch.push(u);
    let got = verify_batch(batch);
    assert_eq!(got.last(), Some(&Err(EntryError::BadSignature)));
    assert!(got[..good.len()].iter().all(Result::is_ok));
}

// ---- Issue 13: source trees and opt-outs by site. ----

fn site(s: &str) -> Site {
    Site::parse_canonical(s).unwrap()
}

fn site_optout(sites: &[&str]) -> OptOut {
    OptOut {
        ids: None,
        sites: sites.iter().map(|s| site(s)).collect(),
        scope: vec![Scope::TrainAi],
        passages: None,
    }
}

#[test]
fn a_dataset_version_with_sources_round_trips_and_one_without_reads_as_before() {
    let mut d = dataset_version();
    if let EntryBody::DatasetVersion(v) = &mut d {
        v.sources = Some(SetRef {
            root: Digest([5; 32]),
            size: 7,
        });
    }
    let e = Entry::sign(LOG, d, 1, None, &key(1)).unwrap();
    let text = std::str::from_utf8(e.as_bytes()).unwrap();
    assert!(
        text.contains(&format!(
            "\"sources\":{{\"root\":\"{}\",\"size\":7}}",
            "05".repeat(32)
        )),
        "{text}"
    );
    assert_eq!(Entry::from_bytes(e.as_bytes()).unwrap(), e);
    // Without sources: no `sources` key at all (old entries' bytes are unchanged).
    let old = &all_kinds()[1];
    assert!(!std::str::from_utf8(old.as_bytes())
        .unwrap()
        .contains("sources"));
    let extra = edit(&e, |m| {
        m.insert(
            "sources".into(),
            json!({"root": "05".repeat(32), "size": 7, "x": 1}),
        );
    });
    assert_eq!(
        Entry::from_bytes(&extra),
        Err(EntryError::UnknownField("x".into()))
    );
    let bad = edit(&e, |m| {
        m.insert("sources".into(), json!({"root": "05", "size": 7}));
    });
    assert_eq!(
        Entry::from_bytes(&bad),
        Err(EntryError::MalformedHash { field: "root" })
    );
}

#[test]
fn an_optout_by_sites_only_round_trips() {
    let o = site_optout(&["example.com", "https://example.com/blog/"]);
    let e = Entry::sign(LOG, EntryBody::OptOut(o.clone()), 1, None, &key(2)).unwrap();
    let text = std::str::from_utf8(e.as_bytes()).unwrap();
    assert!(
        text.contains("\"sites\":[\"example.com\",\"https://example.com/blog/\"]"),
        "{text}"
    );
    assert!(!text.contains("\"ids\"") && !text.contains("\"set\""));
    let back = Entry::from_bytes(e.as_bytes()).unwrap();
    assert_eq!(back.body(), &EntryBody::OptOut(o));
    // Ids and sites together.
    let mut both = optout(2);
    both.sites = vec![site("example.com")];
    let e = Entry::sign(LOG, EntryBody::OptOut(both), 1, None, &key(2)).unwrap();
    assert_eq!(
        Entry::from_bytes(e.as_bytes()).unwrap().as_bytes(),
        e.as_bytes()
    );
}

#[test]
fn an_optout_must_name_something_and_never_both_ids_and_a_set() {
    let nothing = OptOut {
        ids: None,
        sites: vec![],
        scope: vec![Scope::TrainAi],
        passages: None,
    };
    assert_eq!(
        Entry::sign(LOG, EntryBody::OptOut(nothing), 1, None, &key(2)),
        Err(EntryError::IdsOrSet)
    );
    let o = &all_kinds()[2];
    let none = edit(o, |m| {
        m.remove("ids");
    });
    assert_eq!(Entry::from_bytes(&none), Err(EntryError::IdsOrSet));
    let both = edit(o, |m| {
        m.insert("set".into(), json!({"root": "05".repeat(32), "size": 1}));
    });
    assert_eq!(Entry::from_bytes(&both), Err(EntryError::IdsOrSet));
    let empty = edit(o, |m| {
        m.insert("sites".into(), json!([]));
    });
    assert_eq!(
        Entry::from_bytes(&empty),
        Err(EntryError::EmptyList { field: "sites" })
    );
}

#[test]
fn a_non_canonical_site_is_refused() {
    let o = &all_kinds()[2];
    for bad in [
        "Example.com",
        "example.com.",
        "https://E.com/a",
        "https://e.com/#x",
    ] {
        let e = edit(o, |m| {
            m.insert("sites".into(), json!([bad]));
        });
        assert!(
            matches!(
                Entry::from_bytes(&e),
                Err(EntryError::BadSite {
                    cause: crate::source::SourceError::NotCanonical { .. },
                    ..
                })
            ),
            "{bad}"
        );
    }
    for bad in ["com", "1.2.3.4", "ftp://e.com/", "*.e.com"] {
        let e = edit(o, |m| {
            m.insert("sites".into(), json!([bad]));
        });
        assert!(
            matches!(Entry::from_bytes(&e), Err(EntryError::BadSite { .. })),
            "{bad}"
        );
    }
    let e = edit(o, |m| {
        m.insert("sites".into(), json!([7]));
    });
    assert_eq!(
        Entry::from_bytes(&e),
        Err(EntryError::WrongType { field: "sites" })
    );
    // A `Site` built by hand, not parsed, is checked when signing too.
    let hand = OptOut {
        ids: None,
        sites: vec![Site::Domain("EXAMPLE.com".into())],
        scope: vec![Scope::TrainAi],
        passages: None,
    };
    assert!(matches!(
        Entry::sign(LOG, EntryBody::OptOut(hand), 1, None, &key(2)),
        Err(EntryError::BadSite { .. })
    ));
}

#[test]
fn sites_are_sorted_unique_and_at_most_64() {
    let o = &all_kinds()[2];
    for bad in [
        json!(["b.com", "a.com"]),
        json!(["a.com", "a.com"]),
        json!(["https://a.com/", "a.com"]),
    ] {
        let e = edit(o, |m| {
            m.insert("sites".into(), bad.clone());
        });
        assert_eq!(
            Entry::from_bytes(&e),
            Err(EntryError::NotSortedUnique { field: "sites" }),
            "{bad}"
        );
    }
    let mut many: Vec<String> = (0..65).map(|i| format!("s{i:03}.example")).collect();
    many.sort();
    let sites: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(
        Entry::sign(
            LOG,
            EntryBody::OptOut(site_optout(&sites)),
            1,
            None,
            &key(2)
        ),
        Err(EntryError::TooManySites { count: 65 })
    );
    assert!(Entry::sign(
        LOG,
        EntryBody::OptOut(site_optout(&sites[..64])),
        1,
        None,
        &key(2)
    )
    .is_ok());
}

#[test]
fn ai_use_still_reads_but_is_withdrawn() {
    let mut o = optout(1);
    o.scope = vec![Scope::AiUse, Scope::TrainAi];
    let e = Entry::sign_v1(EntryBody::OptOut(o.clone()), 1, None, &key(2)).unwrap();
    let back = Entry::from_bytes(e.as_bytes()).unwrap();
    assert_eq!(back.body(), &EntryBody::OptOut(o.clone()));
    assert_eq!(o.withdrawn_scope(), Some(Scope::AiUse));
    assert!(!Scope::AiUse.is_current());
    assert!(Scope::TrainAi.is_current() && Scope::Search.is_current());
    assert_eq!(optout(1).withdrawn_scope(), None);
}

/// Anonymous opt-outs naming sites decode (the entry rules are per entry); the sequencer
/// refuses them (`ledger::store::rules`, `anonymous-sites`), as it refuses anonymous sets.
#[test]
fn an_anonymous_optout_with_sites_decodes_for_the_rule_to_refuse() {
    let e = Entry::anonymous(LOG, site_optout(&["example.com"]), 1, None).unwrap();
    assert_eq!(e.signer(), None);
    assert!(Entry::from_bytes(e.as_bytes()).is_ok());
}

#[test]
fn a_dataset_version_with_passages_round_trips_and_one_without_reads_as_before() {
    let mut d = dataset_version();
    if let EntryBody::DatasetVersion(v) = &mut d {
        v.passages = Some(SetRef {
            root: Digest([6; 32]),
            size: 9,
        });
    }
    let e = Entry::sign(LOG, d, 1, None, &key(1)).unwrap();
    let text = std::str::from_utf8(e.as_bytes()).unwrap();
    assert!(
        text.contains(&format!(
            "\"passages\":{{\"root\":\"{}\",\"size\":9}}",
            "06".repeat(32)
        )),
        "{text}"
    );
    assert_eq!(Entry::from_bytes(e.as_bytes()).unwrap(), e);
    // Without passages: no `passages` key (old entries' bytes are unchanged).
    for old in all_kinds() {
        assert!(!std::str::from_utf8(old.as_bytes())
            .unwrap()
            .contains("passages"));
    }
    let extra = edit(&e, |m| {
        m.insert(
            "passages".into(),
            json!({"root": "06".repeat(32), "size": 9, "x": 1}),
        );
    });
    assert_eq!(
        Entry::from_bytes(&extra),
        Err(EntryError::UnknownField("x".into()))
    );
    let bad = edit(&e, |m| {
        m.insert("passages".into(), json!({"root": "06", "size": 9}));
    });
    assert_eq!(
        Entry::from_bytes(&bad),
        Err(EntryError::MalformedHash { field: "root" })
    );
    let huge = edit(&e, |m| {
        m.insert(
            "passages".into(),
            json!({"root": "06".repeat(32), "size": MAX_SAFE_INTEGER + 1}),
        );
    });
    assert_eq!(
        Entry::from_bytes(&huge),
        Err(EntryError::NumberOutOfRange { field: "size" })
    );
}

fn passage_optout() -> OptOut {
    OptOut {
        ids: None,
        sites: vec![],
        scope: vec![Scope::TrainAi],
        passages: Some(SetRef {
            root: Digest([8; 32]),
            size: 4096,
        }),
    }
}

#[test]
fn an_optout_by_passages_only_round_trips() {
    let o = passage_optout();
    let e = Entry::sign(LOG, EntryBody::OptOut(o.clone()), 1, None, &key(2)).unwrap();
    let text = std::str::from_utf8(e.as_bytes()).unwrap();
    assert!(
        text.contains(&format!(
            "\"passages\":{{\"root\":\"{}\",\"size\":4096}}",
            "08".repeat(32)
        )),
        "{text}"
    );
    assert!(!text.contains("\"ids\"") && !text.contains("\"sites\""));
    assert_eq!(
        Entry::from_bytes(e.as_bytes()).unwrap().body(),
        &EntryBody::OptOut(o)
    );
    // With the work's cid in `ids` too, as `prov optout WORK` writes it.
    let mut both = optout(1);
    both.passages = passage_optout().passages;
    let e = Entry::sign(LOG, EntryBody::OptOut(both.clone()), 1, None, &key(2)).unwrap();
    assert_eq!(
        Entry::from_bytes(e.as_bytes()).unwrap().body(),
        &EntryBody::OptOut(both)
    );
}

#[test]
fn an_optout_passage_tree_is_never_empty_and_its_size_is_a_safe_integer() {
    let e = Entry::sign(LOG, EntryBody::OptOut(passage_optout()), 1, None, &key(2)).unwrap();
    let empty = edit(&e, |m| {
        m.insert(
            "passages".into(),
            json!({"root": "08".repeat(32), "size": 0}),
        );
    });
    assert_eq!(
        Entry::from_bytes(&empty),
        Err(EntryError::EmptyList { field: "passages" })
    );
    let huge = edit(&e, |m| {
        m.insert(
            "passages".into(),
            json!({"root": "08".repeat(32), "size": MAX_SAFE_INTEGER + 1}),
        );
    });
    assert_eq!(
        Entry::from_bytes(&huge),
        Err(EntryError::NumberOutOfRange { field: "size" })
    );
    let none = edit(&e, |m| {
        m.remove("passages");
    });
    assert_eq!(Entry::from_bytes(&none), Err(EntryError::IdsOrSet));
}

/// Anonymous opt-outs naming passages decode; the sequencer refuses them
/// (`anonymous-passages`), and a verifier ignores their passages.
#[test]
fn an_anonymous_optout_with_passages_decodes_for_the_rule_to_refuse() {
    let e = Entry::anonymous(LOG, passage_optout(), 1, None).unwrap();
    assert_eq!(e.signer(), None);
    assert!(Entry::from_bytes(e.as_bytes()).is_ok());
}
