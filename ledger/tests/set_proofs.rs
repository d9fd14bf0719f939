//! Set proofs: the four exclusion cases, soundness (exactly one of inclusion / exclusion
//! verifies), tamper detection on the JSON bytes, and agreement with `rs_merkle`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use ledger::merkle;
use ledger::set::{
    self, verify_exclusion, verify_inclusion, verify_multi, Blake3Node, ExclusionCase, Membership,
    SetError, SetExclusionProof, SetLeaf, SetLeafProof, SetMembershipProof, SetMultiProof,
    SortedSet,
};
use ledger::{Blake3Set, ContentId, Digest, LeafIndex, TreeSize};
use proptest::prelude::*;

fn set_of(seeds: &[u64]) -> SortedSet {
    let mut leaves: Vec<SetLeaf> = seeds
        .iter()
        .map(|s| SetLeaf {
            cid: ContentId::of(&s.to_be_bytes()),
            size: *s,
            meta: Digest(*blake3::hash(&s.to_le_bytes()).as_bytes()),
        })
        .collect();
    leaves.sort_by_key(|l| l.cid);
    leaves.dedup_by_key(|l| l.cid);
    SortedSet::new(leaves).unwrap()
}

fn id(seed: u64) -> ContentId {
    ContentId::of(&seed.to_be_bytes())
}

#[test]
fn exclusion_covers_all_four_cases() {
    let empty = SortedSet::new(vec![]).unwrap();
    let p = empty.exclusion_proof(&id(1)).unwrap();
    assert_eq!(p.case(), ExclusionCase::Empty);
    verify_exclusion(&p, &id(1), &empty.root(), TreeSize(0)).unwrap();
    // An "empty" proof against a non-empty root must fail.
    let s = set_of(&(0..10).collect::<Vec<_>>());
    assert!(verify_exclusion(&p, &id(1), &s.root(), TreeSize(0)).is_err());

    let min = s.leaves()[0].cid;
    let max = s.leaves()[9].cid;
    let mut seen = std::collections::HashSet::new();
    for seed in 100..400u64 {
        let x = id(seed);
        let p = s.exclusion_proof(&x).unwrap();
        verify_exclusion(&p, &x, &s.root(), s.size()).unwrap();
        let want = if x < min {
            ExclusionCase::BeforeFirst
        } else if x > max {
            ExclusionCase::AfterLast
        } else {
            ExclusionCase::Between
        };
        assert_eq!(p.case(), want);
        seen.insert(format!("{:?}", p.case()));
    }
    assert_eq!(
        seen.len(),
        3,
        "random ids should hit before, between and after"
    );
}

#[test]
fn every_member_and_gap_verifies_for_small_sizes() {
    for n in 0..40u64 {
        let s = set_of(&(0..n).collect::<Vec<_>>());
        for l in s.leaves() {
            let p = s.inclusion_proof(&l.cid).unwrap();
            verify_inclusion(&p, &l.cid, &s.root(), s.size()).unwrap();
            assert!(matches!(
                s.exclusion_proof(&l.cid),
                Err(SetError::Member { .. })
            ));
        }
        for seed in 1000..1010 {
            let p = s.exclusion_proof(&id(seed)).unwrap();
            verify_exclusion(&p, &id(seed), &s.root(), s.size()).unwrap();
            assert!(matches!(
                s.inclusion_proof(&id(seed)),
                Err(SetError::NotMember { .. })
            ));
        }
    }
}

#[test]
fn non_adjacent_neighbours_and_wrong_sizes_are_refused() {
    let s = set_of(&(0..20).collect::<Vec<_>>());
    let lp = |i: u64| {
        let p = set::inclusion_proof_at(&s, LeafIndex(i)).unwrap();
        SetLeafProof {
            index: p.index,
            leaf: p.leaf,
            path: p.path,
        }
    };
    // Hide member leaf 5 by claiming 4 and 6 are neighbours.
    let member = s.leaves()[5].cid;
    let forged = SetExclusionProof {
        id: member,
        size: s.size(),
        left: Some(lp(4)),
        right: Some(lp(6)),
    };
    assert_eq!(
        verify_exclusion(&forged, &member, &s.root(), s.size()),
        Err(SetError::NotAdjacent)
    );
    // Claim "before the first" with leaf 1.
    let below = SetExclusionProof {
        id: member,
        size: s.size(),
        left: None,
        right: Some(lp(6)),
    };
    assert_eq!(
        verify_exclusion(&below, &member, &s.root(), s.size()),
        Err(SetError::NotAdjacent)
    );
    // A right proof whose size claim differs from the trusted one.
    let x = id(777);
    let p = s.exclusion_proof(&x).unwrap();
    assert!(matches!(
        verify_exclusion(&p, &x, &s.root(), TreeSize(21)),
        Err(SetError::SizeMismatch { .. })
    ));
    assert!(matches!(
        verify_exclusion(&p, &id(778), &s.root(), s.size()),
        Err(SetError::WrongId { .. })
    ));
}

