//! Compliance over hand-built in-memory ledgers: entries appended to a Vec, the log tree from
//! `merkle::root` / `inclusion_proof`, a checkpoint signed with a test key.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use ed25519_dalek::SigningKey;
use ledger::compliance::{
    bundle_optout_indices, verify_bundle, verify_bundle_report, BundleEntry, BundleMultiProof,
    BundleSetProof, ComplianceBundle, ComplianceError, OptOutSetLeaves, Verdict, Violation,
};
use ledger::entry::{
    CorpusMode, DatasetRef, DatasetVersion, Entry, EntryBody, EntryError, ModelCheckpoint, Name,
    OptOut, OptOutIds, Publisher, Scope,
};
use ledger::note::{NoteSigner, VerifierKey};
use ledger::set::{SetLeaf, SortedSet};
use ledger::{ContentId, Digest, LeafIndex};

const ORIGIN: &str = "example.test/log";

fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

fn item(n: u64) -> ContentId {
    ContentId::of(format!("item {n}").as_bytes())
}

struct Scenario {
    /// Opt-out 2 (inline) names item 3 when true.
    inline_hits: bool,
    /// Opt-out 4 (a set) names item 5 when true.
    set_hits: bool,
    horizon: u64,
}

struct Built {
    bundle: ComplianceBundle,
    key: VerifierKey,
    manifest: SortedSet,
    /// Every entry of the log with its tlog-proof.
    logged: Vec<BundleEntry>,
}

fn build(s: &Scenario) -> Built {
    let publisher = SigningKey::from_bytes(&[1; 32]);
    let requester = SigningKey::from_bytes(&[2; 32]);
    let log_key = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[9; 32])).unwrap();

    let mut leaves: Vec<SetLeaf> = (0..20)
        .map(|n| SetLeaf {
            cid: item(n),
            size: 100 + n,
            meta: Digest::default(),
        })
        .collect();
    leaves.sort_by_key(|l| l.cid);
    let manifest = SortedSet::new(leaves).unwrap();

    let mut inline = vec![ContentId::of(b"not in the corpus")];
    if s.inline_hits {
        inline.push(item(3));
    }
    inline.sort();
    let mut set_ids = vec![ContentId::of(b"z1"), ContentId::of(b"z2")];
    if s.set_hits {
        set_ids.push(item(5));
    }
    let optout_set = SortedSet::from_ids(set_ids);

    let entries = vec![
        Entry::sign(
            ORIGIN,
            EntryBody::Publisher(Publisher {
                name: name("acme"),
                key: publisher.verifying_key(),
            }),
            1,
            None,
            &publisher,
        )
        .unwrap(),
        Entry::sign(
            ORIGIN,
            EntryBody::DatasetVersion(DatasetVersion {
                publisher: name("acme"),
                dataset: name("web"),
                version: name("1"),
                manifest_root: manifest.root(),
                item_count: manifest.size().0,
                total_bytes: 2090,
                corpus_mode: CorpusMode::File,
                licence: "CC0-1.0".into(),
                previous: None,
                sources: None,
                passages: None,
            }),
            2,
            None,
            &publisher,
        )
        .unwrap(),
        Entry::sign(
            ORIGIN,
            EntryBody::OptOut(OptOut {
                ids: Some(OptOutIds::Inline(inline)),
                sites: vec![],
                scope: vec![Scope::TrainAi],
                passages: None,
            }),
            3,
            None,
            &requester,
        )
        .unwrap(),
        // Search only: does not bind training, needs no proofs.
        Entry::anonymous(
            ORIGIN,
            OptOut {
                ids: Some(OptOutIds::Inline(vec![item(7)])),
                sites: vec![],
                scope: vec![Scope::Search],
                passages: None,
            },
            4,
            None,
        )
        .unwrap(),
        Entry::anonymous(
            ORIGIN,
            OptOut {
                ids: Some(OptOutIds::Set {
                    root: optout_set.root(),
                    size: optout_set.size().0,
                }),
                sites: vec![],
                scope: vec![Scope::AiUse, Scope::TrainAi],
                passages: None,
            },
            5,
            None,
        )
        .unwrap(),
        Entry::sign(
            ORIGIN,
            EntryBody::ModelCheckpoint(ModelCheckpoint {
                publisher: name("acme"),
                model: name("m"),
                checkpoint: name("c1"),
                weights_root: Digest([4; 32]),
                weights_count: 1,
                datasets: vec![DatasetRef {
                    publisher: name("acme"),
                    dataset: name("web"),
                    version: name("1"),
                    index: LeafIndex(1),
                    manifest_root: manifest.root(),
                }],
                optout_horizon: s.horizon,
            }),
            6,
            None,
            &publisher,
        )
        .unwrap(),
    ];
    // An opt-out after the checkpoint: not covered, not in the bundle.
    let mut entries = entries;
    entries.push(
        Entry::anonymous(
            ORIGIN,
            OptOut {
                ids: Some(OptOutIds::Inline(vec![item(1)])),
                sites: vec![],
                scope: vec![Scope::TrainAi],
                passages: None,
            },
            7,
            None,
        )
        .unwrap(),
    );

    let (note, all) = common::logged_entries(&entries, &log_key);
    let logged = |i: usize| all[i].clone();
    let mut set_proofs = Vec::new();
    let covered: Vec<ContentId> = {
        let mut v: Vec<ContentId> = match &entries[2].body() {
            EntryBody::OptOut(o) => match &o.ids {
                Some(OptOutIds::Inline(ids)) => ids.clone(),
                Some(OptOutIds::Set { .. }) | None => vec![],
            },
            _ => vec![],
        };
        v.extend(optout_set.leaves().iter().map(|l| l.cid));
        v
    };
    for id in covered {
        set_proofs.push(BundleSetProof {
            dataset: "acme/web@1".into(),
            proof: manifest.membership_proof(&id).unwrap(),
        });
    }
    Built {
        bundle: ComplianceBundle {
            checkpoint: note.clone(),
            model_checkpoint: logged(5),
            datasets: vec![logged(1)],
            optouts: vec![logged(2), logged(3), logged(4)],
            optout_sets: vec![OptOutSetLeaves {
                leaves: optout_set.leaves().to_vec(),
            }],
            set_proofs,
            multi_proofs: Vec::new(),
            horizon_entry: None,
            source_proofs: Vec::new(),
            passage_optouts: Vec::new(),
            passage_proofs: Vec::new(),
        },
        key: log_key.verifier_key(),
        manifest,
        logged: (0..entries.len()).map(logged).collect(),
    }
}

