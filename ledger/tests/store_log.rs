//! The log through the store: the sequencer on the in-memory store, tiles, proofs, and the C2SP
//! tlog-tiles fixture.

use std::sync::Arc;

use ledger::checkpoint::Checkpoint;
use ledger::hash::{leaf_hash, Sha256Log};
use ledger::ledger::Ledger;
use ledger::merkle;
use ledger::note::NoteSigner;
use ledger::sequencer::SubmitError;
use ledger::store::index::Rejection;
use ledger::store::keys;
use ledger::store::log::{self, StoreHashes};
use ledger::store::{Column, Durability, LogStore, MemoryStore, WriteBatch};
use ledger::tile::{self, TileHashReader, TileId};
use ledger::tree::{self, RightEdge};
use ledger::types::{Digest, LeafIndex, TreeSize};

mod common;
use common::{entry, memory_ledger, signer};

#[test]
fn tile_encoder_matches_the_tlog_tiles_300_fixture() {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/tlog-tiles-300/000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706");
    let t0 = std::fs::read(base.join("tile/0/000")).unwrap();
    let t1 = std::fs::read(base.join("tile/0/001.p/44")).unwrap();
    let want_l1 = std::fs::read(base.join("tile/1/000.p/1")).unwrap();
    let cp = std::fs::read_to_string(base.join("checkpoint")).unwrap();
    let body_end = cp.find("\n\n").unwrap() + 1;
    let cp = Checkpoint::parse_body(&cp[..body_end]).unwrap();
    assert_eq!(cp.size, TreeSize(300));

    // Store the fixture's leaf hashes as the sequencer would, then serve tiles from the store.
    let store = MemoryStore::new();
    let mut edge = RightEdge::new();
    let mut hashes = Vec::new();
    for h in t0.chunks(32).chain(t1.chunks(32)) {
        edge.append(Digest::from_slice(h).unwrap(), &mut hashes);
    }
    let mut b = WriteBatch::new();
    for (i, h) in hashes.iter().enumerate() {
        b.put(
            Column::Hashes,
            keys::hash_key(i as u64).to_vec(),
            h.0.to_vec(),
        );
    }
    store.write(b, Durability::Synced).unwrap();
    let size = TreeSize(300);
    assert_eq!(
        log::hash_tile(&store, size, TileId::new(1, 0, 1).unwrap()).unwrap(),
        want_l1
    );
    assert_eq!(
        log::hash_tile(&store, size, TileId::new(0, 0, 256).unwrap()).unwrap(),
        t0
    );
    assert_eq!(
        log::hash_tile(&store, size, TileId::new(0, 1, 44).unwrap()).unwrap(),
        t1
    );
    assert_eq!(log::tree_hash(&store, size).unwrap(), cp.root);
    // A tile the tree does not have yet is not served.
    assert!(log::hash_tile(&store, size, TileId::new(0, 1, 45).unwrap()).is_err());
    assert!(log::hash_tile(&store, size, TileId::new(1, 0, 2).unwrap()).is_err());
}