#[test]
fn rs_merkle_roots_match_rfc6962_for_sizes_0_to_300() {
    for n in 0..=300u64 {
        let s = set_of(&(0..n).collect::<Vec<_>>());
        let hashes: Vec<[u8; 32]> = s.leaf_hashes().iter().map(|d| d.0).collect();
        let rs = rs_merkle::MerkleTree::<Blake3Node>::from_leaves(&hashes)
            .root()
            .map(Digest)
            .unwrap_or(<Blake3Set as ledger::TreeHasher>::empty_root());
        assert_eq!(rs, merkle::root::<Blake3Set>(s.leaf_hashes()), "n={n}");
        assert_eq!(rs, s.root(), "n={n}");
    }
    assert_eq!(
        set_of(&[]).root().to_hex(),
        blake3::hash(b"").to_hex().to_string()
    );
}

#[test]
fn multi_proof_hashes_equal_rs_merkle_proofs() {
    for n in [1u64, 2, 3, 5, 8, 13, 64, 100, 257] {
        let s = set_of(&(0..n).collect::<Vec<_>>());
        let hashes: Vec<[u8; 32]> = s.leaf_hashes().iter().map(|d| d.0).collect();
        let tree = rs_merkle::MerkleTree::<Blake3Node>::from_leaves(&hashes);
        for pick in [
            vec![0usize],
            vec![n as usize - 1],
            (0..n as usize).step_by(3).collect(),
        ] {
            let ids: Vec<ContentId> = pick.iter().map(|&i| s.leaves()[i].cid).collect();
            let mp = s.multi_proof(&ids).unwrap();
            let want: Vec<Digest> = tree
                .proof(&pick)
                .proof_hashes()
                .iter()
                .map(|h| Digest(*h))
                .collect();
            assert_eq!(mp.hashes, want, "n={n} pick={pick:?}");
            let got = verify_multi(&mp, &ids, &s.root(), s.size()).unwrap();
            assert!(got.iter().all(|m| *m == Membership::Included));
        }
    }
}

#[test]
fn multi_proof_refuses_extra_hashes_and_undecided_ids() {
    let s = set_of(&(0..50).collect::<Vec<_>>());
    let ids = [id(3), id(1000), id(1001)];
    let mp = s.multi_proof(&ids).unwrap();
    let got = verify_multi(&mp, &ids, &s.root(), s.size()).unwrap();
    assert_eq!(
        got,
        vec![
            Membership::Included,
            Membership::Excluded,
            Membership::Excluded
        ]
    );
    let mut extra = mp.clone();
    extra.hashes.push(Digest::default());
    assert!(matches!(
        verify_multi(&extra, &ids, &s.root(), s.size()),
        Err(SetError::MalformedMulti(_))
    ));
    assert!(matches!(
        verify_multi(&mp, &[id(2000)], &s.root(), s.size()),
        Err(SetError::Undecided { .. })
    ));
}