/// The bundle in the layout the service builds now: one multi-proof for all ids instead of
/// one proof per id, and the entry below the horizon.
fn to_multi(b: &Built, horizon: u64) -> ComplianceBundle {
    let mut ids: Vec<ContentId> = b.bundle.set_proofs.iter().map(|p| p.proof.id()).collect();
    ids.sort();
    ids.dedup();
    let mut out = b.bundle.clone();
    out.set_proofs.clear();
    out.multi_proofs = vec![BundleMultiProof {
        dataset: "acme/web@1".into(),
        proof: b.manifest.multi_proof(&ids).unwrap(),
    }];
    out.horizon_entry = horizon.checked_sub(1).map(|h| b.logged[h as usize].clone());
    out
}

const CLEAN: Scenario = Scenario {
    inline_hits: false,
    set_hits: false,
    horizon: 5,
};

#[test]
fn compliant_ledger_is_compliant() {
    let b = build(&CLEAN);
    assert_eq!(verify_bundle(&b.bundle, &b.key), Ok(Verdict::Compliant));
    let json = serde_json::to_string(&b.bundle).unwrap();
    let back: ComplianceBundle = serde_json::from_str(&json).unwrap();
    assert_eq!(verify_bundle(&back, &b.key), Ok(Verdict::Compliant));
}

#[test]
fn violating_ledger_names_optout_id_and_version() {
    let b = build(&Scenario {
        inline_hits: true,
        set_hits: true,
        horizon: 5,
    });
    let mut want = vec![
        Violation {
            optout_index: LeafIndex(2),
            cid: item(3),
            dataset: "acme/web@1".into(),
        },
        Violation {
            optout_index: LeafIndex(4),
            cid: item(5),
            dataset: "acme/web@1".into(),
        },
    ];
    want.sort();
    assert_eq!(
        verify_bundle(&b.bundle, &b.key),
        Ok(Verdict::Violated {
            violations: want,
            site_violations: vec![]
        })
    );
    assert!(b.manifest.contains(&item(3)));
}

