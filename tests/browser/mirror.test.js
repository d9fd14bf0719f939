// Issue 16: the explorer reads the log from a static mirror. A real `prov serve --demo --publish
// file://DIR` writes the mirror, then is STOPPED. A small static HTTP server (mirror_server.js:
// plain files, CORS, single HTTP Range requests) serves the explorer's built files on one loopback
// origin and the mirror on another, as a CDN would. In Chromium, the reader sets "Read the log
// from: a static mirror" with the log's key on the log page; the checkpoint verifies and the
// mirror's tiles hash to its root; an entry's inclusion proof (computed in the page from the
// tiles) verifies; a demo licence is proven in spdx-archive/licences@2 (its leaf found with Range
// reads of sets/<root>.leaves, the proof computed from the leaves) and the Beerware text proven
// absent from it; the dataset lists, a version's items and figures, "Was my file used?", "Is my
// site in it?", "Was my work used?", the opt-outs and a publisher are answered from the mirror's
// objects and verified; a compliance bundle the reader gives is verified against the mirror;
// recording an opt-out says a mirror cannot do it. A second mirror with one flipped bit in a hash
// tile is shown as failing: tiles and the entry proof.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blake3 } from '@noble/hashes/blake3.js';
import { launchBrowser, newPage, provBin, shot, startServer, visit, REPO } from './harness.js';
import { staticServer, useMirror } from './mirror_server.js';

let dir;
let browser;
let site;
let good;
let bad;
let badSet;
let vkey;
let treeSize;
let bundleFile;

