//! Storage benchmarks on a RocksDB ledger in a temporary directory, printing figures (run by
//! `bench/store.sh`, which also reports peak memory). Each figure is measured, never asserted:
//!
//! - `append`: durable append of pre-validated 500-byte entries in batches (entries, tree hashes,
//!   replay index, tree size in one synced write per batch, then a signed checkpoint, synced);
//! - `submit`: the whole write path through `Ledger::submit_with` from many writers, signature
//!   and all other validation included;
//! - `latency`: submit to covering checkpoint at a steady 1,000 entries/s (p50, p99, max);
//! - `proofs`: inclusion and consistency proofs generated from the store;
//! - `sets <n>`: ingest of a set of `n` leaves (default 10M), streamed, root checked.
//!
//! `cargo bench -p ledger --features rocksdb --bench store [-- <name> [n]]`.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use ledger::entry::{CorpusMode, DatasetVersion, Entry, EntryBody, Name, Publisher};
use ledger::ledger::Ledger;
use ledger::note::NoteSigner;
use ledger::sequencer::{stage_append, SequencerConfig};
use ledger::set::{SetLeaf, SetRootBuilder};
use ledger::store::{Column, Durability, LogStore, RocksStore, WriteBatch};
use ledger::tree::RightEdge;
use ledger::types::{ContentId, Digest, LeafIndex, TreeSize};
use rand::{Rng as _, SeedableRng as _};

mod common;
use common::{cpu_secs, Appender};

fn name(s: &str) -> Name {
    Name::new(s).expect("valid name")
}

/// The log the benchmark's entries are bound to.
const LOG: &str = "bench.example/log";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The manifest every benchmark version names (a version must name a stored set): stored in
/// `l`, its root and size.
fn manifest(l: &Ledger) -> (Digest, u64) {
    let mut w = l.set_writer();
    for i in 0..4 {
        w.push(&set_leaf(i)).expect("push");
    }
    let leaves: Vec<SetLeaf> = (0..4).map(set_leaf).collect();
    let root = ledger::set::SortedSet::new(leaves).expect("sorted").root();
    let info = w.commit(&root).expect("commit");
    (info.root, info.size.0)
}

/// `n` signed `dataset_version` entries of about 500 bytes naming `manifest` (root, size), and
/// the publisher entry before them.
fn entries(n: usize, key: &SigningKey, manifest: (Digest, u64)) -> (Vec<u8>, Vec<Vec<u8>>) {
    let publisher = EntryBody::Publisher(Publisher {
        name: name("bench"),
        key: key.verifying_key(),
    });
    let time = now();
    let p = Entry::sign(LOG, publisher, time, None, key).expect("sign");
    let v: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let body = EntryBody::DatasetVersion(DatasetVersion {
                publisher: name("bench"),
                dataset: name("corpus"),
                version: name(&format!("v{i}")),
                manifest_root: manifest.0,
                item_count: manifest.1,
                total_bytes: i as u64 * 1000,
                corpus_mode: CorpusMode::File,
                licence: "CC-BY-4.0 OR MIT OR Apache-2.0 OR BSD-3-Clause OR ISC OR MPL-2.0 OR LGPL-2.1-only OR EPL-2.0".into(),
                previous: None,
 sources: None,
 passages: None,
            });
            Entry::sign(LOG, body, time, None, key)
                .expect("sign")
                .as_bytes()
                .to_vec()
        })
        .collect();
    (p.as_bytes().to_vec(), v)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let which = args.first().map(String::as_str).unwrap_or("all");
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    if which == "all" || which == "append" {
        append(if n > 0 { n } else { 200_000 });
    }
    if which == "all" || which == "submit" {
        submit(if n > 0 { n } else { 60_000 });
    }
    if which == "all" || which == "latency" {
        latency(if n > 0 { n } else { 5_000 });
    }
    if which == "all" || which == "proofs" {
        proofs(if n > 0 { n } else { 100_000 });
    }
    if which == "all" || which == "sets" {
        sets(if n > 0 { n } else { 10_000_000 });
    }
    if which == "all" || which == "meta" {
        meta(if n > 0 { n } else { 1_000_000 });
    }
}

