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

use crate::device::Gpu;
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
            entries: &[
                storage(0, true),
                storage(1, false),
                wgpu::BindGroupLayoutEntry {
                    binding: 2,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("settree"),
            bind_group_layouts: &[&layout],
            push_constant_ranges: &[],
        });
        let pipeline = |entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let leaves = pipeline("leaves");
        let nodes = pipeline("nodes");
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
    pub fn root(&self, gpu: &Gpu, leaves: &[u8]) -> Result<[u8; OUT_LEN], Error> {
        if !leaves.len().is_multiple_of(SET_LEAF_LEN) {
            return Err(Error::SetLeaves(leaves.len()));
        }
        if leaves.is_empty() {
            return Ok(*blake3::hash(&[]).as_bytes());
        }
        let parts: Vec<&[u8]> = leaves.chunks(self.chunk * SET_LEAF_LEN).collect();
        let mut roots = vec![[0u8; OUT_LEN]; parts.len()];
        let mut in_flight: VecDeque<Job> = VecDeque::new();
        let mut result = Ok(());
        for (index, part) in parts.iter().enumerate() {
            if in_flight.len() == self.slots.len() {
                if let Some(job) = in_flight.pop_front() {
                    result = self.harvest(gpu, job, &mut roots);
                }
            }
            if result.is_err() {
                break;
            }
            match self.submit(gpu, index % self.slots.len(), index, part) {
                Ok(job) => in_flight.push_back(job),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        while let Some(job) = in_flight.pop_front() {
            let harvested = self.harvest(gpu, job, &mut roots);
            if result.is_ok() {
                result = harvested;
            }
        }
        result?;
        Ok(fold_nodes(roots))
    }

    fn submit(
        &self,
        gpu: &Gpu,
        slot_index: usize,
        index: usize,
        part: &[u8],
    ) -> Result<Job, Error> {
        let slot = &self.slots[slot_index];
        let n = part.len() / SET_LEAF_LEN;
        gpu.queue.write_buffer(&slot.input, 0, part);
        // Inputs of each pass: n leaves, then ceil halves down to the level of one node.
        let mut counts = vec![n as u32];
        let mut m = n;
        while m > 1 {
            counts.push(m as u32);
            m = m.div_ceil(2);
        }
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
        // Pass 0 writes `a`, pass 1 `b`, pass 2 `a`...: the root is where the last pass wrote.
        let last = if counts.len() % 2 == 1 {
            &slot.a
        } else {
            &slot.b
        };
        enc.copy_buffer_to_buffer(last, 0, &slot.readback, 0, OUT_LEN as u64);
        let submission = gpu.queue.submit([enc.finish()]);
        let mapped: MapState = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&mapped);
        slot.readback
            .slice(..)
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

    fn harvest(&self, gpu: &Gpu, job: Job, roots: &mut [[u8; OUT_LEN]]) -> Result<(), Error> {
        gpu.wait(job.submission)?;
        map_result(&job.mapped)?;
        let slot = &self.slots[job.slot];
        {
            let view = slot.readback.slice(..).get_mapped_range();
            roots[job.index].copy_from_slice(&view[..OUT_LEN]);
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
        let readback = buffer("set root", OUT_LEN, U::MAP_READ | U::COPY_DST);
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

impl GpuHasher {
    /// The root of a sorted set's Merkle tree, given its leaves (72 bytes each, concatenated in
    /// tree order: the `leaves` upload format), built on the device. `BLAKE3("")` for no leaves,
    /// as the verifier's empty set.
    pub fn set_root(&self, leaves: &[u8]) -> Result<[u8; OUT_LEN], Error> {
        let tree = self
            .set_tree
            .get_or_init(|| {
                SetTree::new(&self.gpu, self.set_chunk_leaves)
                    .map(Mutex::new)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| Error::Device(e.clone()))?;
        let tree = tree
            .lock()
            .map_err(|_| Error::Device("set tree poisoned by an earlier panic".into()))?;
        tree.root(&self.gpu, leaves)
    }
}

fn storage(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
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
