//! Units of work and the worker that turns them into hashed entries. A worker reads small files
//! (or splits record chunks) into a batch and hands the batch to the backend in one call, which is
//! what lets a GPU backend see thousands of items per dispatch.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arrow_array::RecordBatch;
use crossbeam_channel::{Receiver, Sender};
use ledger::ContentId;
use rayon::prelude::*;

use crate::backend::ContentHasher;
use crate::error::{HashError, Location, Record};
use crate::pipeline::HashConfig;
use crate::sorter::Entry;
use crate::walk::CorpusFile;
use verifier::source::SourceKey;

/// What producers hand to workers.
pub(crate) enum Work {
    /// A run of files in walk order; `seq` orders runs for `--list`.
    Files { seq: u64, files: Vec<CorpusFile> },
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

pub(crate) struct Worker<'a> {
    cfg: &'a HashConfig,
    backend: &'a dyn ContentHasher,
}

impl<'a> Worker<'a> {
    pub fn new(cfg: &'a HashConfig, backend: &'a dyn ContentHasher) -> Self {
        Worker { cfg, backend }
    }

    /// Takes work until the channel closes. Small files of several units of work are read into
    /// one reused buffer and hashed in one call once they add up to the backend's
    /// [`ContentHasher::preferred_batch_bytes`], or sooner when no more work is waiting (so a
    /// small corpus is not held back); each unit still gets its own [`Done`].
    pub fn run(
        &self,
        rx: &Receiver<Work>,
        tx: &Sender<Result<Done, HashError>>,
        stop: &AtomicBool,
    ) {
        let target = self.backend.preferred_batch_bytes().max(1);
        let inline = self.backend.hashes_inline();
        let mut batch = FileBatch::default();
        let send = |r: Result<Done, HashError>| {
            let fatal = r.is_err();
            tx.send(r).is_ok() && !fatal
        };
        let flush = |batch: &mut FileBatch| match self.flush_files(batch) {
            Ok(done) => done.into_iter().all(|d| send(Ok(d))),
            Err(e) => send(Err(e)),
        };
        for w in rx {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let ok = match w {
                Work::Files { seq, files } => match self.read_files(seq, files, &mut batch, inline)
                {
                    Err(e) => send(Err(e)),
                    // Hashed as read: the unit is done.
                    Ok(()) if inline => flush(&mut batch),
                    Ok(()) if batch.buf.len() >= target || rx.is_empty() => flush(&mut batch),
                    Ok(()) => true,
                },
                other => send(self.process(other)),
            };
            if !ok {
                return;
            }
        }
        flush(&mut batch);
    }

