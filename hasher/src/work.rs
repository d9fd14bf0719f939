//! Units of work and the worker that turns them into hashed entries. A worker reads small files
//! (or splits record chunks) into a batch and hands the batch to the backend in one call, which is
//! what lets a GPU backend see thousands of items per dispatch.

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arrow_array::RecordBatch;
use crossbeam_channel::{Receiver, Sender};
use ledger::ContentId;

use crate::backend::ContentHasher;
use crate::error::{HashError, Location, Record};
use crate::pipeline::{HashConfig, Mode};
use crate::sorter::Entry;
use crate::text::Chunk;
use crate::walk::CorpusFile;
use verifier::source::SourceKey;

/// What producers hand to workers.
pub(crate) enum Work {
    /// A run of files in walk order; `seq` orders runs for `--list`.
    Files { seq: u64, files: Vec<CorpusFile> },
    /// Whole lines of a JSON Lines or lines file.
    Text { file: Arc<CorpusFile>, chunk: Chunk },
    /// Rows of a Parquet file, `first_row` counted from 0.
    Rows {
        file: Arc<CorpusFile>,
        first_row: u64,
        batch: RecordBatch,
    },
    /// A skippable problem a producer found (a file it could not open, a corrupt stream).
    Invalid(HashError),
    /// A problem that ends the run.
    Fatal(HashError),
}

/// What workers hand back.
#[derive(Default)]
pub(crate) struct Done {
    pub seq: Option<u64>,
    pub entries: Vec<Entry>,
    pub items: u64,
    pub bytes: u64,
    pub listed: Vec<(ContentId, PathBuf)>,
    pub invalid: Vec<HashError>,
    /// Each item's source key and content id, for the source tree (with metadata only).
    pub sources: Vec<(SourceKey, [u8; 32])>,
    /// Passage-tree leaves `pid || cid` of the items (with [`HashConfig::passages`] only).
    pub passages: Vec<[u8; crate::passages::PASSAGE_LEAF]>,
}

/// Small files are read into one buffer until it holds this much, then hashed as a batch.
const BATCH_BYTES: usize = 8 << 20;

pub(crate) struct Worker<'a> {
    cfg: &'a HashConfig,
    backend: &'a dyn ContentHasher,
}

impl<'a> Worker<'a> {
    pub fn new(cfg: &'a HashConfig, backend: &'a dyn ContentHasher) -> Self {
        Worker { cfg, backend }
    }

    pub fn run(
        &self,
        rx: &Receiver<Work>,
        tx: &Sender<Result<Done, HashError>>,
        stop: &AtomicBool,
    ) {
        for w in rx {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let r = self.process(w);
            let fatal = r.is_err();
            if tx.send(r).is_err() || fatal {
                return;
            }
        }
    }

    fn process(&self, w: Work) -> Result<Done, HashError> {
        match w {
            Work::Files { seq, files } => self.files(seq, &files),
            Work::Text { file, chunk } => self.text(&file, &chunk),
            Work::Rows {
                file,
                first_row,
                batch,
            } => self.rows(&file, first_row, &batch),
            Work::Invalid(e) => Ok(Done {
                invalid: vec![e],
                ..Done::default()
            }),
            Work::Fatal(e) => Err(e),
        }
    }

