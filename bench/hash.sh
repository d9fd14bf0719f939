#!/usr/bin/env bash
# `prov hash` against `b3sum` on the same files in the same run (issue 4). Generates its data in a
# temporary directory, warms the page cache, then prints `name: value` lines: seconds, throughput,
# the ratio to b3sum, and peak memory (from /usr/bin/time -v) for
#   1. one large file                      (goal: >= 0.9x b3sum)
#   2. many files of 1-16 KiB              (goal: >= 1.5x b3sum, which hashes them one at a time)
#   3. a JSONL.zst corpus, `--mode jsonl`  (goal: >= 0.5x b3sum on the uncompressed bytes), as one
#      file and as shards, next to the floor that `zstd -d` alone sets, and the same records
#      uncompressed
# and a peak memory under 1 GiB for each.
#
#   bench/hash.sh                          # 2 GiB file, 200,000 files, 2 GiB of JSONL (~8 min)
#   SIZE_MIB=256 NFILES=20000 bench/hash.sh  # quick
#
# Knobs: SIZE_MIB (large file and uncompressed JSONL size, default 2048), NFILES (default
# 200000), SHARDS (the JSONL corpus is also hashed split into this many .zst shards, default 16), THREADS (prov --threads, default: one per core), PROV (a prebuilt binary), BENCH_DIR
# (where to generate, default a temporary directory removed at exit).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=${SIZE_MIB:-2048}
NFILES=${NFILES:-200000}
SHARDS=${SHARDS:-16}
for t in b3sum zstd python3 /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "hash.sh: $t is required" >&2; exit 1; }
done

if [ -z "${PROV:-}" ]; then
  # The binary a user builds (default features); its start-up is part of every run.
  cargo build --release --quiet -p cli >&2
  PROV="${CARGO_TARGET_DIR:-target}/release/prov"
fi
threads=()
[ -n "${THREADS:-}" ] && threads=(--threads "$THREADS")

if [ -n "${BENCH_DIR:-}" ]; then
  work="$BENCH_DIR"; mkdir -p "$work"
else
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fi

# measure NAME CMD...: runs CMD under /usr/bin/time, stdout discarded; sets SECS and PEAK_MIB.
measure() {
  local name=$1; shift
  local tf="$work/time.$name"
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$tf" "$@" > "$work/out.$name"
  t1=$(date +%s.%N)
  SECS=$(echo "$t1 - $t0" | bc -l)
  PEAK_MIB=$(awk -F: '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$tf")
}

fmt() { printf "%.3f" "$1"; }
gbps() { echo "$1 / $2 / 1000000000" | bc -l; }

echo "prov: $PROV"
echo "cpus: $(nproc)"
echo "b3sum: $(b3sum --version)"

# 1. One large file.
echo "== large file: $SIZE_MIB MiB"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$work/large.bin"
cat "$work/large.bin" > /dev/null
bytes=$((SIZE_MIB * 1024 * 1024))
measure b3_large b3sum "$work/large.bin"; b3=$SECS; b3mem=$PEAK_MIB
measure prov_large "$PROV" hash "$work/large.bin" --meta none --backend cpu "${threads[@]}" --json
pv=$SECS; pvmem=$PEAK_MIB
echo "large.b3sum.seconds: $(fmt "$b3")   large.b3sum.GBps: $(fmt "$(gbps $bytes "$b3")")   large.b3sum.peak_MiB: $b3mem"
echo "large.prov.seconds: $(fmt "$pv")   large.prov.GBps: $(fmt "$(gbps $bytes "$pv")")   large.prov.peak_MiB: $pvmem"
echo "large.ratio_vs_b3sum: $(fmt "$(echo "$b3 / $pv" | bc -l)")   (goal >= 0.9)"
rm -f "$work/large.bin"

# 2. Many small files, 1-16 KiB, 1,000 per directory.
echo "== small files: $NFILES of 1-16 KiB"
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
sbytes=$(find "$work/small" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
find "$work/small" -type f -print0 | xargs -0 cat > /dev/null
measure b3_small sh -c "cd '$work' && find small -type f -print0 | sort -z | xargs -0 b3sum"
b3=$SECS; b3mem=$PEAK_MIB
measure prov_small "$PROV" hash "$work/small" --meta none --backend cpu "${threads[@]}" --json
pv=$SECS; pvmem=$PEAK_MIB
measure prov_small_meta "$PROV" hash "$work/small" --backend cpu "${threads[@]}" --out "$work/small.manifest" --json
pvm=$SECS; pvmmem=$PEAK_MIB
echo "small.files: $NFILES   small.bytes: $sbytes"
echo "small.b3sum.seconds: $(fmt "$b3")   small.b3sum.files_per_s: $(fmt "$(echo "$NFILES / $b3" | bc -l)")   small.b3sum.peak_MiB: $b3mem"
echo "small.prov.seconds: $(fmt "$pv")   small.prov.files_per_s: $(fmt "$(echo "$NFILES / $pv" | bc -l)")   small.prov.peak_MiB: $pvmem"
echo "small.prov_meta_manifest.seconds: $(fmt "$pvm")   small.prov_meta_manifest.peak_MiB: $pvmmem"
echo "small.ratio_vs_b3sum: $(fmt "$(echo "$b3 / $pv" | bc -l)")   (goal >= 1.5)"
rm -rf "$work/small" "$work/small.manifest"

# 3. JSONL.zst: web-text-like records of 200 B - 8 KiB, compressed with zstd -3.
echo "== jsonl.zst: $SIZE_MIB MiB uncompressed"
python3 - "$work/corpus.jsonl" "$SIZE_MIB" <<'PY'
import json, random, sys
path, mib = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 10)))
         for _ in range(20000)]
