//! Adapters, the device and the two compute pipelines.

use std::fmt;
use std::sync::{Arc, Mutex};

use crate::Error;

/// Settings of a [`crate::GpuHasher`]. `Default` suits a discrete GPU.
#[derive(Clone, Debug)]
pub struct GpuConfig {
    /// Backends to look on, as a comma list (`"vulkan"`, `"vulkan,metal"`). `None`: the
    /// `WGPU_BACKEND` environment variable if set, else Vulkan, Metal and DX12.
    pub backends: Option<String>,
    /// Input bytes per GPU batch; clamped to the device's storage binding and buffer limits.
    /// Larger batches amortise a submission; three of them are resident at once.
    pub batch_bytes: usize,
    /// Batches in flight (each with its own staging, device and readback buffers), at least 1.
    pub ring_depth: usize,
    /// Chunks per segment, a power of two: items up to this many KiB are one segment whose root
    /// is computed on the GPU; larger ones are cut into segments of this size. Each segment is
    /// folded by one GPU thread, so smaller is more parallel; larger leaves fewer chaining values
    /// for the CPU to merge.
    pub segment_chunks: u32,
    /// Threads copying items into a staging buffer (one core copies ~10 GB/s, less than a PCIe 5
    /// link).
    pub copy_threads: usize,
    /// Bytes per block when one input is streamed from a reader or a file
    /// ([`crate::GpuHasher::hash_reader`]): rounded down to a power of two within one batch.
    /// Reading one block overlaps the device's work on the previous ones.
    pub stream_block_bytes: usize,
    /// Leaves per set subtree built wholly on the device ([`crate::GpuHasher::set_root`]), a
    /// power of two: 72 bytes of upload and 48 bytes of levels per leaf, twice (two in flight).
    pub set_chunk_leaves: usize,
}

impl Default for GpuConfig {
    fn default() -> Self {
        Self {
            backends: None,
            batch_bytes: 128 << 20,
            ring_depth: 3,
            segment_chunks: 32,
            copy_threads: std::thread::available_parallelism()
                .map(|n| n.get().min(8))
                .unwrap_or(4),
            stream_block_bytes: 16 << 20,
            set_chunk_leaves: 1 << 20,
        }
    }
}

/// What kind of device an adapter drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceKind {
    DiscreteGpu,
    IntegratedGpu,
    VirtualGpu,
    /// A software rasteriser such as Mesa's lavapipe: correct, never faster than the CPU backend.
    Cpu,
    Other,
}

impl DeviceKind {
    /// The name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DiscreteGpu => "discrete_gpu",
            Self::IntegratedGpu => "integrated_gpu",
            Self::VirtualGpu => "virtual_gpu",
            Self::Cpu => "cpu",
            Self::Other => "other",
        }
    }
}

/// An adapter as reported by the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    pub name: String,
    /// wgpu's backend name: `vulkan`, `metal`, `dx12`.
    pub backend: String,
    pub kind: DeviceKind,
    /// Driver name and version, where the driver says.
    pub driver: String,
}

impl DeviceInfo {
    /// A software adapter: `auto` must not choose it.
    pub fn is_cpu(&self) -> bool {
        self.kind == DeviceKind::Cpu
    }
}

impl fmt::Display for DeviceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, {})",
            self.name,
            self.backend,
            self.kind.as_str()
        )
    }
}

/// The adapters on the configured backends, best first (discrete before integrated, software
/// last). Opens no device, so it is cheap enough for `auto` to call at start-up.
pub fn adapters(config: &GpuConfig) -> Vec<DeviceInfo> {
    ranked(&instance(config), config)
        .iter()
        .map(|a| describe(&a.get_info()))
        .collect()
}

/// The opened device, its queue and the compiled pipelines.
pub(crate) struct Gpu {
    pub info: DeviceInfo,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub layout: wgpu::BindGroupLayout,
    pub chunks: wgpu::ComputePipeline,
    pub reduce: wgpu::ComputePipeline,
    /// The first error wgpu reported outside an error scope (validation, out of memory).
    errors: Arc<Mutex<Option<String>>>,
    _instance: wgpu::Instance,
}