fn append(n: usize) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = RocksStore::create(&tmp.path().join("db")).expect("create");
    let signer =
        NoteSigner::new("bench.example/log", SigningKey::from_bytes(&[1; 32])).expect("signer");
    let key = SigningKey::from_bytes(&[2; 32]);
    let (_, es) = entries(n, &key, (Digest::default(), 0));
    let avg = es.iter().map(Vec::len).sum::<usize>() / es.len();
    for batch in [500usize, 4096] {
        let mut log = Appender::new(&signer);
        let start = Instant::now();
        let cpu0 = cpu_secs();
        for chunk in es.chunks(batch) {
            log.append(&store, &signer, chunk);
        }
        let secs = start.elapsed().as_secs_f64();
        let cpu = cpu_secs() - cpu0;
        println!(
            "append: {n} pre-validated entries of ~{avg} bytes, batches of {batch}: {:.0} entries/s ({secs:.2} s wall, 2 synced writes per batch); {:.0} entries per CPU-second ({cpu:.2} s CPU)",
            n as f64 / secs,
            n as f64 / cpu
        );
        // Start the next batch size on a fresh tree in the same database: new keys.
        let mut wipe = WriteBatch::new();
        for c in [
            Column::Entries,
            Column::Hashes,
            Column::Index,
            Column::Checkpoints,
        ] {
            wipe.delete_range(c, vec![0u8], vec![0xffu8; 40]);
        }
        store.write(wipe, Durability::Synced).expect("wipe");
    }
}

fn config() -> SequencerConfig {
    SequencerConfig {
        max_batch: 4096,
        max_delay: Duration::from_millis(5),
        queue: 1 << 20,
        ..SequencerConfig::default()
    }
}

fn submit(n: usize) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let l = Ledger::create(&tmp.path().join("l"), LOG, config()).expect("create");
    let key = SigningKey::from_bytes(&[2; 32]);
    let (p, es) = entries(n, &key, manifest(&l));
    l.submit(p).expect("publisher");
    let avg = es.iter().map(Vec::len).sum::<usize>() / es.len();
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    let cpu0 = cpu_secs();
    for e in es {
        let tx = tx.clone();
        l.submit_with(e, move |r| {
            let _ = tx.send(r.is_ok());
        });
    }
    let ok = (0..n).filter(|_| rx.recv().unwrap_or(false)).count();
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    assert_eq!(ok, n, "every entry accepted");
    println!(
        "submit: {n} signed entries of ~{avg} bytes, full validation (signature, canonical JSON, rules): {:.0} entries/s ({secs:.2} s wall); {:.0} entries per CPU-second ({cpu:.2} s CPU)",
        n as f64 / secs,
        n as f64 / cpu
    );
}

fn latency(n: usize) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let l = Ledger::create(&tmp.path().join("l"), LOG, config()).expect("create");
    let key = SigningKey::from_bytes(&[2; 32]);
    let (p, es) = entries(n, &key, manifest(&l));
    l.submit(p).expect("publisher");
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    for (i, e) in es.into_iter().enumerate() {
        let due = start + Duration::from_micros(1000 * i as u64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let tx = tx.clone();
        let sent = Instant::now();
        l.submit_with(e, move |r| {
            let _ = tx.send((r.is_ok(), sent.elapsed()));
        });
    }
    let mut lat: Vec<Duration> = (0..n)
        .map(|_| rx.recv().expect("reply"))
        .map(|(ok, d)| {
            assert!(ok);
            d
        })
        .collect();
    let rate = n as f64 / start.elapsed().as_secs_f64();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "latency: submit -> covering checkpoint at {rate:.0} entries/s, {n} entries: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        lat[lat.len() - 1].as_secs_f64() * 1e3
    );
}

fn proofs(n: usize) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = RocksStore::create(&tmp.path().join("db")).expect("create");
    // The tree as the sequencer stores it (`stage_append`), of 8-byte entries, unsynced.
    let mut edge = RightEdge::new();
    for chunk in (0..n as u64).collect::<Vec<_>>().chunks(8192) {
        let entries: Vec<[u8; 8]> = chunk.iter().map(|i| i.to_be_bytes()).collect();
        let staged = stage_append(&edge, entries.iter().map(|e| &e[..]), []);
        store.write(staged.wb, Durability::Deferred).expect("write");
        edge = staged.edge;
    }
    store.sync().expect("sync");
    let store: Arc<dyn LogStore> = Arc::new(store);
    let hashes = ledger::store::log::CachedHashes::new(store);
    let size = TreeSize(n as u64);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let k = 100_000;
    let (start, cpu0) = (Instant::now(), cpu_secs());
    for _ in 0..k {
        let i = LeafIndex(rng.gen_range(0..n as u64));
        ledger::tree::inclusion_proof(size, i, &hashes).expect("proof");
    }
    let incl = k as f64 / start.elapsed().as_secs_f64();
    let incl_cpu = k as f64 / (cpu_secs() - cpu0);
    let (start, cpu0) = (Instant::now(), cpu_secs());
    for _ in 0..k {
        let old = TreeSize(rng.gen_range(1..n as u64));
        ledger::tree::consistency_proof(old, size, &hashes).expect("proof");
    }
    let cons = k as f64 / start.elapsed().as_secs_f64();
    let cons_cpu = k as f64 / (cpu_secs() - cpu0);
    println!(
        "proofs: from a RocksDB store of {n} leaves, one thread, upper-level cache: {incl:.0} inclusion proofs/s ({incl_cpu:.0} per CPU-second), {cons:.0} consistency proofs/s ({cons_cpu:.0} per CPU-second)"
    );
}

