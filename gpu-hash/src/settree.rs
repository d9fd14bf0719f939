//! A sorted set's Merkle tree on the device: leaf hashes and every level of power-of-two
//! subtrees of [`crate::GpuConfig::set_chunk_leaves`] leaves, their roots folded on the CPU.
//!
//! The tree is the verifier's (`verifier/src/set/build.rs`): leaf `BLAKE3(0x00 || leaf)`, node
//! `BLAKE3(0x01 || left || right)`, level by level with an odd last node carried up. In that
//! construction a node at height k covers an aligned run of 2^k leaves, so the root of each
//! aligned chunk of 2^k leaves (the last one shorter, built by the same rule) is a node of the
//! whole tree, and pairing the chunk roots by the same rule gives the whole root. Two chunks are
//! in flight: while the device hashes one, the next is copied into wgpu's staging memory.
//!
//! This crate does not depend on the verifier (which must stay free of wgpu); the equality of the
//! two is what `tests/settree.rs` checks, against `verifier::set`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::device::{compute_pipeline, storage, uniform, Gpu};
use crate::ring::{map_result, MapState};
use crate::{Error, GpuHasher, OUT_LEN};

/// Bytes of one set leaf: content id (32), size (8, big-endian), metadata digest (32).
pub const SET_LEAF_LEN: usize = 72;

const WORKGROUP: u32 = 64;
/// Uniform offsets of the per-level parameters (the largest `min_uniform_buffer_offset_alignment`
/// any adapter has).
const PARAM_STRIDE: usize = 256;
const IN_FLIGHT: usize = 2;

pub(crate) struct SetTree {
    leaves: wgpu::ComputePipeline,
    nodes: wgpu::ComputePipeline,
    slots: Vec<Slot>,
    /// Leaves per chunk: a power of two.
    chunk: usize,
    /// Passes of a full chunk: the leaves, then log2(chunk) levels of nodes.
    passes: usize,
    max_groups: u32,
}

struct Slot {
    input: wgpu::Buffer,
    params: wgpu::Buffer,
    readback: wgpu::Buffer,
    /// Buffers `a` (leaf hashes, then every even level) and `b` (odd levels).
    a: wgpu::Buffer,
    b: wgpu::Buffer,
    /// One per pass: leaves (input -> a), then levels a -> b, b -> a, ...
    binds: Vec<wgpu::BindGroup>,
}

struct Job {
    slot: usize,
    index: usize,
    submission: wgpu::SubmissionIndex,
    mapped: MapState,
}

