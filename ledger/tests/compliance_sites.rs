//! Compliance with opt-outs by site (issue 13), over hand-built in-memory ledgers like
//! `compliance.rs`: dataset versions with source trees, signed opt-outs naming sites, range
//! proofs in the bundle. Each attack a dishonest server (or model publisher) could make with the
//! bundle has a test named after it.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use ed25519_dalek::SigningKey;
use ledger::compliance::{
    verify_bundle_report, BundleReport, BundleSourceProof, ComplianceBundle, ComplianceError,
    Conclusion, Control, Policy, SiteControl, Verdict,
};
use ledger::entry::{
    CorpusMode, DatasetRef, DatasetVersion, Entry, EntryBody, ModelCheckpoint, Name, OptOut,
    Publisher, Scope, SetRef,
};
use ledger::note::{NoteSigner, VerifierKey};
use ledger::range::{
    range_proof, IndexedRangeLeaf, Range, RangeError, RangeLeaf, RangeProof, RangeTree,
};
use ledger::set::{SetLeaf, SortedSet};
use ledger::source::{source_key, Site};
use ledger::{ContentId, Digest, LeafIndex, TreeSize};

const ORIGIN: &str = "example.test/log";

fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

fn item(n: u64) -> ContentId {
    ContentId::of(format!("item {n}").as_bytes())
}

fn site(s: &str) -> Site {
    Site::parse_canonical(s).unwrap()
}

/// The source of item `n` of version `v`: five items from example.com, two from a subdomain,
/// two from a lookalike, the rest from other.org; item 19 has no source.
fn url(v: u64, n: u64) -> Option<String> {
    match n {
        0..=4 => Some(format!("https://example.com/v{v}/page/{n}")),
        5..=6 => Some(format!("https://www.example.com/x{n}")),
        7..=8 => Some(format!("https://notexample.com/{n}")),
        19 => None,
        _ => Some(format!("https://other.org/{v}/{n}")),
    }
}

/// A dataset version's manifest and source tree.
struct Version {
    manifest: SortedSet,
    sources: RangeTree,
}

fn version(v: u64) -> Version {
    let mut leaves: Vec<SetLeaf> = (0..20)
        .map(|n| SetLeaf {
            cid: item(n + 100 * v),
            size: 100 + n,
            meta: Digest::default(),
        })
        .collect();
    leaves.sort_by_key(|l| l.cid);
    let sources = RangeTree::from_unsorted(
        (0..20)
            .map(|n| {
                let key = url(v, n).map_or_else(Default::default, |u| source_key(&u));
                RangeLeaf::source(&key, &item(n + 100 * v))
            })
            .collect(),
    );
    Version {
        manifest: SortedSet::new(leaves).unwrap(),
        sources,
    }
}

