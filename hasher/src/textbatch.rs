//! The text modes (`jsonl`, `lines`) from a file's bytes to hashed entries, one file at a time
//! in order, every step on all cores. Two ways, chosen by the backend's
//! [`ContentHasher::preferred_batch_bytes`]:
//!
//! - **Fused** (a CPU-sized batch, [`FUSED_MAX_BATCH`] or less: `--backend cpu`, and `auto`
//!   until a calibrated device wins): every thread of the text pool takes the file's next block
//!   itself, reading it ([`BlockReader`], under a lock: the kernel's copy is the only one) into a
//!   buffer of its own that it keeps from block to block and file to file, then parses the block
//!   and hashes its records in runs of about [`FUSED_RUN`] bytes while they are still in its
//!   cache, and hands the block's entries on. No thread waits for another between blocks: there
//!   is no reader thread, no fork and join per block, and nothing is handed back. Blocks finish
//!   out of order; their results are passed on in order (the first invalid record of a file is
//!   the one a run without `--skip-invalid` stops at, numbered from the line counts of the
//!   blocks before it).
//!
//!   A plain local file without metadata (no line number is needed while parsing) is not read
//!   through one stream under a lock: block `k` is the lines that start in the file's bytes
//!   `[k * block, (k + 1) * block)`, read at their offset (`pread`) by whichever thread claims `k`
//!   ([`read_range`]), so no thread waits for another's `read`. A read error there ends the file
//!   at the first line of the block it hit (the lines before it in that block are not hashed).
//!   Mapping the file instead of reading it was measured and not kept: the kernel's copy went
//!   (sys 90 -> 52 ms on 300 MB) but the parser then took the file from memory instead of from
//!   the cache the copy had filled (user 228 -> 272 ms): the same CPU time, and a truncated file
//!   would have ended the process with `SIGBUS` instead of an error.
//! - **Batched** (a device-sized batch): a reader thread per file only reads (and decompresses)
//!   into a small pool of reused blocks of whole lines. The file's own thread takes the blocks
//!   in order. Each block is cut into runs of lines ([`split_lines`]) that the text pool splits
//!   and parses in parallel; items are kept as offsets into the block (no copy) unless decoding
//!   escapes made a new string. Counting the runs' lines in order gives every line its number:
//!   no separate counting pass. Items are handed to the backend in one `hash_batch` call once
//!   they add up to the backend's preferred size (several blocks' worth), so that a device
//!   backend gets batches in the sizes where it wins. Blocks go back to the reader only after
//!   their batch is hashed, so memory per file in flight is the pool: `MAX_PENDING + 2` blocks.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crossbeam_channel::{bounded, Sender};
use rayon::prelude::*;
use serde_json::Value;
use verifier::source::SourceKey;

use crate::backend::ContentHasher;
use crate::error::{HashError, Location, Record};
use crate::pipeline::{HashConfig, Mode};
use crate::text::{lines, split_lines, BlockRead, BlockReader, Compression, TextAt};
use crate::walk::CorpusFile;
use crate::work::{Done, Worker};

/// The largest block a reader fills: big enough that a block's fixed costs (a channel message,
/// one parallel split) vanish, small enough that the reader runs ahead of the parsers in a few
/// blocks and a batch gathers in a handful of them.
const MAX_BLOCK: usize = 4 << 20;
/// Blocks held for one batch at most (a batch of records with little text in them is hashed
/// below the preferred size rather than holding more memory).
const MAX_PENDING: usize = 8;
/// Runs of lines per block per thread: enough to even out records of different lengths.
const RUNS_PER_THREAD: usize = 4;
/// Backends that ask for batches of at most this many bytes (the CPU's,
/// [`crate::backend::CPU_BATCH_BYTES`]) are fed the fused way: records hashed by the thread that
/// parsed them, right after parsing them. Larger batches are a device's, gathered over blocks.
pub(crate) const FUSED_MAX_BATCH: usize = crate::backend::CPU_BATCH_BYTES;
/// Bytes of lines per `hash_batch` call in the fused way: small enough that the records just
/// parsed are still in the core's second-level cache when they are hashed, and that the CPU
/// backend hashes the call on the calling thread (below its serial threshold,
/// `backend::SERIAL_BATCH_BYTES`); large enough that a run's records fill the SIMD lanes when
/// their chunks are hashed side by side (`many.rs`: ~55 records of ~5 KB, so 16 lanes of each
/// chunk number several times over; runs of 32 KiB, ~7 records, measured no faster than one
/// record at a time) and that a call's fixed costs vanish.
pub(crate) const FUSED_RUN: usize = 256 << 10;
// A run's items (at most its lines' bytes, plus the line that ends it) stay on the calling
// thread only while a run is below the serial threshold.
const _: () = assert!(2 * FUSED_RUN <= crate::backend::SERIAL_BATCH_BYTES);