    fn files(&self, seq: u64, files: &[CorpusFile]) -> Result<Done, HashError> {
        let mut d = Done {
            seq: Some(seq),
            ..Done::default()
        };
        let threshold = self.backend.large_threshold() as u64;
        let mut ids: Vec<Option<([u8; 32], u64)>> = vec![None; files.len()];
        let mut buf = Vec::new();
        let mut pending: Vec<(usize, usize, usize)> = Vec::new(); // (file index, start, end)
        for (i, f) in files.iter().enumerate() {
            let at = || Location::file(&f.path);
            // A file, or an object of an s3://... corpus (crate::object), streamed.
            let opened = match crate::object::open(&f.path) {
                Ok(Some((object, len))) => Ok((object, len, true)),
                Ok(None) => File::open(&f.path).and_then(|file| {
                    let len = file.metadata()?.len();
                    Ok((Box::new(file) as Box<dyn Read + Send>, len, false))
                }),
                Err(e) => Err(e),
            };
            let (mut file, len, object) = match opened {
                Ok(o) => o,
                Err(e) => {
                    d.invalid.push(HashError::invalid(at(), e));
                    continue;
                }
            };
            if len >= threshold {
                let h = if object {
                    let passages = self.cfg.passages.then_some(&mut d.passages);
                    crate::object::hash_large(&mut file, self.backend, passages)
                } else if self.cfg.passages {
                    // The passages need the text: read it whole (a text file, by choice).
                    std::fs::read(&f.path).and_then(|bytes| {
                        let h = self
                            .backend
                            .hash_large(&bytes)
                            .map_err(std::io::Error::other)?;
                        crate::passages::item_passages(&bytes, &h, &mut d.passages);
                        Ok(h)
                    })
                } else {
                    self.backend.hash_file(&f.path)
                };
                match h {
                    Ok(h) => ids[i] = Some((h, len)),
                    Err(e) => d.invalid.push(HashError::invalid(at(), e)),
                }
                continue;
            }
            let start = buf.len();
            buf.reserve(len as usize + 1);
            if let Err(e) = file.read_to_end(&mut buf) {
                buf.truncate(start);
                d.invalid.push(HashError::invalid(at(), e));
                continue;
            }
            pending.push((i, start, buf.len()));
            if buf.len() >= BATCH_BYTES {
                self.hash_spans(&buf, &pending, &mut ids, &mut d.passages)?;
                buf.clear();
                pending.clear();
            }
        }
        self.hash_spans(&buf, &pending, &mut ids, &mut d.passages)?;
        // Whole files have no record fields: a source can only be a `--meta-set` constant.
        let key = crate::sources::key_of(self.cfg.meta.source_of(&[]));
        for (f, id) in files.iter().zip(ids) {
            let Some((cid, size)) = id else { continue };
            let meta = if self.cfg.meta.enabled() {
                self.cfg.meta.entry(&f.rel, None, [])?
            } else {
                Vec::new()
            };
            d.items += 1;
            d.bytes += size;
            if self.cfg.meta.enabled() {
                d.sources.push((key.clone(), cid));
            }
            d.entries.push(Entry { cid, size, meta });
            if self.cfg.list {
                d.listed.push((ContentId(cid), f.path.clone()));
            }
        }
        Ok(d)
    }

    fn hash_spans(
        &self,
        buf: &[u8],
        spans: &[(usize, usize, usize)],
        ids: &mut [Option<([u8; 32], u64)>],
        passages: &mut Vec<[u8; crate::passages::PASSAGE_LEAF]>,
    ) -> Result<(), HashError> {
        if spans.is_empty() {
            return Ok(());
        }
        let items: Vec<&[u8]> = spans.iter().map(|&(_, s, e)| &buf[s..e]).collect();
        let mut out = vec![[0u8; 32]; items.len()];
        self.backend.hash_batch(&items, &mut out)?;
        for (&(i, s, e), h) in spans.iter().zip(out) {
            ids[i] = Some((h, (e - s) as u64));
            if self.cfg.passages {
                crate::passages::item_passages(&buf[s..e], &h, passages);
            }
        }
        Ok(())
    }

    fn text(&self, file: &CorpusFile, chunk: &Chunk) -> Result<Done, HashError> {
        let mut d = Done::default();
        let mut items: Vec<Cow<'_, [u8]>> = Vec::new();
        let mut metas: Vec<Vec<u8>> = Vec::new();
        let mut keys: Vec<SourceKey> = Vec::new();
        let spec = &self.cfg.meta;
        for (n, line) in crate::text::lines(chunk) {
            let (item, found) = if self.cfg.mode == Mode::Jsonl {
                match crate::text::extract(line, &self.cfg.field, &spec.fields) {
                    Ok(Some(x)) => (cow_bytes(x.text), x.meta),
                    Ok(None) => continue,
                    Err(reason) => {
                        let at = Location::line(&file.path, n);
                        d.invalid.push(HashError::invalid(at, reason));
                        continue;
                    }
                }
            } else {
                (Cow::Borrowed(line), Vec::new())
            };
            if spec.enabled() {
                let values = match spec.resolve(found) {
                    Ok(v) => v,
                    Err(reason) => {
                        let at = Location::line(&file.path, n);
                        d.invalid.push(HashError::invalid(at, reason));
                        continue;
                    }
                };
                keys.push(crate::sources::key_of(spec.source_of(&values)));
                metas.push(spec.entry_of(&file.rel, Some(Record::Line(n)), &values)?);
            }
            items.push(item);
        }
        self.finish_items(&mut d, &items, metas, keys)?;
        Ok(d)
    }

