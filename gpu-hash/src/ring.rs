//! The ring of in-flight batches.
//!
//! Each slot owns every buffer a batch needs (a mappable staging buffer for the input and its
//! segment table, the device-side input, table, chunk chaining values and outputs, and a mappable
//! readback buffer), created once and reused. While the GPU copies, hashes and reads back the
//! batches in the other slots, the CPU packs the next batch into a free slot's staging buffer
//! (with several threads: one core copies slower than a PCIe 5 link), so the queue always holds
//! work and no slot waits for the CPU unless the CPU is the bottleneck.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::device::{Gpu, GpuConfig};
use crate::merge::Segment;
use crate::{Error, CHUNK_LEN, OUT_LEN};

/// Bytes of one segment-table entry (six u32, as `Segment` in the WGSL).
const SEG_ENTRY: usize = 24;
const ROOT: u32 = 8;
const WORKGROUP: u32 = 64;
/// Below this many bytes a batch is copied by the calling thread alone.
const PARALLEL_COPY_MIN: usize = 4 << 20;

pub(crate) type MapState = Arc<Mutex<Option<Result<(), wgpu::BufferAsyncError>>>>;

pub(crate) struct Ring {
    pub(crate) slots: Vec<Slot>,
    pub(crate) cap_in: usize,
    cap_segs: usize,
    cap_chunks: usize,
    seg_len: usize,
    max_groups: u32,
    copy_threads: usize,
}

pub(crate) struct Slot {
    pub(crate) staging: wgpu::Buffer,
    pub(crate) input: wgpu::Buffer,
    table: wgpu::Buffer,
    outs: wgpu::Buffer,
    readback: wgpu::Buffer,
    params: wgpu::Buffer,
    bind: wgpu::BindGroup,
}

/// A submitted batch: which slot, which segments, and the submission to wait for.
pub(crate) struct InFlight {
    slot: usize,
    first: usize,
    pub(crate) count: usize,
    submission: wgpu::SubmissionIndex,
    mapped: MapState,
}

impl Ring {
    pub fn new(gpu: &Gpu, config: &GpuConfig) -> Result<Self, Error> {
        if config.ring_depth == 0 {
            return Err(Error::Config("ring_depth must be at least 1".into()));
        }
        if config.segment_chunks == 0 || !config.segment_chunks.is_power_of_two() {
            return Err(Error::Config(
                "segment_chunks must be a power of two".into(),
            ));
        }
        let limits = gpu.device.limits();
        let max_bind =
            u64::from(limits.max_storage_buffer_binding_size).min(limits.max_buffer_size);
        let max_bind = usize::try_from(max_bind).unwrap_or(usize::MAX);
        let cap_in = config.batch_bytes.min(max_bind) & !(CHUNK_LEN - 1);
        if cap_in < CHUNK_LEN {
            return Err(Error::Config(format!(
                "batch of {} bytes is below one chunk",
                config.batch_bytes
            )));
        }
        // A segment must fit a batch; a power of two that fits always exists (one chunk).
        let mut seg_chunks = config.segment_chunks as usize;
        while seg_chunks * CHUNK_LEN > cap_in {
            seg_chunks /= 2;
        }
        let cap_segs = (cap_in / 256).clamp(1, max_bind / 64);
        let cap_chunks = cap_in / CHUNK_LEN + cap_segs;
        let slots = (0..config.ring_depth)
            .map(|_| Slot::new(gpu, cap_in, cap_segs, cap_chunks))
            .collect();
        gpu.check()?;
        Ok(Self {
            slots,
            cap_in,
            cap_segs,
            cap_chunks,
            seg_len: seg_chunks * CHUNK_LEN,
            max_groups: limits.max_compute_workgroups_per_dimension,
            copy_threads: config.copy_threads.max(1),
        })
    }

    pub fn batch_bytes(&self) -> usize {
        self.cap_in
    }

    pub fn depth(&self) -> usize {
        self.slots.len()
    }

    pub fn segment_bytes(&self) -> usize {
        self.seg_len
    }