/// What a scenario holds: versions (`true`: with a source tree) and site opt-outs (signed or
/// anonymous).
struct Scenario {
    versions: Vec<bool>,
    optouts: Vec<(Vec<&'static str>, bool)>,
}

struct Built {
    bundle: ComplianceBundle,
    key: VerifierKey,
    versions: Vec<Version>,
    requester: SigningKey,
}

fn label(v: usize) -> String {
    format!("acme/web@{v}")
}

fn build(s: &Scenario) -> Built {
    let publisher = SigningKey::from_bytes(&[1; 32]);
    let requester = SigningKey::from_bytes(&[2; 32]);
    let log_key = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[9; 32])).unwrap();
    let versions: Vec<Version> = (0..s.versions.len() as u64).map(version).collect();

    let mut entries = vec![Entry::sign(
        ORIGIN,
        EntryBody::Publisher(Publisher {
            name: name("acme"),
            key: publisher.verifying_key(),
        }),
        1,
        None,
        &publisher,
    )
    .unwrap()];
    let mut refs = Vec::new();
    for (i, (v, with_sources)) in versions.iter().zip(&s.versions).enumerate() {
        refs.push(DatasetRef {
            publisher: name("acme"),
            dataset: name("web"),
            version: name(&i.to_string()),
            index: LeafIndex(entries.len() as u64),
            manifest_root: v.manifest.root(),
        });
        entries.push(
            Entry::sign(
                ORIGIN,
                EntryBody::DatasetVersion(DatasetVersion {
                    publisher: name("acme"),
                    dataset: name("web"),
                    version: name(&i.to_string()),
                    manifest_root: v.manifest.root(),
                    item_count: v.manifest.size().0,
                    total_bytes: 2090,
                    corpus_mode: CorpusMode::File,
                    licence: "CC0-1.0".into(),
                    previous: None,
                    sources: with_sources.then(|| SetRef {
                        root: v.sources.root(),
                        size: v.sources.size().0,
                    }),
                    passages: None,
                }),
                2,
                None,
                &publisher,
            )
            .unwrap(),
        );
    }
    let first_optout = entries.len();
    for (sites, signed) in &s.optouts {
        let o = OptOut {
            ids: None,
            sites: sites.iter().map(|s| site(s)).collect(),
            scope: vec![Scope::TrainAi],
            passages: None,
        };
        entries.push(if *signed {
            Entry::sign(ORIGIN, EntryBody::OptOut(o), 3, None, &requester).unwrap()
        } else {
            Entry::anonymous(ORIGIN, o, 3, None).unwrap()
        });
    }
    let horizon = entries.len() as u64;
    entries.push(
        Entry::sign(
            ORIGIN,
            EntryBody::ModelCheckpoint(ModelCheckpoint {
                publisher: name("acme"),
                model: name("m"),
                checkpoint: name("c1"),
                weights_root: Digest([4; 32]),
                weights_count: 1,
                datasets: refs,
                optout_horizon: horizon,
            }),
            6,
            None,
            &publisher,
        )
        .unwrap(),
    );

    let (note, all) = common::logged_entries(&entries, &log_key);
    let logged = |i: usize| all[i].clone();
    // What an honest service sends: one proof per (version with sources, site of a signed
    // opt-out).
    let mut source_proofs: Vec<BundleSourceProof> = Vec::new();
    for (sites, signed) in &s.optouts {
        for st in sites.iter().filter(|_| *signed) {
            for (i, (v, with_sources)) in versions.iter().zip(&s.versions).enumerate() {
                let dataset = label(i);
                if !with_sources
                    || source_proofs
                        .iter()
                        .any(|p| p.dataset == dataset && p.site.as_str() == *st)
                {
                    continue;
                }
                source_proofs.push(BundleSourceProof {
                    dataset,
                    site: site(st),
                    proof: range_proof(&v.sources, &Range::site(&site(st)), 100).unwrap(),
                });
            }
        }
    }
    Built {
        bundle: ComplianceBundle {
            checkpoint: note.clone(),
            model_checkpoint: logged(entries.len() - 1),
            datasets: (1..first_optout).map(logged).collect(),
            optouts: (first_optout..horizon as usize).map(logged).collect(),
            optout_sets: vec![],
            set_proofs: vec![],
            multi_proofs: vec![],
            horizon_entry: Some(logged(horizon as usize - 1)),
            source_proofs,
            passage_optouts: Vec::new(),
            passage_proofs: Vec::new(),
        },
        key: log_key.verifier_key(),
        versions,
        requester,
    }
}

fn report(b: &Built) -> Result<BundleReport, ComplianceError> {
    verify_bundle_report(&b.bundle, &b.key)
}

fn offline(r: &BundleReport) -> Conclusion {
    r.conclude(
        Some(true),
        None,
        &Policy::default(),
        &SiteControl::offline(),
    )
}

fn with_control(r: &BundleReport, b: &Built, s: &str, c: Control) -> Conclusion {
    let mut sites = SiteControl::offline();
    sites.set(&site(s), &b.requester.verifying_key(), c);
    r.conclude(Some(true), None, &Policy::default(), &sites)
}

fn present() -> Scenario {
    Scenario {
        versions: vec![true],
        optouts: vec![(vec!["example.com"], true)],
    }
}

