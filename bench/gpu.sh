#!/usr/bin/env bash
# GPU BLAKE3 benchmark (issue 15), one command: for each workload (one large input in memory, one
# large file, 4 KiB items, JSON Lines, a set tree of 10^8 leaves) the device-resident kernel GB/s,
# the end-to-end GB/s from host memory beside the measured host-to-device bandwidth, and the
# all-cores CPU figure for the same work; then a Markdown table of it all, with the H200 goals.
# Every GPU result is checked against the CPU's (a mismatch exits non-zero).
#
#   bench/gpu.sh                          # full size: 4 GiB input, 1M items, 10^8 leaves, 4 GiB JSONL
#   GPU_BENCH_SCALE=0.001 bench/gpu.sh    # small, for a software adapter (lavapipe)
#
# Knobs: GPU_BENCH_SCALE (default 1), GPU_BENCH_BATCH_MIB (default 256), GPU_BENCH_SET_LEAVES
# (default 10^8 x scale), GPU_BENCH_JSONL_MIB (default 4096 x scale, at least 16), WGPU_BACKEND
# (default: vulkan,metal,dx12), TMPDIR (where the large file and the JSONL file are written),
# PROV_BIN (a `prov` built with the `gpu` feature, to skip building one here).
# Needs cargo, a Vulkan driver, and about 2 x the input sizes of free memory (22 GB at scale 1,
# for the CPU set-tree builder's levels).
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

scale="${GPU_BENCH_SCALE:-1}"
export GPU_BENCH_SCALE="$scale"
jsonl_mib="${GPU_BENCH_JSONL_MIB:-$(awk -v s="$scale" 'BEGIN { m = int(4096 * s); print (m < 16 ? 16 : m) }')}"
target_dir="${CARGO_TARGET_DIR:-target}"

# The kernels' example, and `prov` without the service (no RocksDB to build) for the JSONL run.
cargo build --release --quiet -p gpu-hash --example gpubench >&2
prov="${PROV_BIN:-}"
if [ -z "$prov" ]; then
  cargo build --release --quiet -p cli --no-default-features --features gpu --bin prov >&2
  prov="$target_dir/release/prov"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/prov-gpu-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

timeout 1800 "$target_dir/release/examples/gpubench" | tee "$work/results.txt"

# JSON Lines: records of ~4 KiB of text, the field hashed by `prov hash --mode jsonl`.
awk -v mib="$jsonl_mib" 'BEGIN {
  srand(7); line = ""; for (i = 0; i < 4000; i++) line = line sprintf("%c", 97 + int(rand() * 26));
  n = int(mib * 1048576 / 4030);
  for (r = 0; r < n; r++) printf "{\"id\":%d,\"text\":\"%s%d\"}\n", r, substr(line, 1 + r % 64, 3900), r;
}' > "$work/web.jsonl"
bytes=$(stat -c %s "$work/web.jsonl")

# Best wall time of three runs (after a warm-up) of `prov hash` on the JSONL file.
run_jsonl() {
  local backend=$1 best="" t0 t1 dt
  "$prov" hash --mode jsonl --meta none --json --backend "$backend" "$work/web.jsonl" > "$work/$backend.json"
  for _ in 1 2 3; do
    t0=$(date +%s%N)
    "$prov" hash --mode jsonl --meta none --json --backend "$backend" "$work/web.jsonl" > "$work/$backend.json"
    t1=$(date +%s%N)
    dt=$((t1 - t0))
    if [ -z "$best" ] || [ "$dt" -lt "$best" ]; then best=$dt; fi
  done
  echo "$best"
}
root_of() { sed -n 's/.*"root":"\([0-9a-f]*\)".*/\1/p' "$1"; }
t_gpu=$(run_jsonl gpu)
t_cpu=$(run_jsonl cpu)
if [ "$(root_of "$work/gpu.json")" != "$(root_of "$work/cpu.json")" ]; then
  echo "gpu.sh: JSONL roots differ between --backend gpu and --backend cpu" >&2
  exit 1