    /// Hashes every segment; returns one root hash or chaining value per segment, in order.
    pub fn run(&mut self, gpu: &Gpu, segs: &[Segment<'_>]) -> Result<Vec<[u8; OUT_LEN]>, Error> {
        let mut results = vec![[0u8; OUT_LEN]; segs.len()];
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        let mut next = 0;
        let mut slot = 0;
        while next < segs.len() || !in_flight.is_empty() {
            // Slots are used round-robin and harvested oldest first, so while fewer than all are
            // in flight, `slot` is free.
            if next < segs.len() && in_flight.len() < self.slots.len() {
                let count = self.fit(&segs[next..]);
                let job = self.submit(gpu, slot, &segs[next..next + count], next)?;
                in_flight.push_back(job);
                next += count;
                slot = (slot + 1) % self.slots.len();
            } else if let Some(job) = in_flight.pop_front() {
                self.harvest(gpu, job, &mut results)?;
            }
        }
        Ok(results)
    }

    /// How many of `segs` (at least one) fit one batch.
    pub(crate) fn fit(&self, segs: &[Segment<'_>]) -> usize {
        let (mut bytes, mut chunks) = (0, 0);
        for (n, s) in segs.iter().enumerate() {
            bytes += s.data.len().next_multiple_of(16);
            chunks += chunk_count(s.data.len());
            if n > 0 && (bytes > self.cap_in || n + 1 > self.cap_segs || chunks > self.cap_chunks) {
                return n;
            }
        }
        segs.len()
    }

    pub(crate) fn submit(
        &self,
        gpu: &Gpu,
        slot_index: usize,
        segs: &[Segment<'_>],
        first: usize,
    ) -> Result<InFlight, Error> {
        let slot = &self.slots[slot_index];
        // Lay out the batch: each segment 16-byte aligned (the kernel reads vec4<u32>).
        let mut parts = Vec::with_capacity(segs.len());
        let mut table = Vec::with_capacity(segs.len() * SEG_ENTRY);
        let (mut off, mut chunk_base) = (0usize, 0u32);
        for s in segs {
            let words = [
                (off / 16) as u32,
                s.data.len() as u32,
                s.counter as u32,
                (s.counter >> 32) as u32,
                chunk_base,
                if s.root { ROOT } else { 0 },
            ];
            table.extend(words.iter().flat_map(|w| w.to_le_bytes()));
            parts.push((s.data, off));
            off += s.data.len().next_multiple_of(16);
            chunk_base += chunk_count(s.data.len()) as u32;
        }
        let in_bytes = off;
        map(gpu, &slot.staging, wgpu::MapMode::Write)?;
        {
            let mut view = slot.staging.slice(..).get_mapped_range_mut();
            copy_parts(&mut view[..in_bytes], &parts, self.copy_threads);
            view[self.cap_in..self.cap_in + table.len()].copy_from_slice(&table);
        }
        slot.staging.unmap();
        let params: Vec<u8> = [chunk_base, segs.len() as u32, 0, 0]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        gpu.queue.write_buffer(&slot.params, 0, &params);
        let mut enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("batch"),
            });
        if in_bytes > 0 {
            enc.copy_buffer_to_buffer(&slot.staging, 0, &slot.input, 0, in_bytes as u64);
        }
        let cap_in = self.cap_in as u64;
        enc.copy_buffer_to_buffer(&slot.staging, cap_in, &slot.table, 0, table.len() as u64);
        self.encode_kernels(gpu, &mut enc, slot_index, chunk_base, segs.len() as u32)?;
        let out_bytes = (segs.len() * OUT_LEN) as u64;
        enc.copy_buffer_to_buffer(&slot.outs, 0, &slot.readback, 0, out_bytes);
        let submission = gpu.queue.submit([enc.finish()]);
        let mapped: MapState = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&mapped);
        slot.readback
            .slice(..out_bytes)
            .map_async(wgpu::MapMode::Read, move |r| {
                if let Ok(mut s) = sink.lock() {
                    *s = Some(r);
                }
            });
        Ok(InFlight {
            slot: slot_index,
            first,
            count: segs.len(),
            submission,
            mapped,
        })
    }

    pub(crate) fn harvest(
        &self,
        gpu: &Gpu,
        job: InFlight,
        results: &mut [[u8; OUT_LEN]],
    ) -> Result<(), Error> {
        gpu.wait(job.submission)?;
        map_result(&job.mapped)?;
        let slot = &self.slots[job.slot];
        let out_bytes = (job.count * OUT_LEN) as u64;
        {
            let view = slot.readback.slice(..out_bytes).get_mapped_range();
            for (dst, src) in results[job.first..job.first + job.count]
                .iter_mut()
                .zip(view.chunks_exact(OUT_LEN))
            {
                dst.copy_from_slice(src);
            }
        }
        slot.readback.unmap();
        Ok(())
    }

