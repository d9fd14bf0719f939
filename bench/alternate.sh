#!/usr/bin/env bash
# Issue 15: `prov hash` side by side with `b3sum`, commands alternated run by run (as hyperfine
# would, but without it), medians printed. Cases:
#   startup  a one-line file: `prov hash` default (`--backend auto`) vs `--backend cpu` vs b3sum
#            (the default must not look for a GPU adapter on so small a job)
#   jsonl    SIZE_MB of web-text-like JSON Lines (records of ~5 KB, some with escapes), plain,
#            `--mode jsonl --meta none` (default backend, and `--backend cpu`) vs b3sum of the
#            same file (goal >= 0.35x on 2 cores)
#   files    NFILES files of 1-16 KiB, 1,000 per directory: `prov hash DIR` with default flags
#            (and `--backend cpu`) vs `b3sum` of every file (goal >= 1.5x)
#   large    one file of LARGE_MIB MiB: `prov hash FILE` with default flags (and `--backend
#            cpu`) vs `b3sum FILE` (goal >= 1.0x)
#
#   PROV=<release prov> B3SUM=<b3sum> bench/alternate.sh     # startup and jsonl, RUNS=21, SIZE_MB=300
#   CASES="files large" RUNS=11 bench/alternate.sh
#   CASES=startup RUNS=51 bench/alternate.sh
#   jsonlcpu the jsonl case's file (bench/web_jsonl.py) and command, with CPU time: each run under
#            `perf stat`, medians of wall time and of user+sys CPU time per tool, and CPU time per
#            GB; PROV_BASE=<another prov> runs that binary too, alternating (before/after)
#   CASES=jsonlcpu RUNS=11 PROV_BASE=/tmp/prov-before bench/alternate.sh
#
# Knobs: PROV (default: builds the release binary as bench/hash.sh does), B3SUM (default: b3sum
# on PATH; say which release in the figures), RUNS, SIZE_MB, NFILES (20000), LARGE_MIB (512),
# CASES, BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-21}
SIZE_MB=${SIZE_MB:-300}
NFILES=${NFILES:-20000}
LARGE_MIB=${LARGE_MIB:-512}
CASES=${CASES:-"startup jsonl"}
B3SUM=${B3SUM:-b3sum}
if [ -z "${PROV:-}" ]; then
  # The binary a user builds (`cargo build --release -p cli`: GPU, server, object store), not a
  # trimmed one: its start-up is part of what is measured.
  cargo build --release --quiet -p cli >&2
  PROV="${CARGO_TARGET_DIR:-target}/release/prov"
fi
if [ -n "${BENCH_DIR:-}" ]; then
  work="$BENCH_DIR"; mkdir -p "$work"
else
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fi

# alternate NAME=CMD...: runs every command once per round, RUNS rounds, and prints each one's
# median wall time in seconds (stdout and stderr of the commands discarded).
alternate() {
  local names=() cmds=() i r
  for a in "$@"; do names+=("${a%%=*}"); cmds+=("${a#*=}"); done
  for i in "${!cmds[@]}"; do : > "$work/t.$i"; done
  for r in $(seq "$RUNS"); do
    for i in "${!cmds[@]}"; do
      local t0 t1
      t0=$(date +%s%N)
      bash -c "${cmds[$i]}" > /dev/null 2>&1
      t1=$(date +%s%N)
      echo "$(( (t1 - t0) / 1000 ))" >> "$work/t.$i"
    done
  done
  for i in "${!cmds[@]}"; do
    local med
    med=$(sort -n "$work/t.$i" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    MED[$i]=$med
    printf '%s.median_ms: %.2f\n' "${names[$i]}" "$(echo "$med / 1000" | bc -l)"
  done
}

echo "prov: $PROV"
echo "b3sum: $($B3SUM --version)"
echo "cpus: $(nproc)   runs: $RUNS"
declare -a MED

for case in $CASES; do
  case $case in
  startup)
    echo '{"text":"one line"}' > "$work/one.txt"
    alternate \
      "startup.prov_default=$PROV hash $work/one.txt" \
      "startup.prov_cpu=$PROV hash $work/one.txt --backend cpu" \
      "startup.b3sum=$B3SUM $work/one.txt"
    # Noise check: the default run's stderr, without XDG_RUNTIME_DIR, must be empty.
    noise=$(env -u XDG_RUNTIME_DIR "$PROV" hash "$work/one.txt" 2>&1 >/dev/null | wc -c)
    echo "startup.default_stderr_bytes_without_XDG_RUNTIME_DIR: $noise"
    ;;
  jsonl)
    python3 bench/web_jsonl.py "$work/web.jsonl" "$SIZE_MB"
    bytes=$(stat -c %s "$work/web.jsonl")
    cat "$work/web.jsonl" > /dev/null
    echo "jsonl.bytes: $bytes"
    alternate \
      "jsonl.prov=$PROV hash $work/web.jsonl --mode jsonl --meta none" \
      "jsonl.prov_cpu=$PROV hash $work/web.jsonl --mode jsonl --meta none --backend cpu" \
      "jsonl.b3sum=$B3SUM $work/web.jsonl"
    printf 'jsonl.prov_GBps: %.3f   jsonl.b3sum_GBps: %.3f   jsonl.ratio_vs_b3sum: %.3f (goal >= 0.35)   jsonl.ratio_cpu_vs_b3sum: %.3f\n' \
      "$(echo "$bytes / ${MED[0]} / 1000" | bc -l)" "$(echo "$bytes / ${MED[2]} / 1000" | bc -l)" \
      "$(echo "${MED[2]} / ${MED[0]}" | bc -l)" "$(echo "${MED[2]} / ${MED[1]}" | bc -l)"
    rm -f "$work/web.jsonl"
    ;;
  files)
    python3 - "$work/small" "$NFILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(4)
