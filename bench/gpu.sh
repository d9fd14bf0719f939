#!/usr/bin/env bash
# GPU BLAKE3 benchmark (issue 5): kernel throughput on device-resident data, the host-to-device
# copy bandwidth, end to end from host memory for one 4 GiB input and for 1M items of 4 KiB, the
# CPU backend on the same data, and the GPU/CPU crossover. One command on a machine with a GPU, a
# Vulkan driver and cargo; prints `name: value` lines only (build output goes to stderr, quiet).
#
#   bench/gpu.sh                         # full size (needs ~5 GiB of host memory)
#   GPU_BENCH_SCALE=0.01 bench/gpu.sh    # small, for a software adapter (lavapipe)
#
# Knobs: GPU_BENCH_SCALE, GPU_BENCH_BATCH_MIB (default 256), WGPU_BACKEND (default: vulkan,metal,dx12).
set -euo pipefail
cd "$(dirname "$0")/.."

# wgpu loads the Vulkan loader at run time; NVIDIA's driver brings the ICD but containers often
# lack the loader itself.
if [ "$(uname -s)" = Linux ] && ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq libvulkan1) >/dev/null 2>&1 || true
  fi
fi
command -v cargo >/dev/null || { echo "gpu.sh: cargo not found" >&2; exit 1; }

cargo build --release --quiet -p gpu-hash --example gpubench >&2
target_dir="${CARGO_TARGET_DIR:-target}"
exec timeout 280 "$target_dir/release/examples/gpubench"
