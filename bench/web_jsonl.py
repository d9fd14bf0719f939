"""The web-text-like JSON Lines of bench/alternate.sh's `jsonl` and `jsonlcpu` cases (seed 15,
records of ~5 KB with some escapes):
    python3 bench/web_jsonl.py OUT.jsonl SIZE_MB
"""
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