#[test]
fn a_site_with_items_is_a_site_violation_naming_the_items() {
    let b = build(&present());
    let r = report(&b).unwrap();
    let Verdict::Violated {
        violations,
        site_violations,
    } = &r.verdict
    else {
        panic!("expected a violation, got {:?}", r.verdict);
    };
    assert!(violations.is_empty());
    assert_eq!(site_violations.len(), 1);
    let v = &site_violations[0];
    assert_eq!(
        (v.site.as_str(), v.dataset.as_str()),
        ("example.com", "acme/web@0")
    );
    // Five from example.com and two from www.example.com; never notexample.com.
    assert_eq!(v.count, 7);
    let mut want: Vec<ContentId> = (0..7).map(item).collect();
    want.sort();
    assert_eq!(v.cids, want);
    assert_eq!(v.signer, b.requester.verifying_key());
    assert_eq!(r.site_optouts.len(), 1);
    assert!(r.sites_unproven.is_empty());
    // Whose control decides: unknown (offline) is reported, verified binds, not authorised is
    // ignored.
    assert_eq!(offline(&r), Conclusion::SiteUnverified);
    assert_eq!(
        with_control(&r, &b, "example.com", Control::Verified),
        Conclusion::Violated
    );
    assert_eq!(
        with_control(&r, &b, "example.com", Control::NotAuthorised),
        Conclusion::Compliant
    );
    // The report's JSON carries the signer for the CLI to check.
    let json = serde_json::to_value(&r.verdict).unwrap();
    assert_eq!(json["verdict"], "violated");
    assert_eq!(json["site_violations"][0]["count"], 7);
    assert!(json["site_violations"][0]["signer"].is_string());
}

#[test]
fn an_absent_site_is_proven_absent_by_a_range_exclusion() {
    let b = build(&Scenario {
        versions: vec![true, true],
        optouts: vec![(vec!["absent.org", "https://other.org/nothing-here/"], true)],
    });
    let r = report(&b).unwrap();
    assert_eq!(r.verdict, Verdict::Compliant);
    assert_eq!(offline(&r), Conclusion::Compliant);
    assert_eq!(b.bundle.source_proofs.len(), 4);
}

#[test]
fn a_bundle_that_omits_the_source_proof_for_a_site_is_refused() {
    let mut b = build(&present());
    b.bundle.source_proofs.clear();
    assert!(matches!(
        report(&b),
        Err(ComplianceError::MissingSourceProof { site, .. }) if site == "example.com"
    ));
}

#[test]
fn a_proof_against_another_datasets_source_root_is_refused() {
    let mut b = build(&Scenario {
        versions: vec![true, true],
        optouts: vec![(vec!["example.com"], true)],
    });
    // Both versions have items from the site: present each version's proof as the other's.
    let (p0, p1) = (
        b.bundle.source_proofs[0].proof.clone(),
        b.bundle.source_proofs[1].proof.clone(),
    );
    b.bundle.source_proofs[0].proof = p1;
    b.bundle.source_proofs[1].proof = p0;
    assert!(matches!(
        report(&b),
        Err(ComplianceError::SourceProof { source, .. }) if *source == RangeError::RootMismatch
    ));
    // A proof over a tree without the site's items at all, presented as this version's.
    let mut b = build(&present());
    let clean = RangeTree::from_unsorted(vec![RangeLeaf::source(
        &source_key("https://other.org/"),
        &item(0),
    )]);
    b.bundle.source_proofs[0].proof =
        range_proof(&clean, &Range::site(&site("example.com")), 100).unwrap();
    assert!(matches!(
        report(&b),
        Err(ComplianceError::SourceProof { .. })
    ));
}