/// How a run hashes text files: shared by the pipeline's file threads.
pub(crate) struct TextPlan<'a> {
    pub cfg: &'a HashConfig,
    pub backend: &'a dyn ContentHasher,
    /// Where blocks are split and parsed.
    pub pool: &'a rayon::ThreadPool,
    /// Item bytes per `hash_batch` call.
    pub batch: usize,
    /// Bytes per block.
    pub block: usize,
    /// Runs' scratch strings, for reuse.
    scratch: Mutex<Vec<String>>,
    /// The fused way's per-thread buffers, for reuse from file to file (fresh memory costs a
    /// page fault per page).
    fused: Mutex<Vec<FusedState>>,
}

impl<'a> TextPlan<'a> {
    pub fn new(
        cfg: &'a HashConfig,
        backend: &'a dyn ContentHasher,
        pool: &'a rayon::ThreadPool,
    ) -> Self {
        let batch = backend.preferred_batch_bytes().max(1);
        // About a quarter of a device-sized batch, so that it is whole after a few blocks; a
        // small (CPU) batch is one block of up to 1 MiB, so that a block's fixed costs (a
        // channel message, one parallel split) stay small.
        let block = (batch / 4).max(batch.min(1 << 20)).clamp(64, MAX_BLOCK);
        TextPlan {
            cfg,
            backend,
            pool,
            batch,
            block,
            scratch: Mutex::new(Vec::new()),
            fused: Mutex::new(Vec::new()),
        }
    }

    /// Hashes the text file `file`, read from `r`, sending each block's or batch's entries (and
    /// the invalid records, by line) to `tx`. Returns `false` when the pipeline has stopped.
    pub fn hash_file(
        &self,
        file: &Arc<CorpusFile>,
        (r, compression): (Box<dyn Read + Send>, Compression),
        tx: &Sender<Result<Done, HashError>>,
        stop: &AtomicBool,
    ) -> bool {
        if self.batch <= FUSED_MAX_BATCH {
            // A plain local file, when no line number is needed while parsing (no metadata):
            // ranges read at their offsets, with no lock between the threads.
            #[cfg(unix)]
            if compression == Compression::None
                && !self.cfg.meta.enabled()
                && crate::object::object_url(&file.path).is_none()
            {
                if let Ok(f) = std::fs::File::open(&file.path) {
                    drop(r);
                    return self.hash_file_ranges(file, &f, tx, stop);
                }
            }
            self.hash_file_fused(file, r, tx, stop)
        } else {
            self.hash_file_batched(file, r, tx, stop)
        }
    }

    /// The fused way (see the module's documentation): every thread of the text pool reads,
    /// parses and hashes whole blocks of the file until it is over.
    fn hash_file_fused(
        &self,
        file: &CorpusFile,
        r: Box<dyn Read + Send>,
        tx: &Sender<Result<Done, HashError>>,
        stop: &AtomicBool,
    ) -> bool {
        let input = Mutex::new(Input {
            reader: BlockReader::new(r, self.block),
            seq: 0,
            line: 1,
            over: false,
        });
        let out = Mutex::new(InOrder::new());
        let halt = AtomicBool::new(false);
        let shared = Fused {
            file,
            input: &input,
            out: &out,
            tx,
            stop,
            halt: &halt,
        };
        self.pool.broadcast(|_| self.fused_worker(&shared));
        let ok = lock(&out).ok;
        ok && !stop.load(Ordering::Relaxed)
    }