    /// Records the two kernels over slot `slot_index`'s current batch.
    pub(crate) fn encode_kernels(
        &self,
        gpu: &Gpu,
        enc: &mut wgpu::CommandEncoder,
        slot_index: usize,
        chunks: u32,
        segments: u32,
    ) -> Result<(), Error> {
        let slot = &self.slots[slot_index];
        // Two passes, so that wgpu orders the chunk writes before the reduction's reads.
        for (pipeline, threads) in [(&gpu.chunks, chunks), (&gpu.reduce, segments)] {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &slot.bind, &[]);
            let (x, y) = self.groups(threads)?;
            pass.dispatch_workgroups(x, y, 1);
        }
        Ok(())
    }

    /// A 2-D grid of workgroups covering `threads`, within the device's per-dimension limit.
    fn groups(&self, threads: u32) -> Result<(u32, u32), Error> {
        let groups = threads.div_ceil(WORKGROUP).max(1);
        let x = groups.min(self.max_groups);
        let y = groups.div_ceil(x);
        if y > self.max_groups {
            return Err(Error::Device(format!(
                "{threads} invocations exceed the dispatch limit"
            )));
        }
        Ok((x, y))
    }
}

impl Slot {
    fn new(gpu: &Gpu, cap_in: usize, cap_segs: usize, cap_chunks: usize) -> Self {
        use wgpu::BufferUsages as U;
        let buffer = |label: &str, size: usize, usage: U| {
            gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size as u64,
                usage,
                mapped_at_creation: false,
            })
        };
        let staging = buffer(
            "staging",
            cap_in + cap_segs * SEG_ENTRY,
            U::MAP_WRITE | U::COPY_SRC,
        );
        let input = buffer("input", cap_in, U::STORAGE | U::COPY_DST);
        let table = buffer("segments", cap_segs * SEG_ENTRY, U::STORAGE | U::COPY_DST);
        let cvs = buffer("cvs", cap_chunks * OUT_LEN, U::STORAGE);
        let outs = buffer("outs", cap_segs * OUT_LEN, U::STORAGE | U::COPY_SRC);
        let readback = buffer("readback", cap_segs * OUT_LEN, U::MAP_READ | U::COPY_DST);
        let params = buffer("params", 16, U::UNIFORM | U::COPY_DST);
        let bind = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("batch"),
            layout: &gpu.layout,
            entries: &[
                entry(0, &input),
                entry(1, &table),
                entry(2, &cvs),
                entry(3, &outs),
                entry(4, &params),
            ],
        });
        Self {
            staging,
            input,
            table,
            outs,
            readback,
            params,
            bind,
        }
    }
}

fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

/// Chunks of a segment as the kernel counts them: the empty input is one (empty) chunk.
pub(crate) fn chunk_count(len: usize) -> usize {
    len.div_ceil(CHUNK_LEN).max(1)
}

/// Maps a whole buffer whose last GPU use has completed (so the callback runs on the next poll).
pub(crate) fn map(gpu: &Gpu, buffer: &wgpu::Buffer, mode: wgpu::MapMode) -> Result<(), Error> {
    let state: MapState = Arc::new(Mutex::new(None));
    let sink = Arc::clone(&state);
    buffer.slice(..).map_async(mode, move |r| {
        if let Ok(mut s) = sink.lock() {
            *s = Some(r);
        }
    });
    gpu.device
        .poll(wgpu::PollType::Poll)
        .map_err(|e| Error::Device(e.to_string()))?;
    if state.lock().map(|s| s.is_none()).unwrap_or(false) {
        gpu.device
            .poll(wgpu::PollType::Wait)
            .map_err(|e| Error::Device(e.to_string()))?;
    }
    map_result(&state)
}

pub(crate) fn map_result(state: &MapState) -> Result<(), Error> {
    match state.lock() {
        Ok(s) => match s.as_ref() {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(Error::Map(e.to_string())),
            None => Err(Error::Map("mapping did not complete".into())),
        },
        Err(_) => Err(Error::Map("map state poisoned".into())),
    }
}

/// Copies each `(src, offset)` into `dst`, splitting the work over up to `threads` threads by
/// contiguous runs of parts (so each thread owns a disjoint slice of `dst`).
fn copy_parts(dst: &mut [u8], parts: &[(&[u8], usize)], threads: usize) {
    if threads <= 1 || dst.len() < PARALLEL_COPY_MIN {
        for (src, off) in parts {
            dst[*off..*off + src.len()].copy_from_slice(src);
        }
        return;
    }
    let per = dst.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut rest = dst;
        let (mut base, mut i) = (0, 0);
        while i < parts.len() {
            let mut j = i + 1;
            while j < parts.len() && parts[j].1 - parts[i].1 < per {
                j += 1;
            }
            let end = parts.get(j).map_or(base + rest.len(), |p| p.1);
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(end - base);
            rest = tail;
            let (group, group_base) = (&parts[i..j], base);
            scope.spawn(move || {
                for (src, off) in group {
                    head[off - group_base..off - group_base + src.len()].copy_from_slice(src);
                }
            });
            base = end;
            i = j;
        }
    });
}
