#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use super::*;
use crate::merkle;
use crate::source::source_key;

fn cid(n: u64) -> ContentId {
    ContentId::of(&n.to_be_bytes())
}

fn sleaf(url: &str, n: u64) -> RangeLeaf {
    RangeLeaf::source(&source_key(url), &cid(n))
}

/// A source tree over a mix of hosts, lookalikes included.
fn web_tree() -> RangeTree {
    let urls = [
        "https://a.org/",
        "https://example.com/",
        "https://example.com/blog/1",
        "https://example.com/blog-post",
        "https://www.example.com/x",
        "https://shop.example.com:8443/y",
        "https://notexample.com/",
        "https://example.com.evil.net/",
        "https://example.co/",
        "https://zzz.net/",
        "http://1.2.3.4/",
        "not a url",
        "ftp://example.com/",
    ];
    RangeTree::from_unsorted(
        urls.iter()
            .enumerate()
            .map(|(i, u)| sleaf(u, i as u64))
            .collect(),
    )
}

fn site(s: &str) -> Range {
    Range::site(&Site::parse(s).unwrap())
}

fn prove_verify(tree: &RangeTree, range: &Range, reveal: u64) -> RangeMembers {
    let p = range_proof(tree, range, reveal).unwrap();
    verify_range(&tree.root(), tree.size(), range, &p).unwrap()
}

/// The brute-force answer: which indices of the tree are in the range.
fn truth(tree: &RangeTree, range: &Range) -> Vec<u64> {
    (0..tree.size().0)
        .filter(|&i| range.contains(tree.leaves()[i as usize].as_bytes()))
        .collect()
}

#[test]
fn roots_match_rfc6962_and_the_streaming_builder() {
    for n in 0..=70u64 {
        let leaves: Vec<RangeLeaf> = (0..n).map(|i| sleaf("https://e.com/", i)).collect();
        let tree = RangeTree::from_unsorted(leaves);
        let hashes: Vec<Digest> = tree.leaves().iter().map(RangeLeaf::leaf_hash).collect();
        assert_eq!(tree.root(), merkle::root::<Blake3Set>(&hashes), "n={n}");
        let mut b = RangeRootBuilder::new();
        tree.leaves().iter().for_each(|l| b.push(l).unwrap());
        assert_eq!((b.root(), b.size()), (tree.root(), tree.size()));
    }
    assert_eq!(
        RangeTree::new(vec![]).unwrap().root(),
        Blake3Set::empty_root()
    );
}

#[test]
fn unsorted_and_duplicate_leaves_are_refused() {
    let a = RangeLeaf::new(b"a".to_vec()).unwrap();
    let b = RangeLeaf::new(b"b".to_vec()).unwrap();
    assert!(matches!(
        RangeTree::new(vec![b.clone(), a.clone()]),
        Err(RangeError::NotSorted { index: 1 })
    ));
    assert!(matches!(
        RangeTree::new(vec![a.clone(), a.clone()]),
        Err(RangeError::Duplicate { index: 1 })
    ));
    let mut rb = RangeRootBuilder::new();
    rb.push(&b).unwrap();
    assert!(matches!(
        rb.push(&a),
        Err(RangeError::NotSorted { index: 1 })
    ));
    assert!(matches!(
        rb.push(&b),
        Err(RangeError::Duplicate { index: 1 })
    ));
}

#[test]
fn leaf_length_and_hex_rules() {
    assert!(matches!(
        RangeLeaf::new(vec![]),
        Err(RangeError::LeafLength { len: 0 })
    ));
    assert!(RangeLeaf::new(vec![1; 2048]).is_ok());
    assert!(RangeLeaf::new(vec![1; 2049]).is_err());
    assert!(RangeLeaf::from_hex("0A").is_err());
    assert!(RangeLeaf::from_hex("0").is_err());
    assert_eq!(RangeLeaf::from_hex("0a").unwrap().as_bytes(), &[10]);
}

#[test]
fn source_leaves_split_back_and_sort_by_key_then_cid() {
    let l = sleaf("https://www.example.com/a", 3);
    let (k, c) = l.split_source().unwrap();
    assert_eq!((k, c), ("com.example.www./a", cid(3)));
    let none = sleaf("ftp://x/", 1);
    assert_eq!(none.split_source().unwrap().0, "");
    assert_eq!(none.as_bytes()[0], 0);
    assert!(RangeLeaf::new(b"short".to_vec())
        .unwrap()
        .split_source()
        .is_none());
    // 0x00 below every key byte: "com.e./a" + cid sorts before "com.e./a/b" + cid.
    let a = sleaf("https://e.com/a", 9);
    let ab = sleaf("https://e.com/a/b", 0);
    assert!(a < ab);
    assert!(none < a);
}