    /// The fused way for a plain local file without metadata: block `k` is the lines that start
    /// in the file's bytes `[k * block, (k + 1) * block)`, read at that offset by whichever
    /// thread claims `k` (the line that starts last in it is read on to its end), so no thread
    /// waits for another's `read`. Line numbers come from the blocks' line counts, in order.
    #[cfg(unix)]
    fn hash_file_ranges(
        &self,
        file: &CorpusFile,
        f: &std::fs::File,
        tx: &Sender<Result<Done, HashError>>,
        stop: &AtomicBool,
    ) -> bool {
        let out = Mutex::new(InOrder::new());
        let (halt, next) = (AtomicBool::new(false), std::sync::atomic::AtomicU64::new(0));
        let input = Mutex::new(Input {
            reader: BlockReader::new(Box::new(io::empty()), 1),
            seq: 0,
            line: 1,
            over: true,
        });
        let shared = Fused {
            file,
            input: &input,
            out: &out,
            tx,
            stop,
            halt: &halt,
        };
        self.pool.broadcast(|_| {
            let mut st = lock(&self.fused).pop().unwrap_or_default();
            let worker = Worker::new(self.cfg, self.backend);
            let block = self.block as u64;
            while !stop.load(Ordering::Relaxed) && !halt.load(Ordering::Relaxed) {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(start) = k.checked_mul(block) else {
                    break;
                };
                let (range, end, err) = read_range(f, start, self.block, &mut st.buf);
                if end {
                    // No block after this one has a line; the threads stop claiming them.
                    halt.store(true, Ordering::Relaxed);
                }
                let r = match err {
                    Some(_) => Ok(Block::default()),
                    None => self.fused_block(&worker, file, &st.buf[range], 1, &mut st.run),
                };
                if !shared.deliver(k, Finished { r, err, end }) {
                    halt.store(true, Ordering::Relaxed);
                }
            }
            self.put_back(st);
        });
        let ok = lock(&out).ok;
        ok && !stop.load(Ordering::Relaxed)
    }

    /// One thread's share of a file the fused way: blocks until the file is over (or the
    /// pipeline has stopped).
    fn fused_worker(&self, sh: &Fused<'_>) {
        let mut st = lock(&self.fused).pop().unwrap_or_default();
        let worker = Worker::new(self.cfg, self.backend);
        let meta = self.cfg.meta.enabled();
        loop {
            if sh.stop.load(Ordering::Relaxed) || sh.halt.load(Ordering::Relaxed) {
                break;
            }
            // The next block, read by this thread into its own buffer. Line numbers are needed
            // while parsing only by metadata entries (which record them): only then are the
            // block's lines counted here, under the lock.
            let (seq, b, first_line) = {
                let mut input = lock(sh.input);
                if input.over {
                    break;
                }
                let b = input.reader.next_block(&mut st.buf);
                input.over = b.end;
                let seq = input.seq;
                input.seq += 1;
                let first_line = input.line;
                if meta {
                    input.line += count_lines(&st.buf[..b.len]);
                }
                (seq, b, first_line)
            };
            let r = self.fused_block(&worker, sh.file, &st.buf[..b.len], first_line, &mut st.run);
            if !sh.deliver(
                seq,
                Finished {
                    r,
                    err: b.err,
                    end: b.end,
                },
            ) {
                sh.halt.store(true, Ordering::Relaxed);
            }
        }
        self.put_back(st);
    }

    /// Returns a thread's fused-way state to the plan for the next file, emptied; a buffer that a
    /// very long line grew is not kept for the rest of the run.
    fn put_back(&self, mut st: FusedState) {
        st.run.clear();
        if st.buf.len() > 4 * self.block.max(FUSED_RUN) {
            st.buf = Vec::new();
        }
        if st.run.scratch.capacity() > 4 * self.block.max(FUSED_RUN) {
            st.run.scratch = String::new();
        }
        lock(&self.fused).push(st);
    }

    /// Parses and hashes one block of whole lines (the first numbered `first_line`, which is
    /// exact only with metadata), in runs of about [`FUSED_RUN`] bytes: each run's records are
    /// hashed right after they are parsed.
    fn fused_block(
        &self,
        worker: &Worker<'_>,
        file: &CorpusFile,
        data: &[u8],
        first_line: u64,
        run: &mut Run,
    ) -> Result<Block, HashError> {
        let mut block = Block::default();
        run.clear();
        let mut run_start = 0u64;
        let mut run_bytes = 0usize;
        for line in lines(data) {
            self.parse_line(data, line, run.lines, run);
            run.lines += 1;
            block.lines += 1;
            run_bytes += line.len() + 1;
            if run_bytes >= FUSED_RUN {
                self.fused_run(worker, file, data, (first_line, run_start), run, &mut block)?;
                run_start = block.lines;
                run_bytes = 0;
            }
        }
        self.fused_run(worker, file, data, (first_line, run_start), run, &mut block)?;
        Ok(block)
    }