impl SetTree {
    pub fn new(gpu: &Gpu, chunk_leaves: usize) -> Result<Self, Error> {
        let device = &gpu.device;
        let limits = device.limits();
        let max_bind =
            u64::from(limits.max_storage_buffer_binding_size).min(limits.max_buffer_size);
        let mut chunk = chunk_leaves;
        while chunk > 2 && (chunk * SET_LEAF_LEN) as u64 > max_bind {
            chunk /= 2;
        }
        let passes = chunk.trailing_zeros() as usize + 1;
        device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("settree"),
            source: wgpu::ShaderSource::Wgsl(
                concat!(
                    include_str!("shaders/compress.wgsl"),
                    include_str!("shaders/settree.wgsl")
                )
                .into(),
            ),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("settree"),
            entries: &[storage(0, true), storage(1, false), uniform(2)],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("settree"),
            bind_group_layouts: &[&layout],
            push_constant_ranges: &[],
        });
        let leaves = compute_pipeline(device, &pipeline_layout, &module, "leaves");
        let nodes = compute_pipeline(device, &pipeline_layout, &module, "nodes");
        let slots = (0..IN_FLIGHT)
            .map(|_| Slot::new(gpu, &layout, chunk, passes))
            .collect();
        if let Some(e) = pollster::block_on(device.pop_error_scope()) {
            return Err(Error::Device(format!("set-tree kernels rejected: {e}")));
        }
        gpu.check()?;
        Ok(Self {
            leaves,
            nodes,
            slots,
            chunk,
            passes,
            max_groups: limits.max_compute_workgroups_per_dimension,
        })
    }

    /// The root of the set whose leaves are `leaves` (whole 72-byte leaves, in tree order).
    pub fn root(&mut self, gpu: &Gpu, leaves: &[u8]) -> Result<[u8; OUT_LEN], Error> {
        if !leaves.len().is_multiple_of(SET_LEAF_LEN) {
            return Err(Error::SetLeaves(leaves.len()));
        }
        if leaves.is_empty() {
            return Ok(*blake3::hash(&[]).as_bytes());
        }
        // Each part: its leaves, then ceil halves down to the level of one node.
        let roots = self.run(gpu, leaves, |n| {
            let mut counts = vec![n as u32];
            let mut m = n;
            while m > 1 {
                counts.push(m as u32);
                m = m.div_ceil(2);
            }
            counts
        })?;
        let roots = roots
            .chunks_exact(OUT_LEN)
            .map(|r| {
                let mut a = [0u8; OUT_LEN];
                a.copy_from_slice(r);
                a
            })
            .collect();
        Ok(fold_nodes(roots))
    }

    /// The roots of the aligned chunks of `chunk_leaves` leaves (a power of two, at most the
    /// tree's own chunk) that `leaves` is made of, in order: the nodes of height
    /// `log2(chunk_leaves)` of the set's tree, read back before any fold. `leaves` must be whole
    /// chunks, so no level below them has an odd node to carry.
    pub fn chunk_roots(
        &mut self,
        gpu: &Gpu,
        leaves: &[u8],
        chunk_leaves: usize,
    ) -> Result<Vec<[u8; OUT_LEN]>, Error> {
        if !chunk_leaves.is_power_of_two() || chunk_leaves > self.chunk {
            return Err(Error::Config(format!(
                "chunk roots of {chunk_leaves} leaves: a power of two of at most {} is needed",
                self.chunk
            )));
        }
        if !leaves.len().is_multiple_of(SET_LEAF_LEN * chunk_leaves) {
            return Err(Error::SetLeaves(leaves.len()));
        }
        if leaves.is_empty() {
            return Ok(Vec::new());
        }
        let height = chunk_leaves.trailing_zeros();
        // Each part: its leaves, then `height` levels of nodes, each half the one below.
        let roots = self.run(gpu, leaves, |n| {
            let mut counts = vec![n as u32];
            counts.extend((0..height).map(|k| (n >> k) as u32));
            counts
        })?;
        Ok(roots
            .chunks_exact(OUT_LEN)
            .map(|r| {
                let mut a = [0u8; OUT_LEN];
                a.copy_from_slice(r);
                a
            })
            .collect())
    }

    /// Runs `leaves` through the kernels in parts of the tree's chunk, two in flight, each part
    /// through the passes `counts(leaves of the part)` gives (the inputs of each pass: the
    /// leaves, then one level after another); returns the last level of every part, in order.
    fn run(
        &mut self,
        gpu: &Gpu,
        leaves: &[u8],
        counts: impl Fn(usize) -> Vec<u32>,
    ) -> Result<Vec<u8>, Error> {
        let parts: Vec<&[u8]> = leaves.chunks(self.chunk * SET_LEAF_LEN).collect();
        let plans: Vec<Vec<u32>> = parts
            .iter()
            .map(|p| counts(p.len() / SET_LEAF_LEN))
            .collect();
        // Bytes each part's last pass writes: one node per pair of its inputs (the leaf hashes
        // where there is no node pass).
        let outs: Vec<usize> = plans
            .iter()
            .map(|c| match c.as_slice() {
                [n] => *n as usize * OUT_LEN,
                [.., n] => (*n as usize).div_ceil(2) * OUT_LEN,
                [] => 0,
            })
            .collect();
        let most = outs.iter().copied().max().unwrap_or(0).max(OUT_LEN);
        for slot in &mut self.slots {
            if (slot.readback.size() as usize) < most {
                slot.readback = readback_buffer(gpu, most);
            }
        }
        let mut out = vec![0u8; outs.iter().sum()];
        let offsets: Vec<usize> = outs
            .iter()
            .scan(0usize, |at, &len| {
                let here = *at;
                *at += len;
                Some(here)
            })
            .collect();
        let mut in_flight: VecDeque<Job> = VecDeque::new();
        let mut result = Ok(());
        for (index, part) in parts.iter().enumerate() {
            if in_flight.len() == self.slots.len() {
                if let Some(job) = in_flight.pop_front() {
                    let i = job.index;
                    result = self.harvest(gpu, job, &mut out[offsets[i]..][..outs[i]]);
                }
            }
            if result.is_err() {
                break;
            }
            match self.submit(
                gpu,
                index % self.slots.len(),
                index,
                part,
                &plans[index],
                outs[index],
            ) {
                Ok(job) => in_flight.push_back(job),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        while let Some(job) = in_flight.pop_front() {
            let i = job.index;
            let harvested = self.harvest(gpu, job, &mut out[offsets[i]..][..outs[i]]);
            if result.is_ok() {
                result = harvested;
            }
        }
        result?;
        Ok(out)
    }

    fn submit(
        &self,
        gpu: &Gpu,
        slot_index: usize,
        index: usize,
        part: &[u8],
        counts: &[u32],
        out_bytes: usize,
    ) -> Result<Job, Error> {
        let slot = &self.slots[slot_index];
        gpu.queue.write_buffer(&slot.input, 0, part);
        let mut params = vec![0u8; self.passes * PARAM_STRIDE];
        for (pass, count) in counts.iter().enumerate() {
            params[pass * PARAM_STRIDE..pass * PARAM_STRIDE + 4]
                .copy_from_slice(&count.to_le_bytes());
        }
        gpu.queue.write_buffer(&slot.params, 0, &params);
        let mut enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("settree"),
            });
        for (pass, &count) in counts.iter().enumerate() {
            let (pipeline, threads) = if pass == 0 {
                (&self.leaves, count)
            } else {
                (&self.nodes, count.div_ceil(2))
            };
            let mut cp = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            cp.set_pipeline(pipeline);
            cp.set_bind_group(0, &slot.binds[pass], &[]);
            let (x, y) = self.groups(threads)?;
            cp.dispatch_workgroups(x, y, 1);
        }
        // Pass 0 writes `a`, pass 1 `b`, pass 2 `a`...: the result is where the last pass wrote.
        let last = if counts.len() % 2 == 1 {
            &slot.a
        } else {
            &slot.b
        };
        enc.copy_buffer_to_buffer(last, 0, &slot.readback, 0, out_bytes as u64);
        let submission = gpu.queue.submit([enc.finish()]);
        let mapped: MapState = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&mapped);
        slot.readback
            .slice(..out_bytes as u64)
            .map_async(wgpu::MapMode::Read, move |r| {
                if let Ok(mut s) = sink.lock() {
                    *s = Some(r);
                }
            });
        Ok(Job {
            slot: slot_index,
            index,
            submission,
            mapped,
        })
    }

    fn harvest(&self, gpu: &Gpu, job: Job, out: &mut [u8]) -> Result<(), Error> {
        gpu.wait(job.submission)?;
        map_result(&job.mapped)?;
        let slot = &self.slots[job.slot];
        {
            let view = slot.readback.slice(..out.len() as u64).get_mapped_range();
            out.copy_from_slice(&view[..out.len()]);
        }
        slot.readback.unmap();
        Ok(())
    }

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
    fn new(gpu: &Gpu, layout: &wgpu::BindGroupLayout, chunk: usize, passes: usize) -> Self {
        use wgpu::BufferUsages as U;
        let buffer = |label: &str, size: usize, usage: U| {
            gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size as u64,
                usage,
                mapped_at_creation: false,
            })
        };
        let input = buffer("set leaves", chunk * SET_LEAF_LEN, U::STORAGE | U::COPY_DST);
        let a = buffer("set level a", chunk * OUT_LEN, U::STORAGE | U::COPY_SRC);
        let b = buffer(
            "set level b",
            (chunk / 2).max(1) * OUT_LEN,
            U::STORAGE | U::COPY_SRC,
        );
        let params = buffer(
            "set levels",
            passes * PARAM_STRIDE,
            U::UNIFORM | U::COPY_DST,
        );
        let readback = readback_buffer(gpu, OUT_LEN);
        let binds = (0..passes)
            .map(|pass| {
                let (src, dst) = match pass {
                    0 => (&input, &a),
                    p if p % 2 == 1 => (&a, &b),
                    _ => (&b, &a),
                };
                gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("set level"),
                    layout,
                    entries: &[
                        whole(0, src),
                        whole(1, dst),
                        wgpu::BindGroupEntry {
                            binding: 2,
                            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                buffer: &params,
                                offset: (pass * PARAM_STRIDE) as u64,
                                size: wgpu::BufferSize::new(16),
                            }),
                        },
                    ],
                })
            })
            .collect();
        Self {
            input,
            params,
            readback,
            a,
            b,
            binds,
        }
    }
}

