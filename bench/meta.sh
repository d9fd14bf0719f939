#!/usr/bin/env bash
# What metadata costs `prov hash` on web-text JSON Lines (issue 13: goal < 25 %). Generates a
# C4-shaped corpus (`text`, `timestamp`, `url`; ~5 KB of text a record), warms the page cache,
# then runs, alternating, ROUNDS times each:
#   none    --meta none                                  (a pure content set: the baseline)
#   path    --meta full (default: each item's path and line)
#   c4      --meta-preset c4 (url -> source, timestamp -> collected)
#   consent --meta-preset c4 --meta-consent aipref=content_usage,robots=robots
# every one writing its manifest (--out), and prints the median seconds of each and its overhead
# over `none`.
#
#   bench/meta.sh                        # 60,000 records, ~300 MB, 5 rounds
#   RECORDS=20000 ROUNDS=3 bench/meta.sh # quick
#
# Knobs: RECORDS, ROUNDS, WORDS ("MIN MAX" words of text a record, default "600 1100"; "20 60"
# gives an item-heavy corpus of short records), THREADS (prov --threads), PROV (a prebuilt
# binary), BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS=${RECORDS:-60000}
ROUNDS=${ROUNDS:-5}
WORDS=${WORDS:-"600 1100"}
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

# shellcheck disable=SC2086 # WORDS is two numbers
python3 - "$work/c4.jsonl" "$RECORDS" $WORDS <<'PY'
import json, random, sys
path, n, wmin, wmax = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(13)
words = ("the of and to in a is that for it as was with be by on not he this are or his from at "
         "which but have an they you were her she there been one all we their has would when if "
         "so no will more can said who its about what up out into them than some could time only "
         "other new these two may first then do any like my now over such our man me even most "
         "made after also did many before must through back years where much your way well down "
         "should because each just those people how too little state good very make world still "
         "own see men work long get here between both life being under never day same another "
         "know while last might us great old year off come since against go came right used take "
         "three garden recipe market council school music travel weather league software").split()
tlds = ["com", "org", "net", "co.uk", "de", "fr", "io", "info", "edu", "com.au"]
hosts = [f"{p}{rnd.choice(['', 'blog.', 'www.', 'news.', 'shop.'])}{''.join(rnd.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rnd.randint(4, 12)))}.{rnd.choice(tlds)}"
         for p in [""] * 5000]
usage = ["train-ai=n", "train-ai=y", "train-ai=n, search=y", None, None, None]
with open(path, "w") as f:
    for i in range(n):
        text = " ".join(rnd.choice(words) for _ in range(rnd.randint(wmin, wmax)))
        slug = "-".join(rnd.choice(words) for _ in range(rnd.randint(2, 7)))
        rec = {
            "text": text,
            "timestamp": f"2019-04-{rnd.randint(18, 26):02d}T{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}Z",
            "url": f"https://{rnd.choice(hosts)}/{rnd.randint(2005, 2019)}/{slug}/",
        }
        u = rnd.choice(usage)
        if u:
            rec["content_usage"] = u
        rec["robots"] = rnd.choice(["allow", "allow", "allow", "disallow"])
        f.write(json.dumps(rec, separators=(",", ":")) + "\n")
PY
bytes=$(stat -c %s "$work/c4.jsonl")
cat "$work/c4.jsonl" > /dev/null
echo "prov: $PROV"
echo "cpus: $(nproc)"
echo "corpus: $RECORDS records, $bytes bytes"

declare -A args=(
  [none]="--meta none"
  [path]=""
  [c4]="--meta-preset c4"
  [consent]="--meta-preset c4 --meta-consent aipref=content_usage,robots=robots"
)
names=(none path c4 consent)
# Wall time and CPU time (user + sys, from /usr/bin/time): on a machine shared with other work
# the CPU time is the steadier measure of what metadata costs.
declare -A times cpus
for r in $(seq 1 "$ROUNDS"); do
  for n in "${names[@]}"; do
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086 # the options are words
    /usr/bin/time -f "%U %S" -o "$work/time" "$PROV" hash "$work/c4.jsonl" --mode jsonl \
      --backend cpu "${threads[@]}" ${args[$n]} --out "$work/m.$n.jsonl" > /dev/null
    t1=$(date +%s.%N)
    times[$n]+="$(echo "$t1 - $t0" | bc -l) "
    cpus[$n]+="$(awk '{print $1 + $2}' "$work/time") "
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
base=$(echo "${times[none]}" | median)
cbase=$(echo "${cpus[none]}" | median)
for n in "${names[@]}"; do
  m=$(echo "${times[$n]}" | median)
  c=$(echo "${cpus[$n]}" | median)
  printf "%s.wall_median_s: %.3f (%+.1f%%)   %s.cpu_median_s: %.3f (%+.1f%%)   %s.MBps: %.0f\n" \
    "$n" "$m" "$(echo "($m / $base - 1) * 100" | bc -l)" \
    "$n" "$c" "$(echo "($c / $cbase - 1) * 100" | bc -l)" \
    "$n" "$(echo "$bytes / $m / 1000000" | bc -l)"
  echo "  $n.wall_runs: ${times[$n]}"
  echo "  $n.cpu_runs: ${cpus[$n]}"
done
head -c 600 "$work/m.consent.jsonl" | tail -c 300; echo