#[test]
fn prefix_ranges_and_succ() {
    assert_eq!(Range::prefix(b"ab").hi(), Some(&b"ac"[..]));
    assert_eq!(Range::prefix(&[1, 0xFF]).hi(), Some(&[2][..]));
    assert_eq!(Range::prefix(&[0xFF, 0xFF]).hi(), None);
    assert_eq!(Range::prefix(b"").hi(), None);
    assert!(Range::new(b"b".to_vec(), Some(b"a".to_vec())).is_err());
    assert!(Range::new(b"a".to_vec(), Some(b"a".to_vec())).is_err());
    let r = site("example.com");
    assert_eq!(r.lo(), b"com.example.");
    assert_eq!(r.hi(), Some(&b"com.example/"[..]));
}

#[test]
fn in_range_proofs_for_every_site_match_brute_force() {
    let tree = web_tree();
    for s in [
        "example.com",
        "www.example.com",
        "https://example.com/blog",
        "https://example.com/blog/",
        "notexample.com",
        "a.org",
        "zzz.net",
        "example.co",
        "absent.example",
        "aaa.aaa",
        "zzzz.zzzz",
    ] {
        let r = site(s);
        let want = truth(&tree, &r);
        for reveal in [0, 1, 2, 3, 100] {
            let m = prove_verify(&tree, &r, reveal);
            assert_eq!(m.count, want.len() as u64, "{s} reveal {reveal}");
            if let Some(&first) = want.first() {
                assert_eq!(m.start, first, "{s}");
            }
            for (i, l) in &m.revealed {
                assert!(want.contains(&i.0) && r.contains(l.as_bytes()));
            }
            if want.len() as u64 <= reveal {
                assert!(m.complete(), "{s}");
            }
        }
    }
}

#[test]
fn a_domain_range_never_includes_lookalike_domains() {
    let tree = web_tree();
    let m = prove_verify(&tree, &site("example.com"), 100);
    let keys: Vec<&str> = m
        .revealed
        .iter()
        .map(|(_, l)| l.split_source().unwrap().0)
        .collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    for k in &keys {
        assert!(k.starts_with("com.example."), "{k}");
    }
    assert!(!keys
        .iter()
        .any(|k| k.contains("notexample") || k.contains("evil")));
    let m = prove_verify(&tree, &site("notexample.com"), 100);
    assert_eq!(m.count, 1);
}

#[test]
fn exclusion_in_all_four_cases() {
    // Empty tree.
    let empty = RangeTree::new(vec![]).unwrap();
    let m = prove_verify(&empty, &site("example.com"), 10);
    assert_eq!((m.start, m.count), (0, 0));
    let tree = web_tree();
    let n = tree.size().0;
    // Before the first leaf: the no-source leaf comes first, so use a tree without one.
    let t2 = RangeTree::from_unsorted(vec![sleaf("https://m.org/", 1), sleaf("https://n.org/", 2)]);
    let m = prove_verify(&t2, &site("a.com"), 10);
    assert_eq!((m.start, m.count), (0, 0));
    // After the last leaf.
    let m = prove_verify(&tree, &site("zzzz.zzzz"), 10);
    assert_eq!((m.start, m.count), (n, 0));
    // Between two leaves.
    let m = prove_verify(&tree, &site("absent.example"), 10);
    assert_eq!(m.count, 0);
    assert!(m.start > 0 && m.start < n);
    let p = range_proof(&tree, &site("absent.example"), 10).unwrap();
    assert_eq!(p.leaves.len(), 2);
    assert_eq!(p.leaves[0].index.0 + 1, p.leaves[1].index.0);
}

#[test]
fn a_truncated_reveal_still_proves_the_count() {
    let leaves: Vec<RangeLeaf> = (0..50)
        .map(|i| sleaf(&format!("https://e.com/{i}"), i))
        .chain((0..5).map(|i| sleaf("https://a.com/", 100 + i)))
        .chain((0..5).map(|i| sleaf("https://z.org/", 200 + i)))
        .collect();
    let tree = RangeTree::from_unsorted(leaves);
    let p = range_proof(&tree, &site("e.com"), 6).unwrap();
    assert_eq!(p.leaves.len(), 2 + 6);
    let m = verify_range(&tree.root(), tree.size(), &site("e.com"), &p).unwrap();
    assert_eq!((m.count, m.revealed.len()), (50, 6));
    assert!(!m.complete());
    let m = prove_verify(&tree, &site("e.com"), 0);
    assert_eq!((m.count, m.revealed.len()), (50, 2));
}