target, written, i = mib * 1024 * 1024, 0, 0
with open(path, "w") as f:
    while written < target:
        n = rnd.randint(30, 1200)
        text = " ".join(rnd.choices(words, k=n))
        line = json.dumps({"id": i, "url": f"https://example.org/{i}", "text": text}) + "\n"
        f.write(line); written += len(line); i += 1
PY
jbytes=$(stat -c %s "$work/corpus.jsonl")
zstd -q -T0 -3 "$work/corpus.jsonl" -o "$work/corpus.jsonl.zst"
# The same records as SHARDS files (FineWeb and Dolma ship shards of a few hundred MB each), so
# that several streams decompress at once.
mkdir -p "$work/shards"
split -n "l/$SHARDS" -d -a 3 --additional-suffix=.jsonl "$work/corpus.jsonl" "$work/shards/part-"
zstd -q -T0 -3 --rm "$work/shards/"*.jsonl
cat "$work/corpus.jsonl" "$work/corpus.jsonl.zst" "$work/shards/"* > /dev/null
measure b3_jsonl b3sum "$work/corpus.jsonl"; b3=$SECS; b3mem=$PEAK_MIB
# The floor for one .zst stream: the reference decoder alone, on one core (a zstd frame cannot
# be decompressed in parallel). No tool that reads the items can beat it.
measure zstd_d sh -c "zstd -q -d -c '$work/corpus.jsonl.zst' > /dev/null"; zd=$SECS
# The floor for the shards: every shard decompressed, as many at once as there are cores.
measure zstd_d_shards sh -c "ls '$work/shards/'*.zst | xargs -P $(nproc) -n 1 zstd -q -d -c > /dev/null"
zds=$SECS
measure prov_jsonl "$PROV" hash "$work/corpus.jsonl.zst" --mode jsonl --meta none --backend cpu "${threads[@]}" --json
pv=$SECS; pvmem=$PEAK_MIB
items=$(grep -o '"items":[0-9]*' "$work/out.prov_jsonl" | cut -d: -f2)
ibytes=$(grep -o '"bytes":[0-9]*' "$work/out.prov_jsonl" | cut -d: -f2)
root=$(grep -o '"root":"[0-9a-f]*"' "$work/out.prov_jsonl")
measure prov_jsonl_meta "$PROV" hash "$work/corpus.jsonl.zst" --mode jsonl --meta-field source=url --backend cpu "${threads[@]}" --out "$work/j.manifest" --json
pvm=$SECS; pvmmem=$PEAK_MIB
measure prov_shards "$PROV" hash "$work/shards" --mode jsonl --meta none --backend cpu "${threads[@]}" --json
pvs=$SECS; pvsmem=$PEAK_MIB
grep -q "$root" "$work/out.prov_shards" || { echo "hash.sh: the shards gave another root than the single file" >&2; exit 1; }
measure prov_plain "$PROV" hash "$work/corpus.jsonl" --mode jsonl --meta none --backend cpu "${threads[@]}" --json
pvp=$SECS; pvpmem=$PEAK_MIB
grep -q "$root" "$work/out.prov_plain" || { echo "hash.sh: the plain file gave another root than the .zst" >&2; exit 1; }
echo "jsonl.records: $items   jsonl.uncompressed_bytes: $jbytes   jsonl.zst_bytes: $(stat -c %s "$work/corpus.jsonl.zst")   jsonl.text_bytes: $ibytes   jsonl.shards: $SHARDS"
echo "jsonl.b3sum_uncompressed.seconds: $(fmt "$b3")   jsonl.b3sum.GBps: $(fmt "$(gbps "$jbytes" "$b3")")   jsonl.b3sum.peak_MiB: $b3mem"
echo "jsonl.zstd_d_floor.seconds: $(fmt "$zd")   jsonl.zstd_d_floor.GBps: $(fmt "$(gbps "$jbytes" "$zd")")   jsonl.zstd_d_floor.ratio_vs_b3sum: $(fmt "$(echo "$b3 / $zd" | bc -l)")"
echo "jsonl.prov.seconds: $(fmt "$pv")   jsonl.prov.items_per_s: $(fmt "$(echo "$items / $pv" | bc -l)")   jsonl.prov.GBps_uncompressed: $(fmt "$(gbps "$jbytes" "$pv")")   jsonl.prov.peak_MiB: $pvmem"
echo "jsonl.prov_meta_manifest.seconds: $(fmt "$pvm")   jsonl.prov_meta_manifest.peak_MiB: $pvmmem"
echo "jsonl.ratio_vs_b3sum: $(fmt "$(echo "$b3 / $pv" | bc -l)")   (goal >= 0.5)   jsonl.ratio_vs_zstd_d_floor: $(fmt "$(echo "$zd / $pv" | bc -l)")"
echo "jsonl.shards.zstd_d_floor.seconds: $(fmt "$zds")   jsonl.shards.prov.seconds: $(fmt "$pvs")   jsonl.shards.prov.GBps_uncompressed: $(fmt "$(gbps "$jbytes" "$pvs")")   jsonl.shards.prov.peak_MiB: $pvsmem"
echo "jsonl.shards.ratio_vs_b3sum: $(fmt "$(echo "$b3 / $pvs" | bc -l)")   jsonl.shards.ratio_vs_zstd_d_floor: $(fmt "$(echo "$zds / $pvs" | bc -l)")"
echo "jsonl.plain.prov.seconds: $(fmt "$pvp")   jsonl.plain.prov.GBps: $(fmt "$(gbps "$jbytes" "$pvp")")   jsonl.plain.prov.peak_MiB: $pvpmem   jsonl.plain.ratio_vs_b3sum: $(fmt "$(echo "$b3 / $pvp" | bc -l)")"