/// Leaf `i` of a synthetic sorted set: the cid starts with `i` big-endian, so order is `i`.
fn set_leaf(i: u64) -> SetLeaf {
    let mut cid = *blake3::hash(&i.to_le_bytes()).as_bytes();
    cid[..8].copy_from_slice(&i.to_be_bytes());
    SetLeaf {
        cid: ContentId(cid),
        size: i,
        meta: Digest::default(),
    }
}

fn sets(n: usize) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn LogStore> =
        Arc::new(RocksStore::create(&tmp.path().join("db")).expect("create"));
    let sets = ledger::store::sets::SetStore::open(store).expect("open");
    // The claimed root, computed by a first streaming pass (not timed).
    let mut b = SetRootBuilder::new();
    for i in 0..n as u64 {
        b.push(&set_leaf(i)).expect("sorted");
    }
    let root = b.root();
    let (start, cpu0) = (Instant::now(), cpu_secs());
    let mut w = sets.writer();
    let mut buf = Vec::with_capacity(65_536 * SetLeaf::LEN);
    for i in 0..n as u64 {
        buf.extend_from_slice(&set_leaf(i).to_bytes());
        if buf.len() == buf.capacity() {
            w.push_bytes(&buf).expect("push");
            buf.clear();
        }
    }
    w.push_bytes(&buf).expect("push");
    let info = w.commit(&root).expect("commit");
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    let src = sets.source(&root).expect("source");
    let probe = set_leaf(n as u64 / 3).cid;
    let p = ledger::set::membership_proof(&src, &probe).expect("proof");
    assert!(matches!(p, ledger::set::SetMembershipProof::Included(_)));
    println!(
        "sets: ingest of {} leaves (streamed in 64K-leaf chunks, sorted check, root check, one synced commit): {secs:.2} s wall, {cpu:.2} s CPU, {:.0} leaves/s",
        info.size,
        n as f64 / secs
    );
}

/// Leaf `i` with web-text metadata (a URL on one of 10,000 hosts, a licence, a path and line).
fn meta_leaf(i: u64) -> (SetLeaf, Vec<u8>) {
    let meta = format!(
        r#"{{"sources":[{{"license":"CC-BY-4.0","line":{i},"path":"c4/part-{:05}.jsonl","source":"https://www.site{}.example/articles/{i}"}}]}}"#,
        i / 100_000,
        i % 10_000
    )
    .into_bytes();
    let mut leaf = set_leaf(i);
    leaf.meta = Digest(*blake3::hash(&meta).as_bytes());
    (leaf, meta)
}

/// A manifest upload with metadata: leaves, metadata checked against each leaf and stored, the
/// source tree derived at commit (scratch sorted by RocksDB, then streamed), statistics.
fn meta(n: usize) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn LogStore> =
        Arc::new(RocksStore::create(&tmp.path().join("db")).expect("create"));
    let sets = ledger::store::sets::SetStore::open(store).expect("open");
    let mut b = SetRootBuilder::new();
    for i in 0..n as u64 {
        b.push(&meta_leaf(i).0).expect("sorted");
    }
    let root = b.root();
    let (start, cpu0) = (Instant::now(), cpu_secs());
    let mut w = sets.writer();
    for i in 0..n as u64 {
        let (leaf, meta) = meta_leaf(i);
        w.push_with_meta(&leaf, &meta).expect("push");
    }
    let pushed = start.elapsed().as_secs_f64();
    let info = w.commit(&root).expect("commit");
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    let (_, _, size) = sets.source_tree(&root).expect("read").expect("source tree");
    println!(
        "meta: ingest of {} leaves with metadata ({:.0} s streaming, {:.2} s commit: source tree of {size} leaves and statistics): {secs:.2} s wall, {cpu:.2} s CPU, {:.0} leaves/s",
        info.size.0,
        pushed,
        secs - pushed,
        n as f64 / secs
    );
}