fi
on_gpu=$(sed -n 's/.*"hashed":\[\([^]]*\)\].*/\1/p' "$work/gpu.json" \
  | grep -o '"backend":"gpu","bytes":[0-9]*' | awk -F: '{ s += $3 } END { print s + 0 }')
{
  echo "jsonl_mib: $((bytes >> 20))"
  awk -v b="$bytes" -v t="$t_gpu" 'BEGIN { printf "e2e_jsonl_gbps: %.2f\n", b / t }'
  awk -v b="$bytes" -v t="$t_cpu" 'BEGIN { printf "cpu_jsonl_gbps: %.2f\n", b / t }'
  echo "jsonl_item_bytes_on_gpu: $on_gpu"
} | tee -a "$work/results.txt"

# The table (decimal GB/s; "kernel" is on device-resident data, "end to end" from host memory).
awk -F': ' '
  { v[$1] = $2 }
  function pct(x) { return (v["h2d_copy_gbps"] > 0) ? sprintf("%.0f %%", 100 * x / v["h2d_copy_gbps"]) : "-" }
  function ratio(a, b) { return (b > 0) ? sprintf("%.2fx", a / b) : "-" }
  END {
    print ""
    printf "device: %s; CPU threads: %s; host-to-device copy: %s GB/s\n\n", v["device"], v["cpu_threads"], v["h2d_copy_gbps"]
    print "| work | kernel GB/s (device-resident) | end to end GB/s | % of host-to-device | CPU all cores | GPU / CPU |"
    print "|---|---|---|---|---|---|"
    printf "| one input, %s MiB in memory | %s | %s | %s | %s GB/s | %s |\n", v["large_input_mib"], v["kernel_gbps"], v["e2e_large_gbps"], pct(v["e2e_large_gbps"]), v["cpu_large_gbps"], ratio(v["e2e_large_gbps"], v["cpu_large_gbps"])
    printf "| one file, %s MiB (page cache) | - | %s | %s | %s GB/s | %s |\n", v["large_input_mib"], v["e2e_file_gbps"], pct(v["e2e_file_gbps"]), v["cpu_file_gbps"], ratio(v["e2e_file_gbps"], v["cpu_file_gbps"])
    printf "| %s items of 4 KiB | - | %s | %s | %s GB/s | %s |\n", v["small_items"], v["e2e_small_gbps"], pct(v["e2e_small_gbps"]), v["cpu_small_gbps"], ratio(v["e2e_small_gbps"], v["cpu_small_gbps"])
    printf "| JSONL, %s MiB (`prov hash --mode jsonl`) | - | %s | %s | %s GB/s | %s |\n", v["jsonl_mib"], v["e2e_jsonl_gbps"], pct(v["e2e_jsonl_gbps"]), v["cpu_jsonl_gbps"], ratio(v["e2e_jsonl_gbps"], v["cpu_jsonl_gbps"])
    printf "| set tree, %s leaves | - | %s s | - | %s s | %s |\n", v["set_leaves"], v["e2e_set_tree_s"], v["cpu_set_tree_s"], v["set_tree_gpu_vs_cpu_speedup"] "x"
    print ""
    print "Goals on an H200 (issue 15): kernel >= 300 GB/s; end to end >= 70 % of host-to-device; set tree of 10^8 leaves >= 5x the CPU."
    printf "Smallest batch of 4 KiB items the GPU hashed faster than the CPU: %s\n", v["crossover_bytes"]
  }' "$work/results.txt"

# The service's set ingest (`prov serve --set-hasher cpu|gpu`): full 256-leaf records hashed on
# the request thread against handed to the device 1,024 at a time (hasher/examples/set_ingest.rs,
# in-memory store, alternating; medians). GPU_BENCH_INGEST_LEAVES=0 skips it.
ingest_leaves="${GPU_BENCH_INGEST_LEAVES:-$(awk -v s="$scale" 'BEGIN { m = int(16777216 * s); print (m < 262144 ? 262144 : m) }')}"
if [ "$ingest_leaves" != 0 ]; then
  echo
  echo "set ingest, $ingest_leaves leaves:"
  cargo build --release --quiet -p hasher --features gpu --example set_ingest >&2
  timeout 900 "$target_dir/release/examples/set_ingest" "$ingest_leaves" 5
fi