#[test]
fn concurrent_writers_get_indexes_and_covering_checkpoints() {
    let l = memory_ledger();
    let vkey = l.verifier_key().clone();
    let receipts: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|t| {
                let l = l.clone();
                s.spawn(move || {
                    (0..40)
                        .map(|i| {
                            let e = entry(t * 1000 + i);
                            (e.clone(), l.submit(e).unwrap())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(receipts.len(), 320);
    let mut seen = std::collections::HashSet::new();
    for (e, r) in &receipts {
        assert!(seen.insert(r.index), "index {} handed out twice", r.index);
        let cp = Checkpoint::verify(&r.checkpoint.note, &vkey).unwrap();
        assert!(r.index.0 < cp.size.0);
        let proof = l.inclusion_proof(r.index, cp.size).unwrap();
        merkle::verify_inclusion::<Sha256Log>(&leaf_hash(e), r.index, cp.size, &proof, &cp.root)
            .unwrap();
        assert_eq!(l.entry(r.index).unwrap().as_deref(), Some(e.as_slice()));
    }
    // Every pair of checkpoints handed out is consistent.
    let latest = l.checkpoint();
    for (_, r) in receipts.iter().step_by(37) {
        let old = &r.checkpoint.checkpoint;
        let p = l.consistency_proof(old.size, latest.size()).unwrap();
        merkle::verify_consistency::<Sha256Log>(
            old.size,
            latest.size(),
            &old.root,
            &latest.checkpoint.root,
            &p,
        )
        .unwrap();
    }
}

#[test]
fn a_client_with_only_tiles_recomputes_the_checkpoint() {
    let l = memory_ledger();
    let mut entries = Vec::new();
    for i in 0..600u64 {
        let e = entry(i);
        l.submit(e.clone()).unwrap();
        entries.push(e);
    }
    let cp = Checkpoint::verify(&l.checkpoint().note, l.verifier_key()).unwrap();
    assert_eq!(cp.size, TreeSize(600));
    let mut reader = TileHashReader::new();
    for t in tile::tiles_for_size(cp.size) {
        let data = l.tile(&t.path()).unwrap();
        reader.insert(t, &data).unwrap();
    }
    assert_eq!(tree::tree_hash(cp.size, &reader).unwrap(), cp.root);
    // Entry bundles carry the entries, length-prefixed.
    let b = l.tile("tile/entries/002.p/88").unwrap();
    let got = tile::decode_entry_bundle(&b).unwrap();
    assert_eq!(got.len(), 88);
    assert_eq!(got[0], entries[512].as_slice());
    assert!(l.tile("tile/entries/002.p/89").is_err());
    let leaves: Vec<Digest> = entries.iter().map(|e| leaf_hash(e)).collect();
    assert_eq!(merkle::root::<Sha256Log>(&leaves), cp.root);
}

#[test]
fn the_ledger_is_shareable_across_threads() {
    fn shareable<T: Send + Sync + Clone + 'static>(_: &T) {}
    let l = memory_ledger();
    shareable(&l);
    let c = l.clone();
    let size = std::thread::spawn(move || c.submit(entry(1)).unwrap().checkpoint.size())
        .join()
        .unwrap();
    assert_eq!(l.checkpoint().size(), size);
}

#[test]
fn a_replayed_entry_is_refused_and_logged_once() {
    let l = memory_ledger();
    let e = entry(7);
    let r = l.submit(e.clone()).unwrap();
    let again = l.submit(e.clone());
    assert!(matches!(again, Err(SubmitError::Rejected(Rejection::Replay(i))) if i == r.index.0));
    // Twice in one batch: the second is refused too.
    let (tx, rx) = std::sync::mpsc::channel();
    for _ in 0..2 {
        let tx = tx.clone();
        l.submit_with(entry(8), move |r| tx.send(r).unwrap());
    }
    let outcomes: Vec<_> = (0..2).map(|_| rx.recv().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    assert_eq!(l.checkpoint().size(), TreeSize(2));
}

#[test]
fn the_log_matches_a_naive_model_at_every_size() {
    let l = memory_ledger();
    let mut model: Vec<Digest> = Vec::new();
    let mut n = 0u64;
    for batch in [1usize, 2, 3, 250, 7, 1, 300] {
        let rs: Vec<_> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..batch)
                .map(|k| {
                    let l = l.clone();
                    let e = entry(n + k as u64 + 100_000);
                    s.spawn(move || (e.clone(), l.submit(e).unwrap().index))
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut rs = rs;
        rs.sort_by_key(|(_, i)| *i);
        for (e, i) in rs {
            assert_eq!(i.0, model.len() as u64);
            model.push(leaf_hash(&e));
        }
        n += batch as u64;
        let size = TreeSize(model.len() as u64);
        let store = l.store().clone();
        assert_eq!(
            tree::tree_hash(size, &StoreHashes(&*store)).unwrap(),
            merkle::root::<Sha256Log>(&model)
        );
        for i in [0, model.len() / 2, model.len() - 1] {
            let p = l.inclusion_proof(LeafIndex(i as u64), size).unwrap();
            assert_eq!(
                p,
                merkle::inclusion_proof::<Sha256Log>(&model, LeafIndex(i as u64)).unwrap()
            );
        }
    }
}

#[test]
fn opening_with_another_key_is_refused() {
    let store: Arc<dyn LogStore> = Arc::new(MemoryStore::new());
    let l = Ledger::create_with_store(store.clone(), signer("example.org/log"), Default::default())
        .unwrap();
    l.submit(entry(1)).unwrap();
    l.close();
    drop(l);
    let other = NoteSigner::new(
        "example.org/log",
        ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]),
    )
    .unwrap();
    let r = Ledger::open_with_store(store.clone(), other, Default::default());
    assert!(matches!(
        r,
        Err(ledger::ledger::LedgerError::KeyMismatch(_))
    ));
    let again =
        Ledger::open_with_store(store, signer("example.org/log"), Default::default()).unwrap();
    assert_eq!(again.checkpoint().size(), TreeSize(1));
    again.submit(entry(2)).unwrap();
}

/// Regression: a stored checkpoint whose signature was damaged (the key record still matches) is
/// reported as damage, never as "the key does not match this ledger", which would send an
/// operator looking for another key file.
#[test]
fn a_damaged_stored_checkpoint_is_not_called_a_key_mismatch() {
    let store: Arc<dyn LogStore> = Arc::new(MemoryStore::new());
    let l = Ledger::create_with_store(store.clone(), signer("example.org/log"), Default::default())
        .unwrap();
    l.submit(entry(1)).unwrap();
    l.close();
    drop(l);
    let note = log::latest_checkpoint_note(&*store).unwrap().unwrap();
    // Flip one base64 character of the signature line (the last line), keeping it base64.
    let mut bytes = note.into_bytes();
    let at = bytes.len() - 10;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let mut b = WriteBatch::new();
    b.put(Column::Checkpoints, keys::checkpoint_key(1).to_vec(), bytes);
    store.write(b, Durability::Synced).unwrap();
    let err =
        Ledger::open_with_store(store, signer("example.org/log"), Default::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ledger::ledger::LedgerError::Start(ledger::sequencer::StartError::Damaged(_))
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("damaged"), "{err}");
}