#[test]
fn the_no_source_items_are_one_exact_key_range() {
    let tree = web_tree();
    let m = prove_verify(&tree, &Range::exact_key(&SourceKey::none()), 10);
    assert_eq!(m.count, 2); // "not a url", "ftp://..."
    assert_eq!(m.start, 0);
    let k = source_key("https://example.com/");
    let m = prove_verify(&tree, &Range::exact_key(&k), 10);
    assert_eq!(m.count, 1);
}

#[test]
fn proofs_round_trip_through_json() {
    let tree = web_tree();
    let p = range_proof(&tree, &site("example.com"), 3).unwrap();
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.starts_with("{\"tree_size\":"), "{json}");
    let back: RangeProof = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
    assert!(serde_json::from_str::<RangeProof>(&json.replace("\"hashes\"", "\"x\"")).is_err());
}

// ---- Attacks: each a proof a dishonest server could send. ----

fn good(tree: &RangeTree, s: &str) -> (Range, RangeProof) {
    let r = site(s);
    let p = range_proof(tree, &r, 100).unwrap();
    (r, p)
}

fn check(tree: &RangeTree, r: &Range, p: &RangeProof) -> Result<RangeMembers, RangeError> {
    verify_range(&tree.root(), tree.size(), r, p)
}

/// Rebuilds the helper hashes for the given revealed indices from the honest tree, so the
/// attack is only in which leaves are shown (the strongest form of it).
fn honest_hashes(tree: &RangeTree, idx: &[u64]) -> RangeProof {
    RangeProof {
        size: tree.size(),
        leaves: idx
            .iter()
            .map(|&i| IndexedRangeLeaf {
                index: LeafIndex(i),
                leaf: tree.leaves()[i as usize].clone(),
            })
            .collect(),
        hashes: helper_positions_for(tree, idx),
    }
}

fn helper_positions_for(tree: &RangeTree, idx: &[u64]) -> Vec<Digest> {
    crate::set::multi::helper_positions(idx, tree.size().0)
        .into_iter()
        .map(|(l, i)| tree.node(l, i).unwrap())
        .collect()
}

#[test]
fn hiding_an_in_range_leaf_by_skipping_an_index_is_refused() {
    let tree = web_tree();
    let r = site("example.com");
    let want = truth(&tree, &r);
    let (s, e) = (want[0], *want.last().unwrap());
    // Skip the first member: show s-1 and s+1 (s+1 still in range).
    let p = honest_hashes(&tree, &[s - 1, s + 1, e, e + 1]);
    assert!(matches!(
        check(&tree, &r, &p),
        Err(RangeError::LeftEdgeUnproven)
    ));
    // Skip the last member.
    let p = honest_hashes(&tree, &[s - 1, s, e - 1, e + 1]);
    assert!(matches!(
        check(&tree, &r, &p),
        Err(RangeError::RightEdgeUnproven)
    ));
    // Claim the range empty by showing the two leaves around all of it.
    let p = honest_hashes(&tree, &[s - 1, e + 1]);
    assert!(matches!(
        check(&tree, &r, &p),
        Err(RangeError::ExclusionUnproven)
    ));
    // ... or just one leaf below it.
    let p = honest_hashes(&tree, &[s - 1]);
    assert!(matches!(
        check(&tree, &r, &p),
        Err(RangeError::ExclusionUnproven)
    ));
}

#[test]
fn a_wrong_tree_size_is_refused() {
    let tree = web_tree();
    let (r, mut p) = good(&tree, "example.com");
    assert!(matches!(
        verify_range(&tree.root(), TreeSize(tree.size().0 + 1), &r, &p),
        Err(RangeError::SizeMismatch { .. })
    ));
    // The proof claiming a smaller tree (so that its last leaf looks like the end) is refused.
    p.size = TreeSize(p.leaves.last().unwrap().index.0 + 1);
    assert!(matches!(
        check(&tree, &r, &p),
        Err(RangeError::SizeMismatch { .. })
    ));
}

