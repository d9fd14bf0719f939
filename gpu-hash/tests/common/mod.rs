//! Shared helpers: the device the GPU tests run on, and inputs.
#![allow(dead_code)] // each test binary uses a different subset

use gpu_hash::{GpuConfig, GpuHasher};

/// The backend the tests ask for: `WGPU_BACKEND` if set, else Vulkan (lavapipe in CI).
pub fn requested() -> String {
    std::env::var("WGPU_BACKEND").unwrap_or_else(|_| "vulkan".into())
}

/// The default config on the requested backend.
pub fn config() -> GpuConfig {
    GpuConfig {
        backends: Some(requested()),
        ..GpuConfig::default()
    }
}

/// Opens a device with `config` (its `backends` overridden by [`requested`]). Without an adapter
/// the test is skipped with a printed reason, except in CI (`CI=true`), where lavapipe is
/// installed and a missing adapter is a failure.
pub fn gpu_with(config: GpuConfig) -> Option<GpuHasher> {
    let backend = requested();
    let config = GpuConfig {
        backends: Some(backend.clone()),
        ..config
    };
    match GpuHasher::new(&config) {
        Ok(gpu) => {
            // wgpu must not have fallen back to another backend than the one asked for.
            if backend.eq_ignore_ascii_case("vulkan") {
                assert_eq!(gpu.device().backend, "vulkan", "adapter {}", gpu.device());
            }
            eprintln!("gpu tests on {}", gpu.device());
            Some(gpu)
        }
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but no {backend} adapter: {e} (is mesa-vulkan-drivers installed?)");
            }
            eprintln!("SKIPPED: no {backend} adapter ({e}); install mesa-vulkan-drivers to run");
            None
        }
    }
}

/// A device with a small ring, so that a test of a few MiB still goes through several batches.
pub fn gpu() -> Option<GpuHasher> {
    gpu_with(GpuConfig {
        batch_bytes: 1 << 20,
        ring_depth: 3,
        segment_chunks: 8,
        ..GpuConfig::default()
    })
}

/// The official test vectors' input: byte i is i mod 251.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}
