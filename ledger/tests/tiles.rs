//! C2SP tlog-tiles against a real log's tiles (`testdata/tlog-tiles-300`, a 300-leaf tree served
//! by Sunlight), and the worked example of `docs/format-tiles.md`, recomputed: every value the
//! document shows is asserted against the code and must appear in it verbatim, so the two
//! cannot drift.

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use ledger::merkle;
use ledger::tile::{
    encode_entry_bundle, read_tile_data, tiles_for_size, EntryBundleId, TileHashReader, TileId,
};
use ledger::tree::{
    consistency_proof, inclusion_proof, split_stored_hash_index, stored_hash_count,
    stored_hash_index, tree_hash, MemoryHashes,
};
use ledger::{leaf_hash, node_hash, Checkpoint, Digest, LeafIndex, Sha256Log, TreeSize};

/// The hashed folder holds the real tiles and checkpoint; the top-level `checkpoint` is a decoy.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/tlog-tiles-300/000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706")
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(fixture().join(path)).unwrap()
}

/// The checkpoint's tree head: its body is the text before the blank line of the signed note.
fn checkpoint() -> Checkpoint {
    let note = String::from_utf8(read("checkpoint")).unwrap();
    let (body, _signatures) = note.split_once("\n\n").unwrap();
    Checkpoint::parse_body(&format!("{body}\n")).unwrap()
}

fn digests(bytes: &[u8]) -> Vec<Digest> {
    assert_eq!(bytes.len() % 32, 0);
    bytes
        .chunks(32)
        .map(|c| Digest::from_slice(c).unwrap())
        .collect()
}

/// The fixture's 300 leaf hashes: tile/0/000 then tile/0/001.p/44.
fn fixture_leaves() -> Vec<Digest> {
    let mut leaves = digests(&read("tile/0/000"));
    leaves.extend(digests(&read("tile/0/001.p/44")));
    leaves
}

#[test]
fn fixture_tiles_are_the_tiles_of_its_checkpoint() {
    let cp = checkpoint();
    assert_eq!(cp.size, TreeSize(300));
    let paths: Vec<String> = tiles_for_size(cp.size).iter().map(TileId::path).collect();
    assert_eq!(paths, ["tile/0/000", "tile/0/001.p/44", "tile/1/000.p/1"]);
    for p in &paths {
        assert!(fixture().join(p).is_file(), "{p}");
    }
    let bundles: Vec<String> = tiles_for_size(cp.size)
        .iter()
        .filter(|t| t.level == 0)
        .map(|t| EntryBundleId::new(t.n, t.width).unwrap().path())
        .collect();
    for p in &bundles {
        assert!(fixture().join(p).is_file(), "{p}");
    }
}

#[test]
fn level_one_tile_and_root_are_recomputed_byte_for_byte() {
    let cp = checkpoint();
    let leaves = fixture_leaves();
    assert_eq!(leaves.len(), 300);
    let log = MemoryHashes::from_leaf_hashes(&leaves);

    let level1 = TileId::parse_path("tile/1/000.p/1").unwrap();
    assert_eq!(
        read_tile_data(level1, &log).unwrap(),
        read("tile/1/000.p/1")
    );
    for p in ["tile/0/000", "tile/0/001.p/44"] {
        let t = TileId::parse_path(p).unwrap();
        assert_eq!(read_tile_data(t, &log).unwrap(), read(p), "{p}");
    }
    assert_eq!(tree_hash(cp.size, &log).unwrap(), cp.root);
    assert_eq!(merkle::root::<Sha256Log>(&leaves), cp.root);
}