const licence = (id) =>
  readFileSync(join(REPO, 'cli/demo/spdx-licences.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .find((v) => v.id === id).text;
const cidOf = (text) => `blake3:${Buffer.from(blake3(Buffer.from(text, 'utf8'))).toString('hex')}`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prov-mirror-browser-'));
  const mirror = join(dir, 'mirror');
  const log = await startServer(['--demo', '--publish', `file://${mirror}`]);
  vkey = log.vkey;
  const deadline = Date.now() + 60000;
  for (;;) {
    const h = await (await fetch(`${log.url}/healthz`)).json();
    if (h.publish?.lag_entries === 0 && h.publish?.published_size === h.tree_size) {
      treeSize = h.tree_size;
      break;
    }
    if (Date.now() > deadline) throw new Error(`never published: ${JSON.stringify(h)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // The compliance bundle of licence-lm@ckpt-2, as a reader would keep it (a mirror holds none).
  bundleFile = join(dir, 'bundle.json');
  const r = spawnSync(provBin(), ['proof', 'compliance', '--model', 'open-models/licence-lm', '--checkpoint', 'ckpt-2', '--out', bundleFile, '--server', log.url], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`prov proof compliance: ${r.stdout}${r.stderr}`);
  await log.stop();
  // A copy with one bit flipped in the hash of leaf 0 (the sibling on entry 1's audit path).
  const tampered = join(dir, 'tampered');
  cpSync(mirror, tampered, { recursive: true });
  const level0 = readdirSync(join(tampered, 'tile/0'), { recursive: true })
    .map((f) => join(tampered, 'tile/0', String(f)))
    .filter((f) => statSync(f).isFile())
    .sort()[0];
  const b = readFileSync(level0);
  b[0] ^= 1;
  writeFileSync(level0, b);
  // A copy with one byte changed in the size field of every stored set's 101st leaf: still sorted,
  // another root.
  const tamperedSet = join(dir, 'tampered-set');
  cpSync(mirror, tamperedSet, { recursive: true });
  for (const f of readdirSync(join(tamperedSet, 'sets')).filter((f) => f.endsWith('.leaves'))) {
    const leaves = readFileSync(join(tamperedSet, 'sets', f));
    if (leaves.length >= 101 * 72) {
      leaves[100 * 72 + 39] ^= 1;
      writeFileSync(join(tamperedSet, 'sets', f), leaves);
    }
  }
  site = await staticServer(join(REPO, 'api/explorer/dist'));
  badSet = await staticServer(tamperedSet);
  good = await staticServer(mirror);
  bad = await staticServer(tampered);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await good?.close();
  await bad?.close();
  await badSet?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const settled = (p, sel) => p.waitForSelector(`${sel}:not([data-state="pending"])`, { timeout: 30000 }).then(() => p.getAttribute(sel, 'data-state'));

test('the explorer reads a static mirror with the service stopped: checkpoint, entry, dataset membership', async () => {
  const p = await newPage(browser.context, site.url);
  await useMirror(p, site.url, good.url, vkey);
  assert.equal(await p.getAttribute('#checkpoint-badge .badge', 'data-state'), 'ok');
  assert.equal(await p.textContent('#cp-size'), String(treeSize));
  assert.match(await p.textContent('#read-from'), /static mirror/);
  assert.equal(await settled(p, '#tiles-root'), 'ok');
  await shot(p, 'mirror-home');

  await visit(p, site.url, '#/entry/1', 'entry');
  assert.equal(await settled(p, '#inclusion-badge .badge'), 'ok');

  const mit = cidOf(licence('MIT'));
  const before = good.ranges.length;
  await visit(p, site.url, `#/dataset/spdx-archive/licences/2/item/${mit}`, 'dataset');
  assert.equal(await p.getAttribute('#item-verdict .badge', 'data-state'), 'ok', await p.textContent('main'));
  assert.equal(await p.getAttribute('#inclusion', 'data-state'), 'ok');
  assert.ok(good.ranges.length > before, 'the leaf was looked up with Range requests');
  assert.ok(good.ranges.every((u) => u.includes('/sets/')), good.ranges.join(' '));
  await shot(p, 'mirror-item');

  // Dropped from version 2: proven absent.
  await visit(p, site.url, `#/dataset/spdx-archive/licences/2/item/${cidOf(licence('Beerware'))}`, 'dataset');
  assert.equal(await p.getAttribute('#item-absent', 'data-state'), 'ok', await p.textContent('main'));

  // The dataset lists (from the entries), a version's items (Range reads) and its figures.
  await visit(p, site.url, '#/datasets', 'datasets');
  assert.match(await p.textContent('main'), /licences/);
  await visit(p, site.url, '#/dataset/spdx-archive/licences/2', 'dataset');
  assert.equal(await p.textContent('#items-count'), '249');
  assert.ok((await p.$$('.item-link')).length > 0, 'the first page of items is listed');
  assert.equal(await settled(p, '#entry-badge .badge'), 'ok');
  await p.waitForSelector('#stats-check:not([data-state="pending"])', { timeout: 30000 });
  assert.equal(await p.getAttribute('#stats-check', 'data-state'), 'ok', await p.textContent('#stats-check'));
  await shot(p, 'mirror-dataset');

  // A compliance bundle the reader gives, verified against the mirror (completeness from its tiles).
  await visit(p, site.url, '#/model/open-models/licence-lm/ckpt-2', 'model');
  await p.waitForSelector('#bundle-wanted');
  await p.setInputFiles('#bundle-file', bundleFile);
  await p.waitForSelector('#compliance-badge .badge[data-state="compliant"]', { timeout: 30000 }).catch(async (e) => {
    throw new Error(`${e.message}\n${await p.textContent('main')}`);
  });
  assert.equal(await p.getAttribute('#entry-badge .badge', 'data-state'), 'ok');
  await shot(p, 'mirror-compliance');

  // A page that needs the dynamic API says so.
  // Was my file used? Every version proven from its sets/ object (no content index in a mirror).
  await visit(p, site.url, '#/check?id=' + encodeURIComponent(mit), 'check');
  await p.waitForSelector('#verdict', { timeout: 30000 });
  assert.equal(await p.getAttribute('#verdict', 'data-verdict'), 'used', await p.textContent('main'));
  assert.equal(await p.getAttribute('#versions [data-dataset="spdx-archive/licences@2"]', 'data-membership'), 'included');
  assert.equal(await p.getAttribute('#versions [data-dataset="spdx-archive/licences@2"]', 'data-verified'), 'yes');
  assert.match(await p.textContent('#checkpoints'), /licence-lm@ckpt-2/);

  // What needs the service says so: recording an opt-out (a mirror is read-only).
  await p.click('#optout-submit');
  await p.waitForSelector('#optout-status .error');
  assert.match(await p.textContent('#optout-status'), /a static mirror cannot answer this/);

  // Is my site in it? Range proofs computed from sources/<root>.leaves, verified by the page.
  await visit(p, site.url, '#/site?q=www.gnu.org', 'site');
  await p.waitForSelector('#site-verdict', { timeout: 30000 });
  assert.equal(await p.getAttribute('#site-verdict', 'data-verdict'), 'in', await p.textContent('main'));
  assert.equal(await p.getAttribute('#site-versions [data-dataset="spdx-archive/licences@2"]', 'data-count'), '9');
  await visit(p, site.url, '#/site?q=nowhere.example', 'site');
  await p.waitForSelector('#site-verdict', { timeout: 30000 });
  assert.equal(await p.getAttribute('#site-verdict', 'data-verdict'), 'out', await p.textContent('main'));

  // Was my work used? The MIT text as a file: multi-range proofs from passages/<root>.leaves.
  await visit(p, site.url, '#/work', 'work');
  await p.setInputFiles('#work-files', [{ name: 'mit.txt', mimeType: 'text/plain', buffer: Buffer.from(licence('MIT'), 'utf8') }]);
  await p.waitForSelector('#work-result[data-done]', { timeout: 30000 });
  assert.equal(await p.getAttribute('.work-file[data-file="mit.txt"] .work-version[data-dataset="spdx-archive/licences@2"]', 'data-state'), 'in', await p.textContent('main'));
  await shot(p, 'mirror-work');
  // Opt-outs and publishers are read from the entries.
  await visit(p, site.url, '#/optouts', 'optouts');
  assert.equal((await p.$$('main table tbody tr')).length, 2, await p.textContent('main'));
  await visit(p, site.url, '#/publisher/spdx-archive', 'publisher');
  assert.doesNotMatch(await p.textContent('main'), /cannot answer|Could not load/);
  assert.deepEqual(p.pageErrors.filter((e) => !/static mirror/.test(e)), []);
  // Nothing was asked of the explorer's own origin but its files.
  assert.deepEqual(p.requests.filter((u) => u.startsWith(site.url) && !/\/(assets\/|$|#|index\.html|healthz)/.test(u.slice(site.url.length))), []);
  await p.close();
});

test('a mirror with a flipped bit in a hash tile is shown as failing', async () => {
  const p = await newPage(browser.context, site.url);
  await useMirror(p, site.url, bad.url, vkey);
  assert.equal(await p.getAttribute('#checkpoint-badge .badge', 'data-state'), 'ok', 'the signed note itself is intact');
  assert.equal(await settled(p, '#tiles-root'), 'bad');
  await shot(p, 'mirror-tampered-home');
  await visit(p, site.url, '#/entry/1', 'entry');
  assert.equal(await settled(p, '#inclusion-badge .badge'), 'bad');
  await p.close();
});

test('a mirror with a changed byte in a set\'s leaves object: the item does not verify', async () => {
  const p = await newPage(browser.context, site.url);
  await useMirror(p, site.url, badSet.url, vkey);
  assert.equal(await settled(p, '#tiles-root'), 'ok', 'the log itself is intact');
  await visit(p, site.url, `#/dataset/spdx-archive/licences/2/item/${cidOf(licence('MIT'))}`, 'dataset');
  assert.equal(await p.getAttribute('#item-verdict .badge', 'data-state'), 'bad', await p.textContent('main'));
  await p.close();
});