#[test]
fn a_horizon_that_excludes_the_violating_optout_is_compliant() {
    // Horizon 2: only optouts below index 2 count, so none of them.
    let mut b = build(&Scenario {
        inline_hits: true,
        set_hits: false,
        horizon: 2,
    });
    b.bundle.optouts.clear();
    assert_eq!(verify_bundle(&b.bundle, &b.key), Ok(Verdict::Compliant));
    // ...and a bundle carrying an optout at or above the horizon is malformed.
    let b2 = build(&Scenario {
        inline_hits: true,
        set_hits: false,
        horizon: 2,
    });
    assert!(matches!(
        verify_bundle(&b2.bundle, &b2.key),
        Err(ComplianceError::BeyondHorizon {
            index: 2,
            horizon: 2
        })
    ));
}

#[test]
fn horizon_beyond_the_checkpoint_entry_is_refused() {
    let b = build(&Scenario {
        inline_hits: false,
        set_hits: false,
        horizon: 6,
    });
    assert!(matches!(
        verify_bundle(&b.bundle, &b.key),
        Err(ComplianceError::Entry {
            index: 5,
            source: EntryError::HorizonBeyondIndex {
                horizon: 6,
                index: 5
            }
        })
    ));
}

#[test]
fn tampered_bundles_are_errors() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    // An optout entry rewritten to drop the violating id: its tlog-proof no longer verifies.
    let b = build(&Scenario {
        inline_hits: true,
        set_hits: false,
        horizon: 5,
    });
    let mut t = b.bundle.clone();
    let mut bytes = b64.decode(&t.optouts[0].entry).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 1;
    t.optouts[0].entry = b64.encode(bytes);
    assert!(matches!(
        verify_bundle(&t, &b.key),
        Err(ComplianceError::TlogProof(_))
    ));

    // An inclusion proof swapped for a forged exclusion proof.
    let mut t = b.bundle.clone();
    let i = t
        .set_proofs
        .iter()
        .position(|p| p.proof.id() == item(3))
        .unwrap();
    let other = b
        .manifest
        .exclusion_proof(&ContentId::of(b"elsewhere"))
        .unwrap();
    let mut forged = other.clone();
    forged.id = item(3);
    t.set_proofs[i].proof = ledger::set::SetMembershipProof::Excluded(forged);
    assert!(matches!(
        verify_bundle(&t, &b.key),
        Err(ComplianceError::SetProof { .. })
    ));

    // An opt-out set with an id left out no longer matches its root.
    let mut t = b.bundle.clone();
    t.optout_sets[0].leaves.pop();
    assert!(matches!(
        verify_bundle(&t, &b.key),
        Err(ComplianceError::MissingOptOutSet { index: 4 })
    ));

    // A checkpoint checked with another log's key.
    let other = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[8; 32])).unwrap();
    assert!(matches!(
        verify_bundle(&b.bundle, &other.verifier_key()),
        Err(ComplianceError::Checkpoint(_))
    ));
}

#[test]
fn a_missing_proof_is_an_error_not_a_verdict() {
    let b = build(&CLEAN);
    let mut t = b.bundle.clone();
    let gone = t.set_proofs.remove(0).proof.id();
    assert!(matches!(
        verify_bundle(&t, &b.key),
        Err(ComplianceError::MissingProof { cid, .. }) if cid == gone
    ));
    let mut t = b.bundle.clone();
    let dup = t.set_proofs[0].clone();
    t.set_proofs.push(dup);
    assert!(matches!(
        verify_bundle(&t, &b.key),
        Err(ComplianceError::DuplicateProof { .. })
    ));
    let mut t = b.bundle.clone();
    t.datasets.clear();
    assert!(matches!(
        verify_bundle(&t, &b.key),
        Err(ComplianceError::MissingDataset { .. })
    ));
}

#[test]
fn optout_indices_for_a_complete_check() {
    let b = build(&CLEAN);
    let got: Vec<u64> = bundle_optout_indices(&b.bundle)
        .unwrap()
        .into_iter()
        .map(|i| i.0)
        .collect();
    assert_eq!(got, vec![2, 3, 4]);
}

