#!/usr/bin/env bash
# Storage benchmarks (ledger/benches/store.rs) on a RocksDB ledger in a temporary directory.
# Prints one line per figure; the set ingest also reports peak memory (GNU time's maximum RSS).
#   bench/store.sh            # everything (10M-leaf set ingest included)
#   bench/store.sh append     # one of: append submit latency proofs sets [n]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p ledger --features rocksdb --bench store --no-run >/dev/null 2>&1
bin=$(cargo bench -p ledger --features rocksdb --bench store --no-run 2>&1 \
  | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)
run() {
  if [ "$1" = sets ] && [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$bin" "$@" 2>"${TMPDIR:-/tmp}/store-bench-time.txt"
    grep -E "Maximum resident set size" "${TMPDIR:-/tmp}/store-bench-time.txt" \
      | awk '{printf "sets: peak RSS %.0f MiB\n", $6/1024}'
  else
    "$bin" "$@"
  fi
}
if [ $# -gt 0 ]; then
  run "$@"
else
  for b in append submit latency proofs sets; do run "$b"; done
fi
