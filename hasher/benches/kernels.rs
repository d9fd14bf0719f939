//! The kernels a `prov hash` run is made of, each alone on generated in-memory data (no files, no
//! network), so that a slow corpus run can be blamed on one of them. `bench/hash.sh` times whole
//! runs against `b3sum`; this times the parts.
//!
//! `cargo bench -p hasher --bench kernels -- --warm-up-time 1 --measurement-time 3`
//! (about two minutes on 2 cores; add a group name, e.g. `-- jsonl`, to run one group).
//!
//! - `blake3`: `blake3::hash` of one 16 MiB buffer on one thread (what `b3sum` gets per core);
//!   `CpuHasher::hash_batch` with 1 thread and with the default pool (one thread per core) over
//!   ~16 MiB batches of 1, 4 and 16 KiB items; `CpuHasher::hash_large` of 64 MiB, default pool.
//! - `jsonl`: `text::extract` of the `text` field from 4096 web-text-like JSON Lines records
//!   (200 B to 8 KiB of words, half of them with `\n`, `\"` and `\u00e9` escapes, which make the
//!   item an owned copy), without and with one metadata mapping (`source` = `url`); each also
//!   through `text::extract_full` (`serde_json` alone, without the scanner). One thread.
//! - `lines`: `text::BlockReader` (4 MiB blocks, one reused buffer) over a 64 MiB in-memory JSON
//!   Lines buffer, alone and with `text::lines` walked over every block. One thread.
//! - `zstd`: decompressing 32 MiB of the same JSON Lines (compressed at level 3) into a sink:
//!   the floor that any run over a `.zst` corpus is bound by, since one file decompresses on one
//!   thread. The compression ratio of the generated text is printed; real web text is ~3-4x.
//! - `sorter`: pushing 1M entries (random content ids, no metadata) into a `Sorter` with a 256 MiB
//!   budget (so nothing spills) and draining every group. One thread.
//!
//! Throughput is printed in bytes/s of input (for `zstd`, of decompressed output; for `jsonl`, of
//! whole records, not of the extracted text) except for `sorter`, in elements/s: entries sorted
//! and grouped per second.

use std::io;

use criterion::{
    black_box, criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use hasher::sorter::{Entry, Sorter};
use hasher::{text, ContentHasher, CpuHasher};

const MIB: usize = 1 << 20;

/// SplitMix64: a tiny deterministic generator, so every run measures the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` (near enough for test data).
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo) as u64) as usize
    }
}

/// `len` pseudo-random bytes (BLAKE3's extendable output: fast and deterministic).
fn random_bytes(len: usize, seed: u8) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    blake3::Hasher::new()
        .update(&[seed])
        .finalize_xof()
        .fill(&mut buf);
    buf
}

/// A vocabulary of 4096 lower-case words, 2 to 11 letters.
fn vocabulary(rng: &mut Rng) -> Vec<String> {
    (0..4096)
        .map(|_| {
            let len = rng.range(2, 12);
            (0..len)
                .map(|_| char::from(b'a' + rng.range(0, 26) as u8))
                .collect()
        })
        .collect()
}

/// One JSON Lines record, newline included: `{"id":N,"url":"https://example.org/N","text":"…"}`
/// with 200 B to 8 KiB of words. Word choice is skewed towards the start of the vocabulary (the
/// product of two uniforms), roughly as word frequencies are in real text.
fn record(rng: &mut Rng, vocab: &[String], id: usize) -> String {
    let target = rng.range(200, 8 << 10);
    let escapes = id % 2 == 1;
    let mut text = String::with_capacity(target + 16);
    while text.len() < target {
        let w = (rng.range(0, 4096) * rng.range(0, 4096)) / 4096;
        text.push_str(&vocab[w]);
        match rng.range(0, 40) {
            0 if escapes => text.push_str(".\\n\\n"),
            1 if escapes => text.push_str(" caf\\u00e9 "),
            2 if escapes => text.push_str(" \\\"quoted\\\" "),
            3 => text.push_str(". "),
            4 => text.push_str(", "),
            _ => text.push(' '),
        }
    }
    format!("{{\"id\":{id},\"url\":\"https://example.org/{id}\",\"text\":\"{text}\"}}\n")
}

/// Whole records up to at least `len` bytes.
fn jsonl(len: usize) -> Vec<u8> {
    let mut rng = Rng(42);
    let vocab = vocabulary(&mut rng);
    let mut out = Vec::with_capacity(len + (16 << 10));
    let mut id = 0;
    while out.len() < len {
        out.extend_from_slice(record(&mut rng, &vocab, id).as_bytes());
        id += 1;
    }
    out
}

fn bench_blake3(c: &mut Criterion) {
    let buf = random_bytes(64 * MIB, 1);
    let mut g = c.benchmark_group("blake3");
    g.sample_size(10);

    let one = &buf[..16 * MIB];
    g.throughput(Throughput::Bytes(one.len() as u64));
    g.bench_function("blake3_hash_1_thread/16MiB", |b| {
        b.iter(|| blake3::hash(black_box(one)))
    });

    let single = CpuHasher::new(Some(1)).expect("a 1-thread pool starts");
    let pool = CpuHasher::new(None).expect("the default pool starts");
    let default_name = format!("cpu_{}_threads", pool.threads());
    for item in [1 << 10, 4 << 10, 16 << 10] {
        let items: Vec<&[u8]> = one.chunks_exact(item).collect();
        let mut out = vec![[0u8; 32]; items.len()];
        g.throughput(Throughput::Bytes((items.len() * item) as u64));
        for (name, hasher) in [("cpu_1_thread", &single), (default_name.as_str(), &pool)] {
            let id = BenchmarkId::new(
                format!("hash_batch/{name}"),
                format!("{}KiB_items", item >> 10),
            );
            g.bench_function(id, |b| {
                b.iter(|| {
                    hasher
                        .hash_batch(black_box(&items), &mut out)
                        .expect("outputs match items");
                    black_box(&out);
                })
            });
        }
    }

    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_function(format!("hash_large/{default_name}/64MiB"), |b| {
        b.iter(|| {
            pool.hash_large(black_box(&buf))
                .expect("cpu hashing cannot fail")
        })
    });
    g.finish();
}