    /// Resolves the metadata of a run of parsed lines (line `at` of the block, whose first line
    /// is `first_line`), hashes its items into `block`'s entries and empties it for the next run.
    fn fused_run(
        &self,
        worker: &Worker<'_>,
        file: &CorpusFile,
        data: &[u8],
        (first_line, at): (u64, u64),
        run: &mut Run,
        block: &mut Block,
    ) -> Result<(), HashError> {
        run.first_line = first_line + at;
        let meta = self.cfg.meta.enabled();
        if meta {
            run.resolve_meta(self.cfg, file)?;
        }
        // Line numbers within the block, from the run's.
        block
            .invalid
            .extend(run.invalid.drain(..).map(|(n, reason)| (at + n, reason)));
        if !run.items.is_empty() {
            let (mut metas, mut keys) = (Vec::new(), Vec::new());
            if meta {
                for it in &mut run.items {
                    metas.push(std::mem::take(&mut it.meta));
                    keys.extend(it.key.take());
                }
            }
            let refs: Vec<&[u8]> = run
                .items
                .iter()
                .map(|it| it.text.bytes(data, &run.scratch))
                .collect();
            worker.finish_items(&mut block.done, &refs, metas, keys, None)?;
        }
        run.clear();
        Ok(())
    }

    /// The batched way (see the module's documentation), for device-sized batches.
    fn hash_file_batched(
        &self,
        file: &Arc<CorpusFile>,
        r: Box<dyn Read + Send>,
        tx: &Sender<Result<Done, HashError>>,
        stop: &AtomicBool,
    ) -> bool {
        let slots = MAX_PENDING + 2;
        std::thread::scope(|s| {
            let (full_tx, full_rx) = bounded::<(Vec<u8>, BlockRead)>(slots);
            let (free_tx, free_rx) = bounded::<Vec<u8>>(slots);
            for _ in 0..slots {
                // Empty: the reader allocates each buffer on first use (only as many as it needs
                // to run ahead).
                let _ = free_tx.send(Vec::new());
            }
            let mut reader = BlockReader::new(r, self.block);
            let spawned = std::thread::Builder::new()
                .name("prov-read".into())
                .spawn_scoped(s, move || {
                    // Ends at the end of the stream, or when the file's thread below has gone.
                    for mut buf in free_rx {
                        let b = reader.next_block(&mut buf);
                        let end = b.end;
                        if full_tx.send((buf, b)).is_err() || end {
                            return;
                        }
                    }
                });
            if let Err(e) = spawned {
                let _ = tx.send(Err(HashError::io("starting a reader thread")(e)));
                return false;
            }
            // Returning drops `full_rx` and `free_tx`, which unblocks the reader; the scope then
            // joins it.
            let worker = Worker::new(self.cfg, self.backend);
            let mut batch = Batch::default();
            let mut next_line = 1u64;
            for (buf, b) in full_rx.iter() {
                if stop.load(Ordering::Relaxed) {
                    return false;
                }
                let parsed = match self.parse_block(file, &buf[..b.len], next_line) {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return false;
                    }
                };
                next_line += parsed.lines;
                batch.item_bytes += parsed.item_bytes;
                batch.blocks.push((buf, parsed));
                let full = batch.item_bytes >= self.batch || batch.blocks.len() >= MAX_PENDING;
                if full || b.end {
                    let d = self.hash_batch(&worker, &mut batch, &free_tx);
                    let fatal = d.is_err();
                    if tx.send(d).is_err() || fatal {
                        return false;
                    }
                }
                if let Some(e) = b.err {
                    let at = Location::line(&file.path, next_line);
                    let d = Done {
                        invalid: vec![HashError::invalid(at, format!("unreadable: {e}"))],
                        ..Done::default()
                    };
                    return tx.send(Ok(d)).is_ok();
                }
                if b.end {
                    break;
                }
            }
            true
        })
    }

    /// Splits a block of whole lines (its first line numbered `first_line`) into items, in
    /// parallel, and resolves their metadata. Only a metadata error that ends the run is an
    /// `Err`; invalid records are in the result.
    fn parse_block(
        &self,
        file: &CorpusFile,
        data: &[u8],
        first_line: u64,
    ) -> Result<Parsed, HashError> {
        let parts = self.pool.current_num_threads() * RUNS_PER_THREAD;
        let cuts = split_lines(data, parts);
        let mut runs: Vec<Run> = self.pool.install(|| {
            cuts.par_iter()
                .enumerate()
                .map(|(i, &end)| {
                    let start = if i == 0 { 0 } else { cuts[i - 1] };
                    self.parse_run(data, start, end)
                })
                .collect()
        });
        // Number every line: the runs' line counts, in order.
        let mut line = first_line;
        for r in &mut runs {
            r.first_line = line;
            line += r.lines;
        }
        let spec = &self.cfg.meta;
        if spec.enabled() {
            self.pool.install(|| {
                runs.par_iter_mut()
                    .try_for_each(|r| r.resolve_meta(self.cfg, file))
            })?;
        }
        let mut p = Parsed {
            lines: line - first_line,
            ..Parsed::default()
        };
        for (k, r) in runs.into_iter().enumerate() {
            for (n, reason) in r.invalid {
                let at = Location::line(&file.path, r.first_line + n);
                p.invalid.push(HashError::invalid(at, reason));
            }
            for it in r.items {
                p.item_bytes += it.text.len();
                p.items.push((k, it));
            }
            p.scratch.push(r.scratch);
        }
        Ok(p)
    }

    /// The items of the lines in `data[start..end]`, numbered from 0.
    fn parse_run(&self, data: &[u8], start: usize, end: usize) -> Run {
        // Decoded texts are never longer than their records: room for the run's bytes, in a
        // string used before (fresh memory would cost a page fault per page).
        let mut scratch = match self.scratch.lock() {
            Ok(mut free) => free.pop().unwrap_or_default(),
            Err(_) => String::new(),
        };
        if self.cfg.mode == Mode::Jsonl {
            scratch.reserve(end - start);
        }
        let mut run = Run {
            scratch,
            ..Run::default()
        };
        for (n, line) in lines(&data[start..end]).enumerate() {
            run.lines += 1;
            self.parse_line(data, line, n as u64, &mut run);
        }
        run
    }

    /// Parses `line` (a part of `data`, numbered `n` within `run`) into an item or an invalid
    /// record of `run` (a blank JSON Lines line is neither).
    fn parse_line(&self, data: &[u8], line: &[u8], n: u64, run: &mut Run) {
        if self.cfg.mode != Mode::Jsonl {
            run.items.push(Item::span(data, line, n, Vec::new()));
            return;
        }
        let (field, fields) = (&self.cfg.field, &self.cfg.meta.fields);
        match crate::text::extract_into(line, field, fields, &mut run.scratch) {
            Ok(Some((at, found))) => {
                let item = match at {
                    TextAt::Borrowed(t) => Item::span(data, t.as_bytes(), n, found),
                    TextAt::Scratch(r) => Item {
                        line: n,
                        text: Text::Scratch(r.start, r.end),
                        found,
                        meta: Vec::new(),
                        key: None,
                    },
                };
                run.items.push(item);
            }
            Ok(None) => {}
            Err(reason) => run.invalid.push((n, reason)),
        }
    }

    /// Hashes the items of the blocks gathered in `batch` in one backend call and hands the
    /// blocks back to the reader.
    fn hash_batch(
        &self,
        worker: &Worker<'_>,
        batch: &mut Batch,
        free: &Sender<Vec<u8>>,
    ) -> Result<Done, HashError> {
        let mut blocks = std::mem::take(&mut batch.blocks);
        batch.item_bytes = 0;
        let mut d = Done::default();
        let mut metas = Vec::new();
        let mut keys: Vec<SourceKey> = Vec::new();
        for (_, p) in &mut blocks {
            d.invalid.append(&mut p.invalid);
            if self.cfg.meta.enabled() {
                for (_, it) in &mut p.items {
                    metas.push(std::mem::take(&mut it.meta));
                    keys.extend(it.key.take());
                }
            }
        }
        let n: usize = blocks.iter().map(|(_, p)| p.items.len()).sum();
        let mut refs: Vec<&[u8]> = Vec::with_capacity(n);
        for (buf, p) in &blocks {
            for (k, it) in &p.items {
                refs.push(it.text.bytes(buf, &p.scratch[*k]));
            }
        }
        let r = worker.finish_items(&mut d, &refs, metas, keys, Some(self.pool));
        drop(refs);
        for (buf, p) in blocks {
            let _ = free.send(buf);
            if let Ok(mut free) = self.scratch.lock() {
                free.extend(p.scratch.into_iter().map(|mut s| {
                    s.clear();
                    s
                }));
            }
        }
        r.map(|()| d)
    }
}

