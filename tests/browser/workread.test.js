// Reading a work in the browser itself (SPEC14B section 8, api/explorer/src/lib/work.js): an
// HTML work is parsed by Chromium's DOMParser, the HTML5 parse cli/src/work.rs does with
// html5ever, and walked by the same code the node tests run on a hand-built tree. Replays the
// Rust side's vectors (api/explorer/test/vectors/work_extract.json, every kind) compared after
// normalisation, and checks the cases a real parser decides: entities, implied end tags, a
// <template>, comments, a <noscript>. No server: the sources are served from the repository
// through playwright's routing, as passage.test.js does.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './harness.js';

const explorer = fileURLToPath(new URL('../../api/explorer/', import.meta.url));
const VECTORS = `${explorer}test/vectors/work_extract.json`;
const ORIGIN = 'http://work.test';
const PAGE = `<!doctype html><meta charset="utf-8">
<script type="importmap">{"imports": {"@noble/hashes/": "${ORIGIN}/noble/"}}</script>
<script type="module">
import * as work from '${ORIGIN}/src/lib/work.js';
import * as passage from '${ORIGIN}/src/lib/passage.js';
window.work = work;
window.passage = passage;
window.parseHtml = (s) => new DOMParser().parseFromString(s, 'text/html');
window.ready = true;
</script>`;

let browser;
let page;
before(async () => {
  browser = await launchBrowser();
  page = await browser.context.newPage();
  await page.route(`${ORIGIN}/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/') return route.fulfill({ contentType: 'text/html', body: PAGE });
    const file = path.startsWith('/noble/') ? `${explorer}node_modules/@noble/hashes/${path.slice('/noble/'.length)}` : `${explorer}${path.slice(1)}`;
    return route.fulfill({ contentType: 'text/javascript', body: readFileSync(file, 'utf8') });
  });
  await page.goto(`${ORIGIN}/`);
  await page.waitForFunction(() => window.ready === true);
});
after(async () => {
  await browser?.close();
});

const read = (kind, input) => page.evaluate(([k, s]) => window.passage.normalise(window.work.workText(k, s, { parseHtml: window.parseHtml })), [kind, input]);
const raw = (kind, input) => page.evaluate(([k, s]) => window.work.workText(k, s, { parseHtml: window.parseHtml }), [kind, input]);

test('DOMParser: entities, implied end tags, template, comments and noscript', async () => {
  const html = `<!doctype html><html><head><title>Not text</title><script>var x = 1</script></head>
<body><h1>Caf&eacute; &amp; co</h1><p>one<p>two<br>three<!-- hidden --><template><p>never</p></template>
<noscript>no script</noscript><ul><li>a<li>b</ul><table><tr><td>cell</td></tr></table></body></html>`;
  assert.equal(await raw('html', html), 'Café & co\n\none\n\ntwo\nthree\n\na\n\nb\n\ncell');
  assert.equal(await read('html', '<p>  spaced\n\n\n  out  </p><p>next</p>'), 'spaced out\n\nnext', 'blank lines in the HTML source are not paragraph breaks');
  assert.equal(await raw('html', '<pre>a\n\nb</pre>'), 'a\n\nb', 'in pre they are');
});

test('the Rust vectors of reading a work, in Chromium', async (t) => {
  if (!existsSync(VECTORS)) {
    t.skip('api/explorer/test/vectors/work_extract.json not present yet (written by the CLI tests)');
    return;
  }
  const v = JSON.parse(readFileSync(VECTORS, 'utf8'));
  assert.ok(v.cases.length >= 10);
  for (const c of v.cases) {
    const [raw, norm, want] = await page.evaluate(([k, s, t]) => {
      const got = window.work.workText(k, s, { parseHtml: window.parseHtml });
      return [got, window.passage.normalise(got), window.passage.normalise(t)];
    }, [c.kind, c.input, c.text]);
    // HTML and text to the byte (DOMParser and html5ever build the same tree); Markdown where
    // passage ids see it.
    if (c.kind !== 'markdown') assert.equal(raw, c.text, c.name);
    assert.equal(norm, want, c.name);
  }
});
