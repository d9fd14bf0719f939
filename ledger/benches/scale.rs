//! Big sets and logs, measured (issue 16 item 4; run by `bench/scale.sh`, which adds peak memory
//! and the store's size on disk). Release build, RocksDB, real store paths; every proof served is
//! verified with the verifier core, as a reader would. Each figure is measured, never asserted.
//!
//! - `set <n> [k]`: a set of `n` generated sorted 72-byte leaves streamed into the store's set
//!   ingest (the path the service's upload takes: `SetWriter::push_bytes` in 64K-leaf chunks,
//!   sorted check, root check, one synced commit); then `k` random inclusion proofs and `k`
//!   exclusion (absence) proofs served from the stored set and verified.
//! - `log <n> [k]`: a log of `n` small pre-validated entries appended durably in batches of 4096,
//!   each batch as the sequencer writes it (entries, replay index, new tree hashes and tree size
//!   in one synced write; a consistency check of the new tree against the last signed
//!   checkpoint; a signed checkpoint in a second synced write); appends/s per window of n/10;
//!   then at the final size: random full tiles (every level) and entry bundles read and
//!   verified, inclusion and consistency proofs served and verified, checkpoint signing.
//!
//! The store goes in `$SCALE_DIR` (default: the system temporary directory), in a fresh
//! temporary directory that is deleted at the end unless `SCALE_KEEP=1`.
//!
//! `cargo bench -p ledger --features rocksdb --bench scale -- set 100000000`.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use ed25519_dalek::SigningKey;
use ledger::checkpoint::Checkpoint;
use ledger::hash::{leaf_hash, Sha256Log};
use ledger::note::NoteSigner;
use ledger::set::{SetLeaf, SetMembershipProof, SetRootBuilder};
use ledger::store::log::{self, CachedHashes};
use ledger::store::{LogStore, RocksStore};
use ledger::tile::{EntryBundleId, TileId};
use ledger::types::{ContentId, Digest, LeafIndex, TreeSize};
use rand::{Rng as _, SeedableRng as _};

mod common;
use common::{cpu_secs, Appender};

/// Bytes of the files under `dir` (what `du --apparent-size` says): `(sst, all)`, the table
/// files (the store's steady state) and everything (write-ahead log and metadata included).
fn dir_bytes(dir: &Path) -> (u64, u64) {
    let (mut sst, mut all) = (0, 0);
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => {
                    let (s, a) = dir_bytes(&e.path());
                    sst += s;
                    all += a;
                }
                Ok(m) => {
                    all += m.len();
                    if e.path().extension().is_some_and(|x| x == "sst") {
                        sst += m.len();
                    }
                }
                Err(_) => {}
            }
        }
    }
    (sst, all)
}

/// "X MiB (Y bytes per unit) in table files, Z MiB in all".
fn disk(dir: &Path, n: u64, unit: &str) -> String {
    let (sst, all) = dir_bytes(dir);
    format!(
        "{:.0} MiB in table files ({:.1} bytes per {unit}), {:.0} MiB in all with the write-ahead log ({:.1} bytes per {unit})",
        sst as f64 / MIB,
        sst as f64 / n as f64,
        all as f64 / MIB,
        all as f64 / n as f64
    )
}