#[test]
fn reordered_leaves_are_refused() {
    let tree = web_tree();
    let (r, p) = good(&tree, "example.com");
    let mut q = p.clone();
    q.leaves.swap(1, 2);
    assert!(matches!(
        check(&tree, &r, &q),
        Err(RangeError::IndicesNotIncreasing)
    ));
    // Same indices, leaves swapped: not increasing by bytes.
    let mut q = p.clone();
    let (a, b) = (q.leaves[1].leaf.clone(), q.leaves[2].leaf.clone());
    q.leaves[1].leaf = b;
    q.leaves[2].leaf = a;
    assert!(matches!(
        check(&tree, &r, &q),
        Err(RangeError::LeavesNotIncreasing)
    ));
}

#[test]
fn a_flipped_bit_in_a_leaf_or_a_hash_is_refused() {
    let tree = web_tree();
    let (r, p) = good(&tree, "example.com");
    assert!(check(&tree, &r, &p).is_ok());
    for i in 0..p.leaves.len() {
        let mut q = p.clone();
        let mut bytes = q.leaves[i].leaf.as_bytes().to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        q.leaves[i].leaf = RangeLeaf::new(bytes).unwrap();
        assert!(check(&tree, &r, &q).is_err(), "leaf {i}");
    }
    for i in 0..p.hashes.len() {
        let mut q = p.clone();
        q.hashes[i].0[0] ^= 0x80;
        assert!(
            matches!(check(&tree, &r, &q), Err(RangeError::RootMismatch)),
            "hash {i}"
        );
    }
    let mut q = p.clone();
    q.hashes.pop();
    assert!(matches!(
        check(&tree, &r, &q),
        Err(RangeError::Malformed(_))
    ));
    let mut q = p;
    q.hashes.push(Digest::default());
    assert!(matches!(
        check(&tree, &r, &q),
        Err(RangeError::Malformed(_))
    ));
}

#[test]
fn a_bracket_leaf_that_is_itself_in_range_counts_as_a_member() {
    // A proof made for www.example.com (its brackets are example.com leaves) verified for
    // example.com: the "brackets" are members, and the edges are then unproven, not hidden.
    let tree = web_tree();
    let p = range_proof(&tree, &site("www.example.com"), 100).unwrap();
    let r = site("example.com");
    match check(&tree, &r, &p) {
        Err(RangeError::LeftEdgeUnproven | RangeError::RightEdgeUnproven) => {}
        Ok(m) => assert_eq!(m.count, truth(&tree, &r).len() as u64),
        Err(e) => panic!("unexpected {e}"),
    }
    // An exclusion for an absent site verified for a present one never says zero.
    let p = range_proof(&tree, &site("example.co"), 100).unwrap();
    assert!(check(&tree, &r, &p).map_or(true, |m| m.count > 0));
}

#[test]
fn a_proof_for_another_tree_is_refused() {
    let tree = web_tree();
    let (r, p) = good(&tree, "example.com");
    let other = RangeTree::from_unsorted(vec![sleaf("https://example.com/", 99)]);
    assert!(verify_range(&other.root(), tree.size(), &r, &p).is_err());
}

#[test]
fn an_empty_proof_for_a_nonempty_tree_proves_nothing() {
    let tree = web_tree();
    let p = RangeProof {
        size: tree.size(),
        leaves: vec![],
        hashes: vec![],
    };
    assert!(check(&tree, &site("example.com"), &p).is_err());
    let p = RangeProof {
        size: tree.size(),
        leaves: vec![],
        hashes: vec![tree.root()],
    };
    assert!(check(&tree, &site("example.com"), &p).is_err());
}

/// Random trees and random ranges: what verifies is exactly the brute-force answer.
#[test]
fn random_trees_agree_with_brute_force() {
    let mut x = 0x9e3779b97f4a7c15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..200 {
        let n = rnd() % 40;
        let leaves: Vec<RangeLeaf> = (0..n)
            .map(|_| {
                RangeLeaf::new(vec![b'a' + (rnd() % 4) as u8, b'a' + (rnd() % 4) as u8]).unwrap()
            })
            .collect();
        let tree = RangeTree::from_unsorted(leaves);
        let p = [b'a' + (rnd() % 5) as u8];
        let r = if rnd() % 2 == 0 {
            Range::prefix(&p)
        } else {
            Range::prefix(&[p[0], b'a' + (rnd() % 5) as u8])
        };
        let want = truth(&tree, &r);
        let m = prove_verify(&tree, &r, rnd() % 4);
        assert_eq!(m.count, want.len() as u64);
    }
}