/// What an independent client does: fetch the checkpoint's tiles, compute the root and proofs
/// from them alone, and check them against the checkpoint.
#[test]
fn a_client_holding_only_tiles_verifies_the_checkpoint() {
    let cp = checkpoint();
    let mut tiles = TileHashReader::new();
    for t in tiles_for_size(cp.size) {
        tiles.insert(t, &read(&t.path())).unwrap();
    }
    assert_eq!(tree_hash(cp.size, &tiles).unwrap(), cp.root);
    let leaves = fixture_leaves();
    for i in [0u64, 1, 127, 255, 256, 298, 299] {
        let p = inclusion_proof(cp.size, LeafIndex(i), &tiles).unwrap();
        let leaf = &leaves[i as usize];
        merkle::verify_inclusion::<Sha256Log>(leaf, LeafIndex(i), cp.size, &p, &cp.root).unwrap();
    }
    for old in [1u64, 100, 256, 257, 299] {
        let old = TreeSize(old);
        let p = consistency_proof(old, cp.size, &tiles).unwrap();
        let old_root = tree_hash(old, &tiles).unwrap();
        merkle::verify_consistency::<Sha256Log>(old, cp.size, &old_root, &cp.root, &p).unwrap();
    }
    // A tile that lies is caught by the checkpoint, not trusted because it was inserted.
    let mut bad = read("tile/1/000.p/1");
    bad[0] ^= 1;
    let mut lying = TileHashReader::new();
    for t in tiles_for_size(cp.size) {
        let data = if t.level == 1 {
            bad.clone()
        } else {
            read(&t.path())
        };
        lying.insert(t, &data).unwrap();
    }
    assert_ne!(tree_hash(cp.size, &lying).unwrap(), cp.root);
}

/// Each worked example of docs/format-tiles.md: a label, and the value the document shows.
fn examples() -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    // Stored hash indexes.
    for (level, n) in [
        (0u8, 0u64),
        (0, 1),
        (1, 0),
        (0, 2),
        (0, 3),
        (1, 1),
        (2, 0),
        (0, 4),
    ] {
        let i = stored_hash_index(level, n);
        assert_eq!(split_stored_hash_index(i), (level, n));
        out.push(("stored index", format!("| ({level}, {n}) | {i} |")));
    }
    let level8 = stored_hash_index(8, 0);
    assert_eq!(level8, stored_hash_count(TreeSize(256)) - 1);
    out.push(("first level 8 hash", format!("| (8, 0) | {level8} |")));
    out.push((
        "level 8 hash 1",
        format!("| (8, 1) | {} |", stored_hash_index(8, 1)),
    ));
    out.push((
        "stored hash count of 300",
        format!(
            "stored_hash_count(300) = {}",
            stored_hash_count(TreeSize(300))
        ),
    ));

    // The three-entry log "a", "b", "c".
    let entries: [&[u8]; 3] = [b"a", b"b", b"c"];
    let leaves: Vec<Digest> = entries.iter().map(|e| leaf_hash(e)).collect();
    let log = MemoryHashes::from_leaf_hashes(&leaves);
    let stored: Vec<String> = log.stored().iter().map(Digest::to_hex).collect();
    for (i, h) in stored.iter().enumerate() {
        out.push(("stored hash", format!("| {i} | {h} |")));
    }
    assert_eq!(log.stored()[2], node_hash(&leaves[0], &leaves[1]));
    let tile = TileId::new(0, 0, 3).unwrap();
    out.push(("tile path", format!("`{}`", tile.path())));
    let data = read_tile_data(tile, &log).unwrap();
    assert_eq!(data.len(), 96);
    for (i, row) in data.chunks(32).enumerate() {
        out.push(("tile row", format!("{:04x}: {}", i * 32, hex::encode(row))));
    }
    let root = tree_hash(TreeSize(3), &log).unwrap();
    assert_eq!(root, node_hash(&log.stored()[2], &leaves[2]));
    out.push(("root hex", root.to_hex()));
    out.push(("root base64", root.to_base64()));
    let bundle = EntryBundleId::new(0, 3).unwrap();
    out.push(("bundle path", format!("`{}`", bundle.path())));
    out.push((
        "bundle hex",
        hex::encode(encode_entry_bundle(&entries).unwrap()),
    ));

    // Paths.
    for (level, n, width) in [(0u8, 1234067u64, 256u16), (3, 1234067, 8), (1, 0, 1)] {
        out.push((
            "path",
            format!("`{}`", TileId::new(level, n, width).unwrap().path()),
        ));
    }
    out
}

#[test]
fn docs_format_tiles_shows_the_computed_values() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/format-tiles.md");
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    let missing: Vec<String> = examples()
        .into_iter()
        .filter(|(_, v)| !doc.contains(v.as_str()))
        .map(|(label, v)| format!("{label}: {v}"))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/format-tiles.md lacks:\n{}",
        missing.join("\n")
    );
}
