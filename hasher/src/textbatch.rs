//! The text modes (`jsonl`, `lines`) from a file's bytes to hashed entries, one file at a time
//! in order, every step on all cores.
//!
//! - A reader thread per file only reads (and decompresses) into a small pool of reused blocks
//!   of whole lines ([`BlockReader`]): one copy, by the kernel, and no allocation or zeroing
//!   after the start. It runs ahead while the blocks before are worked on.
//! - The file's own thread takes the blocks in order. Each block is cut into runs of lines
//!   ([`split_lines`]) that the text pool splits and parses in parallel; items are kept as
//!   offsets into the block (no copy) unless decoding escapes made a new string. Counting the
//!   runs' lines in order gives every line its number: no separate counting pass.
//! - Items are handed to the backend in one `hash_batch` call once they add up to the backend's
//!   [`ContentHasher::preferred_batch_bytes`] (several blocks' worth), so that a device backend
//!   gets batches in the sizes where it wins; the CPU backend hashes a batch on all cores.
//!
//! Blocks go back to the reader only after their batch is hashed, so memory per file in flight
//! is the pool: `MAX_PENDING + 2` blocks.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{bounded, Sender};
use rayon::prelude::*;
use serde_json::Value;
use verifier::source::SourceKey;

use crate::backend::ContentHasher;
use crate::error::{HashError, Location, Record};
use crate::pipeline::{HashConfig, Mode};
use crate::text::{lines, split_lines, BlockRead, BlockReader, TextAt};
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
        }
    }

    /// Hashes the text file `file`, read from `r`, sending each batch's entries (and the invalid
    /// records, by line) to `tx`. Returns `false` when the pipeline has stopped.
    pub fn hash_file(
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
        let field = &self.cfg.field;
        let fields = &self.cfg.meta.fields;
        for (n, line) in lines(&data[start..end]).enumerate() {
            run.lines += 1;
            let n = n as u64;
            if self.cfg.mode != Mode::Jsonl {
                run.items.push(Item::span(data, line, n, Vec::new()));
                continue;
            }
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
        run
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