impl Gpu {
    pub fn open(config: &GpuConfig) -> Result<Self, Error> {
        let instance = instance(config);
        let adapter = ranked(&instance, config)
            .into_iter()
            .next()
            .ok_or_else(|| Error::NoAdapter(format!("backends {}", backends_label(config))))?;
        let info = describe(&adapter.get_info());
        // Ask for everything the adapter offers: the binding and buffer sizes bound the batch,
        // and the defaults (128 MiB bindings) would halve what a large GPU can take per submit.
        let desc = wgpu::DeviceDescriptor {
            label: Some("gpu-hash"),
            required_features: wgpu::Features::empty(),
            required_limits: adapter.limits(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| Error::RequestDevice(e.to_string()))?;
        let errors = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&errors);
        device.on_uncaptured_error(Box::new(move |e| {
            if let Ok(mut slot) = sink.lock() {
                slot.get_or_insert_with(|| e.to_string());
            }
        }));
        device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("blake3"),
            source: wgpu::ShaderSource::Wgsl(
                concat!(
                    include_str!("shaders/compress.wgsl"),
                    include_str!("shaders/blake3.wgsl")
                )
                .into(),
            ),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("blake3"),
            entries: &[
                storage(0, true),
                storage(1, true),
                storage(2, false),
                storage(3, false),
                uniform(4),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("blake3"),
            bind_group_layouts: &[&layout],
            push_constant_ranges: &[],
        });
        let chunks = compute_pipeline(&device, &pipeline_layout, &module, "chunks");
        let reduce = compute_pipeline(&device, &pipeline_layout, &module, "reduce");
        if let Some(e) = pollster::block_on(device.pop_error_scope()) {
            return Err(Error::Device(format!("kernels rejected: {e}")));
        }
        Ok(Self {
            info,
            device,
            queue,
            layout,
            chunks,
            reduce,
            errors,
            _instance: instance,
        })
    }

    /// Fails with the first error wgpu reported since the device was opened.
    pub fn check(&self) -> Result<(), Error> {
        match self.errors.lock() {
            Ok(slot) => match slot.as_ref() {
                Some(e) => Err(Error::Device(e.clone())),
                None => Ok(()),
            },
            Err(_) => Err(Error::Device("error sink poisoned".into())),
        }
    }

    /// Blocks until `submission` has completed and its map callbacks have run.
    pub fn wait(&self, submission: wgpu::SubmissionIndex) -> Result<(), Error> {
        self.device
            .poll(wgpu::PollType::WaitForSubmissionIndex(submission))
            .map_err(|e| Error::Device(e.to_string()))?;
        self.check()
    }
}

/// A compute-stage storage buffer binding of a bind group layout.
pub(crate) fn storage(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    buffer_binding(binding, wgpu::BufferBindingType::Storage { read_only })
}

/// A compute-stage uniform buffer binding of a bind group layout (a kernel's parameters).
pub(crate) fn uniform(binding: u32) -> wgpu::BindGroupLayoutEntry {
    buffer_binding(binding, wgpu::BufferBindingType::Uniform)
}

fn buffer_binding(binding: u32, ty: wgpu::BufferBindingType) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// The compute pipeline of `module`'s kernel `entry`.
pub(crate) fn compute_pipeline(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    module: &wgpu::ShaderModule,
    entry: &str,
) -> wgpu::ComputePipeline {
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: Some(layout),
        module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    })
}

fn requested_backends(config: &GpuConfig) -> wgpu::Backends {
    match &config.backends {
        Some(list) => wgpu::Backends::from_comma_list(list),
        None => wgpu::Backends::from_env()
            .unwrap_or(wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12),
    }
}

fn backends_label(config: &GpuConfig) -> String {
    let b = requested_backends(config);
    let names: Vec<&str> = [
        (wgpu::Backends::VULKAN, "vulkan"),
        (wgpu::Backends::METAL, "metal"),
        (wgpu::Backends::DX12, "dx12"),
        (wgpu::Backends::GL, "gl"),
    ]
    .into_iter()
    .filter(|(flag, _)| b.contains(*flag))
    .map(|(_, name)| name)
    .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(",")
    }
}

fn instance(config: &GpuConfig) -> wgpu::Instance {
    wgpu::Instance::new(&wgpu::InstanceDescriptor {
        backends: requested_backends(config),
        ..Default::default()
    })
}

fn ranked(instance: &wgpu::Instance, config: &GpuConfig) -> Vec<wgpu::Adapter> {
    let mut all = instance.enumerate_adapters(requested_backends(config));
    all.sort_by_key(|a| rank(a.get_info().device_type));
    all
}

fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

fn describe(info: &wgpu::AdapterInfo) -> DeviceInfo {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => DeviceKind::DiscreteGpu,
        wgpu::DeviceType::IntegratedGpu => DeviceKind::IntegratedGpu,
        wgpu::DeviceType::VirtualGpu => DeviceKind::VirtualGpu,
        wgpu::DeviceType::Cpu => DeviceKind::Cpu,
        wgpu::DeviceType::Other => DeviceKind::Other,
    };
    let driver = format!("{} {}", info.driver, info.driver_info)
        .trim()
        .to_string();
    DeviceInfo {
        name: info.name.clone(),
        backend: info.backend.to_str().to_string(),
        kind,
        driver,
    }
}
