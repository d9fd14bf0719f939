//! Passage extraction and hashing (normalise, cut, BLAKE3 of every passage) in MB/s of input
//! text on one core; goal >= 100 MB/s on web text (issue 14). Three inputs of ~8 MB, built here
//! deterministically: web-like English (mostly ASCII, 1-2 % typographic quotes, dashes and
//! accented letters, paragraphs of single and double line breaks), mixed European text (a third
//! of the words accented), and Chinese (no spaces).
//!
//! Each input is measured twice: wall clock, and (`..._cpu`) the CPU time of the benchmark thread
//! (Linux `/proc/thread-self/schedstat`, nanoseconds on the CPU), which is the per-core figure
//! on a machine shared with other work.
//!
//! `cargo bench -p verifier --bench passages -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use verifier::passage::{normalise, passages};

const SIZE: usize = 8 << 20;

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
}

const EN: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "information",
    "website",
    "products",
    "government",
    "community",
    "development",
    "experience",
    "well-known",
    "e-mail",
    "2024",
    "10,000",
    "U.S.",
    "COVID-19",
    "New",
    "York",
    "Monday",
    "people",
];
const EN_RARE: &[&str] = &[
    "café",
    "“quoted”",
    "it’s",
    "—",
    "naïve",
    "résumé",
    "€15",
    "…",
];
const EU: &[&str] = &[
    "der",
    "die",
    "und",
    "für",
    "über",
    "Straße",
    "größer",
    "les",
    "été",
    "où",
    "français",
    "déjà",
    "año",
    "niño",
    "está",
    "São",
    "não",
    "coração",
    "że",
    "się",
    "może",
    "język",
    "och",
    "är",
    "på",
    "för",
    "Ελλάδα",
    "και",
    "Москва",
    "и",
    "в",
    "не",
];
const ZH: &[&str] = &[
    "我们", "今天", "去了", "很多", "地方", "看到", "美丽", "风景", "和", "有趣", "的", "人",
    "他说", "这是", "一个", "非常", "好", "中国", "北京", "发展", "经济", "社会", "文化",
];

fn english(seed: u64) -> String {
    let mut r = Rng(seed);
    let mut s = String::with_capacity(SIZE + 1024);
    while s.len() < SIZE {
        let words = 6 + r.next() % 24;
        for i in 0..words {
            let w = if r.next().is_multiple_of(64) {
                r.pick(EN_RARE)
            } else {
                r.pick(EN)
            };
            if i == 0 {
                let mut c = w.chars();
                if let Some(f) = c.next() {
                    s.extend(f.to_uppercase());
                    s.push_str(c.as_str());
                }
            } else {
                s.push(if r.next().is_multiple_of(12) {
                    ','
                } else {
                    ' '
                });
                if s.ends_with(',') {
                    s.push(' ');
                }
                s.push_str(w);
            }
        }
        s.push_str(match r.next() % 20 {
            0 => "?",
            1 => "!",
            _ => ".",
        });
        s.push_str(match r.next() % 10 {
            0 => "\n",
            1 => "\n\n",
            _ => " ",
        });
    }
    s
}

fn words(seed: u64, list: &[&str], sep: &str, stop: &str) -> String {
    let mut r = Rng(seed);
    let mut s = String::with_capacity(SIZE + 1024);
    while s.len() < SIZE {
        let n = 6 + r.next() % 20;
        for i in 0..n {
            if i > 0 {
                s.push_str(sep);
            }
            s.push_str(r.pick(list));
        }
        s.push_str(stop);
    }
    s
}

/// Nanoseconds this thread has spent on a CPU, where Linux says.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `iters` runs of `f`, timed in CPU time of this thread (wall time where unknown).
fn cpu_time(iters: u64, f: impl Fn() -> usize) -> Duration {
    let (c0, w0) = (cpu_ns(), Instant::now());
    for _ in 0..iters {
        black_box(f());
    }
    match (c0, cpu_ns()) {
        (Some(a), Some(b)) => Duration::from_nanos(b.saturating_sub(a)),
        _ => w0.elapsed(),
    }
}

fn bench(c: &mut Criterion) {
    let inputs = [
        ("web_english", english(0x9E37_79B9_7F4A_7C15)),
        ("european", words(7, EU, " ", ". ")),
        ("chinese", words(11, ZH, "", "。")),
    ];
    let mut g = c.benchmark_group("passages");
    g.sample_size(10);
    for (name, text) in &inputs {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(format!("{name}_extract_and_hash"), |b| {
            b.iter(|| passages(text).count())
        });
        g.bench_function(format!("{name}_extract_and_hash_cpu"), |b| {
            b.iter_custom(|iters| cpu_time(iters, || passages(text).count()))
        });
    }
    let (name, text) = &inputs[0];
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function(format!("{name}_normalise"), |b| {
        b.iter(|| normalise(text).len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