/// Passage leaves: `pid || cid`, split back; a passage's range holds exactly its leaves, and a
/// pid ending in 0xFF bytes still gets a bounded range.
#[test]
fn passage_leaves_split_and_their_range_is_the_passage() {
    let (p, q, c) = (ContentId([7; 32]), ContentId([8; 32]), ContentId([9; 32]));
    let l = RangeLeaf::passage(&p, &c);
    assert_eq!(l.as_bytes().len(), 64);
    assert_eq!(l.split_passage(), Some((p, c)));
    assert_eq!(RangeLeaf::new(vec![1; 63]).unwrap().split_passage(), None);
    let r = Range::passage(&p);
    assert!(r.contains(l.as_bytes()));
    assert!(!r.contains(RangeLeaf::passage(&q, &c).as_bytes()));
    let mut hi = [0xffu8; 32];
    hi[0] = 3;
    let r = Range::passage(&ContentId(hi));
    assert_eq!(r.hi(), Some(&[4u8][..]));
    let tree = RangeTree::from_unsorted(vec![
        RangeLeaf::passage(&p, &c),
        RangeLeaf::passage(&p, &q),
        RangeLeaf::passage(&q, &c),
    ]);
    assert_eq!(prove_verify(&tree, &Range::passage(&p), 10).count, 2);
    assert_eq!(prove_verify(&tree, &Range::passage(&c), 10).count, 0);
}

// ---- Multi-range proofs: one proof for many passages. ----

/// A passage tree: passages 0..40, passage i held by `i % 3 + 1` items (so some ranges have
/// several members), and the ids of passages that are not in it.
fn passage_tree() -> RangeTree {
    let mut leaves = Vec::new();
    for i in 0..40u64 {
        for item in 0..(i % 3 + 1) {
            leaves.push(RangeLeaf::passage(&cid(i), &cid(1000 + item)));
        }
    }
    RangeTree::from_unsorted(leaves)
}

/// Sorted passage ranges: `present` passages of the tree and `absent` ones.
fn passage_ranges(present: &[u64], absent: &[u64]) -> Vec<Range> {
    let mut pids: Vec<ContentId> = present
        .iter()
        .map(|&i| cid(i))
        .chain(absent.iter().map(|&i| cid(5000 + i)))
        .collect();
    pids.sort();
    pids.dedup();
    pids.iter().map(Range::passage).collect()
}

fn check_all(
    tree: &RangeTree,
    ranges: &[Range],
    p: &RangeProof,
) -> Result<Vec<RangeMembers>, RangeError> {
    verify_ranges(&tree.root(), tree.size(), ranges, p)
}

#[test]
fn a_multi_range_proof_gives_each_range_what_its_own_proof_gives() {
    let tree = passage_tree();
    let ranges = passage_ranges(&[0, 1, 2, 5, 17, 38, 39], &[1, 2, 3]);
    for reveal in [0, 1, 2, 16] {
        let p = range_multi_proof(&tree, &ranges, reveal).unwrap();
        let got = check_all(&tree, &ranges, &p).unwrap();
        assert_eq!(got.len(), ranges.len());
        let mut singles = 0;
        for (r, m) in ranges.iter().zip(&got) {
            let want = truth(&tree, r);
            assert_eq!(m.count, want.len() as u64);
            assert_eq!(m.start, want.first().copied().unwrap_or(m.start));
            let single = range_proof(&tree, r, reveal).unwrap();
            assert_eq!(
                verify_range(&tree.root(), tree.size(), r, &single).unwrap(),
                *m,
                "reveal {reveal}"
            );
            singles += single.leaves.len();
            if reveal >= 16 {
                assert!(m.complete());
                for (_, leaf) in &m.revealed {
                    assert!(r.contains(leaf.as_bytes()));
                }
            }
        }
        // One proof: shared brackets and helper hashes are sent once.
        assert!(p.leaves.len() <= singles);
        assert!(p.leaves.windows(2).all(|w| w[0].index < w[1].index));
    }
    // No ranges: an empty proof, and the empty answer, for any tree.
    let p = range_multi_proof(&tree, &[], 16).unwrap();
    assert!(p.leaves.is_empty());
    assert_eq!(check_all(&tree, &[], &p), Ok(vec![]));
    let empty = RangeTree::new(vec![]).unwrap();
    let p = range_multi_proof(&empty, &ranges, 16).unwrap();
    assert!(check_all(&empty, &ranges, &p)
        .unwrap()
        .iter()
        .all(|m| m.count == 0));
}