fn flip_fails(json: &[u8], bit: usize, check: impl Fn(&[u8]) -> bool) -> bool {
    let mut b = json.to_vec();
    let bit = bit % (b.len() * 8);
    b[bit / 8] ^= 1 << (bit % 8);
    !check(&b)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn exactly_one_of_inclusion_and_exclusion_verifies(
        seeds in proptest::collection::vec(0u64..500, 0..60),
        probes in proptest::collection::vec(0u64..500, 1..10),
    ) {
        let s = set_of(&seeds);
        let (root, size) = (s.root(), s.size());
        for p in probes {
            let x = id(p);
            let proof = s.membership_proof(&x).unwrap();
            let m = proof.verify(&x, &root, size).unwrap();
            prop_assert_eq!(m == Membership::Included, s.contains(&x));
            // The other kind never verifies: any leaf's inclusion proof for a non-member, any
            // adjacent pair (or end) as neighbours of a member.
            if s.contains(&x) {
                let n = size.0;
                for i in 0..=n {
                    let lp = |j: u64| set::inclusion_proof_at(&s, LeafIndex(j)).ok().map(|p| SetLeafProof { index: p.index, leaf: p.leaf, path: p.path });
                    let ex = SetExclusionProof { id: x, size, left: i.checked_sub(1).and_then(lp), right: if i < n { lp(i) } else { None } };
                    prop_assert!(verify_exclusion(&ex, &x, &root, size).is_err());
                }
            } else {
                for i in 0..size.0 {
                    let inc = set::inclusion_proof_at(&s, LeafIndex(i)).unwrap();
                    prop_assert!(verify_inclusion(&inc, &x, &root, size).is_err());
                }
            }
        }
    }

    #[test]
    fn any_flipped_bit_in_a_membership_proof_fails(
        seeds in proptest::collection::vec(0u64..300, 0..40),
        probe in 0u64..300,
        bit in any::<usize>(),
    ) {
        let s = set_of(&seeds);
        let x = id(probe);
        let json = serde_json::to_vec(&s.membership_proof(&x).unwrap()).unwrap();
        let ok = |b: &[u8]| serde_json::from_slice::<SetMembershipProof>(b)
            .map(|p| p.verify(&x, &s.root(), s.size()).is_ok())
            .unwrap_or(false);
        prop_assert!(ok(&json));
        prop_assert!(flip_fails(&json, bit, ok));
    }

    #[test]
    fn any_flipped_bit_in_a_multi_proof_fails(
        seeds in proptest::collection::vec(0u64..300, 1..40),
        probes in proptest::collection::vec(0u64..300, 1..6),
        bit in any::<usize>(),
    ) {
        let s = set_of(&seeds);
        let ids: Vec<ContentId> = probes.iter().map(|p| id(*p)).collect();
        let want: Vec<Membership> = ids.iter().map(|x| if s.contains(x) { Membership::Included } else { Membership::Excluded }).collect();
        let json = serde_json::to_vec(&s.multi_proof(&ids).unwrap()).unwrap();
        let ok = |b: &[u8]| serde_json::from_slice::<SetMultiProof>(b)
            .map(|p| verify_multi(&p, &ids, &s.root(), s.size()).map(|m| m == want).unwrap_or(false))
            .unwrap_or(false);
        prop_assert!(ok(&json));
        prop_assert!(flip_fails(&json, bit, ok));
    }
}

/// A source that keeps only leaves and computes every node from leaf hashes on demand, as a
/// store without stored levels would: proofs must equal the in-memory set's.
struct LeavesOnly(Vec<SetLeaf>);

impl set::SetSource for LeavesOnly {
    fn size(&self) -> TreeSize {
        TreeSize(self.0.len() as u64)
    }
    fn leaf(&self, index: LeafIndex) -> Result<SetLeaf, SetError> {
        self.0
            .get(index.0 as usize)
            .copied()
            .ok_or(SetError::Source("out of range".into()))
    }
    fn node(&self, level: u32, index: u64) -> Result<Digest, SetError> {
        let lo = (index << level) as usize;
        let hi = (((index + 1) << level) as usize).min(self.0.len());
        let hashes: Vec<Digest> = self.0[lo..hi].iter().map(SetLeaf::leaf_hash).collect();
        Ok(merkle::root::<Blake3Set>(&hashes))
    }
}

#[test]
fn proofs_from_a_generic_source_equal_in_memory_proofs() {
    for n in [0u64, 1, 2, 7, 33, 100] {
        let s = set_of(&(0..n).collect::<Vec<_>>());
        let src = LeavesOnly(s.leaves().to_vec());
        for seed in 0..(n + 5) {
            let x = id(seed * 7 % (n + 3));
            assert_eq!(
                set::membership_proof(&src, &x).unwrap(),
                s.membership_proof(&x).unwrap()
            );
        }
        let ids: Vec<ContentId> = (0..5).map(id).collect();
        assert_eq!(
            set::multi_proof(&src, &ids).unwrap(),
            s.multi_proof(&ids).unwrap()
        );
    }
}
