//! The source tree of 10^7 items (issue 13: built in < 15 s): real-looking URLs (200,000 hosts
//! under a dozen TLDs, `www.`/subdomains, paths with slugs and queries), each item's source key
//! computed (`source_key`, in parallel, as the hasher's workers do), the leaves pushed through
//! the external sort with the default `prov hash --memory 256` share (a third: spilled runs),
//! merged and streamed into the range-tree root. Prints `name: value` lines.
//!
//!   cargo bench -p hasher --bench sources                 # 10^7 items
//!   ITEMS=1000000 cargo bench -p hasher --bench sources   # quick
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark binary

use std::time::Instant;

use hasher::SourceTreeBuilder;
use rayon::prelude::*;
use verifier::source::source_key;

fn main() {
    let items: u64 = std::env::var("ITEMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let budget: usize = (256 << 20) / 3;
    let tlds = [
        "com", "org", "net", "co.uk", "de", "fr", "io", "info", "edu", "com.au", "jp", "nl",
    ];
    let subs = ["", "www.", "blog.", "news.", "shop.", "en.", "m."];
    let words = [
        "garden", "recipe", "market", "council", "school", "music", "travel", "weather", "league",
        "software", "review", "guide", "history", "local", "team", "price", "home", "health",
    ];
    let x = |i: u64, k: u64| {
        (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ k).wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 17
    };
    let gen_url = |i: u64| {
        let h = x(i, 1) % 200_000;
        let host = format!(
            "{}site{h}.{}",
            subs[(x(h, 2) % subs.len() as u64) as usize],
            tlds[(x(h, 3) % tlds.len() as u64) as usize]
        );
        let slug: Vec<&str> = (0..2 + x(i, 4) % 5)
            .map(|k| words[(x(i, 5 + k) % words.len() as u64) as usize])
            .collect();
        let q = if x(i, 9) % 5 == 0 {
            format!("?id={}", x(i, 10) % 10_000)
        } else {
            String::new()
        };
        let url = format!(
            "https://{host}/{}/{}/{q}",
            2005 + x(i, 11) % 20,
            slug.join("-")
        );
        // One in 20 items shares its text (and so its id) with another item.
        let cid_seed = if i % 20 == 19 { i - 7 } else { i };
        (url, *blake3::hash(&cid_seed.to_le_bytes()).as_bytes())
    };
    println!("items: {items}");
    println!("threads: {}", rayon::current_num_threads());
    println!("example_url: {}", gen_url(0).0);
    // Generated a million at a time (not counted); keys computed in parallel, then pushed.
    let (mut gen, mut key_secs, mut push_secs) = (0.0, 0.0, 0.0);
    let mut b = SourceTreeBuilder::new(budget, None);
    let chunk = 1_000_000u64;
    for start in (0..items).step_by(chunk as usize) {
        let t0 = Instant::now();
        let urls: Vec<(String, [u8; 32])> = (start..(start + chunk).min(items))
            .into_par_iter()
            .map(gen_url)
            .collect();
        gen += t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let keys: Vec<_> = urls.par_iter().map(|(u, _)| source_key(u)).collect();
        key_secs += t1.elapsed().as_secs_f64();
        let t2 = Instant::now();
        for (k, (_, cid)) in keys.iter().zip(&urls) {
            b.push(k, cid).unwrap();
        }
        push_secs += t2.elapsed().as_secs_f64();
    }
    println!("generate.seconds: {gen:.2} (not counted)");
    let runs = b.runs_spilled();
    let t3 = Instant::now();
    let tree = b.finish().unwrap();
    let finish_secs = t3.elapsed().as_secs_f64();
    let total = key_secs + push_secs + finish_secs;
    println!("source_key.seconds: {key_secs:.2}");
    println!(
        "push.seconds: {push_secs:.2} (runs spilled: {runs}, budget {} MiB)",
        budget >> 20
    );
    println!("merge_and_root.seconds: {finish_secs:.2}");
    println!("total.seconds: {total:.2}   (goal < 15)");
    println!("tree: root {} size {}", tree.root, tree.size);
}