#[test]
fn a_multi_range_proof_that_drops_a_member_of_one_range_is_refused() {
    let tree = passage_tree();
    // Passage 2 has three items, passage 5 three, passage 17 three.
    let ranges = passage_ranges(&[2, 5, 17], &[]);
    let honest = range_multi_proof(&tree, &ranges, 16).unwrap();
    let all: Vec<u64> = honest.leaves.iter().map(|l| l.index.0).collect();
    for r in &ranges {
        let want = truth(&tree, r);
        assert_eq!(want.len(), 3);
        for (drop, expected) in [
            (want[0], RangeError::LeftEdgeUnproven),
            (want[2], RangeError::RightEdgeUnproven),
        ] {
            let idx: Vec<u64> = all.iter().copied().filter(|&i| i != drop).collect();
            let p = honest_hashes(&tree, &idx);
            assert_eq!(check_all(&tree, &ranges, &p), Err(expected.clone()));
        }
        // Dropping a middle member hides nothing: the count is still proven by the edges.
        let idx: Vec<u64> = all.iter().copied().filter(|&i| i != want[1]).collect();
        let m = check_all(&tree, &ranges, &honest_hashes(&tree, &idx)).unwrap();
        assert!(m.iter().all(|m| m.count == 3));
    }
}

#[test]
fn a_multi_range_proof_that_hides_a_whole_range_is_refused() {
    let tree = passage_tree();
    let ranges = passage_ranges(&[2, 5, 17], &[4]);
    let honest = range_multi_proof(&tree, &ranges, 16).unwrap();
    for r in &ranges {
        let members = truth(&tree, r);
        if members.is_empty() {
            continue;
        }
        // Every member of the range left out, its brackets kept: "not in the tree".
        let idx: Vec<u64> = honest
            .leaves
            .iter()
            .map(|l| l.index.0)
            .filter(|i| !members.contains(i))
            .collect();
        assert_eq!(
            check_all(&tree, &ranges, &honest_hashes(&tree, &idx)),
            Err(RangeError::ExclusionUnproven)
        );
    }
    // A proof made without one of the ranges, verified for all of them.
    let fewer = range_multi_proof(&tree, &ranges[1..], 16).unwrap();
    assert!(check_all(&tree, &ranges, &fewer).is_err());
}

#[test]
fn a_flipped_bit_in_a_multi_range_proof_is_refused() {
    let tree = passage_tree();
    let ranges = passage_ranges(&[0, 7, 30], &[9]);
    let p = range_multi_proof(&tree, &ranges, 16).unwrap();
    assert!(check_all(&tree, &ranges, &p).is_ok());
    for i in 0..p.leaves.len() {
        let mut q = p.clone();
        let mut bytes = q.leaves[i].leaf.as_bytes().to_vec();
        bytes[63] ^= 1;
        q.leaves[i].leaf = RangeLeaf::new(bytes).unwrap();
        assert!(check_all(&tree, &ranges, &q).is_err(), "leaf {i}");
    }
    for i in 0..p.hashes.len() {
        let mut q = p.clone();
        q.hashes[i].0[31] ^= 1;
        assert_eq!(
            check_all(&tree, &ranges, &q),
            Err(RangeError::RootMismatch),
            "hash {i}"
        );
    }
    let mut q = p.clone();
    q.leaves[0].index = LeafIndex(q.leaves[0].index.0 ^ 1);
    assert!(check_all(&tree, &ranges, &q).is_err());
}

#[test]
fn unsorted_or_overlapping_ranges_are_refused() {
    let tree = passage_tree();
    let ranges = passage_ranges(&[0, 7, 30], &[]);
    let p = range_multi_proof(&tree, &ranges, 16).unwrap();
    let mut swapped = ranges.clone();
    swapped.swap(0, 1);
    assert_eq!(
        check_all(&tree, &swapped, &p),
        Err(RangeError::RangesNotSorted { index: 1 })
    );
    let twice = vec![ranges[0].clone(), ranges[1].clone(), ranges[1].clone()];
    assert_eq!(
        check_all(&tree, &twice, &p),
        Err(RangeError::RangesNotSorted { index: 2 })
    );
    // A range inside another one: overlapping.
    let outer = Range::prefix(&ranges[0].lo()[..1]);
    let inner = ranges[0].clone();
    assert_eq!(
        check_all(&tree, &[outer, inner], &p),
        Err(RangeError::RangesNotSorted { index: 1 })
    );
    // An unbounded range can only be last.
    let top = Range::new(vec![0x01], None).unwrap();
    let after = Range::new(vec![0xf0], Some(vec![0xf1])).unwrap();
    assert_eq!(
        check_all(&tree, &[top, after], &p),
        Err(RangeError::RangesNotSorted { index: 1 })
    );
}

