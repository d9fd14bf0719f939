//! Set ingest (`ledger::store::sets::SetWriter` into an in-memory store) with its full 256-leaf
//! records hashed on the request thread (`cpu`, what `--set-hasher cpu` does) against handed to
//! the GPU backend 1,024 records a call (`device`, `--set-hasher gpu`:
//! `hasher::records::BackendRecordRoots`), alternating, on the same leaves; prints the median
//! wall and CPU time (user + system, the whole process) of each and checks that both stored the
//! same root. `bench/set_ingest.sh` runs it.
//!
//! `cargo run --release -p hasher --features gpu --example set_ingest -- [LEAVES] [RUNS]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use hasher::backend::{select, BackendChoice};
use hasher::records::BackendRecordRoots;
use ledger::store::sets::SetStore;
use ledger::store::{LogStore, MemoryStore};
use ledger::{ContentId, Digest};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().map_or(Ok(1 << 20), |a| a.parse())?;
    let runs: usize = args.next().map_or(Ok(5), |a| a.parse())?;
    let mut cids: Vec<ContentId> = (0..n).map(|i| ContentId::of(&i.to_le_bytes())).collect();
    cids.sort();
    let mut leaves = Vec::with_capacity(n as usize * 72);
    for (i, c) in cids.iter().enumerate() {
        leaves.extend_from_slice(&c.0);
        leaves.extend_from_slice(&(i as u64).to_be_bytes());
        leaves.extend_from_slice(&[0u8; 32]);
    }
    let root = hasher::settree::set_root(&leaves, None);
    let gpu = select(BackendChoice::Gpu, None)?;
    println!(
        "set ingest of {n} leaves ({} MiB), {runs} runs each, alternating; device: {}",
        leaves.len() >> 20,
        gpu.device().unwrap_or_default()
    );
    let (mut cpu_runs, mut dev_runs) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        cpu_runs.push(ingest(&leaves, &root, None)?);
        let device = Arc::new(BackendRecordRoots::new(gpu.clone()));
        dev_runs.push(ingest(&leaves, &root, Some(device))?);
    }
    for (name, mut r) in [("cpu (request thread)", cpu_runs), ("device", dev_runs)] {
        r.sort();
        let (wall, cpu) = r[r.len() / 2];
        println!(
            "{name:>22}: wall {:>8.1} ms  cpu {:>8.1} ms  ({:.2} M leaves/s)",
            wall.as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e3,
            n as f64 / wall.as_secs_f64() / 1e6
        );
    }
    Ok(())
}

/// One upload of `leaves` into a fresh in-memory store, committed against `root`: its wall
/// time and the process's CPU time.
fn ingest(
    leaves: &[u8],
    root: &Digest,
    device: Option<Arc<BackendRecordRoots>>,
) -> Result<(Duration, Duration), Error> {
    let store = SetStore::open(Arc::new(MemoryStore::new()) as Arc<dyn LogStore>)?;
    let on_device = device.is_some();
    if let Some(d) = device {
        store.set_record_roots(d);
    }
    let (t0, c0) = (Instant::now(), cpu_time());
    let mut w = store.writer();
    for piece in leaves.chunks(1 << 20) {
        w.push_bytes(piece)?;
    }
    w.commit(root)?;
    let times = (t0.elapsed(), cpu_time().saturating_sub(c0));
    let stats = store.ingest_stats();
    let full = (leaves.len() / 72 / 256 * 256) as u64;
    let want = if on_device { (full, 0) } else { (0, full) };
    if (stats.device_leaves, stats.cpu_leaves) != want {
        return Err(format!("hashed where? {stats:?}").into());
    }
    Ok(times)
}

/// User + system time of this process so far (Linux: `/proc/self/stat`, in clock ticks of
/// 10 ms); zero elsewhere.
fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or(vec![], |(_, rest)| rest.split(' ').collect());
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((tick(11) + tick(12)) * 10)
}