/// Both layouts reach the same verdicts, and the multi-proof layout's report states the horizon
/// lag from the bundle's horizon entry.
#[test]
fn multi_proof_bundles_reach_the_same_verdicts() {
    for (inline_hits, set_hits) in [(false, false), (true, false), (true, true)] {
        let b = build(&Scenario {
            inline_hits,
            set_hits,
            horizon: 5,
        });
        let multi = to_multi(&b, 5);
        let json = serde_json::to_string(&multi).unwrap();
        assert!(!json.contains("horizon_entry\":null"));
        let back: ComplianceBundle = serde_json::from_str(&json).unwrap();
        assert_eq!(
            verify_bundle(&back, &b.key),
            verify_bundle(&b.bundle, &b.key)
        );
        let r = verify_bundle_report(&back, &b.key).unwrap();
        assert_eq!(r.horizon, 5);
        assert_eq!(r.model_index, LeafIndex(5));
        assert_eq!(r.lag_entries(), 0);
        // Entry 4 has time 5 and the checkpoint entry time 6 (see `build`).
        assert_eq!(r.horizon_time, Some(b.logged_time(4)));
        assert_eq!(
            r.lag_seconds(r.horizon_time),
            Some(r.model_time - b.logged_time(4))
        );
    }
}

/// The attack on the new layout: a multi-proof built without the violating id. The verifier
/// gathers the ids itself, so the proof fails to decide it: an error, never "compliant".
#[test]
fn multi_proof_hiding_an_opted_out_id_is_refused() {
    let b = build(&Scenario {
        inline_hits: true,
        set_hits: false,
        horizon: 5,
    });
    let mut ids: Vec<ContentId> = b
        .bundle
        .set_proofs
        .iter()
        .map(|p| p.proof.id())
        .filter(|id| *id != item(3))
        .collect();
    ids.sort();
    let mut forged = to_multi(&b, 5);
    forged.multi_proofs[0].proof = b.manifest.multi_proof(&ids).unwrap();
    assert!(matches!(
        verify_bundle(&forged, &b.key),
        Err(ComplianceError::MultiProof { .. })
    ));
    // Nor may the version's proofs be split across both layouts, or given twice.
    let mut mixed = to_multi(&b, 5);
    mixed.set_proofs = b.bundle.set_proofs.clone();
    assert!(matches!(
        verify_bundle(&mixed, &b.key),
        Err(ComplianceError::MixedProofs { .. })
    ));
    let mut twice = to_multi(&b, 5);
    twice.multi_proofs.push(twice.multi_proofs[0].clone());
    assert!(matches!(
        verify_bundle(&twice, &b.key),
        Err(ComplianceError::DuplicateMultiProof { .. })
    ));
    // A multi-proof for a version the checkpoint does not name.
    let mut other = to_multi(&b, 5);
    other.multi_proofs[0].dataset = "acme/web@2".into();
    assert!(matches!(
        verify_bundle(&other, &b.key),
        Err(ComplianceError::UnnamedDataset { .. })
    ));
}

/// The horizon entry must be the entry just below the horizon: another entry would let a
/// bundle claim a fresher horizon than it has.
#[test]
fn a_horizon_entry_at_another_index_is_refused() {
    let b = build(&CLEAN);
    let mut bad = to_multi(&b, 5);
    bad.horizon_entry = Some(b.logged[2].clone());
    assert!(matches!(
        verify_bundle_report(&bad, &b.key),
        Err(ComplianceError::HorizonEntry {
            index: 2,
            horizon: 5
        })
    ));
}

impl Built {
    fn logged_time(&self, i: usize) -> u64 {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.logged[i].entry)
            .unwrap();
        Entry::from_bytes(&bytes).unwrap().time()
    }
}

