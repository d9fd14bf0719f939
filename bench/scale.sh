#!/usr/bin/env bash
# Big sets and logs (issue 16 item 4; ledger/benches/scale.rs), release build, RocksDB in a
# temporary directory under $SCALE_DIR (default: the system temporary directory; deleted at the
# end). Prints the benchmark's lines, then GNU time's wall, CPU and peak RSS, and the load.
#   bench/scale.sh set 100000000 [k]   # ingest a set of n leaves, k inclusion + k exclusion proofs
#   bench/scale.sh log 100000000 [k] [s] # append n entries (stop after s seconds), then tiles,
#                                      # proofs, checkpoints at the size reached
# Disk: a set takes ~75 bytes per leaf, a log ~200 bytes per entry (see docs/performance.md);
# check `df -h "${SCALE_DIR:-/tmp}"` first.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p ledger --features rocksdb --bench scale --no-run >/dev/null 2>&1
bin=$(cargo bench -p ledger --features rocksdb --bench scale --no-run 2>&1 \
  | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)
echo "load before: $(uptime)"
t=$(mktemp)
/usr/bin/time -f '%e %U %S %M' -o "$t" "$bin" "$@"
read -r wall user sys rss <"$t"
rm -f "$t"
echo "$1: whole run (generation and proofs included): ${wall} s wall, ${user} s user + ${sys} s sys CPU, peak RSS $((rss / 1024)) MiB"
echo "load after: $(uptime)"
