// Content ids computed the way the browser computes them, checked against the official BLAKE3
// vectors, with chunked reading at chunk sizes that split the input unevenly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cidOfBlob, cidOfBytes, cidOfText } from '../src/lib/cid.js';
import { TESTDATA } from './testdata.js';

const vectors = JSON.parse(readFileSync(join(TESTDATA, 'blake3_test_vectors.json'), 'utf8'));
const input = (n) => Uint8Array.from({ length: n }, (_, i) => i % 251);

test('cid of bytes matches every official BLAKE3 vector', () => {
  assert.ok(vectors.cases.length >= 35);
  for (const c of vectors.cases) {
    assert.equal(cidOfBytes(input(c.input_len)), `blake3:${c.hash.slice(0, 64)}`, `len ${c.input_len}`);
  }
});

test('cid of a Blob read in chunks matches, for uneven chunk sizes', async () => {
  for (const c of vectors.cases.filter((c) => c.input_len > 1000)) {
    for (const chunk of [1000, 1024, 4096, 65536]) {
      const seen = [];
      const cid = await cidOfBlob(new Blob([input(c.input_len)]), { chunk, onProgress: (d, t) => seen.push([d, t]) });
      assert.equal(cid, `blake3:${c.hash.slice(0, 64)}`);
      assert.deepEqual(seen.at(-1), [c.input_len, c.input_len]);
    }
  }
});

test('pasted text is hashed as its UTF-8 bytes', () => {
  assert.equal(cidOfText('h\u00e9'), cidOfBytes(new Uint8Array([0x68, 0xc3, 0xa9])));
  assert.equal(cidOfText(''), 'blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
});