fn bench_jsonl(c: &mut Criterion) {
    let mut rng = Rng(7);
    let vocab = vocabulary(&mut rng);
    let records: Vec<String> = (0..4096).map(|i| record(&mut rng, &vocab, i)).collect();
    // `extract` gets lines without their terminator, as `text::lines` hands them over.
    let lines: Vec<&[u8]> = records
        .iter()
        .map(|r| r.trim_end_matches('\n').as_bytes())
        .collect();
    let bytes: usize = lines.iter().map(|l| l.len()).sum();
    let none: Vec<hasher::MetaField> = Vec::new();
    let source = hasher::MetaSpec::parse(hasher::MetaMode::Full, &["source=url".into()], &[])
        .expect("a valid mapping")
        .fields;

    let mut g = c.benchmark_group("jsonl");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));
    for (name, meta) in [
        ("extract_text", &none),
        ("extract_text+meta_source=url", &source),
    ] {
        g.bench_function(format!("{name}/4096_records"), |b| {
            b.iter(|| {
                let mut n = 0usize;
                for line in &lines {
                    let x = text::extract(black_box(line), "text", meta)
                        .expect("generated records are valid")
                        .expect("no blank lines");
                    n += x.text.len() + x.meta.len();
                }
                n
            })
        });
        // The same through `serde_json` alone: what the scanner replaced (issue 15).
        g.bench_function(format!("{name}_serde_json/4096_records"), |b| {
            b.iter(|| {
                let mut n = 0usize;
                for line in &lines {
                    let x = text::extract_full(black_box(line), "text", meta)
                        .expect("generated records are valid");
                    n += x.text.len() + x.meta.len();
                }
                n
            })
        });
    }
    g.finish();
}

fn bench_lines(c: &mut Criterion) {
    let data = jsonl(64 * MIB);
    let mut g = c.benchmark_group("lines");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("blocks_4MiB/64MiB", |b| {
        let mut buf = Vec::new();
        b.iter(|| {
            let mut reader = text::BlockReader::new(black_box(&data[..]), 4 * MIB);
            let mut n = 0usize;
            loop {
                let block = reader.next_block(&mut buf);
                n += block.len;
                if block.end {
                    break n;
                }
            }
        })
    });
    g.bench_function("blocks_4MiB+lines/64MiB", |b| {
        let mut buf = Vec::new();
        b.iter(|| {
            let mut reader = text::BlockReader::new(black_box(&data[..]), 4 * MIB);
            let mut n = 0usize;
            loop {
                let block = reader.next_block(&mut buf);
                for line in text::lines(&buf[..block.len]) {
                    n += black_box(line).len();
                }
                if block.end {
                    break n;
                }
            }
        })
    });
    g.finish();
}

fn bench_zstd(c: &mut Criterion) {
    let data = jsonl(32 * MIB);
    let compressed = zstd::stream::encode_all(&data[..], 3).expect("compressing memory");
    eprintln!(
        "zstd: {} MiB of JSON Lines compress to {:.1} MiB at level 3 ({:.2}x)",
        data.len() / MIB,
        compressed.len() as f64 / MIB as f64,
        data.len() as f64 / compressed.len() as f64
    );
    let mut g = c.benchmark_group("zstd");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat); // ~50 ms an iteration on 2 cores
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("decompress_level3/32MiB", |b| {
        b.iter(|| {
            // As `text::open_text` reads a .zst file: `with_buffer` over a buffered reader.
            let mut d = zstd::stream::read::Decoder::with_buffer(black_box(&compressed[..]))
                .expect("a decoder starts");
            io::copy(&mut d, &mut io::sink()).expect("the stream is valid")
        })
    });
    g.finish();
}

fn bench_sorter(c: &mut Criterion) {
    const N: usize = 1_000_000;
    const BUDGET: usize = 256 * MIB;
    let cids: Vec<[u8; 32]> = (0..N as u64)
        .map(|i| *blake3::hash(&i.to_le_bytes()).as_bytes())
        .collect();
    let fill = |cids: &[[u8; 32]]| {
        let mut s = Sorter::new(BUDGET, None);
        for (i, cid) in cids.iter().enumerate() {
            s.push(Entry {
                cid: *cid,
                size: i as u64,
                meta: Vec::new(),
            })
            .expect("in memory: no spill to fail");
        }
        s
    };
    assert_eq!(fill(&cids).runs_spilled(), 0, "the budget holds 1M entries");

    let mut g = c.benchmark_group("sorter");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat); // ~0.2 s an iteration
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("push_and_drain_in_memory/1M", |b| {
        b.iter(|| {
            let mut groups = fill(black_box(&cids)).finish().expect("in memory");
            let mut n = 0usize;
            while let Some(gr) = groups.next_group().expect("in memory") {
                n += gr.metas.len();
            }
            assert_eq!(n, N);
            n
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_blake3,
    bench_jsonl,
    bench_lines,
    bench_zstd,
    bench_sorter
);
criterion_main!(benches);
