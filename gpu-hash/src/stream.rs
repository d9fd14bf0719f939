//! One large input read from a `Read` (a file) and hashed on the device while it is read.
//!
//! The input is cut into *blocks*: aligned power-of-two subtrees of BLAKE3's tree (16 MiB by
//! default, never more than one ring batch). A reader thread fills blocks into three buffers in
//! turn; the calling thread copies each filled block's segments into a free ring slot, hands the
//! buffer back to the reader, and harvests the oldest slot only when all are busy. So reading
//! block k+2, copying block k+1 into host-visible memory, and uploading, hashing and reading back
//! blocks k-1 and k all happen at once. The chaining values of every segment (32 bytes per
//! segment: 1 MiB per GiB at the default 32 KiB segment) are folded on the CPU at the end with
//! `blake3::hazmat`, exactly as [`crate::merge`] explains. An input of one block or less is one
//! root segment and goes through [`GpuHasher::hash`].

use std::collections::VecDeque;
use std::io::{self, Read};
use std::path::Path;
use std::sync::mpsc;

use crate::merge::{fold, Plan};
use crate::ring::InFlight;
use crate::{Error, GpuHasher, CHUNK_LEN, OUT_LEN};

/// Block buffers: one being read, one waiting (the look-ahead that tells the first block from a
/// whole input), one being copied into the ring.
const BUFFERS: usize = 3;

type Block = io::Result<(Vec<u8>, usize)>;

impl GpuHasher {
    /// BLAKE3 of the file at `path`, read in blocks and hashed on the device as it is read.
    pub fn hash_file(&self, path: &Path) -> Result<[u8; OUT_LEN], Error> {
        let file = std::fs::File::open(path)?;
        self.hash_reader(file)
    }

    /// BLAKE3 of everything `reader` yields (see the module docs for the overlap).
    pub fn hash_reader<R: Read + Send>(&self, reader: R) -> Result<[u8; OUT_LEN], Error> {
        let block = self.stream_block_bytes();
        let (full_tx, full_rx) = mpsc::sync_channel::<Block>(1);
        let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
        for _ in 0..BUFFERS {
            // `vec!` of zeros is a lazily zeroed allocation: no page is touched until read into.
            let _ = empty_tx.send(vec![0u8; block]);
        }
        std::thread::scope(|scope| {
            scope.spawn(move || read_blocks(reader, empty_rx, full_tx));
            // Returning drops `full_rx` and `empty_tx`, which stops the reader wherever it waits.
            self.consume(full_rx, empty_tx)
        })
    }

    /// Bytes per streamed block: the configured size, rounded down to a power of two no larger
    /// than one ring batch and no smaller than one segment.
    pub fn stream_block_bytes(&self) -> usize {
        let (cap, seg) = self
            .lock_ring()
            .map(|r| (r.batch_bytes(), r.segment_bytes()))
            .unwrap_or((CHUNK_LEN, CHUNK_LEN));
        let want = self.stream_block.min(cap).max(seg);
        // A power of two <= want (want >= one chunk, so the shift is in range).
        1usize << (usize::BITS - 1 - want.leading_zeros())
    }

    fn consume(
        &self,
        full: mpsc::Receiver<Block>,
        empty: mpsc::Sender<Vec<u8>>,
    ) -> Result<[u8; OUT_LEN], Error> {
        let Some(first) = full.recv().ok().transpose()? else {
            return self.hash(&[]);
        };
        let Some(second) = full.recv().ok().transpose()? else {
            return self.hash(&first.0[..first.1]);
        };
        let ring = self.lock_ring()?;
        let seg_len = ring.segment_bytes();
        let depth = ring.depth();
        let mut cvs: Vec<[u8; OUT_LEN]> = Vec::new();
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        let mut slot = 0;
        let mut offset = 0u64;
        let mut run = |(buf, n): (Vec<u8>, usize)| -> Result<(), Error> {
            {
                let mut plan = Plan::default();
                plan.add_subtree(&buf[..n], offset / CHUNK_LEN as u64, seg_len);
                let segs = &plan.segments;
                let mut next = 0;
                while next < segs.len() {
                    if in_flight.len() == depth {
                        if let Some(job) = in_flight.pop_front() {
                            ring.harvest(&self.gpu, job, &mut cvs)?;
                        }
                    }
                    let count = ring.fit(&segs[next..]);
                    let first = cvs.len();
                    cvs.resize(first + count, [0; OUT_LEN]);
                    let job = ring.submit(&self.gpu, slot, &segs[next..next + count], first)?;
                    in_flight.push_back(job);
                    slot = (slot + 1) % depth;
                    next += count;
                }
            }
            offset += n as u64;
            // The block is in a staging buffer now: its memory can take the next read.
            let _ = empty.send(buf);
            Ok(())
        };
        let mut result = run(first).and_then(|()| run(second));
        while result.is_ok() {
            match full.recv() {
                Ok(block) => result = block.map_err(Error::from).and_then(&mut run),
                Err(_) => break, // the reader is done
            }
        }
        // Every submitted batch is harvested, even after an error, so that no readback buffer is
        // left mapped for the next call.
        while let Some(job) = in_flight.pop_front() {
            let harvested = ring.harvest(&self.gpu, job, &mut cvs);
            if result.is_ok() {
                result = harvested;
            }
        }
        result?;
        Ok(fold(&cvs, true))
    }
}

/// The reader thread: fills each buffer it is given (to the end, or to the end of the input) and
/// sends it on; stops after a short block, an error, or when the consumer hangs up.
fn read_blocks<R: Read>(
    mut reader: R,
    empty: mpsc::Receiver<Vec<u8>>,
    full: mpsc::SyncSender<Block>,
) {
    while let Ok(mut buf) = empty.recv() {
        match read_full(&mut reader, &mut buf) {
            Ok(0) => return,
            Ok(n) => {
                let last = n < buf.len();
                if full.send(Ok((buf, n))).is_err() || last {
                    return;
                }
            }
            Err(e) => {
                let _ = full.send(Err(e));
                return;
            }
        }
    }
}

fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