    fn rows(
        &self,
        file: &CorpusFile,
        first_row: u64,
        batch: &RecordBatch,
    ) -> Result<Done, HashError> {
        let mut d = Done::default();
        let spec = &self.cfg.meta;
        let col = match crate::columnar::TextColumn::new(batch, &self.cfg.field) {
            Ok(c) => c,
            Err(reason) => {
                let at = Location::row(&file.path, first_row);
                d.invalid.push(HashError::invalid(at, reason));
                return Ok(d);
            }
        };
        let mut items: Vec<Cow<'_, [u8]>> = Vec::with_capacity(batch.num_rows());
        let mut metas = Vec::new();
        let mut keys = Vec::new();
        for i in 0..batch.num_rows() {
            let row = first_row + i as u64;
            let Some(text) = col.get(i) else {
                let at = Location::row(&file.path, row);
                let reason = format!("column {:?} is null", self.cfg.field);
                d.invalid.push(HashError::invalid(at, reason));
                continue;
            };
            if spec.enabled() {
                let values = crate::columnar::meta_values(batch, &spec.fields, i)
                    .and_then(|found| spec.resolve(found));
                let values = match values {
                    Ok(v) => v,
                    Err(reason) => {
                        let at = Location::row(&file.path, row);
                        d.invalid.push(HashError::invalid(at, reason));
                        continue;
                    }
                };
                keys.push(crate::sources::key_of(spec.source_of(&values)));
                metas.push(spec.entry_of(&file.rel, Some(Record::Row(row)), &values)?);
            }
            items.push(Cow::Borrowed(text.as_bytes()));
        }
        self.finish_items(&mut d, &items, metas, keys)?;
        Ok(d)
    }

    fn finish_items(
        &self,
        d: &mut Done,
        items: &[Cow<'_, [u8]>],
        metas: Vec<Vec<u8>>,
        keys: Vec<SourceKey>,
    ) -> Result<(), HashError> {
        let refs: Vec<&[u8]> = items.iter().map(|c| c.as_ref()).collect();
        let mut out = vec![[0u8; 32]; refs.len()];
        let threshold = self.backend.large_threshold();
        if refs.iter().any(|r| r.len() >= threshold) {
            for (r, o) in refs.iter().zip(out.iter_mut()) {
                if r.len() >= threshold {
                    *o = self.backend.hash_large(r)?;
                }
            }
            let small: Vec<usize> = (0..refs.len())
                .filter(|&i| refs[i].len() < threshold)
                .collect();
            let small_refs: Vec<&[u8]> = small.iter().map(|&i| refs[i]).collect();
            let mut small_out = vec![[0u8; 32]; small.len()];
            self.backend.hash_batch(&small_refs, &mut small_out)?;
            for (&i, h) in small.iter().zip(small_out) {
                out[i] = h;
            }
        } else {
            self.backend.hash_batch(&refs, &mut out)?;
        }
        let mut metas = metas.into_iter();
        let mut keys = keys.into_iter();
        for (r, cid) in refs.iter().zip(out) {
            if self.cfg.passages {
                crate::passages::item_passages(r, &cid, &mut d.passages);
            }
            let meta = metas.next().unwrap_or_default();
            if let Some(k) = keys.next() {
                d.sources.push((k, cid));
            }
            d.items += 1;
            d.bytes += r.len() as u64;
            d.entries.push(Entry {
                cid,
                size: r.len() as u64,
                meta,
            });
        }
        Ok(())
    }
}

fn cow_bytes(s: Cow<'_, str>) -> Cow<'_, [u8]> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.as_bytes()),
        Cow::Owned(o) => Cow::Owned(o.into_bytes()),
    }
}