/// A file's input in the fused way, shared by the threads that take its blocks.
struct Input {
    reader: BlockReader<Box<dyn Read + Send>>,
    /// The next block's number, from 0.
    seq: u64,
    /// The next block's first line number (counted only with metadata).
    line: u64,
    /// The stream is over: no block is left to take.
    over: bool,
}

/// What the fused way's threads share for one file.
struct Fused<'a> {
    file: &'a CorpusFile,
    input: &'a Mutex<Input>,
    out: &'a Mutex<InOrder>,
    tx: &'a Sender<Result<Done, HashError>>,
    stop: &'a AtomicBool,
    /// Set when nothing more is to be sent (an error ended the file, or the pipeline stopped).
    halt: &'a AtomicBool,
}

/// Blocks' results, passed on in the blocks' order whatever order they finish in.
struct InOrder {
    /// The number of the block to pass on next.
    next: u64,
    /// Its first line's number.
    line: u64,
    /// Results that finished before the blocks ahead of them.
    parked: BTreeMap<u64, Finished>,
    /// The file's results are all sent (or an error ended them): later ones are dropped.
    over: bool,
    /// `false` once the pipeline has stopped (a send failed, or an error ended the run).
    ok: bool,
}

impl InOrder {
    /// Before a file's first block: block 0 is next, from line 1.
    fn new() -> Self {
        InOrder {
            next: 0,
            line: 1,
            parked: BTreeMap::new(),
            over: false,
            ok: true,
        }
    }
}

