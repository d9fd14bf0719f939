#!/usr/bin/env bash
# Load test of the HTTP service on loopback (issue #6): a release server over a fresh RocksDB
# ledger in a temporary directory, then wrk, bounded in time:
#   1. anonymous opt-out submissions (also seeds the ledger); acknowledged = 201 responses,
#      cross-checked with the tree size the server reports afterwards;
#   2. tile reads (random full level-0 tiles and the right-edge partial tiles);
#   3. proof reads (inclusion proofs of random entries against the latest checkpoint).
# Needs wrk (Debian: apt-get install -y wrk) and python3. Figures go to stdout.
#   DURATION=10s CONNS=64 THREADS=2 bench/load.sh
set -euo pipefail

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
WRITE_CONNS=${WRITE_CONNS:-256}
PORT=${PORT:-18080}
root=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
cargo build --release -q -p api --example serve --manifest-path "$root/Cargo.toml"
bin=$CARGO_TARGET_DIR/release/examples/serve

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/prov.toml" <<TOML
listen = "127.0.0.1:$PORT"
data_dir = "$work/ledger"
origin = "bench.local/log"
[limits]
anonymous_optouts_per_minute = 1000000000
anonymous_optout_burst = 1000000000
# wrk opens WRITE_CONNS connections from one address: above the per-address default (64).
max_connections_per_ip = 4096
TOML
"$bin" --config "$work/prov.toml" > "$work/server.log" 2>&1 &
server_pid=$!
base=http://127.0.0.1:$PORT
for _ in $(seq 1 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null

echo "== opt-out submissions: wrk -t$THREADS -c$WRITE_CONNS -d$DURATION (POST /v1/entries)"
wrk -t"$THREADS" -c"$WRITE_CONNS" -d"$DURATION" --latency -s "$root/bench/optout.lua" "$base" | tee "$work/write.txt"
size=$(curl -fsS "$base/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tree_size"])')
non2xx=$(grep -oP 'Non-2xx or 3xx responses: \K[0-9]+' "$work/write.txt" || echo 0)
secs=$(python3 -c "import re,sys; print(float(re.sub('[a-z]','','$DURATION')))")
echo "acknowledged entries in the log: $size ($(python3 -c "print(round($size/$secs))") entries/s), refused: $non2xx"

python3 - "$size" > "$work/tiles.txt" <<'PY'
import sys
size = int(sys.argv[1])
def idx(n):
    groups = []
    while True:
        groups.insert(0, f"{n % 1000:03d}")
        n //= 1000
        if n == 0:
            break
    return "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])
full = size // 256
for n in range(full):
    print(f"/tile/0/{idx(n)}")
    print(f"/tile/entries/{idx(n)}")
if size % 256:
    print(f"/tile/0/{idx(full)}.p/{size % 256}")
if full:
    lvl1 = full // 256
    if full % 256:
        print(f"/tile/1/{idx(lvl1)}.p/{full % 256}")
PY
python3 - "$size" > "$work/proofs.txt" <<'PY'
import random, sys
size = int(sys.argv[1])
for _ in range(20000):
    print(f"/v1/entries/{random.randrange(size)}/inclusion")
PY

echo "== tile reads: wrk -t$THREADS -c$CONNS -d$DURATION ($(wc -l < "$work/tiles.txt") distinct tile paths)"
wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$root/bench/paths.lua" "$base" -- "$work/tiles.txt"
echo "== proof reads: wrk -t$THREADS -c$CONNS -d$DURATION (GET /v1/entries/{random}/inclusion)"
wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$root/bench/paths.lua" "$base" -- "$work/proofs.txt"
echo "== checkpoint reads: wrk -t$THREADS -c$CONNS -d$DURATION (GET /checkpoint)"
wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$base/checkpoint"