#[test]
fn a_truncated_proof_that_hides_the_count_is_refused() {
    let mut b = build(&present());
    let tree = &b.versions[0].sources;
    let r = Range::site(&site("example.com"));
    // An honest truncated proof still proves all seven.
    b.bundle.source_proofs[0].proof = range_proof(tree, &r, 2).unwrap();
    let rep = report(&b).unwrap();
    let Verdict::Violated {
        site_violations, ..
    } = &rep.verdict
    else {
        panic!("expected a violation");
    };
    assert_eq!(
        (site_violations[0].count, site_violations[0].cids.len()),
        (7, 2)
    );
    // A proof that shows only the two brackets (recomputing every hash from the real tree), as
    // if the site had nothing: refused, never a count of 0.
    let honest = range_proof(tree, &r, 100).unwrap();
    let first = honest.leaves.first().unwrap().index.0;
    let last = honest.leaves.last().unwrap().index.0;
    b.bundle.source_proofs[0].proof = reveal(tree, &[first, last]);
    assert!(matches!(
        report(&b),
        Err(ComplianceError::SourceProof { source, .. }) if *source == RangeError::ExclusionUnproven
    ));
    // Dropping the last member but keeping the bracket above it: the right edge is unproven.
    b.bundle.source_proofs[0].proof = reveal(tree, &[first, first + 1, last]);
    assert!(matches!(
        report(&b),
        Err(ComplianceError::SourceProof { source, .. }) if *source == RangeError::RightEdgeUnproven
    ));
}

/// A proof revealing exactly the leaves at `indices` (sorted) of `tree`, with the hashes that
/// rebuild its real root: the strongest form of a hiding attack.
fn reveal(tree: &RangeTree, indices: &[u64]) -> RangeProof {
    let n = tree.size().0;
    RangeProof {
        size: TreeSize(n),
        leaves: indices
            .iter()
            .map(|&i| IndexedRangeLeaf {
                index: LeafIndex(i),
                leaf: tree.leaves()[i as usize].clone(),
            })
            .collect(),
        hashes: helper_hashes(tree, indices, n),
    }
}

/// rs_merkle's helper order (by level from the leaves, then by index), from the tree's nodes.
fn helper_hashes(tree: &RangeTree, indices: &[u64], n: u64) -> Vec<Digest> {
    use ledger::range::RangeSource;
    let mut out = Vec::new();
    let mut cur = indices.to_vec();
    let (mut width, mut level) = (n, 0u32);
    while width > 1 && !cur.is_empty() {
        let mut i = 0;
        while i < cur.len() {
            let x = cur[i];
            if x & 1 == 0 && cur.get(i + 1) == Some(&(x + 1)) {
                i += 2;
                continue;
            }
            if (x ^ 1) < width {
                out.push(tree.node(level, x ^ 1).unwrap());
            }
            i += 1;
        }
        cur.iter_mut().for_each(|x| *x >>= 1);
        cur.dedup();
        width = width.div_ceil(2);
        level += 1;
    }
    out
}

#[test]
fn a_flipped_bit_in_a_source_proof_is_refused() {
    let b = build(&present());
    let good = b.bundle.source_proofs[0].proof.clone();
    for i in 0..good.hashes.len() {
        let mut bad = build(&present());
        bad.bundle.source_proofs[0].proof.hashes[i].0[7] ^= 4;
        assert!(report(&bad).is_err(), "hash {i}");
    }
    for i in 0..good.leaves.len() {
        let mut bad = build(&present());
        let mut bytes = good.leaves[i].leaf.as_bytes().to_vec();
        let at = bytes.len() - 1;
        bytes[at] ^= 1;
        bad.bundle.source_proofs[0].proof.leaves[i].leaf = RangeLeaf::new(bytes).unwrap();
        assert!(report(&bad).is_err(), "leaf {i}");
    }
}

#[test]
fn an_unproven_version_is_reported_never_compliant() {
    let b = build(&Scenario {
        versions: vec![false, true],
        optouts: vec![(vec!["absent.org"], true)],
    });
    let r = report(&b).unwrap();
    assert_eq!(r.verdict, Verdict::Compliant);
    assert_eq!(r.sites_unproven.len(), 1);
    assert_eq!(r.sites_unproven[0].dataset, "acme/web@0");
    assert_eq!(r.sites_unproven[0].site.as_str(), "absent.org");
    assert_eq!(offline(&r), Conclusion::SitesUnproven);
    // An opt-out the site does not authorise leaves nothing to prove.
    assert_eq!(
        with_control(&r, &b, "absent.org", Control::NotAuthorised),
        Conclusion::Compliant
    );
    // A proof for the version without a source tree is one nobody asked for.
    let mut b2 = build(&Scenario {
        versions: vec![false, true],
        optouts: vec![(vec!["absent.org"], true)],
    });
    let mut extra = b2.bundle.source_proofs[0].clone();
    extra.dataset = label(0);
    b2.bundle.source_proofs.push(extra);
    assert!(matches!(
        report(&b2),
        Err(ComplianceError::UnusedSourceProof { .. })
    ));
}