/// Random trees and random sorted, disjoint ranges: each range's members are the brute-force
/// answer, for every reveal.
#[test]
fn random_multi_range_proofs_agree_with_brute_force() {
    let mut x = 0x2545f4914f6cdd1du64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..200 {
        let n = rnd() % 40;
        let leaves: Vec<RangeLeaf> = (0..n)
            .map(|_| {
                RangeLeaf::new(vec![b'a' + (rnd() % 6) as u8, b'a' + (rnd() % 4) as u8]).unwrap()
            })
            .collect();
        let tree = RangeTree::from_unsorted(leaves);
        let ranges: Vec<Range> = (b'a'..b'a' + 7)
            .filter(|_| rnd() % 2 == 0)
            .map(|c| Range::prefix(&[c]))
            .collect();
        let p = range_multi_proof(&tree, &ranges, rnd() % 4).unwrap();
        let got = check_all(&tree, &ranges, &p).unwrap();
        for (r, m) in ranges.iter().zip(&got) {
            assert_eq!(m.count, truth(&tree, r).len() as u64);
        }
    }
}

// ---- The shared vectors: verifier/tests/data/range_multi.json ----

/// The vectors of multi-range proofs that the explorer's `verifyRanges`
/// (api/explorer/src/lib/range.js, on its copy api/explorer/test/vectors/range_multi.json)
/// replays: a small passage tree, sets of sorted passage ranges, a multi-range proof for each
/// (honest, and as an adversary would change it), and what [`verify_ranges`] decides: each
/// range's members, or the error. Held equal to the committed file; `PROV_UPDATE_VECTORS=1
/// cargo test -p verifier --lib range_multi_vectors` rewrites it.
#[test]
fn range_multi_vectors_are_current() {
    let text = range_multi_vectors();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/range_multi.json");
    if std::env::var_os("PROV_UPDATE_VECTORS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{} is stale: PROV_UPDATE_VECTORS=1 cargo test -p verifier --lib range_multi_vectors",
        path.display()
    );
    // And the file, read back, says what the code decides.
    let v: serde_json::Value = serde_json::from_str(&committed).unwrap();
    let root = Digest::from_hex(v["tree"]["root"].as_str().unwrap()).unwrap();
    let size = TreeSize(v["tree"]["size"].as_u64().unwrap());
    for case in v["cases"].as_array().unwrap() {
        let ranges: Vec<Range> = serde_json::from_value::<Vec<WireRange>>(case["ranges"].clone())
            .unwrap()
            .into_iter()
            .map(WireRange::range)
            .collect();
        let proof: RangeProof = serde_json::from_value(case["proof"].clone()).unwrap();
        assert_eq!(
            outcome(verify_ranges(&root, size, &ranges, &proof)),
            case["expect"],
            "{}",
            case["name"]
        );
    }
}

#[derive(serde::Deserialize)]
struct WireRange {
    lo: String,
    hi: Option<String>,
}

impl WireRange {
    fn range(self) -> Range {
        Range::new(
            hex::decode(self.lo).unwrap(),
            self.hi.map(|h| hex::decode(h).unwrap()),
        )
        .unwrap()
    }
}