/// One block's result, with how its read ended.
struct Finished {
    r: Result<Block, HashError>,
    err: Option<io::Error>,
    end: bool,
}

/// A block's entries, with its invalid records numbered from its first line (counted from 0).
#[derive(Default)]
struct Block {
    lines: u64,
    done: Done,
    invalid: Vec<(u64, String)>,
}

/// One thread's reused memory in the fused way.
#[derive(Default)]
struct FusedState {
    buf: Vec<u8>,
    run: Run,
}

impl Fused<'_> {
    /// Hands block `seq`'s result over and passes on every result now next in order. Returns
    /// `false` when nothing more is to be sent.
    fn deliver(&self, seq: u64, f: Finished) -> bool {
        let mut guard = lock(self.out);
        let out = &mut *guard;
        out.parked.insert(seq, f);
        while let Some(f) = out.parked.remove(&out.next) {
            out.next += 1;
            if out.over {
                continue;
            }
            let block = match f.r {
                Ok(b) => b,
                Err(e) => {
                    let _ = self.tx.send(Err(e));
                    (out.over, out.ok) = (true, false);
                    continue;
                }
            };
            let mut d = block.done;
            let first = out.line;
            let path = &self.file.path;
            d.invalid.extend(
                block
                    .invalid
                    .into_iter()
                    .map(|(n, reason)| HashError::invalid(Location::line(path, first + n), reason)),
            );
            out.line += block.lines;
            if self.tx.send(Ok(d)).is_err() {
                (out.over, out.ok) = (true, false);
                continue;
            }
            if let Some(e) = f.err {
                // The read error, at the first line not read.
                let at = Location::line(path, out.line);
                let d = Done {
                    invalid: vec![HashError::invalid(at, format!("unreadable: {e}"))],
                    ..Done::default()
                };
                out.ok = self.tx.send(Ok(d)).is_ok();
                out.over = true;
            } else if f.end {
                out.over = true;
            }
        }
        !out.over
    }
}