#[test]
fn a_repeated_or_unasked_source_proof_is_refused() {
    let mut b = build(&present());
    let again = b.bundle.source_proofs[0].clone();
    b.bundle.source_proofs.push(again);
    assert!(matches!(
        report(&b),
        Err(ComplianceError::DuplicateSourceProof { .. })
    ));
    let mut b = build(&present());
    let mut other = b.bundle.source_proofs[0].clone();
    other.site = site("other.org");
    b.bundle.source_proofs.push(other);
    assert!(matches!(
        report(&b),
        Err(ComplianceError::UnusedSourceProof { .. })
    ));
    let mut b = build(&present());
    b.bundle.source_proofs[0].dataset = "acme/other@1".into();
    assert!(matches!(
        report(&b),
        Err(ComplianceError::UnnamedDataset { .. })
    ));
}

/// An anonymous opt-out naming a site can only be in a log that skipped the sequencer's rule;
/// nobody could ever show control of it, so it binds nothing and needs no proof.
#[test]
fn an_anonymous_site_optout_binds_nothing() {
    let b = build(&Scenario {
        versions: vec![true],
        optouts: vec![(vec!["example.com"], false)],
    });
    assert!(b.bundle.source_proofs.is_empty());
    let r = report(&b).unwrap();
    assert_eq!(r.verdict, Verdict::Compliant);
    assert!(r.site_optouts.is_empty());
    assert_eq!(offline(&r), Conclusion::Compliant);
}

#[test]
fn the_conclusions_are_ordered() {
    // A site violation whose control is unknown does not outrank an incomplete bundle.
    let b = build(&present());
    let r = report(&b).unwrap();
    let c = |complete| r.conclude(complete, None, &Policy::default(), &SiteControl::offline());
    assert_eq!(c(Some(false)), Conclusion::Incomplete);
    assert_eq!(c(None), Conclusion::SiteUnverified);
    // Unproven outranks vacuous and lag, and is below unverified violations.
    let b = build(&Scenario {
        versions: vec![false, true],
        optouts: vec![(vec!["example.com"], true)],
    });
    let r = report(&b).unwrap();
    assert_eq!(r.sites_unproven.len(), 1);
    let strict = Policy {
        max_lag_seconds: Some(0),
        allow_vacuous: false,
    };
    assert_eq!(
        r.conclude(None, None, &strict, &SiteControl::offline()),
        Conclusion::SiteUnverified
    );
    let mut ctl = SiteControl::offline();
    ctl.set(
        &site("example.com"),
        &b.requester.verifying_key(),
        Control::NotAuthorised,
    );
    assert_eq!(
        r.conclude(None, None, &strict, &ctl),
        Conclusion::LagExceeded
    );
}

#[test]
fn bundles_with_source_proofs_round_trip_and_old_ones_still_read() {
    let b = build(&present());
    let json = serde_json::to_string(&b.bundle).unwrap();
    assert!(
        json.contains("\"source_proofs\":[{\"dataset\":\"acme/web@0\",\"site\":\"example.com\"")
    );
    let back: ComplianceBundle = serde_json::from_str(&json).unwrap();
    assert_eq!(back, b.bundle);
    let mut old = b.bundle.clone();
    old.source_proofs.clear();
    let json = serde_json::to_string(&old).unwrap();
    assert!(!json.contains("source_proofs"));
    let back: ComplianceBundle = serde_json::from_str(&json).unwrap();
    assert_eq!(back.source_proofs, vec![]);
    // A non-canonical site in a bundle is refused (one meaning, one encoding).
    let bad = serde_json::to_string(&b.bundle)
        .unwrap()
        .replace("\"site\":\"example.com\"", "\"site\":\"Example.com\"");
    assert!(serde_json::from_str::<ComplianceBundle>(&bad).is_err());
}
