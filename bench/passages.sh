#!/usr/bin/env bash
# What the passage tree costs `prov hash` on web-text JSON Lines (issue 14: the passage tree of
# 1 GB of web text in < 60 s). Generates web-shaped records (paragraphs of sentences, ~4 KB of
# text a record, a fifth of the paragraphs boilerplate shared by many records), warms the page
# cache, then runs, alternating, ROUNDS times each:
#   none      --passages none   (the baseline)
#   passages  --passages auto (the passage tree, its leaves written beside the manifest)
# every one writing its manifest (--out), and prints the median seconds of each, the overhead,
# the passage tree's size and the bytes stored (manifest and leaves file).
#
#   bench/passages.sh                          # 60,000 records, ~250 MB, 3 rounds
#   RECORDS=250000 ROUNDS=1 bench/passages.sh  # ~1 GB
#
# Knobs: RECORDS, ROUNDS, THREADS (prov --threads), PROV (a prebuilt binary), BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS=${RECORDS:-60000}
ROUNDS=${ROUNDS:-3}
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

python3 - "$work/web.jsonl" "$RECORDS" <<'PY'
import json, random, sys
path, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(14)
words = ("the of and to in a is that for it as was with be by on not he this are or his from at "
         "which but have an they you were her she there been one all we their has would when if "
         "so no will more can said who its about what up out into them than some could time only "
         "other new these two may first then do any like my now over such our man me even most "
         "made after also did many before must through back years where much your way well down "
         "should because each just those people how too little state good very make world still "
         "own see men work long get here between both life being under never day same another "
         "know while last might us great old year off come since against go came right used take "
         "three garden recipe market council school music travel weather league software").split()
def sentence():
    s = " ".join(rnd.choice(words) for _ in range(rnd.randint(6, 28)))
    return s[0].upper() + s[1:] + rnd.choice([".", ".", ".", "?", "!"])
def paragraph():
    return " ".join(sentence() for _ in range(rnd.randint(2, 7)))
boiler = [paragraph() for _ in range(200)]
with open(path, "w") as f:
    for i in range(n):
        paras = []
        size = rnd.randint(1500, 6500)
        while sum(len(p) for p in paras) < size:
            paras.append(rnd.choice(boiler) if rnd.random() < 0.2 else paragraph())
        f.write(json.dumps({"text": "\n\n".join(paras), "url": f"https://h{i % 997}.example.com/{i}"},
                           separators=(",", ":")) + "\n")
PY
bytes=$(stat -c %s "$work/web.jsonl")
cat "$work/web.jsonl" > /dev/null
echo "prov: $PROV"
echo "cpus: $(nproc)"
echo "corpus: $RECORDS records, $bytes bytes"

declare -A args=([none]="--passages none" [passages]="--passages auto")
declare -A times=()
for r in $(seq "$ROUNDS"); do
  for v in none passages; do
    # shellcheck disable=SC2086 # args are words
    t=$( { /usr/bin/time -f "%e %U %S %M" "$PROV" hash "$work/web.jsonl" --mode jsonl --backend cpu \
           "${threads[@]}" ${args[$v]} --out "$work/$v.manifest" --json > "$work/$v.json"; } 2>&1 | tail -1)
    times[$v]+="$t"$'\n'
    echo "round $r $v: wall user sys maxrss_kb = $t"
  done
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for v in none passages; do
  w=$(printf '%s' "${times[$v]}" | awk '{print $1}' | median)
  c=$(printf '%s' "${times[$v]}" | awk '{print $2+$3}' | median)
  echo "$v: wall median ${w}s, cpu median ${c}s"
done
python3 - "$work" <<'PY'
import json, os, sys
w = sys.argv[1]
j = json.load(open(f"{w}/passages.json"))
m = os.path.getsize(f"{w}/passages.manifest")
side = os.path.getsize(f"{w}/passages.manifest.passages")
print(f"passage tree: {j['passages_size']} leaves, root {j['passages_root']}")
print(f"stored: manifest {m} bytes, leaves file {side} bytes ({side / m:.2f}x the manifest)")
PY