/// Reads the lines of `f` that start in its bytes `[start, start + block)` into `buf`: returns
/// where they are in `buf`, whether the file ends in or before this range (no later range has a
/// line), and the read error that ended it early. The byte before `start` says whether a line
/// starts at `start`; the line that starts last in the range is read on to its end.
#[cfg(unix)]
fn read_range(
    f: &std::fs::File,
    start: u64,
    block: usize,
    buf: &mut Vec<u8>,
) -> (std::ops::Range<usize>, bool, Option<io::Error>) {
    let pre = usize::from(start > 0);
    let e = pre + block; // the range's end in `buf`
    if buf.len() < e {
        buf.resize(e, 0);
    }
    let (mut n, err) = fill_at(f, &mut buf[..e], start - pre as u64);
    if err.is_some() {
        return (0..0, true, err);
    }
    if n < e && n <= pre {
        return (0..0, true, None); // past the end
    }
    // The first line that starts in the range.
    let s = if pre == 0 || buf[0] == b'\n' {
        pre
    } else {
        match memchr::memchr(b'\n', &buf[pre..n.min(e)]) {
            Some(p) => pre + p + 1,
            None => return (0..0, n < e, None), // no line starts here
        }
    };
    if s >= e {
        return (0..0, false, None);
    }
    if n < e {
        return (s..n, true, None); // the file ends in the range
    }
    // The line holding the range's last byte ends at the first line end from there.
    // A little is read at first (the next block reads the same bytes again), doubling for a
    // long line.
    // A short read means the file ends in what was read: the range still ends at the first line
    // end there. (It used to take everything to the file's end, the next range's lines too; only
    // the in-order delivery, which drops every block after one marked `end`, kept those lines
    // from being hashed twice when another thread had claimed the next range.)
    let (mut from, mut want, mut eof) = (e - 1, 8 << 10, false);
    loop {
        if let Some(p) = memchr::memchr(b'\n', &buf[from..n]) {
            let end = from + p + 1;
            return (s..end, eof && end == n, None);
        }
        if eof {
            return (s..n, true, None); // the last line, without its line end
        }
        from = n;
        want *= 2;
        if buf.len() < n + want {
            buf.resize(n + want, 0);
        }
        let offset = start - pre as u64 + n as u64;
        let (k, err) = fill_at(f, &mut buf[n..n + want], offset);
        if err.is_some() {
            return (0..0, true, err);
        }
        n += k;
        eof = k < want;
    }
}

/// Fills `buf` from `f` at `offset` until it is full or the file ends.
#[cfg(unix)]
fn fill_at(f: &std::fs::File, buf: &mut [u8], offset: u64) -> (usize, Option<io::Error>) {
    use std::os::unix::fs::FileExt;
    let mut filled = 0;
    while filled < buf.len() {
        match f.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (filled, Some(e)),
        }
    }
    (filled, None)
}

/// The lines of a run of whole lines, as [`lines`] yields them.
fn count_lines(data: &[u8]) -> u64 {
    let ends = memchr::memchr_iter(b'\n', data).count() as u64;
    ends + u64::from(data.last().is_some_and(|&c| c != b'\n'))
}

/// A lock, whether or not a thread panicked while holding it (the data is then still
/// consistent: every critical section here leaves it so at each step).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Blocks whose items wait for one `hash_batch` call.
#[derive(Default)]
struct Batch {
    blocks: Vec<(Vec<u8>, Parsed)>,
    item_bytes: usize,
}

/// A block's items, in line order.
#[derive(Default)]
struct Parsed {
    lines: u64,
    /// Each item with the index of its run's scratch string.
    items: Vec<(usize, Item)>,
    item_bytes: usize,
    invalid: Vec<HashError>,
    /// The runs' decoded texts.
    scratch: Vec<String>,
}

/// A run of lines' items; line numbers relative to the run until `first_line` is known.
#[derive(Default)]
struct Run {
    first_line: u64,
    lines: u64,
    items: Vec<Item>,
    invalid: Vec<(u64, String)>,
    /// Texts decoded from escapes, back to back (one allocation for the run, not one per item).
    scratch: String,
}

impl Run {
    /// Empties the run for the next lines, keeping its memory.
    fn clear(&mut self) {
        self.first_line = 0;
        self.lines = 0;
        self.items.clear();
        self.invalid.clear();
        self.scratch.clear();
    }

