#!/usr/bin/env bash
# Set ingest with full records hashed on the request thread against handed to the GPU backend
# (`prov serve --set-hasher cpu|gpu`), alternating on the same leaves: median wall and CPU time.
# On a machine whose only adapter is lavapipe (WGPU_BACKEND=vulkan, Mesa's software Vulkan) the
# figure is the device path's overhead, not a GPU's speed.
#   LEAVES=1048576 RUNS=5 PROFILE=release bench/set_ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
LEAVES=${LEAVES:-1048576}
RUNS=${RUNS:-5}
PROFILE=${PROFILE:-release}
flag=--release
[ "$PROFILE" = dev ] && flag=
uptime
cargo run $flag -q -p hasher --features gpu --example set_ingest -- "$LEAVES" "$RUNS"
uptime
