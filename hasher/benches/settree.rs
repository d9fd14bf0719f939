//! A sorted set's root from 72-byte leaves in memory: the verifier's streaming builder (one
//! thread: `StreamingRoot` over `Blake3Set::leaf_hash`, what the manifest writer and the store
//! do) against [`hasher::settree::set_root`] (chunks of 4,096 leaves on every core), best of
//! three runs each, roots compared.
//!
//! `cargo bench -p hasher --bench settree -- [LEAVES]` (default 10^7; 720 MB of leaves).

use std::time::{Duration, Instant};

use ledger::{Blake3Set, StreamingRoot, TreeHasher};

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut out = None;
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.expect("at least one run"))
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let mut bytes = vec![0u8; n * 72];
    for (i, leaf) in bytes.chunks_mut(72).enumerate() {
        let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for b in leaf[8..].chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
        }
        leaf[..8].copy_from_slice(&(i as u64).to_be_bytes());
    }
    let (t_serial, r_serial) = best(3, || {
        let mut s = StreamingRoot::<Blake3Set>::new();
        for leaf in bytes.chunks_exact(72) {
            s.push(Blake3Set::leaf_hash(leaf));
        }
        s.root()
    });
    let (t_par, r_par) = best(3, || hasher::settree::set_root(&bytes, None));
    assert_eq!(r_serial, r_par, "roots differ");
    let threads = rayon::current_num_threads();
    println!("set_leaves: {n}");
    println!("root: {r_par}");
    println!(
        "verifier_streaming_1_thread_s: {:.3}  ({:.2} M leaves/s)",
        t_serial.as_secs_f64(),
        n as f64 / t_serial.as_secs_f64() / 1e6
    );
    println!(
        "settree_parallel_{threads}_threads_s: {:.3}  ({:.2} M leaves/s)",
        t_par.as_secs_f64(),
        n as f64 / t_par.as_secs_f64() / 1e6
    );
    println!(
        "speedup: {:.2}",
        t_serial.as_secs_f64() / t_par.as_secs_f64()
    );
}