/// This process's peak resident memory so far (`VmHWM`), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// The free space the log's appends leave on the store's disk (`SCALE_MIN_FREE_GIB`, default
/// 15): the run stops there, and measures at the size reached.
fn min_free_bytes() -> u64 {
    std::env::var("SCALE_MIN_FREE_GIB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(15)
        << 30
}

fn scratch() -> tempfile::TempDir {
    let base = std::env::var_os("SCALE_DIR").map_or_else(std::env::temp_dir, Into::into);
    std::fs::create_dir_all(&base).expect("SCALE_DIR");
    tempfile::Builder::new()
        .prefix("prov-scale-")
        .tempdir_in(base)
        .expect("tempdir")
}

fn finish(tmp: tempfile::TempDir) {
    if std::env::var_os("SCALE_KEEP").is_some() {
        println!("kept: {}", tmp.keep().display());
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let which = args.first().map(String::as_str).unwrap_or("");
    let n: u64 = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000_000);
    let k: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    match which {
        "set" => set(n, k),
        "log" => {
            let limit: Option<f64> = args.get(3).and_then(|s| s.parse().ok());
            log_bench(n, k, limit)
        }
        _ => eprintln!("usage: scale (set [n] [k] | log [n] [k] [max-append-seconds])"),
    }
}

const MIB: f64 = (1u64 << 20) as f64;

/// Leaf `i` of a synthetic sorted set: the cid starts with `i` big-endian, so order is `i`.
fn set_leaf(i: u64) -> SetLeaf {
    let mut cid = *blake3::hash(&i.to_le_bytes()).as_bytes();
    cid[..8].copy_from_slice(&i.to_be_bytes());
    SetLeaf {
        cid: ContentId(cid),
        size: i,
        meta: Digest(*blake3::hash(&i.to_be_bytes()).as_bytes()),
    }
}

/// An id that is not in the set: leaf `i`'s cid with its last 24 bytes changed (every other
/// leaf has another 8-byte prefix).
fn absent_id(i: u64) -> ContentId {
    let mut cid = set_leaf(i).cid.0;
    for b in &mut cid[8..] {
        *b = !*b;
    }
    ContentId(cid)
}

fn set(n: u64, k: usize) {
    let tmp = scratch();
    let db = tmp.path().join("db");
    let store: Arc<dyn LogStore> = Arc::new(RocksStore::create(&db).expect("create"));
    let sets = ledger::store::sets::SetStore::open(store.clone()).expect("open");
    // The claimed root, as the uploader computes it before the upload (not timed).
    let t = Instant::now();
    let mut b = SetRootBuilder::new();
    for i in 0..n {
        b.push(&set_leaf(i)).expect("sorted");
    }
    let root = b.root();
    println!(
        "set: {n} leaves, claimed root {} computed by the uploader in {:.1} s (not timed)",
        root.to_hex(),
        t.elapsed().as_secs_f64()
    );
    let (start, cpu0) = (Instant::now(), cpu_secs());
    let mut w = sets.writer();
    let mut buf = Vec::with_capacity(65_536 * SetLeaf::LEN);
    let mut window = Instant::now();
    for i in 0..n {
        buf.extend_from_slice(&set_leaf(i).to_bytes());
        if buf.len() == buf.capacity() {
            w.push_bytes(&buf).expect("push");
            buf.clear();
        }
        if (i + 1).is_multiple_of((n / 10).max(1)) {
            println!(
                "set: ingest {:>11} leaves, last window {:.0} leaves/s",
                i + 1,
                (n / 10).max(1) as f64 / window.elapsed().as_secs_f64()
            );
            window = Instant::now();
        }
    }
    w.push_bytes(&buf).expect("push");
    let pushed = start.elapsed().as_secs_f64();
    let info = w.commit(&root).expect("commit");
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    println!(
        "set: ingest of {} leaves of 72 bytes (streamed in 64K-leaf chunks, generation included, sorted check, root check, one synced commit): {secs:.1} s wall ({pushed:.1} s streaming, {:.1} s commit), {cpu:.1} s CPU, {:.0} leaves/s, {:.0} leaves per CPU-second",
        info.size,
        secs - pushed,
        n as f64 / secs,
        n as f64 / cpu
    );
    println!(
        "set: on disk right after the commit (leaves are 72 bytes): {}; peak RSS so far {:.0} MiB",
        disk(&db, n, "leaf"),
        peak_rss_mib()
    );

    // Proofs from the stored set, each verified as a reader does (verifier core). As the
    // service does (api/src/items.rs), each proof opens the stored set afresh: its record cache
    // lives for one request, and memory stays flat however many proofs are served.
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let ids_in: Vec<ContentId> = (0..k).map(|_| set_leaf(rng.gen_range(0..n)).cid).collect();
    let ids_out: Vec<ContentId> = (0..k).map(|_| absent_id(rng.gen_range(0..n))).collect();
    for (what, ids, want) in [("inclusion", &ids_in, true), ("exclusion", &ids_out, false)] {
        let (t, c) = (Instant::now(), cpu_secs());
        let proofs: Vec<SetMembershipProof> = ids
            .iter()
            .map(|id| {
                let src = sets.source(&root).expect("source");
                ledger::set::membership_proof(&src, id).expect("proof")
            })
            .collect();
        let (gen_s, gen_c) = (t.elapsed().as_secs_f64(), cpu_secs() - c);
        let (t, c) = (Instant::now(), cpu_secs());
        for (p, id) in proofs.iter().zip(ids) {
            let m = p.verify(id, &root, info.size).expect("verifies");
            assert_eq!(m == ledger::set::Membership::Included, want);
        }
        let (ver_s, ver_c) = (t.elapsed().as_secs_f64(), cpu_secs() - c);
        let json: usize = proofs
            .iter()
            .map(|p| serde_json::to_vec(p).expect("json").len())
            .sum();
        let hashes: usize = proofs
            .iter()
            .map(|p| match p {
                SetMembershipProof::Included(p) => p.path.len(),
                SetMembershipProof::Excluded(p) => {
                    p.left.as_ref().map_or(0, |l| l.path.len())
                        + p.right.as_ref().map_or(0, |r| r.path.len())
                }
            })
            .sum();
        println!(
            "set: {k} random {what} proofs from the stored set (opened per proof), one thread: {:.0} proofs/s ({:.0} per CPU-second); verified: {:.0}/s ({:.0} per CPU-second); mean size {:.1} path hashes, {:.0} bytes as JSON",
            k as f64 / gen_s,
            k as f64 / gen_c,
            k as f64 / ver_s,
            k as f64 / ver_c,
            hashes as f64 / k as f64,
            json as f64 / k as f64
        );
    }
    drop(sets);
    drop(store);
    println!(
        "set: on disk after closing the store: {}",
        disk(&db, n, "leaf")
    );
    finish(tmp);
}

/// Entry `i` of the log: 64 bytes, unique (its index, then filler), as a pre-validated entry is
/// opaque bytes to the durable append.
const ENTRY_LEN: usize = 64;
fn log_entry(i: u64) -> [u8; ENTRY_LEN] {
    let mut e = [0u8; ENTRY_LEN];
    e[..8].copy_from_slice(&i.to_be_bytes());
    e[8..40].copy_from_slice(blake3::hash(&i.to_le_bytes()).as_bytes());
    e[40..].copy_from_slice(b"prov scale bench, 64 B..");
    e
}

const BATCH: u64 = 4096;

fn log_bench(n: u64, k: usize, limit: Option<f64>) {
    let tmp = scratch();
    let db = tmp.path().join("db");
    let rocks = Arc::new(RocksStore::create(&db).expect("create"));
    let store: Arc<dyn LogStore> = rocks;
    let signer =
        NoteSigner::new("bench.example/log", SigningKey::from_bytes(&[1; 32])).expect("signer");
    let vkey = signer.verifier_key();
    let mut log = Appender::new(&signer);
    let (start, cpu0) = (Instant::now(), cpu_secs());
    // Windows of n/100 entries (10^6 for a 10^8 run; does the rate degrade as the log grows?).
    let window_len = (n / 100).clamp(BATCH, 10_000_000);
    let (mut w_start, mut w_cpu, mut w_from) = (Instant::now(), cpu_secs(), 0u64);
    let target = n;
    let mut size_checks = 0u64;
    while log.edge.size().0 < target {
        if limit.is_some_and(|l| start.elapsed().as_secs_f64() > l) {
            println!(
                "log: STOPPED at {} entries of the {target} asked for: the append phase ran past its limit of {:.0} s; the figures below are at this size",
                log.edge.size().0,
                limit.unwrap_or(0.0)
            );
            break;
        }
        if size_checks.is_multiple_of(64) {
            let free = store.available_bytes().ok().flatten().unwrap_or(u64::MAX);
            if free < min_free_bytes() {
                println!(
                    "log: STOPPED at {} entries of the {target} asked for: {:.1} GiB free on the store's disk, below the floor of {} GiB (SCALE_MIN_FREE_GIB); the figures below are at this size",
                    log.edge.size().0,
                    free as f64 / (1u64 << 30) as f64,
                    min_free_bytes() >> 30
                );
                break;
            }
        }
        size_checks += 1;
        let size0 = log.edge.size().0;
        let count = BATCH.min(target - size0);
        let batch: Vec<Vec<u8>> = (size0..size0 + count)
            .map(|i| log_entry(i).to_vec())
            .collect();
        log.append(&*store, &signer, &batch);
        let size = log.edge.size().0;
        if size - w_from >= window_len || size == target {
            println!(
                "log: append {:>11} entries, last window {:.0} entries/s ({:.0} per CPU-second), {:.0} MiB on disk",
                size,
                (size - w_from) as f64 / w_start.elapsed().as_secs_f64(),
                (size - w_from) as f64 / (cpu_secs() - w_cpu),
                dir_bytes(&db).1 as f64 / MIB
            );
            (w_start, w_cpu, w_from) = (Instant::now(), cpu_secs(), size);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    let n = log.edge.size().0;
    println!(
        "log: {n} pre-validated entries of {ENTRY_LEN} bytes appended durably in batches of {BATCH} (2 synced writes, one consistency check and one signature per batch): {secs:.1} s wall, {cpu:.1} s CPU, {:.0} entries/s, {:.0} entries per CPU-second; on disk: {}",
        n as f64 / secs,
        n as f64 / cpu,
        disk(&db, n, "entry")
    );
    println!("log: peak RSS after the appends {:.0} MiB", peak_rss_mib());

    let size = TreeSize(n);
    let signed = log::checkpoint_note_at(&*store, size)
        .expect("read")
        .expect("checkpoint");
    let head = Checkpoint::verify(&signed, &vkey).expect("verifies");
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);

    // Random full tiles of every level, each verified: its hashes' subtree root is the parent
    // tile's hash at its position (the top level's: a hash of the tree), and a level-0 tile is the
    // leaf hashes of its entry bundle.
    let hashes = CachedHashes::new(store.clone());
    let mut levels = Vec::new();
    let mut level = 0u8;
    while n >> (8 * (u32::from(level) + 1)) > 0 {
        levels.push(level);
        level += 1;
    }
    let k_tiles = k.min(20_000);
    for &level in &levels {
        let full = n >> (8 * (u32::from(level) + 1));
        let (t, c) = (Instant::now(), cpu_secs());
        let mut bytes_read = 0usize;
        let mut read_s = 0.0;
        for _ in 0..k_tiles {
            let tn = rng.gen_range(0..full);
            let id = TileId::new(level, tn, 256).expect("tile");
            let r = Instant::now();
            let data = log::hash_tile(&*store, size, id).expect("tile");
            let bundle = (level == 0).then(|| {
                log::entry_bundle(&*store, size, EntryBundleId::new(tn, 256).expect("id"))
                    .expect("bundle")
            });
            read_s += r.elapsed().as_secs_f64();
            bytes_read += data.len() + bundle.as_ref().map_or(0, Vec::len);
            let tile: Vec<Digest> = data
                .chunks_exact(32)
                .map(|c| Digest::from_slice(c).expect("32"))
                .collect();
            if let Some(bundle) = &bundle {
                let entries = ledger::tile::decode_entry_bundle(bundle).expect("bundle");
                assert_eq!(entries.len(), 256);
                for (e, h) in entries.iter().zip(&tile) {
                    assert_eq!(leaf_hash(e), *h, "level-0 tile = the bundle's leaf hashes");
                }
            }
            let sub = ledger::merkle::root::<Sha256Log>(&tile);
            // The node of level 8(level+1) at index tn, as the tree (and the parent tile) has it.
            let parent_level = 8 * (u32::from(level) + 1);
            let node = ledger::tree::stored_hash_index(parent_level as u8, tn);
            let want = ledger::tree::HashReader::read_hashes(&hashes, &[node]).expect("node");
            assert_eq!(
                sub,
                want[0],
                "tile {} does not hash to its parent",
                id.path()
            );
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "log: {k_tiles} random full level-{level} tiles{} of {full} read from the store and verified: {:.0} tiles/s ({:.0} per CPU-second; {:.0}/s counting the reads alone), {:.0} bytes each",
            if level == 0 { " with their entry bundles" } else { "" },
            k_tiles as f64 / s,
            k_tiles as f64 / (cpu_secs() - c),
            k_tiles as f64 / read_s,
            bytes_read as f64 / k_tiles as f64
        );
    }

    // Inclusion proofs at the final size, verified against the signed checkpoint.
    let idx: Vec<u64> = (0..k).map(|_| rng.gen_range(0..n)).collect();
    let (t, c) = (Instant::now(), cpu_secs());
    let proofs: Vec<Vec<Digest>> = idx
        .iter()
        .map(|&i| ledger::tree::inclusion_proof(size, LeafIndex(i), &hashes).expect("proof"))
        .collect();
    let (gs, gc) = (t.elapsed().as_secs_f64(), cpu_secs() - c);
    let (t, c) = (Instant::now(), cpu_secs());
    for (&i, p) in idx.iter().zip(&proofs) {
        let e = log::entry(&*store, LeafIndex(i))
            .expect("read")
            .expect("entry");
        ledger::merkle::verify_inclusion::<Sha256Log>(
            &leaf_hash(&e),
            LeafIndex(i),
            size,
            p,
            &head.root,
        )
        .expect("verifies");
    }
    let (vs, vc) = (t.elapsed().as_secs_f64(), cpu_secs() - c);
    println!(
        "log: {k} inclusion proofs at size {n}, one thread, upper-level cache: {:.0} proofs/s ({:.0} per CPU-second); verified (entry read + leaf hash + path): {:.0}/s ({:.0} per CPU-second); {} hashes, {} bytes each",
        k as f64 / gs,
        k as f64 / gc,
        k as f64 / vs,
        k as f64 / vc,
        proofs[0].len(),
        proofs[0].len() * 32
    );

    // Consistency proofs from a random earlier signed checkpoint to the final one.
    let olds: Vec<(TreeSize, Digest)> = (0..k.min(20_000))
        .map(|_| {
            let batches = n.div_ceil(BATCH);
            let b = rng.gen_range(1..batches.max(2));
            let old = TreeSize((b * BATCH).min(n));
            let note = log::checkpoint_note_at(&*store, old)
                .expect("read")
                .expect("checkpoint");
            let cp = Checkpoint::verify(&note, &vkey).expect("verifies");
            (cp.size, cp.root)
        })
        .collect();
    let kc = olds.len();
    let (t, c) = (Instant::now(), cpu_secs());
    let proofs: Vec<Vec<Digest>> = olds
        .iter()
        .map(|(old, _)| ledger::tree::consistency_proof(*old, size, &hashes).expect("proof"))
        .collect();
    let (gs, gc) = (t.elapsed().as_secs_f64(), cpu_secs() - c);
    let (t, c) = (Instant::now(), cpu_secs());
    for ((old, root), p) in olds.iter().zip(&proofs) {
        ledger::merkle::verify_consistency::<Sha256Log>(*old, size, root, &head.root, p)
            .expect("verifies");
    }
    let (vs, vc) = (t.elapsed().as_secs_f64(), cpu_secs() - c);
    let mean = proofs.iter().map(Vec::len).sum::<usize>() as f64 / kc as f64;
    println!(
        "log: {kc} consistency proofs (from a random signed checkpoint) at size {n}: {:.0} proofs/s ({:.0} per CPU-second); verified: {:.0}/s ({:.0} per CPU-second); mean {mean:.1} hashes",
        kc as f64 / gs,
        kc as f64 / gc,
        kc as f64 / vs,
        kc as f64 / vc,
    );

    // The checkpoint of the final size: the root from the store's hashes, signed.
    let (t, c) = (Instant::now(), cpu_secs());
    let reps = 1000;
    for _ in 0..reps {
        let root = log::tree_hash(&*store, size).expect("root");
        assert_eq!(root, head.root);
        let cp = Checkpoint {
            origin: signer.name().into(),
            size,
            root,
        };
        cp.sign(&signer).expect("sign");
    }
    println!(
        "log: checkpoint at size {n} (root from the stored hashes, uncached, then Ed25519-signed): {:.0}/s ({:.0} per CPU-second), {:.3} ms each",
        reps as f64 / t.elapsed().as_secs_f64(),
        reps as f64 / (cpu_secs() - c),
        t.elapsed().as_secs_f64() * 1e3 / reps as f64
    );
    drop(hashes);
    drop(store);
    println!(
        "log: on disk after closing the store: {}",
        disk(&db, n, "entry")
    );
    finish(tmp);
}
