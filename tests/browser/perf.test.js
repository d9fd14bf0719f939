// Page weight and speed, measured (never asserted as timings): bytes transferred for the home page
// and first paint of a dataset version with PERF_ITEMS items (default 1,000,000), on loopback,
// with a cold cache. The figures are printed as "# perf ..." lines and written to perf.json in
// the screenshot folder. What is asserted is the shape that keeps pages fast: the big version's
// page asks for one page of items, never the whole set.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBLAKE3 } from 'hash-wasm';
import { startServer, launchBrowser, newPage, shot, screenshotDir } from './harness.js';
import { Client, keypair, uploadSet } from './seed.js';
import { signEntry, originOf } from '../../api/explorer/src/lib/entry.js';
import { toHex } from '../../api/explorer/src/lib/bytes.js';

const N = Number(process.env.PERF_ITEMS ?? 1_000_000);
let server;
let browser;
const figures = { items: N };

/** N random sorted leaves (cid || size || zero meta) and their BLAKE3 set root, fast (WASM). */
async function bigSet(n) {
  // Strictly increasing ids without a sort: the first 8 bytes spread i over the u64 range, the
  // other 24 are random.
  const rest = randomBytes(24 * n);
  const step = (1n << 64n) / BigInt(n);
  const body = Buffer.alloc(72 * n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    body.writeBigUInt64BE(BigInt(i) * step, 72 * i);
    rest.copy(body, 72 * i + 8, 24 * i, 24 * i + 24);
    const size = 100 + (i % 5000);
    total += size;
    body.writeBigUInt64BE(BigInt(size), 72 * i + 32);
  }
  const h = await createBLAKE3();
  const leaf = Buffer.alloc(73);
  const node = Buffer.alloc(65);
  node[0] = 1;
  const stack = []; // [height, hash]
  for (let i = 0; i < n; i++) {
    body.copy(leaf, 1, 72 * i, 72 * i + 72);
    h.init();
    h.update(leaf);
    let cur = [0, Buffer.from(h.digest('binary'))];
    while (stack.length && stack.at(-1)[0] === cur[0]) {
      const [lh, l] = stack.pop();
      l.copy(node, 1);
      cur[1].copy(node, 33);
      h.init();
      h.update(node);
      cur = [lh + 1, Buffer.from(h.digest('binary'))];
    }
    stack.push(cur);
  }
  let root = stack.pop()[1];
  while (stack.length) {
    const [, l] = stack.pop();
    l.copy(node, 1);
    root.copy(node, 33);
    h.init();
    h.update(node);
    root = Buffer.from(h.digest('binary'));
  }
  return { body, root: toHex(root), total };
}

before(async () => {
  server = await startServer();
  const c = new Client(server.url);
  const pub = keypair();
  const log = originOf(await c.req('GET', '/checkpoint'));
  await c.req('POST', '/v1/publishers', signEntry({ type: 'publisher', name: 'bench', key: pub.pubB64 }, pub.sk, { log }));
  const t = performance.now();
  const set = await bigSet(N);
  figures.set_build_ms = Math.round(performance.now() - t);
  const u = performance.now();
  await uploadSet(c, { root: set.root, size: N, body: new Uint8Array(set.body.buffer, set.body.byteOffset, set.body.length) }, pub);
  figures.upload_ms = Math.round(performance.now() - u);
  await c.req('POST', '/v1/entries', signEntry({ type: 'dataset_version', publisher: 'bench', dataset: 'big', version: '1', manifest_root: set.root, item_count: N, total_bytes: set.total, corpus_mode: 'file', licence: 'CC0-1.0' }, pub.sk, { log }));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  writeFileSync(join(screenshotDir(), 'perf.json'), JSON.stringify(figures, null, 2));
});

/** Loads `hash` in a page with a cold cache; returns bytes transferred, requests and paint times. */
async function measure(hash, ready) {
  const page = await newPage(browser.context, server.url);
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.clearBrowserCache');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  let bytes = 0;
  let requests = 0;
  cdp.on('Network.loadingFinished', (e) => {
    bytes += e.encodedDataLength;
    requests++;
  });
  const t0 = Date.now();
  await page.goto(`${server.url}/${hash}`);
  await page.waitForSelector(`body[data-ready="${ready}"]`, { timeout: 60000 });
  const readyMs = Date.now() - t0;
  await page.waitForLoadState('networkidle');
  const paints = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType('paint').map((p) => [p.name, Math.round(p.startTime)])));
  return { page, bytes, requests, readyMs, firstPaint: paints['first-paint'], fcp: paints['first-contentful-paint'] };
}

test('home page weight and first paint', async () => {
  const m = await measure('', 'home');
  figures.home = { bytes: m.bytes, requests: m.requests, first_paint_ms: m.firstPaint, first_contentful_paint_ms: m.fcp, ready_ms: m.readyMs };
  console.log(`# perf home: ${m.bytes} bytes transferred in ${m.requests} requests, first paint ${m.firstPaint} ms, first contentful paint ${m.fcp} ms, rendered and verified in ${m.readyMs} ms`);
  assert.deepEqual(m.page.foreignRequests(), []);
  await m.page.close();
});

test(`a dataset version of ${N} items renders one page of items`, async () => {
  const m = await measure('#/dataset/bench/big/1', 'dataset');
  const leafRequests = m.page.requests.filter((u) => u.includes('/leaves'));
  figures.big_version = { bytes: m.bytes, requests: m.requests, first_paint_ms: m.firstPaint, first_contentful_paint_ms: m.fcp, ready_ms: m.readyMs };
  console.log(`# perf dataset version of ${N} items: first paint ${m.firstPaint} ms, first contentful paint ${m.fcp} ms, items shown in ${m.readyMs} ms, ${m.bytes} bytes in ${m.requests} requests`);
  console.log(`# perf seeding: set of ${N} leaves built in ${figures.set_build_ms} ms, uploaded and checked by the server in ${figures.upload_ms} ms`);
  assert.equal(leafRequests.length, 1, 'one request for items');
  assert.match(leafRequests[0], /limit=50\b/);
  assert.equal(await m.page.locator('#items tbody tr').count(), 50);
  assert.equal((await m.page.textContent('#items-count')).replace(/,/g, ''), String(N));
  await m.page.waitForSelector('#entry-badge .badge[data-state="ok"]');
  await shot(m.page, '24-big-dataset-version');
  await m.page.close();
});
