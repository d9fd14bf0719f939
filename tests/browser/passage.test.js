// Passages in the browser itself (docs/formats.md, "Passages"): api/explorer/src/lib/passage.js
// runs in Debian's chromium, and for every code point c, normalise("x" + c + "-y") must give the
// digests the Rust verifier wrote into api/explorer/test/vectors/passages.json (one per 4096 code
// points), and every vector its passage ids. This is the browser's own Unicode data (ICU), which
// can differ from Node's. No server: the page and the sources are served from the repository
// through playwright's routing, with an import map for @noble/hashes (from api/explorer/node_modules,
// which scripts/test installs first).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './harness.js';

const explorer = fileURLToPath(new URL('../../api/explorer/', import.meta.url));
const vectors = JSON.parse(readFileSync(`${explorer}test/vectors/passages.json`, 'utf8'));
const ORIGIN = 'http://passages.test';
const PAGE = `<!doctype html><meta charset="utf-8">
<script type="importmap">{"imports": {"@noble/hashes/": "${ORIGIN}/noble/"}}</script>
<script type="module">
import * as passage from '${ORIGIN}/src/lib/passage.js';
import { blake3 } from '@noble/hashes/blake3.js';
window.passage = passage;
window.blake3 = blake3;
window.ready = true;
</script>`;

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('the browser normalises every code point and every vector as Rust does', async () => {
  const page = await browser.context.newPage();
  await page.route(`${ORIGIN}/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/') return route.fulfill({ contentType: 'text/html', body: PAGE });
    const file = path.startsWith('/noble/')
      ? `${explorer}node_modules/@noble/hashes/${path.slice('/noble/'.length)}`
      : `${explorer}${path.slice(1)}`;
    return route.fulfill({ contentType: 'text/javascript', body: readFileSync(file, 'utf8') });
  });
  await page.goto(`${ORIGIN}/`);
  await page.waitForFunction(() => window.ready === true);
  const got = await page.evaluate((cases) => {
    const { normalise, passages } = window.passage;
    const enc = new TextEncoder();
    const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    const digests = [];
    for (let block = 0; block < 0x110; block++) {
      const h = window.blake3.create();
      for (let cp = block * 0x1000; cp < (block + 1) * 0x1000; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        h.update(enc.encode(normalise(`x${String.fromCodePoint(cp)}-y`)));
        h.update(new Uint8Array([0]));
      }
      digests.push(hex(h.digest()));
    }
    const ids = cases.map((c) => passages(c.input).map((p) => p.id));
    const normalised = cases.map((c) => normalise(c.input));
    return { digests, ids, normalised };
  }, vectors.cases);
  const bad = got.digests.flatMap((d, i) => (d === vectors.code_point_digests[i] ? [] : [i.toString(16)]));
  assert.deepEqual(bad, [], 'blocks of 0x1000 code points that differ from Rust');
  assert.deepEqual(got.normalised, vectors.cases.map((c) => c.normalised));
  assert.deepEqual(got.ids, vectors.cases.map((c) => c.passages.map((p) => p.id)));
  await page.close();
});