/// The explorer decides compliance in JavaScript (api/explorer/src/lib/compliance.js); this
/// writes the cases it must decide as this crate does, with the log's tiles for its own
/// completeness scan, to `api/explorer/test/vectors/compliance.json` (its node test reads them)
/// and keeps the committed file current: `PROV_UPDATE_VECTORS=1 cargo test -p ledger --test
/// compliance explorer` rewrites it.
#[test]
fn explorer_compliance_vectors_are_current() {
    use base64::Engine as _;
    use ledger::compliance::{Conclusion, Policy, SiteControl};
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let unb64 = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).unwrap();

    let clean = build(&CLEAN);
    let violating = build(&Scenario {
        inline_hits: true,
        set_hits: true,
        horizon: 5,
    });
    let inline = build(&Scenario {
        inline_hits: true,
        set_hits: false,
        horizon: 5,
    });
    let mut trimmed = to_multi(&inline, 5);
    trimmed.optouts.retain(|o| !o.proof.contains("\nindex 2\n"));
    let mut vacuous_built = build(&Scenario {
        inline_hits: false,
        set_hits: false,
        horizon: 0,
    });
    vacuous_built.bundle.optouts.clear();
    let vacuous = to_multi(&vacuous_built, 0);
    let cases = [
        ("compliant", to_multi(&clean, 5), &clean),
        ("compliant-first-layout", clean.bundle.clone(), &clean),
        ("violated", to_multi(&violating, 5), &violating),
        ("trimmed", trimmed, &inline),
        ("vacuous", vacuous, &vacuous_built),
    ];

    let mut out = Vec::new();
    for (name, bundle, built) in cases {
        // The log behind the bundle, as tiles (it is below one tile wide).
        let entries: Vec<Vec<u8>> = built.logged.iter().map(|e| unb64(&e.entry)).collect();
        let n = entries.len();
        let hashes: Vec<u8> = entries
            .iter()
            .flat_map(|e| ledger::leaf_hash(e).0)
            .collect();
        let tiles = serde_json::json!({
            format!("tile/entries/000.p/{n}"): b64(&ledger::tile::encode_entry_bundle(&entries).unwrap()),
            format!("tile/0/000.p/{n}"): b64(&hashes),
        });
        let r = verify_bundle_report(&bundle, &built.key).unwrap();
        // What a scan of the log finds: the opt-outs below the horizon the bundle leaves out,
        // and the time of the entry just below the horizon.
        let parsed: Vec<Entry> = entries
            .iter()
            .map(|e| Entry::from_bytes(e).unwrap())
            .collect();
        let missing: Vec<u64> = (0..r.horizon)
            .filter(|i| {
                matches!(parsed[*i as usize].body(), EntryBody::OptOut(_))
                    && !r.optout_indices.contains(&LeafIndex(*i))
            })
            .collect();
        let scanned_time = r.horizon.checked_sub(1).map(|h| parsed[h as usize].time());
        let lag = r.lag_seconds(scanned_time);
        let conclude = |complete: Option<bool>, lag: Option<u64>, policy: Policy| -> Conclusion {
            r.conclude(complete, lag, &policy, &SiteControl::offline())
        };
        let strict = Policy {
            max_lag_seconds: Some(0),
            allow_vacuous: false,
        };
        let lenient = Policy {
            max_lag_seconds: None,
            allow_vacuous: true,
        };
        let complete = Some(missing.is_empty());
        out.push(serde_json::json!({
            "name": name,
            "bundle": bundle,
            "tiles": tiles,
            "expect": {
                "verdict": r.verdict,
                "horizon": r.horizon,
                "model_index": r.model_index.0,
                "lag_entries": r.lag_entries(),
                "horizon_time_in_bundle": r.horizon_time,
                "missing_optouts": missing,
                "horizon_time": scanned_time,
                "lag_seconds": lag,
                "conclusion": {
                    "checked": conclude(complete, lag, Policy::default()),
                    "offline": conclude(None, r.lag_seconds(r.horizon_time), Policy::default()),
                    "checked_max_lag_0": conclude(complete, lag, strict),
                    "checked_allow_vacuous": conclude(complete, lag, lenient),
                },
            },
        }));
    }
    let doc = serde_json::json!({
        "about": "generated by ledger/tests/compliance.rs explorer_compliance_vectors_are_current; do not edit",
        "vkey": clean.key.to_string(),
        "cases": out,
    });
    let text = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../api/explorer/test/vectors/compliance.json");
    if std::env::var_os("PROV_UPDATE_VECTORS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{} is stale: run `PROV_UPDATE_VECTORS=1 cargo test -p ledger --test compliance explorer`",
        path.display()
    );
}