    /// Each item's metadata entry and source key, now that its line number is known; an item
    /// whose metadata is not understood becomes an invalid record.
    fn resolve_meta(&mut self, cfg: &HashConfig, file: &CorpusFile) -> Result<(), HashError> {
        let spec = &cfg.meta;
        let items = std::mem::take(&mut self.items);
        for mut it in items {
            let n = self.first_line + it.line;
            let values = match spec.resolve(std::mem::take(&mut it.found)) {
                Ok(v) => v,
                Err(reason) => {
                    self.invalid.push((it.line, reason));
                    continue;
                }
            };
            it.key = Some(crate::sources::key_of(spec.source_of(&values)));
            it.meta = spec.entry_of(&file.rel, Some(Record::Line(n)), &values)?;
            self.items.push(it);
        }
        // Invalid records stay in line order (the first is the one a run without
        // `--skip-invalid` stops at).
        self.invalid.sort_by_key(|(n, _)| *n);
        Ok(())
    }
}

/// One item: its text, where it was, and (with metadata) what its entry holds.
struct Item {
    /// Line number within its run, counted from 0.
    line: u64,
    text: Text,
    /// Raw values of the mapped metadata fields, until resolved.
    found: Vec<(usize, Value)>,
    meta: Vec<u8>,
    key: Option<SourceKey>,
}

impl Item {
    /// An item whose text is `text`, a part of `block`: kept as its offsets.
    fn span(block: &[u8], text: &[u8], line: u64, found: Vec<(usize, Value)>) -> Self {
        // `text` is a subslice of `block` (a line, or a field borrowed from it): its offset is
        // the distance between the two starts.
        let start = (text.as_ptr() as usize).wrapping_sub(block.as_ptr() as usize);
        Item {
            line,
            text: Text::Span(start, start + text.len()),
            found,
            meta: Vec::new(),
            key: None,
        }
    }
}

/// An item's bytes: a range of its block, or of its run's decoded texts.
enum Text {
    Span(usize, usize),
    Scratch(usize, usize),
}

impl Text {
    fn len(&self) -> usize {
        match self {
            Text::Span(s, e) | Text::Scratch(s, e) => e - s,
        }
    }

    fn bytes<'b>(&self, block: &'b [u8], scratch: &'b str) -> &'b [u8] {
        match self {
            Text::Span(s, e) => &block[*s..*e],
            Text::Scratch(s, e) => &scratch.as_bytes()[*s..*e],
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Write;

    /// Every block of a file cut by `read_range`: every line exactly once, in order, whole (a
    /// block never starts or ends inside a line), and no block after one that says the file is
    /// over has a line (`read_range` used to break the last rule: a short read while it looked
    /// for its last line's end returned everything to the file's end, the next block's lines
    /// included; only the in-order delivery, which drops the blocks after an `end`, kept them
    /// from being hashed twice).
    #[test]
    fn blocks_read_at_offsets_give_every_line_once() {
        let mut bodies: Vec<Vec<u8>> = vec![
            b"a\n".to_vec(),
            b"no line end".to_vec(),
            b"\n\n\n".to_vec(),
            b"one\ntwo\nthree".to_vec(),
        ];
        // Lines of every length around the block sizes below, with and without a final line end.
        let mut long = Vec::new();
        for i in 0..400usize {
            long.extend(std::iter::repeat_n(b'x', (i * 37) % 300));
            long.push(b'\n');
        }
        bodies.push(long.clone());
        long.pop();
        bodies.push(long);
        bodies.push([vec![b'y'; 5000], b"\nz\n".to_vec()].concat()); // a line longer than blocks
        for body in &bodies {
            let mut f = tempfile::NamedTempFile::new().unwrap();
            f.write_all(body).unwrap();
            f.flush().unwrap();
            let file = f.as_file();
            for block in [1usize, 2, 3, 7, 64, 100, 1000, 4096, 1 << 20] {
                let (mut buf, mut read, mut over) = (Vec::new(), Vec::new(), false);
                for k in 0u64.. {
                    let (r, end, err) = read_range(file, k * block as u64, block, &mut buf);
                    assert!(err.is_none());
                    assert!(
                        !over || r.is_empty(),
                        "block {block}, range {k}: after the end"
                    );
                    read.extend_from_slice(&buf[r]);
                    over |= end;
                    // A few ranges past the end, as threads that claimed them would read them.
                    if over && k * block as u64 > body.len() as u64 + 3 * block as u64 {
                        break;
                    }
                }
                assert_eq!(read, *body, "block {block}: every line once");
            }
        }
    }
}