fn outcome(r: Result<Vec<RangeMembers>, RangeError>) -> serde_json::Value {
    use serde_json::json;
    match r {
        Ok(ms) => json!({
            "ok": true,
            "members": ms.iter().map(|m| json!({
                "start": m.start,
                "count": m.count,
                "revealed": m.revealed.iter().map(|(i, l)| json!({"index": i.0, "leaf": l.to_hex()})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }),
        Err(e) => {
            let name = format!("{e:?}");
            let kind = name.split([' ', '(']).next().unwrap_or("").to_string();
            json!({"ok": false, "error": kind})
        }
    }
}

fn range_multi_vectors() -> String {
    use serde_json::json;
    let pid = |i: u64| ContentId::of(format!("passage {i}").as_bytes());
    // Passages 0..12, passage i held by `i % 3 + 1` items; 100 and up are absent.
    let mut leaves = Vec::new();
    for i in 0..12u64 {
        for item in 0..(i % 3 + 1) {
            let cid = ContentId::of(format!("item {item}").as_bytes());
            leaves.push(RangeLeaf::passage(&pid(i), &cid));
        }
    }
    let tree = RangeTree::from_unsorted(leaves);
    let ranges_of = |ps: &[u64]| {
        let mut ids: Vec<ContentId> = ps.iter().map(|&i| pid(i)).collect();
        ids.sort();
        ids.iter().map(Range::passage).collect::<Vec<Range>>()
    };
    let wire = |rs: &[Range]| {
        rs.iter()
            .map(|r| json!({"lo": hex::encode(r.lo()), "hi": r.hi().map(hex::encode)}))
            .collect::<Vec<_>>()
    };
    let mut cases = Vec::new();
    let mut case = |name: &str, note: &str, rs: &[Range], p: &RangeProof| {
        cases.push(json!({
            "name": name,
            "note": note,
            "ranges": wire(rs),
            "proof": p,
            "expect": outcome(verify_ranges(&tree.root(), tree.size(), rs, p)),
        }));
    };
    let present = ranges_of(&[1, 2, 5, 11]);
    let honest = range_multi_proof(&tree, &present, 16).unwrap();
    case("present", "four passages in the tree", &present, &honest);
    let mixed = ranges_of(&[0, 4, 8, 100, 101, 102]);
    case(
        "mixed",
        "three passages in the tree, three absent (proven absent)",
        &mixed,
        &range_multi_proof(&tree, &mixed, 16).unwrap(),
    );
    let absent = ranges_of(&[100, 101, 102, 103]);
    case(
        "absent",
        "no passage in the tree: every range proven empty",
        &absent,
        &range_multi_proof(&tree, &absent, 16).unwrap(),
    );
    let all: Vec<u64> = (0..12).collect();
    let every = ranges_of(&all);
    case(
        "truncated",
        "every passage, reveal 1 per range: counts proven by the edges",
        &every,
        &range_multi_proof(&tree, &every, 1).unwrap(),
    );
    case(
        "single",
        "one range: the same proof a single range proof is",
        &ranges_of(&[2]),
        &range_multi_proof(&tree, &ranges_of(&[2]), 16).unwrap(),
    );
    // Attacks on `present`, helper hashes rebuilt honestly so only the leaves shown differ.
    let idx: Vec<u64> = honest.leaves.iter().map(|l| l.index.0).collect();
    let two = truth(&tree, &Range::passage(&pid(2)));
    let without = |drop: &[u64]| {
        let keep: Vec<u64> = idx.iter().copied().filter(|i| !drop.contains(i)).collect();
        honest_hashes(&tree, &keep)
    };
    case(
        "drops_first_member",
        "the first item holding passage 2 left out",
        &present,
        &without(&two[..1]),
    );
    case(
        "drops_last_member",
        "the last item holding passage 2 left out",
        &present,
        &without(&two[two.len() - 1..]),
    );
    case(
        "hides_range",
        "every item holding passage 2 left out, its brackets kept",
        &present,
        &without(&two),
    );
    let mut flipped = honest.clone();
    let mut b = flipped.leaves[1].leaf.as_bytes().to_vec();
    b[63] ^= 1;
    flipped.leaves[1].leaf = RangeLeaf::new(b).unwrap();
    case(
        "flipped_leaf_bit",
        "one bit of a revealed leaf",
        &present,
        &flipped,
    );
    let mut flipped = honest.clone();
    flipped.hashes[0].0[0] ^= 0x80;
    case(
        "flipped_hash_bit",
        "one bit of a helper hash",
        &present,
        &flipped,
    );
    let mut unsorted = present.clone();
    unsorted.swap(0, 1);
    case(
        "unsorted_ranges",
        "the ranges out of order",
        &unsorted,
        &honest,
    );
    let mut small = honest.clone();
    small.size = TreeSize(tree.size().0 - 1);
    case(
        "wrong_size",
        "the proof claims a tree one leaf smaller",
        &present,
        &small,
    );
    let v = json!({
        "comment": "Multi-range proofs over a passage tree (leaves passage id || cid). Generated by \
                    PROV_UPDATE_VECTORS=1 cargo test -p verifier --lib range_multi_vectors; do not edit. \
                    expect: ok with each range's members (start, count, revealed), or the RangeError variant.",
        "tree": {
            "root": tree.root().to_hex(),
            "size": tree.size().0,
            "leaves": tree.leaves().iter().map(RangeLeaf::to_hex).collect::<Vec<_>>(),
        },
        "cases": cases,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap();
    s.push('\n');
    s
}