    fn process(&self, w: Work) -> Result<Done, HashError> {
        match w {
            Work::Files { seq, files } => {
                let mut batch = FileBatch::default();
                self.read_files(seq, files, &mut batch, self.backend.hashes_inline())?;
                let mut done = self.flush_files(&mut batch)?;
                Ok(done.pop().unwrap_or_default())
            }
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

    /// Reads the small files of one unit of work into `batch`'s buffer; large ones are hashed
    /// on their own at once. With `inline` (a backend that hashes small items best on the calling
    /// thread, [`ContentHasher::hashes_inline`]), each small file is hashed as soon as it is
    /// read, while its bytes are still in this core's cache, and its bytes dropped.
    fn read_files(
        &self,
        seq: u64,
        files: Vec<CorpusFile>,
        batch: &mut FileBatch,
        inline: bool,
    ) -> Result<(), HashError> {
        let mut d = Done {
            seq: Some(seq),
            ..Done::default()
        };
        let threshold = self.backend.large_threshold() as u64;
        let mut ids: Vec<Option<([u8; 32], u64)>> = vec![None; files.len()];
        let unit = batch.units.len();
        let buf = &mut batch.buf;
        for (i, f) in files.iter().enumerate() {
            let at = || Location::file(&f.path);
            // A file, or an object of an s3://... corpus (crate::object), streamed.
            let opened = match crate::object::open(&f.path) {
                Ok(Some((object, len))) => Ok((Opened::Object(object), len)),
                Ok(None) => File::open(&f.path).and_then(|file| {
                    let len = file.metadata()?.len();
                    Ok((Opened::File(file), len))
                }),
                Err(e) => Err(e),
            };
            let (file, len) = match opened {
                Ok(o) => o,
                Err(e) => {
                    d.invalid.push(HashError::invalid(at(), e));
                    continue;
                }
            };
            if len >= threshold {
                let h = if let Opened::Object(mut object) = file {
                    let passages = self.cfg.passages.then_some(&mut d.passages);
                    crate::object::hash_large(&mut object, self.backend, passages)
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
            let read = match file {
                // A length of 0 is also what pseudo-files (`/proc`, some FUSE mounts) report
                // whatever they hold: those are read to their end.
                Opened::File(mut file) if len == 0 => file.read_to_end(buf).map(|_| ()),
                Opened::File(mut file) => read_known_len(&mut file, buf, len),
                Opened::Object(mut object) => {
                    buf.reserve(len as usize + 1);
                    object.read_to_end(buf).map(|_| ())
                }
            };
            if let Err(e) = read {
                buf.truncate(start);
                d.invalid.push(HashError::invalid(at(), e));
                continue;
            }
            if inline {
                let mut h = [[0u8; 32]];
                self.backend.hash_batch(&[&buf[start..]], &mut h)?;
                ids[i] = Some((h[0], (buf.len() - start) as u64));
                if self.cfg.passages {
                    crate::passages::item_passages(&buf[start..], &h[0], &mut d.passages);
                }
                buf.truncate(start);
            } else {
                batch.spans.push((unit, i, start, buf.len()));
            }
        }
        batch.units.push(FileUnit {
            files,
            ids,
            done: d,
        });
        Ok(())
    }

    /// Hashes every small file read into `batch` in one call, empties it (keeping the buffer's
    /// memory), and returns each unit's result, in the order the units were read.
    fn flush_files(&self, batch: &mut FileBatch) -> Result<Vec<Done>, HashError> {
        let units = std::mem::take(&mut batch.units);
        let spans = std::mem::take(&mut batch.spans);
        let r = self.finish_files(&batch.buf, &spans, units);
        batch.buf.clear();
        batch.spans = spans;
        batch.spans.clear();
        r
    }

    fn finish_files(
        &self,
        buf: &[u8],
        spans: &[(usize, usize, usize, usize)],
        mut units: Vec<FileUnit>,
    ) -> Result<Vec<Done>, HashError> {
        if !spans.is_empty() {
            let items: Vec<&[u8]> = spans.iter().map(|&(_, _, s, e)| &buf[s..e]).collect();
            let mut out = vec![[0u8; 32]; items.len()];
            self.backend.hash_batch(&items, &mut out)?;
            for (&(u, i, s, e), h) in spans.iter().zip(out) {
                let unit = &mut units[u];
                unit.ids[i] = Some((h, (e - s) as u64));
                if self.cfg.passages {
                    crate::passages::item_passages(&buf[s..e], &h, &mut unit.done.passages);
                }
            }
        }
        // Whole files have no record fields: a source can only be a `--meta-set` constant.
        let key = crate::sources::key_of(self.cfg.meta.source_of(&[]));
        let mut out = Vec::with_capacity(units.len());
        for FileUnit {
            files,
            ids,
            mut done,
        } in units
        {
            let d = &mut done;
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
            out.push(done);
        }
        Ok(out)
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
        let mut items: Vec<&[u8]> = Vec::with_capacity(batch.num_rows());
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
            items.push(text.as_bytes());
        }
        self.finish_items(&mut d, &items, metas, keys, None)?;
        Ok(d)
    }

    /// Hashes `refs` (large ones alone, the rest in one batch) and adds their entries to `d`,
    /// with `metas` and `keys` in the same order when metadata is on. Passages are cut on
    /// `pool` when given, on this thread otherwise.
    pub(crate) fn finish_items(
        &self,
        d: &mut Done,
        refs: &[&[u8]],
        metas: Vec<Vec<u8>>,
        keys: Vec<SourceKey>,
        pool: Option<&rayon::ThreadPool>,
    ) -> Result<(), HashError> {
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
            self.backend.hash_batch(refs, &mut out)?;
        }
        if self.cfg.passages {
            let cut = |(r, cid): (&&[u8], &[u8; 32])| {
                let mut leaves = Vec::new();
                crate::passages::item_passages(r, cid, &mut leaves);
                leaves
            };
            let per_item: Vec<Vec<_>> = match pool {
                Some(p) => p.install(|| refs.par_iter().zip(out.par_iter()).map(cut).collect()),
                None => refs.iter().zip(out.iter()).map(cut).collect(),
            };
            d.passages.extend(per_item.into_iter().flatten());
        }
        let mut metas = metas.into_iter();
        let mut keys = keys.into_iter();
        for (r, cid) in refs.iter().zip(out) {
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

/// A small file opened for reading: a local file (read with as few system calls as its known
/// length allows) or an object of an `s3://...` corpus, streamed.
enum Opened {
    File(File),
    Object(Box<dyn Read + Send>),
}

/// Appends the `len` bytes of `file` (its length when opened) to `buf` with one `read` per
/// call the kernel needs, mostly one: no `read_to_end`, whose size hint costs a `statx` and an
/// `lseek` per file and whose end costs one more `read` (three system calls of seven for a
/// small file). A file that ends sooner gives what it has; bytes appended after it was opened are
/// not read (the length recorded is the length hashed).
fn read_known_len(file: &mut File, buf: &mut Vec<u8>, len: u64) -> std::io::Result<()> {
    let start = buf.len();
    let len = usize::try_from(len).map_err(std::io::Error::other)?;
    buf.resize(start + len, 0);
    let mut filled = 0;
    while filled < len {
        match file.read(&mut buf[start + filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        }
    }
    buf.truncate(start + filled);
    Ok(())
}

/// Small files read by one worker and not hashed yet: their bytes back to back in one buffer
/// (kept across batches), and for each unit of work its files and what is known of them.
#[derive(Default)]
struct FileBatch {
    buf: Vec<u8>,
    /// (unit, file index in the unit, start, end) of each file read into `buf`.
    spans: Vec<(usize, usize, usize, usize)>,
    units: Vec<FileUnit>,
}

struct FileUnit {
    files: Vec<CorpusFile>,
    /// Each file's id and size once hashed; `None` for a file that could not be read.
    ids: Vec<Option<([u8; 32], u64)>>,
    done: Done,
}
