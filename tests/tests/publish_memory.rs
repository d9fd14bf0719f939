//! Publishing a large stored set takes bounded memory (api/src/publish/stream.rs): the set's
//! leaves object (200 MB here) is streamed from the store to the bucket, never built whole. The
//! old publisher built each tree object in memory before its put, so its resident memory grew by
//! the object's size. Alone in its file: the test samples this process's resident memory.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use api::publish::{self, Tree, Written};
use ledger::ledger::Ledger;
use ledger::sequencer::SequencerConfig;
use ledger::set::{SetLeaf, SetRootBuilder};
use ledger::{ContentId, Digest};

/// 2,800,000 leaves × 72 bytes = 201.6 MB.
const LEAVES: u64 = 2_800_000;

fn leaf(i: u64) -> SetLeaf {
    let mut cid = [0u8; 32];
    cid[..8].copy_from_slice(&i.to_be_bytes());
    SetLeaf {
        cid: ContentId(cid),
        size: i,
        meta: Digest::default(),
    }
}

/// This process's resident memory now, in bytes (Linux; 0 elsewhere).
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_a_200_mb_set_grows_memory_by_far_less_than_the_set() {
    if !std::path::Path::new("/proc/self/statm").exists() {
        eprintln!("skipped: no /proc/self/statm to sample memory from");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::create(
        &dir.path().join("ledger"),
        "memory.example/log",
        SequencerConfig::default(),
    )
    .unwrap();
    let mut b = SetRootBuilder::new();
    for i in 0..LEAVES {
        b.push(&leaf(i)).unwrap();
    }
    let root = b.root();
    let mut w = l.set_writer();
    let mut buf = Vec::with_capacity(65_536 * SetLeaf::LEN);
    for i in 0..LEAVES {
        buf.extend_from_slice(&leaf(i).to_bytes());
        if buf.len() == buf.capacity() {
            w.push_bytes(&buf).unwrap();
            buf.clear();
        }
    }
    w.push_bytes(&buf).unwrap();
    drop(buf);
    w.commit(&root).unwrap();

    let url = format!("file://{}", dir.path().join("mirror").display());
    let t = publish::open(&url, &[]).unwrap();
    let before = rss();
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let written = publish::publish_tree(&l, &t, Tree::Set(root))
        .await
        .unwrap();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].1, Written::Created);
    let size = std::fs::metadata(
        dir.path()
            .join("mirror/sets")
            .join(format!("{}.leaves", root.to_hex())),
    )
    .unwrap()
    .len();
    assert_eq!(size, LEAVES * SetLeaf::LEN as u64);
    let grew = peak.load(Ordering::Relaxed).saturating_sub(before);
    eprintln!(
        "published {size} bytes; resident memory grew by at most {} MiB",
        grew >> 20
    );
    // Streaming holds a few MiB of chunks and parts (docs/publishing.md: ~30 MiB), plus what
    // RocksDB caches while reading; whole, the object alone would be 192 MiB.
    assert!(
        grew < 96 << 20,
        "memory grew by {} MiB publishing a {} MiB object",
        grew >> 20,
        size >> 20
    );
}