pool = os.urandom(1 << 20)
for i in range(n):
    d = os.path.join(root, f"d{i // 1000:04d}")
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
    size = rnd.randint(1024, 16384)
    off = rnd.randint(0, len(pool) - size)
    with open(os.path.join(d, f"f{i:07d}"), "wb") as f:
        f.write(pool[off:off + size] + i.to_bytes(8, "little"))
PY
    bytes=$(find "$work/small" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
    find "$work/small" -type f -print0 | xargs -0 cat > /dev/null
    # b3sum is given the same files, sorted, as arguments (xargs starts it once per ~128 KiB of
    # paths: about 7 processes for 20,000 files, as bench/hash.sh runs it).
    find "$work/small" -type f | sort > "$work/small.list"
    echo "files.count: $NFILES   files.bytes: $bytes"
    alternate \
      "files.prov=$PROV hash $work/small" \
      "files.prov_cpu=$PROV hash $work/small --backend cpu" \
      "files.b3sum=xargs -d '\n' $B3SUM < $work/small.list"
    printf 'files.prov_files_per_s: %.0f   files.b3sum_files_per_s: %.0f   files.ratio_vs_b3sum: %.3f (goal >= 1.5)   files.ratio_cpu_vs_b3sum: %.3f\n' \
      "$(echo "$NFILES / ${MED[0]} * 1000000" | bc -l)" "$(echo "$NFILES / ${MED[2]} * 1000000" | bc -l)" \
      "$(echo "${MED[2]} / ${MED[0]}" | bc -l)" "$(echo "${MED[2]} / ${MED[1]}" | bc -l)"
    rm -rf "$work/small" "$work/small.list"
    ;;
  large)
    head -c "$((LARGE_MIB * 1024 * 1024))" /dev/urandom > "$work/large.bin"
    cat "$work/large.bin" > /dev/null
    bytes=$((LARGE_MIB * 1024 * 1024))
    echo "large.bytes: $bytes"
    alternate \
      "large.prov=$PROV hash $work/large.bin" \
      "large.prov_cpu=$PROV hash $work/large.bin --backend cpu" \
      "large.b3sum=$B3SUM $work/large.bin"
    printf 'large.prov_GBps: %.3f   large.b3sum_GBps: %.3f   large.ratio_vs_b3sum: %.3f (goal >= 1.0)   large.ratio_cpu_vs_b3sum: %.3f\n' \
      "$(echo "$bytes / ${MED[0]} / 1000" | bc -l)" "$(echo "$bytes / ${MED[2]} / 1000" | bc -l)" \
      "$(echo "${MED[2]} / ${MED[0]}" | bc -l)" "$(echo "${MED[2]} / ${MED[1]}" | bc -l)"
    rm -f "$work/large.bin"
    ;;
  jsonlcpu)
    python3 bench/web_jsonl.py "$work/web.jsonl" "$SIZE_MB"
    bytes=$(stat -c %s "$work/web.jsonl")
    cat "$work/web.jsonl" > /dev/null
    echo "jsonlcpu.bytes: $bytes   load: $(cut -d' ' -f1-3 /proc/loadavg)"
    names=(prov b3sum)
    cmds=("$PROV hash $work/web.jsonl --mode jsonl --meta none" "$B3SUM $work/web.jsonl")
    if [ -n "${PROV_BASE:-}" ]; then
      names+=(prov_base)
      cmds+=("$PROV_BASE hash $work/web.jsonl --mode jsonl --meta none")
    fi
    for i in "${!cmds[@]}"; do : > "$work/c.$i"; done
    for r in $(seq "$RUNS"); do
      for i in "${!cmds[@]}"; do
        # perf stat: wall (seconds time elapsed) and user + sys (seconds user, seconds sys).
        perf stat -e task-clock -o "$work/ps.txt" -- ${cmds[$i]} > /dev/null 2>&1
        awk '/seconds time elapsed/ {w=$1} /seconds user/ {u=$1} /seconds sys/ {s=$1}
             END {printf "%.6f %.6f %.6f %.6f\n", w, u + s, u, s}' "$work/ps.txt" >> "$work/c.$i"
      done
    done
    for i in "${!cmds[@]}"; do
      # Medians of each column on its own.
      read -r w c u s < <(for k in 1 2 3 4; do
        sort -n -k"$k","$k" "$work/c.$i" | awk -v k="$k" '{a[NR]=$k} END {print a[int((NR+1)/2)]}'
      done | paste -sd' ')
      MED[$i]=$w
      printf 'jsonlcpu.%s: wall %.1f ms   cpu %.1f ms (user %.1f, sys %.1f)   cpu per GB %.1f ms\n' \
        "${names[$i]}" "$(echo "$w * 1000" | bc -l)" "$(echo "$c * 1000" | bc -l)" \
        "$(echo "$u * 1000" | bc -l)" "$(echo "$s * 1000" | bc -l)" \
        "$(echo "$c * 1000 * 1000000000 / $bytes" | bc -l)"
    done
    printf 'jsonlcpu.ratio_vs_b3sum: %.3f (goal >= 0.35)\n' "$(echo "${MED[1]} / ${MED[0]}" | bc -l)"
    if [ -n "${PROV_BASE:-}" ]; then
      printf 'jsonlcpu.base_ratio_vs_b3sum: %.3f\n' "$(echo "${MED[1]} / ${MED[2]}" | bc -l)"
    fi
    echo "jsonlcpu.load_after: $(cut -d' ' -f1-3 /proc/loadavg)"
    rm -f "$work/web.jsonl"
    ;;
  esac
done
