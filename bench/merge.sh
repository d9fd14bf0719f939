#!/usr/bin/env bash
# Merge throughput of `prov manifest merge` (issue 16, sharded hashing): generates a corpus of
# LINES lines (`--mode lines`) in FILES files, a tenth of the lines repeated across files (so
# across shards), hashes it in SHARDS shards (`prov hash --shard K/N`, with metadata: each leaf
# carries `{"sources":[{"line":..,"path":..}]}`, and a source tree), then times the merge and
# prints leaves per second, the cross-shard duplicates, the peak memory (GNU time's max RSS)
# and whether the merged manifest equals the single run's byte for byte.
#
#   bench/merge.sh                            # 3,000,000 lines, 64 files, 16 shards
#   LINES=6000000 SHARDS=100 bench/merge.sh   # two merge passes (more than 64 shards)
#   META=none bench/merge.sh                  # leaves without metadata
#
# Knobs: LINES, FILES, SHARDS, META (full|none), THREADS (prov hash --threads), PROV (a
# prebuilt binary), BENCH_DIR (keep the files there), SINGLE=0 (skip the single-run check).
set -euo pipefail
cd "$(dirname "$0")/.."

LINES=${LINES:-3000000}
FILES=${FILES:-64}
SHARDS=${SHARDS:-16}
META=${META:-full}
SINGLE=${SINGLE:-1}
if [ -z "${PROV:-}" ]; then
  cargo build --release --quiet -p cli --no-default-features >&2
  PROV="${CARGO_TARGET_DIR:-target}/release/prov"
fi
threads=()
[ -n "${THREADS:-}" ] && threads=(--threads "$THREADS")
if [ -n "${BENCH_DIR:-}" ]; then
  work="$BENCH_DIR"; mkdir -p "$work"
else
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fi

python3 - "$work/corpus" "$LINES" "$FILES" <<'PY'
import os, random, sys
root, n, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(16)
os.makedirs(root, exist_ok=True)
per = n // files
for f in range(files):
    with open(os.path.join(root, f"part-{f:05d}.txt"), "w") as out:
        for i in range(per):
            j = f * per + i
            # One line in ten is one of 50,000 shared lines, found in many files.
            if rnd.random() < 0.1:
                out.write(f"shared line {rnd.randrange(50000)}\n")
            else:
                out.write(f"line {j} of the corpus, {rnd.getrandbits(64):016x}\n")
PY

timer=()
if /usr/bin/time -f x true 2>/dev/null; then timer=(/usr/bin/time -f "%e s, max RSS %M KiB" -o "$work/time"); fi
for k in $(seq 1 "$SHARDS"); do
  "$PROV" hash "$work/corpus" --mode lines --meta "$META" "${threads[@]}" \
    --shard "$k/$SHARDS" --out "$work/shard-$k.jsonl" >/dev/null
done
ls "$work"/shard-*.jsonl > "$work/list"
"${timer[@]}" "$PROV" manifest merge "$work/merged.jsonl" --shards-from "$work/list" --json \
  > "$work/merge.json"
python3 - "$work/merge.json" "$work/time" <<'PY'
import json, os, sys
m = json.load(open(sys.argv[1]))
t = open(sys.argv[2]).read().strip() if os.path.exists(sys.argv[2]) else "(no GNU time)"
print(f"merged {m['shards']} shards in {m['passes']} pass(es): {m['leaves']} leaves "
      f"({m['items']} items, {m['duplicates']} duplicates, {m['cross_shard_duplicates']} across shards) "
      f"in {m['seconds']:.2f} s = {m['leaves'] / m['seconds']:,.0f} leaves/s; {t}")
PY
if [ "$SINGLE" = 1 ]; then
  "$PROV" hash "$work/corpus" --mode lines --meta "$META" "${threads[@]}" \
    --out "$work/single.jsonl" >/dev/null
  if cmp -s "$work/single.jsonl" "$work/merged.jsonl"; then
    echo "merged manifest = single run's, byte for byte"
  else
    echo "MERGED MANIFEST DIFFERS FROM THE SINGLE RUN'S" >&2; exit 1
  fi
fi