/// A buffer the host reads `bytes` of results back from.
fn readback_buffer(gpu: &Gpu, bytes: usize) -> wgpu::Buffer {
    gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("set tree results"),
        size: bytes as u64,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

impl GpuHasher {
    /// The root of a sorted set's Merkle tree, given its leaves (72 bytes each, concatenated in
    /// tree order: the `leaves` upload format), built on the device. `BLAKE3("")` for no leaves,
    /// as the verifier's empty set.
    pub fn set_root(&self, leaves: &[u8]) -> Result<[u8; OUT_LEN], Error> {
        self.with_set_tree(|tree, gpu| tree.root(gpu, leaves))
    }

    /// The roots of the aligned chunks of `chunk_leaves` leaves (a power of two, at most
    /// [`crate::GpuConfig::set_chunk_leaves`]) of a sorted set's leaves, built on the device:
    /// `leaves` is `k * chunk_leaves` whole 72-byte leaves, and the answer is `k` roots, each
    /// the RFC 6962 subtree root (`verifier::set`'s rule) of its chunk's leaf hashes. The
    /// service's set ingest hashes its 256-leaf records this way, many at a time.
    pub fn set_chunk_roots(
        &self,
        leaves: &[u8],
        chunk_leaves: usize,
    ) -> Result<Vec<[u8; OUT_LEN]>, Error> {
        self.with_set_tree(|tree, gpu| tree.chunk_roots(gpu, leaves, chunk_leaves))
    }

    fn with_set_tree<T>(
        &self,
        f: impl FnOnce(&mut SetTree, &Gpu) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let tree = self
            .set_tree
            .get_or_init(|| {
                SetTree::new(&self.gpu, self.set_chunk_leaves)
                    .map(Mutex::new)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| Error::Device(e.clone()))?;
        let mut tree = tree
            .lock()
            .map_err(|_| Error::Device("set tree poisoned by an earlier panic".into()))?;
        f(&mut tree, &self.gpu)
    }
}

fn whole(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

/// Pairs nodes level by level (an odd last one carried up) down to one: the set tree's rule.
fn fold_nodes(mut level: Vec<[u8; OUT_LEN]>) -> [u8; OUT_LEN] {
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => {
                    let mut buf = [0u8; 1 + 2 * OUT_LEN];
                    buf[0] = 0x01;
                    buf[1..1 + OUT_LEN].copy_from_slice(l);
                    buf[1 + OUT_LEN..].copy_from_slice(r);
                    *blake3::hash(&buf).as_bytes()
                }
                _ => pair.first().copied().unwrap_or_default(),
            })
            .collect();
    }
    level.first().copied().unwrap_or_default()
}
