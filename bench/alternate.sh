#!/usr/bin/env bash
# Issue 15: `prov hash` side by side with `b3sum`, commands alternated run by run (as hyperfine
# would, but without it), medians printed. Two cases:
#   startup  a one-line file: `prov hash` default (`--backend auto`) vs `--backend cpu` vs b3sum
#            (the default must not look for a GPU adapter on so small a job)
#   jsonl    SIZE_MB of web-text-like JSON Lines (records of ~5 KB, some with escapes), plain,
#            `--mode jsonl --meta none` vs b3sum of the same file (goal >= 0.35x on 2 cores)
#
#   PROV=<release prov> B3SUM=<b3sum> bench/alternate.sh            # both, RUNS=21, SIZE_MB=300
#   CASES=startup RUNS=51 bench/alternate.sh
#
# Knobs: PROV (default: builds the release binary as bench/hash.sh does), B3SUM (default: b3sum
# on PATH; say which release in the figures), RUNS, SIZE_MB, CASES, BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-21}
SIZE_MB=${SIZE_MB:-300}
CASES=${CASES:-"startup jsonl"}
B3SUM=${B3SUM:-b3sum}
if [ -z "${PROV:-}" ]; then
  cargo build --release --quiet -p cli --no-default-features --features gpu >&2
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
    python3 - "$work/web.jsonl" "$SIZE_MB" <<'PY'
import json, random, sys
path, mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(15)
words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 10)))
         for _ in range(5000)]
words += ["café", "naïve", "“quoted”", "€", "中文"]
with open(path, "w", encoding="utf-8") as f:
    total, i = 0, 0
    while total < mb * 1_000_000:
        n = rnd.randint(200, 1800)
        paras = [" ".join(rnd.choice(words) for _ in range(rnd.randint(20, 120))) + "."
                 for _ in range(max(1, n // 100))]
        rec = {"text": "\n\n".join(paras)[: n * 6], "id": f"doc-{i}",
               "url": f"https://example.org/{i}", "timestamp": "2019-04-25T12:57:54Z"}
        line = json.dumps(rec, ensure_ascii=False) + "\n"
        f.write(line)
        total += len(line.encode())
        i += 1
print(f"jsonl.records: {i}", file=sys.stderr)
PY
    bytes=$(stat -c %s "$work/web.jsonl")
    cat "$work/web.jsonl" > /dev/null
    echo "jsonl.bytes: $bytes"
    alternate \
      "jsonl.prov=$PROV hash $work/web.jsonl --mode jsonl --meta none" \
      "jsonl.b3sum=$B3SUM $work/web.jsonl"
    printf 'jsonl.prov_GBps: %.3f   jsonl.b3sum_GBps: %.3f   jsonl.ratio_vs_b3sum: %.3f (goal >= 0.35)\n' \
      "$(echo "$bytes / ${MED[0]} / 1000" | bc -l)" "$(echo "$bytes / ${MED[1]} / 1000" | bc -l)" \
      "$(echo "${MED[1]} / ${MED[0]}" | bc -l)"
    rm -f "$work/web.jsonl"
    ;;
  esac
done
