//! The run files of the hasher's two external sorts (`sorter.rs`: manifest entries;
//! `leafsort.rs`: source-tree leaves): an unnamed temporary file (it vanishes with the process,
//! even when killed), written through a buffer, rewound, and read back record by record. Each
//! sort keeps its own record layout; this is the file handling they share.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use crate::error::HashError;

/// What each step on a sort's run files is called in errors.
pub(crate) struct RunNames {
    pub create: &'static str,
    pub write: &'static str,
    pub rewind: &'static str,
    pub read: &'static str,
}

/// A run being written, with `buffer` bytes of buffering.
pub(crate) struct RunWriter {
    w: BufWriter<File>,
    names: &'static RunNames,
}

impl RunWriter {
    /// A new unnamed temporary file in `dir` (the system's temporary directory when `None`).
    pub(crate) fn new(
        dir: Option<&PathBuf>,
        buffer: usize,
        names: &'static RunNames,
    ) -> Result<Self, HashError> {
        let f = match dir {
            Some(d) => tempfile::tempfile_in(d),
            None => tempfile::tempfile(),
        }
        .map_err(HashError::io(names.create))?;
        Ok(RunWriter {
            w: BufWriter::with_capacity(buffer, f),
            names,
        })
    }

    /// Appends the parts of one record.
    pub(crate) fn write_parts(&mut self, parts: &[&[u8]]) -> Result<(), HashError> {
        for p in parts {
            self.w
                .write_all(p)
                .map_err(HashError::io(self.names.write))?;
        }
        Ok(())
    }

    /// Flushes the run and rewinds it for reading.
    pub(crate) fn finish(self) -> Result<File, HashError> {
        let names = self.names;
        let mut f = self.w.into_inner().map_err(|e| HashError::Io {
            what: names.write,
            source: e.into_error(),
        })?;
        f.seek(SeekFrom::Start(0))
            .map_err(HashError::io(names.rewind))?;
        Ok(f)
    }
}

/// A run being read back.
pub(crate) struct RunReader {
    r: BufReader<File>,
    what: &'static str,
}

impl RunReader {
    pub(crate) fn new(f: File, buffer: usize, names: &'static RunNames) -> Self {
        RunReader {
            r: BufReader::with_capacity(buffer, f),
            what: names.read,
        }
    }

    /// Fills `head` (the fixed-size start of a record); `false` at the end of the run, which
    /// may only fall between records.
    pub(crate) fn read_head(&mut self, head: &mut [u8]) -> Result<bool, HashError> {
        let Some((first, rest)) = head.split_first_mut() else {
            return Ok(true);
        };
        match self.r.read_exact(std::slice::from_mut(first)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(HashError::io(self.what)(e)),
        }
        self.read_exact(rest)
    }

    /// Fills `buf` (the rest of a record).
    pub(crate) fn read_exact(&mut self, buf: &mut [u8]) -> Result<bool, HashError> {
        self.r.read_exact(buf).map_err(HashError::io(self.what))?;
        Ok(true)
    }
}

/// Merges runs `fan_in` at a time (`merge` writes one chunk's merge into a new run) until at
/// most `fan_in` remain, so the final merge keeps at most `fan_in` files open.
pub(crate) fn reduce_runs(
    mut runs: Vec<File>,
    fan_in: usize,
    mut merge: impl FnMut(Vec<File>) -> Result<File, HashError>,
) -> Result<Vec<File>, HashError> {
    while runs.len() > fan_in {
        let mut next = Vec::with_capacity(runs.len() / fan_in + 1);
        let mut rest = runs.into_iter();
        loop {
            let chunk: Vec<File> = rest.by_ref().take(fan_in).collect();
            if chunk.is_empty() {
                break;
            }
            next.push(merge(chunk)?);
        }
        runs = next;
    }
    Ok(runs)
}
